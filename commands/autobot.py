"""``/autobot``: runbook AutomationBot (spec §4.9, §6.1, §7.6, §13 rows 10-13). Reads the bot registry,
replaces ``automation::ensure_action`` by reads, and prepares the operator's dry-run, success, failure
and rotation payloads after the contract's own checks; the bot never signs as an operator.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from chatops.chain.calls import ChainCall, TypedArg
from commands.args import U64, Address, Duration, HexBytes
from commands.ports import Plan, StepContext
from commands.reads import numbers, option, u64
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

ACTION_NAMES = {
    1: "auto-close",
    2: "retry-vrf",
    3: "defragment-index",
    4: "topup-vrf-deposit",
    5: "unpause",
    6: "payout-batch",
    7: "cancel",
}
ACTION_IDS = {name: number for number, name in ACTION_NAMES.items()}
SENSITIVE_ACTIONS = frozenset({5, 6, 7})
MIN_SENSITIVE_TIMELOCK_S = 900


def _action_id(value: Any) -> Any:
    """An action by number (``6``) or by its spec §2 name (``payout-batch``, ``PAYOUT_BATCH``)."""
    if isinstance(value, str):
        text = value.strip().lower().replace("_", "-")
        if text in ACTION_IDS:
            return ACTION_IDS[text]
        if text.isdigit():
            return int(text)
        raise ValueError(f"{value!r} is not an action (a number or one of {', '.join(ACTION_IDS)})")
    return value


ActionId = Annotated[int, BeforeValidator(_action_id), Field(ge=0, le=(1 << 64) - 1)]


def action_label(action_id: int) -> str:
    name = ACTION_NAMES.get(action_id)
    return f"{action_id} ({name})" if name else str(action_id)


def _bytes_text(hex_text: str) -> str:
    """A ``vector<u8>`` from a view as text when it is printable (the cron spec), else the hex."""
    try:
        text = bytes.fromhex(hex_text.removeprefix("0x")).decode()
    except (ValueError, UnicodeDecodeError):
        return hex_text
    return text if text.isprintable() else hex_text


def bot_view(ctx: StepContext, operator: str) -> dict[str, Any] | None:
    """``views::get_automation_bot``: the AutomationBotView with u64s as ints, or None if unknown."""
    [view] = ctx.chain.read("views::get_automation_bot", [TypedArg.of("address", operator)])
    found = option(view)
    if found is None:
        return None
    bot = numbers(found)
    bot["allowed_actions"] = [int(a) for a in bot["allowed_actions"]]
    return bot


def _locked(bot: dict[str, Any]) -> bool:
    return bool(bot["failure_count"] >= bot["max_failures"])


def _summary_line(bot: dict[str, Any], now_s: int) -> str:
    flags = []
    if now_s > bot["expires_at"]:
        flags.append("EXPIRED")
    if _locked(bot):
        flags.append("FAILURE LIMIT")
    pending = (
        f"pending until {bot['pending_execute_after']}" if bot["has_pending"] else "no pending"
    )
    flag_text = f" [{', '.join(flags)}]" if flags else ""
    return (
        f"actions {', '.join(action_label(a) for a in bot['allowed_actions'])}; timelock "
        f"{bot['timelock_secs']} s; failures {bot['failure_count']}/{bot['max_failures']}; "
        f"{pending}; expires at {bot['expires_at']}{flag_text}"
    )


@read(
    "/autobot",
    "list",
    summary="Every registered AutomationBot: actions, timelock, failures, pending dry-run, expiry",
    runbook="AutomationBot (views::list_automation_bots)",
    reads=("views::list_automation_bots",),
)
def list_(ctx: StepContext, args: BaseModel) -> Reply:
    now = ctx.chain.now_s()
    [views] = ctx.chain.read("views::list_automation_bots")
    bots = [numbers(v) for v in views]
    for bot in bots:
        bot["allowed_actions"] = [int(a) for a in bot["allowed_actions"]]
    flagged = [b for b in bots if now > b["expires_at"] or _locked(b)]
    return Reply(
        title=f"{len(bots)} automation bot(s)",
        text=f"{len(flagged)} expired or at the failure limit: /autobot rotate." if flagged else "",
        tone=Tone.WARNING if flagged else Tone.INFO,
        fields=tuple(
            RField(label=f"Bot {b['operator']}", value=_summary_line(b, now)) for b in bots
        ),
        data={"now": now, "bots": bots},
    )


class OperatorArgs(BaseModel):
    operator: Address


@read(
    "/autobot",
    "show",
    summary="One AutomationBot in full (views::get_automation_bot)",
    runbook="AutomationBot (views::get_automation_bot)",
    args=OperatorArgs,
    reads=("views::get_automation_bot",),
)
def show(ctx: StepContext, args: OperatorArgs) -> Reply:
    bot = bot_view(ctx, args.operator)
    if bot is None:
        return Reply.error(
            f"No automation bot is registered for operator {args.operator}.",
            "/autobot list shows the registered operators.",
        )
    now = ctx.chain.now_s()
    fields = (
        RField(
            label="Allowed actions",
            value=", ".join(action_label(a) for a in bot["allowed_actions"]),
        ),
        RField(label="Cron spec", value=_bytes_text(bot["cron_spec"])),
        RField(label="Timelock", value=f"{bot['timelock_secs']} s"),
        RField(label="Failures", value=f"{bot['failure_count']} of max {bot['max_failures']}"),
        RField(
            label="Reputation",
            value=f"score {bot['reputation_score']}, success streak {bot['success_streak']}",
        ),
        RField(
            label="Pending dry-run",
            value=f"{bot['pending_action_hash']} executes after {bot['pending_execute_after']}"
            if bot["has_pending"]
            else "none",
        ),
        RField(
            label="Last action",
            value=f"{bot['last_action_hash']} at {bot['last_action_ts']}"
            if bot["last_action_ts"]
            else "none",
        ),
        RField(
            label="Expires at",
            value=f"{bot['expires_at']}{' (EXPIRED)' if now > bot['expires_at'] else ''}",
        ),
    )
    bad = now > bot["expires_at"] or _locked(bot)
    return Reply(
        title=f"Automation bot {args.operator}",
        tone=Tone.WARNING if bad else Tone.INFO,
        fields=fields,
        data=bot,
    )


def _registered(bot: dict[str, Any] | None, operator: str) -> Check:
    return Check(
        name="bot registered",
        ok=bot is not None,
        seen="registered" if bot is not None else "not registered",
        required=f"an AutomationBot for {operator}",
    )


def ensure_action_checks(bot: dict[str, Any], action_id: int, now_s: int) -> list[Check]:
    """``automation::ensure_action`` as reads: not expired, failures under the limit, action allowed.

    Same order as the contract (spec §4.9), so the first failed check is the abort it would hit.
    """
    return [
        Check(
            name="bot not expired (now <= expires_at)",
            ok=now_s <= bot["expires_at"],
            seen=f"now {now_s}",
            required=f"<= {bot['expires_at']}",
        ),
        Check(
            name="failure_count < max_failures",
            ok=not _locked(bot),
            seen=str(bot["failure_count"]),
            required=f"< {bot['max_failures']} (raise it with /autobot rotate)",
        ),
        Check(
            name="action allowed",
            ok=action_id in bot["allowed_actions"],
            seen=action_label(action_id),
            required="one of " + ", ".join(action_label(a) for a in bot["allowed_actions"]),
        ),
    ]


def _hash_non_empty(action_hash: bytes) -> Check:
    return Check(
        name="action hash non-empty",
        ok=bool(action_hash),
        seen=f"{len(action_hash)} bytes",
        required="at least 1 byte (a sha3-256 digest is 32)",
    )


def timelock_checks(
    bot: dict[str, Any], now_s: int, action_hash: bytes | None = None
) -> list[Check]:
    """``ensure_action_with_timelock``: with a timelock, a pending dry-run (of this hash) that is due."""
    timelock = bot["timelock_secs"]
    if timelock == 0:
        return [
            Check(
                name="timelock",
                ok=True,
                seen="timelock 0: no dry-run needed",
            )
        ]
    pending = str(bot["pending_action_hash"])
    checks = [
        Check(
            name="dry-run pending",
            ok=bool(bot["has_pending"]),
            seen=f"pending {pending}" if bot["has_pending"] else "none",
            required=f"an announced dry-run (timelock {timelock} s: /autobot dry-run first)",
        )
    ]
    if not bot["has_pending"]:
        return checks
    if action_hash is not None:
        given = "0x" + action_hash.hex()
        checks.append(
            Check(
                name="action hash = pending hash",
                ok=given == pending,
                seen=given,
                required=pending,
            )
        )
    checks.append(
        Check(
            name="timelock elapsed (now >= pending_execute_after)",
            ok=now_s >= bot["pending_execute_after"],
            seen=f"now {now_s}",
            required=f">= {bot['pending_execute_after']}",
        )
    )
    return checks


class CheckArgs(BaseModel):
    operator: Address
    action_id: ActionId


@read(
    "/autobot",
    "check",
    summary="Would the bot be allowed to run an action now (automation::ensure_action, as reads)",
    runbook="AutomationBot (automation::ensure_action, replaced by views::get_automation_bot)",
    args=CheckArgs,
    reads=("views::get_automation_bot",),
)
def check(ctx: StepContext, args: CheckArgs) -> Reply:
    now = ctx.chain.now_s()
    bot = bot_view(ctx, args.operator)
    checks = [_registered(bot, args.operator)]
    if bot is not None:
        checks += ensure_action_checks(bot, args.action_id, now)
        checks += timelock_checks(bot, now)
    failed = [c for c in checks if not c.ok]
    label = action_label(args.action_id)
    if failed:
        return Reply(
            title=f"Bot {args.operator}: action {label} not allowed now ({failed[0].name})",
            ok=False,
            tone=Tone.WARNING,
            checks=tuple(checks),
        )
    return Reply(
        title=f"Bot {args.operator}: action {label} allowed now",
        tone=Tone.SUCCESS,
        checks=tuple(checks),
    )


def operator_checks(
    bot: dict[str, Any] | None, operator: str, action_id: int, action_hash: bytes, now_s: int
) -> tuple[list[Check], dict[str, Any] | None]:
    """The checks shared by dry-run, success and failure reports, in the contract's order."""
    checks = [_registered(bot, operator), _hash_non_empty(action_hash)]
    if bot is not None:
        checks += ensure_action_checks(bot, action_id, now_s)
    return checks, bot


class DryRunArgs(BaseModel):
    operator: Address
    action_id: ActionId
    action_hash: HexBytes
    delay: Duration | None = None


@action(
    "/autobot",
    "dry-run",
    summary="Prepare the operator's announce_dry_run payload (executes after now + delay, default the timelock)",
    runbook="AutomationBot (automation::announce_dry_run)",
    args=DryRunArgs,
    reads=("views::get_automation_bot",),
    calls=("automation::announce_dry_run",),
    privileged=False,
)
def dry_run(ctx: StepContext, args: DryRunArgs) -> Plan:
    now = ctx.chain.now_s()
    checks, bot = operator_checks(
        bot_view(ctx, args.operator), args.operator, args.action_id, args.action_hash, now
    )
    timelock = bot["timelock_secs"] if bot is not None else 0
    delay = args.delay if args.delay is not None else timelock
    if bot is not None:
        checks += [
            Check(
                name="timelock_secs > 0",
                ok=timelock > 0,
                seen=f"{timelock} s",
                required="> 0 (a bot without a timelock cannot dry-run, spec §13 #12)",
            ),
            Check(
                name="no pending dry-run",
                ok=not bot["has_pending"],
                seen=f"pending {bot['pending_action_hash']}" if bot["has_pending"] else "none",
                required="none (any pending one blocks a new dry-run, even the same hash)",
            ),
            Check(
                name="executes_after_ts >= now + timelock_secs",
                ok=delay >= timelock,
                seen=f"delay {delay} s",
                required=f">= {timelock} s",
            ),
        ]
    executes_after = now + delay
    call = ChainCall(
        function="automation::announce_dry_run",
        args=(
            u64(args.action_id),
            TypedArg.of("vector<u8>", args.action_hash),
            u64(now),
            u64(executes_after),
        ),
    )
    return Plan(
        summary=f"Dry-run of action {action_label(args.action_id)} by {args.operator}: hash "
        f"0x{args.action_hash.hex()}, executable from {executes_after} (now {now} + {delay} s)",
        checks=checks,
        calls=[call],
        handoff_to=args.operator,
    )


class ReportArgs(BaseModel):
    operator: Address
    action_id: ActionId
    action_hash: HexBytes


def _report_checks(
    ctx: StepContext, args: ReportArgs
) -> tuple[int, list[Check], dict[str, Any] | None]:
    now = ctx.chain.now_s()
    checks, bot = operator_checks(
        bot_view(ctx, args.operator), args.operator, args.action_id, args.action_hash, now
    )
    if bot is not None:
        checks += timelock_checks(bot, now, args.action_hash)
    return now, checks, bot


@action(
    "/autobot",
    "success",
    summary="Prepare the operator's record_success payload (checks the pending hash and timelock)",
    runbook="AutomationBot (automation::record_success)",
    args=ReportArgs,
    reads=("views::get_automation_bot",),
    calls=("automation::record_success",),
    privileged=False,
)
def success(ctx: StepContext, args: ReportArgs) -> Plan:
    now, checks, _bot = _report_checks(ctx, args)
    call = ChainCall(
        function="automation::record_success",
        args=(
            u64(args.action_id),
            TypedArg.of("vector<u8>", args.action_hash),
            u64(now),
        ),
    )
    return Plan(
        summary=f"Record success of action {action_label(args.action_id)} by {args.operator} at {now}: "
        "failure_count resets to 0 and the pending dry-run clears",
        checks=checks,
        calls=[call],
        handoff_to=args.operator,
    )


class FailureArgs(ReportArgs):
    error_code: U64


@action(
    "/autobot",
    "failure",
    summary="Prepare the operator's record_failure payload (checks the pending hash, timelock, failure limit)",
    runbook="AutomationBot (automation::record_failure)",
    args=FailureArgs,
    reads=("views::get_automation_bot",),
    calls=("automation::record_failure",),
    privileged=False,
)
def failure(ctx: StepContext, args: FailureArgs) -> Plan:
    now, checks, bot = _report_checks(ctx, args)
    after = ""
    if bot is not None:
        count = bot["failure_count"] + 1
        after = f" failure_count becomes {count} of {bot['max_failures']}."
        if count >= bot["max_failures"]:
            after += (
                " That reaches the limit: every later dry-run and report aborts until "
                "/autobot rotate raises max_failures."
            )
    call = ChainCall(
        function="automation::record_failure",
        args=(
            u64(args.action_id),
            TypedArg.of("vector<u8>", args.action_hash),
            u64(now),
            u64(args.error_code),
        ),
    )
    return Plan(
        summary=f"Record failure {args.error_code} of action {action_label(args.action_id)} by "
        f"{args.operator} at {now}.{after} The AutomationErrorEvent swaps its fields: error_code "
        "carries now_ts and timestamp the error code (spec §13 #27)",
        checks=checks,
        calls=[call],
        handoff_to=args.operator,
    )


class RotateArgs(BaseModel):
    operator: Address
    cron_spec: str = Field(min_length=1, max_length=200)
    actions: list[ActionId]
    timelock_secs: Duration
    max_failures: U64
    expires_at: U64

    @field_validator("actions", mode="before")
    @classmethod
    def _drop_blank(cls, value: Any) -> Any:
        """``""`` or ``1,,2`` leave blanks after the comma split: the check below names an empty list."""
        if isinstance(value, list):
            return [v for v in value if not (isinstance(v, str) and not v.strip())]
        return value


@action(
    "/autobot",
    "rotate",
    summary="Prepare rotate_bot (signed by the package account and the operator): new actions, timelock, limits",
    runbook="AutomationBot (automation::rotate_bot)",
    args=RotateArgs,
    reads=("views::get_automation_bot",),
    calls=("automation::rotate_bot",),
    help='Quote the cron spec: /autobot rotate 0xb07 "*/5 * * * *" auto-close,retry-vrf 900 3 <expires-at>',
)
def rotate(ctx: StepContext, args: RotateArgs) -> Plan:
    now = ctx.chain.now_s()
    bot = bot_view(ctx, args.operator)
    sensitive = sorted(SENSITIVE_ACTIONS.intersection(args.actions))
    checks = [
        _registered(bot, args.operator),
        Check(
            name="actions non-empty",
            ok=bool(args.actions),
            seen=", ".join(action_label(a) for a in args.actions) or "none",
            required="at least one action",
        ),
        Check(
            name="max_failures > 0",
            ok=args.max_failures > 0,
            seen=str(args.max_failures),
            required="> 0",
        ),
        Check(
            name="expires_at > 0 and in the future",
            ok=args.expires_at > now,
            seen=str(args.expires_at),
            required=f"> now ({now})",
        ),
        Check(
            name="timelock >= 900 s for actions 5/6/7",
            ok=not sensitive or args.timelock_secs >= MIN_SENSITIVE_TIMELOCK_S,
            seen=f"{args.timelock_secs} s"
            + (f" with {', '.join(action_label(a) for a in sensitive)}" if sensitive else ""),
            required=f">= {MIN_SENSITIVE_TIMELOCK_S} s"
            if sensitive
            else "any (no sensitive action)",
        ),
    ]
    kept = ""
    if bot is not None:
        kept = f" (it stays {bot['failure_count']}"
        if bot["failure_count"] >= args.max_failures:
            kept += f", not below the new max_failures {args.max_failures}: the bot stays locked"
        kept += ")"
    call = ChainCall(
        function="automation::rotate_bot",
        args=(
            TypedArg.of("vector<u8>", args.cron_spec.encode()),
            TypedArg.of("vector<u64>", list(args.actions)),
            u64(args.timelock_secs),
            u64(args.max_failures),
            u64(args.expires_at),
        ),
    )
    return Plan(
        summary=f"Rotate bot {args.operator}: cron {args.cron_spec!r}, actions "
        f"{', '.join(action_label(a) for a in args.actions)}, timelock {args.timelock_secs} s, "
        f"max_failures {args.max_failures}, expires at {args.expires_at}. Needs two signers: the "
        f"package account and the operator {args.operator}. It clears the pending dry-run and "
        f"last_action_hash and does not reset failure_count{kept}",
        checks=checks,
        calls=[call],
        handoff_to=args.operator,
    )
