"""``/refund``: the runbook's "Emergency refund" section and refund.md (spec §4.2, §4.5, §11.4): the
emergency stop (``feature_switch`` modes of purchases and draws: ``emergency_stop`` does not exist,
fact 9), cancellation, refund batches, progress against the SLA, archive and the support report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.errors import ChainAbortError
from commands.args import U64, Amount, Reason
from commands.payouts import accounting_invariant, cap_checks, dual_write_check
from commands.ports import Outcome, Plan, StepContext
from commands.reads import (
    as_int,
    lottery_status,
    numbers,
    option,
    payout_cap,
    sales_totals,
    status_name,
    u64,
)
from commands.registry import action, read
from commands.reply import Check, Reply, Severity
from commands.reply import Field as RField

__all__ = ["draws_enabled_check", "feature_mode", "switch_initialized"]

FEATURE_PURCHASE = 1
FEATURE_DRAW = 3
FEATURES = {
    1: "purchases",
    2: "close (never consulted on chain)",
    3: "draws",
    4: "payouts (never consulted on chain)",
}
MODE_NAMES = {0: "disabled", 1: "enabled", 2: "premium only"}
STATUS_CANCELED = 7
CANCEL_REASONS = {"vrf": 1, "vrf-failure": 1, "compliance": 2, "operations": 3}
REASON_NAMES = {1: "VRF failure", 2: "compliance", 3: "operations"}
FIRST_BATCH_SLA_S = 43_200  # spec §6.3 REFUND_FIRST_BATCH_SLA_SECS, counted from canceled_ts
FULL_REFUND_SLA_S = 86_400  # REFUND_FULL_SLA_SECS, also from canceled_ts (not from the first batch)
RUNBOOK = "Emergency refund; refund.md"


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(secs: int) -> str:
    hours, rest = divmod(abs(secs), 3600)
    return f"{hours}h {rest // 60:02d}m"


# --- the feature switch (the emergency stop) ---------------------------------------------------


def switch_initialized(ctx: StepContext) -> bool:
    [initialized] = ctx.chain.read("feature_switch::is_initialized")
    return bool(initialized)


def feature_mode(ctx: StepContext, feature_id: int) -> int | None:
    """0 disabled, 1 enabled for all, 2 premium only; None when the feature has no entry.

    Read through ``is_enabled`` for a regular and a premium caller (there is no mode view); it
    aborts 0x1401 for a feature without an entry, which purchases and draws also hit. With
    ``force_enable_devnet`` every feature reads as enabled, which is what the chain then does.
    """
    try:
        [for_all] = ctx.chain.read(
            "feature_switch::is_enabled", [u64(feature_id), TypedArg.of("bool", False)]
        )
        [for_premium] = ctx.chain.read(
            "feature_switch::is_enabled", [u64(feature_id), TypedArg.of("bool", True)]
        )
    except ChainAbortError as exc:
        if exc.code == 0x1401:
            return None
        raise
    if for_all:
        return 1
    return 2 if for_premium else 0


def _mode_name(mode: int | None) -> str:
    return "no entry (aborts 0x1401)" if mode is None else MODE_NAMES.get(mode, str(mode))


def draws_enabled_check(ctx: StepContext) -> Check:
    """``request_draw_admin`` aborts 0x1403/0x1401 unless feature 3 is enabled for a regular caller."""
    if not switch_initialized(ctx):
        return Check(name="draws enabled (feature 3)", ok=True, seen="switch not initialised")
    mode = feature_mode(ctx, FEATURE_DRAW)
    return Check(
        name="draws enabled (feature 3)",
        ok=mode == 1,
        seen=_mode_name(mode),
        required="enabled (lift an emergency stop with /refund resume)",
    )


def _is_running(mode: int | None) -> bool:
    """Premium-only (2) still sells or draws for some callers, so it is not stopped."""
    return mode in (1, 2)


def _stop_modes(ctx: StepContext) -> dict[int, int | None]:
    return {f: feature_mode(ctx, f) for f in (FEATURE_PURCHASE, FEATURE_DRAW)}


def _modes_text(modes: dict[int, int | None]) -> str:
    return ", ".join(f"{FEATURES[f]} {_mode_name(m)}" for f, m in modes.items())


def _initialized_check(ctx: StepContext) -> Check:
    initialized = switch_initialized(ctx)
    return Check(
        name="feature switch initialised",
        ok=initialized,
        seen="yes" if initialized else "no",
        required="feature_switch::init_feature_switch done (set_mode aborts 0x1202 otherwise)",
    )


def _set_mode(feature_id: int, mode: int) -> ChainCall:
    return ChainCall(
        function="feature_switch::set_mode",
        args=(u64(feature_id), TypedArg.of("u8", mode)),
    )


def _expect_mode(mode: int) -> Callable[[StepContext, Outcome], list[Any]]:
    """After each ``set_mode``: the feature reads back as ``mode`` (``force_enable_devnet`` would not)."""

    def after(ctx: StepContext, outcome: Outcome) -> list[Any]:
        feature = int(outcome.call.args[0].value)
        seen = feature_mode(ctx, feature)
        return [
            Check(
                name=f"{FEATURES[feature]} {MODE_NAMES[mode]} after set_mode",
                ok=seen == mode,
                seen=_mode_name(seen),
                required=MODE_NAMES[mode],
            )
        ]

    return after


class ReasonArgs(BaseModel):
    reason: Reason


@read(
    "/refund",
    "state",
    summary="Modes of the feature switch (purchases, close, draws, payouts): is the emergency stop on?",
    runbook="Emergency refund (emergency_stop = feature_switch, spec fact 9)",
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
)
def state(ctx: StepContext, args: BaseModel) -> Reply:
    if not switch_initialized(ctx):
        return Reply(
            title="Feature switch not initialised: purchases and draws are not gated",
            severity=Severity.WARNING,
        )
    modes = {f: feature_mode(ctx, f) for f in FEATURES}
    stopped = [f for f in (FEATURE_PURCHASE, FEATURE_DRAW) if not _is_running(modes[f])]
    if len(stopped) == 2:
        title, severity = "Emergency stop ON: purchases and draws stopped", Severity.WARNING
    elif stopped:
        title = f"Partly stopped: {FEATURES[stopped[0]]} disabled"
        severity = Severity.WARNING
    else:
        title, severity = "Running: purchases and draws enabled", Severity.INFO
    return Reply(
        title=title,
        severity=severity,
        fields=tuple(
            RField(label=f"{f} {FEATURES[f]}", value=_mode_name(m)) for f, m in modes.items()
        ),
        data={"modes": {str(f): m for f, m in modes.items()}},
    )


@action(
    "/refund",
    "stop",
    summary="Emergency stop: disable purchases and draws (feature_switch modes 1 and 3 to 0)",
    runbook="Emergency refund 1 (emergency_stop -> feature_switch::set_mode, spec fact 9)",
    args=ReasonArgs,
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
    calls=("feature_switch::set_mode",),
    break_glass=True,
)
def stop(ctx: StepContext, args: ReasonArgs) -> Plan:
    checks = [_initialized_check(ctx)]
    if checks[0].ok:
        modes = _stop_modes(ctx)
        running = [f for f, m in modes.items() if _is_running(m)]
        checks.append(
            Check(
                name="purchases or draws enabled",
                ok=bool(running),
                seen=_modes_text(modes),
                required="at least one enabled (otherwise the stop is already on)",
            )
        )
    return Plan(
        summary=f"Emergency stop: purchases and draws disabled. Reason: {args.reason}",
        checks=checks,
        calls=[_set_mode(FEATURE_PURCHASE, 0), _set_mode(FEATURE_DRAW, 0)],
        after=_expect_mode(0),
    )


@action(
    "/refund",
    "resume",
    summary="Lift the emergency stop: purchases and draws enabled for everyone again (mode 1)",
    runbook="Emergency refund 4 (remove the flag)",
    args=ReasonArgs,
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
    calls=("feature_switch::set_mode",),
)
def resume(ctx: StepContext, args: ReasonArgs) -> Plan:
    checks = [_initialized_check(ctx)]
    if checks[0].ok:
        modes = _stop_modes(ctx)
        stopped = [f for f, m in modes.items() if not _is_running(m)]
        checks.append(
            Check(
                name="purchases or draws stopped",
                ok=bool(stopped),
                seen=_modes_text(modes),
                required="at least one disabled (otherwise there is no stop to lift)",
            )
        )
    return Plan(
        summary=f"Lift the emergency stop: purchases and draws enabled. Reason: {args.reason}",
        checks=checks,
        calls=[_set_mode(FEATURE_PURCHASE, 1), _set_mode(FEATURE_DRAW, 1)],
        after=_expect_mode(1),
    )


# --- cancellation and refunds ------------------------------------------------------------------


def _reason_code(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in CANCEL_REASONS:
            return CANCEL_REASONS[text]
        if not text.isdigit():
            raise ValueError(f"{value!r} is not vrf, compliance, operations or 1-255")
        return int(text)
    return value


CancelReason = Annotated[int, BeforeValidator(_reason_code), Field(ge=1, le=255)]


def cancellation(ctx: StepContext, lottery_id: int) -> dict[str, Any] | None:
    """``views::get_cancellation``: the CancellationRecord, or None when the lottery is not canceled."""
    [view] = ctx.chain.read("views::get_cancellation", [u64(lottery_id)])
    found = option(view)
    return numbers(found) if found is not None else None


def refund_progress(ctx: StepContext, lottery_id: int) -> dict[str, Any]:
    [view] = ctx.chain.read("views::get_refund_progress", [u64(lottery_id)])
    return numbers(view)


def _archived(ctx: StepContext, lottery_id: int) -> dict[str, Any] | None:
    """``views::get_lottery_summary``, or None when nothing is archived (table 0x6507)."""
    try:
        [summary] = ctx.chain.read("views::get_lottery_summary", [u64(lottery_id)])
    except ChainAbortError as exc:
        if exc.code == 0x6507:
            return None
        raise
    return numbers(summary)


def _reason_text(code: int) -> str:
    return f"{code} ({REASON_NAMES[code]})" if code in REASON_NAMES else str(code)


def _status(ctx: StepContext, lottery_id: int) -> int:
    return as_int(lottery_status(ctx, lottery_id)["status"])


def _canceled_check(current: int) -> Check:
    return Check(
        name="lottery status",
        ok=current == STATUS_CANCELED,
        seen=status_name(current),
        required="Canceled (/refund start)",
    )


class StartArgs(BaseModel):
    lottery_id: U64
    reason_code: CancelReason
    reason: Reason


def _render_start(ctx: StepContext, args: StartArgs, outcomes: list[Outcome]) -> Reply:
    record = cancellation(ctx, args.lottery_id) or {}
    canceled_ts = int(record.get("canceled_ts", 0))
    tickets = int(record.get("tickets_sold", 0))
    next_step = (
        f"/refund batch {args.lottery_id} <tickets> <prize-refund> <operations-refund>"
        if tickets
        else f"/refund archive {args.lottery_id} (no ticket was sold)"
    )
    return Reply(
        title=f"Lottery {args.lottery_id} canceled: refunds started",
        text=f"Next: {next_step}. First batch due by {_utc(canceled_ts + FIRST_BATCH_SLA_S)}, "
        f"full refund by {_utc(canceled_ts + FULL_REFUND_SLA_S)}.",
        severity=Severity.SUCCESS,
        fields=(
            RField(label="Reason", value=_reason_text(int(record.get("reason_code", 0)))),
            RField(
                label="Previous status",
                value=status_name(int(record.get("previous_status", 0))),
            ),
            RField(label="Tickets to refund", value=f"{tickets:,}"),
            RField(label="Proceeds to refund", value=f"{int(record.get('proceeds_accum', 0)):,}"),
            RField(label="Tx", value=outcomes[-1].tx_hash),
        ),
        data={"cancellation": record},
    )


@action(
    "/refund",
    "start",
    summary="Cancel a lottery (reason vrf|compliance|operations or 1-255): refunds start",
    runbook="Emergency refund 2, refund.md 2 (cancellation::cancel_lottery_admin, not registry::)",
    args=StartArgs,
    reads=("views::get_lottery_status", "views::get_cancellation", "sales::sales_totals"),
    calls=("cancellation::cancel_lottery_admin",),
    render=_render_start,
)
def start(ctx: StepContext, args: StartArgs) -> Plan:
    current = _status(ctx, args.lottery_id)
    record = cancellation(ctx, args.lottery_id)
    sold, proceeds, _last = sales_totals(ctx, args.lottery_id)
    checks = [
        Check(
            name="lottery status",
            ok=current < 6,
            seen=status_name(current),
            required="not Finalized or Canceled",
        ),
        Check(
            name="no cancellation record",
            ok=record is None,
            seen="none" if record is None else f"canceled at {record['canceled_ts']}",
            required="none (views::get_cancellation)",
        ),
    ]
    note = ""
    if current == 5:
        note = " Payouts may already be recorded: assess the paid amounts by hand (refund.md)."
    call = ChainCall(
        function="cancellation::cancel_lottery_admin",
        args=(
            u64(args.lottery_id),
            TypedArg.of("u8", args.reason_code),
            u64(ctx.chain.now_s()),
        ),
    )
    return Plan(
        summary=f"Cancel lottery {args.lottery_id} ({status_name(current)}), reason "
        f"{_reason_text(args.reason_code)}: {args.reason}. {sold:,} tickets and {proceeds:,} of "
        f"proceeds to refund.{note}",
        checks=checks,
        calls=[call],
    )


class BatchArgs(BaseModel):
    lottery_id: U64
    tickets: Amount
    prize_refund: Amount
    operations_refund: Amount


def _refund_control(lottery_id: int) -> Callable[[StepContext, Outcome], list[Any]]:
    """refund.md 5: after each batch, refunds within what was sold and accounting untouched."""

    def after(ctx: StepContext, outcome: Outcome) -> list[Any]:
        progress = refund_progress(ctx, lottery_id)
        refunded = progress["prize_refunded"] + progress["operations_refunded"]
        checks = [
            Check(
                name="tickets_refunded <= tickets_sold",
                ok=progress["tickets_refunded"] <= progress["tickets_sold"],
                seen=f"{progress['tickets_refunded']:,}",
                required=f"<= {progress['tickets_sold']:,}",
            ),
            Check(
                name="refunds <= proceeds_accum",
                ok=refunded <= progress["proceeds_accum"],
                seen=f"{refunded:,}",
                required=f"<= {progress['proceeds_accum']:,}",
            ),
        ]
        return checks + accounting_invariant(ctx, lottery_id)

    return after


def _render_batch(ctx: StepContext, args: BatchArgs, outcomes: list[Outcome]) -> Reply:
    progress = refund_progress(ctx, args.lottery_id)
    left = progress["tickets_sold"] - progress["tickets_refunded"]
    refunded = progress["prize_refunded"] + progress["operations_refunded"]
    follow = (
        f"/refund archive {args.lottery_id}"
        if left == 0 and refunded == progress["proceeds_accum"]
        else f"/refund batch {args.lottery_id} ... ({left:,} tickets left)"
    )
    return Reply(
        title=f"Lottery {args.lottery_id}: refund round {progress['refund_round']} recorded",
        text=f"Next: {follow}",
        severity=Severity.SUCCESS,
        fields=(
            RField(
                label="Tickets",
                value=f"{progress['tickets_refunded']:,}/{progress['tickets_sold']:,} refunded",
            ),
            RField(label="Amount", value=f"{refunded:,}/{progress['proceeds_accum']:,} refunded"),
            RField(label="Tx", value=outcomes[-1].tx_hash),
        ),
        data={"progress": progress},
    )


@action(
    "/refund",
    "batch",
    summary="Record one refund batch (next refund round; checks the PayoutBatchCap and the totals)",
    runbook="Emergency refund 3, refund.md 4-5 (payouts::force_refund_batch_admin)",
    args=BatchArgs,
    reads=(
        "views::get_lottery_status",
        "views::get_refund_progress",
        "roles::payout_batch_cap_view",
        "views::accounting_snapshot",
    ),
    calls=("payouts::force_refund_batch_admin",),
    render=_render_batch,
)
def batch(ctx: StepContext, args: BatchArgs) -> Plan:
    now = ctx.chain.now_s()
    current = _status(ctx, args.lottery_id)
    progress = refund_progress(ctx, args.lottery_id)
    round_ = progress["refund_round"] + 1
    tickets_after = progress["tickets_refunded"] + args.tickets
    amount = args.prize_refund + args.operations_refund
    refunded_after = progress["prize_refunded"] + progress["operations_refunded"] + amount
    last_ts = progress["last_refund_ts"]
    checks = [_canceled_check(current)]
    checks += cap_checks(
        payout_cap(ctx),
        size=args.tickets,
        operations=args.operations_refund,
        round_=round_,
        now_s=now,
        round_name="refund round",
    )
    checks += [
        Check(
            name="at least one amount > 0",
            ok=args.tickets > 0 or amount > 0,
            seen=f"tickets {args.tickets}, prize {args.prize_refund}, operations {args.operations_refund}",
            required="a non-zero ticket count or amount",
        ),
        Check(
            name="refund active",
            ok=bool(progress["active"]),
            seen=str(bool(progress["active"])).lower(),
            required="true (set by the cancellation of a lottery with sales)",
        ),
        Check(
            name="timestamp >= last_refund_ts",
            ok=last_ts == 0 or now >= last_ts,
            seen=f"now {now}",
            required=f">= {last_ts}",
        ),
        Check(
            name="cumulative tickets <= tickets_sold",
            ok=tickets_after <= progress["tickets_sold"],
            seen=f"{tickets_after:,}",
            required=f"<= {progress['tickets_sold']:,}",
        ),
        Check(
            name="cumulative prize + operations <= proceeds_accum",
            ok=refunded_after <= progress["proceeds_accum"],
            seen=f"{refunded_after:,}",
            required=f"<= {progress['proceeds_accum']:,}",
        ),
    ]
    call = ChainCall(
        function="payouts::force_refund_batch_admin",
        args=(
            u64(args.lottery_id),
            u64(round_),
            u64(args.tickets),
            u64(args.prize_refund),
            u64(args.operations_refund),
            u64(now),
        ),
    )
    return Plan(
        summary=f"Refund round {round_} of lottery {args.lottery_id} (previous round "
        f"{progress['refund_round']}): {args.tickets:,} tickets, prize {args.prize_refund:,}, "
        f"operations {args.operations_refund:,}",
        checks=checks,
        calls=[call],
        after=_refund_control(args.lottery_id),
    )


def sla_lines(
    record: dict[str, Any], progress: dict[str, Any], now_s: int
) -> list[tuple[str, str, bool]]:
    """(label, status, breached) for the first-batch and full-refund SLAs (spec §6.3, refund.md).

    Both deadlines run from ``canceled_ts``. The progress view keeps only the last batch time, so a
    first batch is known to be on time when the last one was, and known late only when it was the
    only batch.
    """
    canceled = int(record["canceled_ts"])
    first_due = canceled + FIRST_BATCH_SLA_S
    full_due = canceled + FULL_REFUND_SLA_S
    round_ = progress["refund_round"]
    last = progress["last_refund_ts"]
    sold = progress["tickets_sold"]
    if sold == 0:
        return [("Refund SLA", "nothing to refund (no ticket sold)", False)]
    lines: list[tuple[str, str, bool]] = []
    if round_ == 0:
        if now_s > first_due:
            lines.append(
                (
                    "First batch (12 h)",
                    f"BREACHED: no batch yet, due {_utc(first_due)}, {_span(now_s - first_due)} ago",
                    True,
                )
            )
        else:
            lines.append(
                (
                    "First batch (12 h)",
                    f"due by {_utc(first_due)} ({_span(first_due - now_s)} left)",
                    False,
                )
            )
    elif last <= first_due:
        lines.append(("First batch (12 h)", f"met (a batch by {_utc(last)})", False))
    elif round_ == 1:
        lines.append(
            (
                "First batch (12 h)",
                f"MISSED: first batch at {_utc(last)}, due {_utc(first_due)}",
                True,
            )
        )
    else:
        lines.append(
            (
                "First batch (12 h)",
                f"not known from the progress view ({round_} batches, last at {_utc(last)})",
                False,
            )
        )
    refunded = progress["prize_refunded"] + progress["operations_refunded"]
    left = sold - progress["tickets_refunded"]
    complete = left == 0 and refunded == progress["proceeds_accum"]
    if complete and last <= full_due:
        lines.append(("Full refund (24 h)", f"met (completed {_utc(last)})", False))
    elif complete:
        lines.append(
            ("Full refund (24 h)", f"MISSED: completed {_utc(last)}, due {_utc(full_due)}", True)
        )
    elif now_s > full_due:
        lines.append(
            (
                "Full refund (24 h)",
                f"BREACHED: {left:,} tickets and {progress['proceeds_accum'] - refunded:,} left, "
                f"due {_utc(full_due)}, {_span(now_s - full_due)} ago",
                True,
            )
        )
    else:
        lines.append(
            (
                "Full refund (24 h)",
                f"due by {_utc(full_due)} ({_span(full_due - now_s)} left; {left:,} tickets to go)",
                False,
            )
        )
    return lines


class IdArgs(BaseModel):
    lottery_id: U64


@read(
    "/refund",
    "progress",
    summary="Refund progress and cancellation record of a lottery, with the 12 h / 24 h SLA",
    runbook="Emergency refund 3, refund.md 5 (views::get_refund_progress, views::get_cancellation)",
    args=IdArgs,
    reads=("views::get_refund_progress", "views::get_cancellation"),
)
def progress(ctx: StepContext, args: IdArgs) -> Reply:
    record = cancellation(ctx, args.lottery_id)
    view = refund_progress(ctx, args.lottery_id)
    if record is None:
        return Reply(
            title=f"Lottery {args.lottery_id} is not canceled: no refunds",
            text=f"Refunds start with /refund start {args.lottery_id} <reason> <text>.",
            data={"progress": view, "cancellation": None},
        )
    sla = sla_lines(record, view, ctx.chain.now_s())
    refunded = view["prize_refunded"] + view["operations_refunded"]
    fields = [
        RField(
            label="Canceled",
            value=f"{_utc(record['canceled_ts'])}, reason {_reason_text(record['reason_code'])}, "
            f"from {status_name(record['previous_status'])}",
        ),
        RField(label="Refund rounds", value=str(view["refund_round"])),
        RField(label="Tickets", value=f"{view['tickets_refunded']:,}/{view['tickets_sold']:,}"),
        RField(
            label="Amount",
            value=f"{refunded:,}/{view['proceeds_accum']:,} (prize {view['prize_refunded']:,}, "
            f"operations {view['operations_refunded']:,})",
        ),
        RField(
            label="Last batch",
            value=_utc(view["last_refund_ts"]) if view["last_refund_ts"] else "none yet",
        ),
    ]
    fields += [RField(label=label, value=text) for label, text, _ in sla]
    breached = [f"{label}: {text}" for label, text, bad in sla if bad]
    return Reply(
        title=f"Lottery {args.lottery_id}: refund {'active' if view['active'] else 'inactive'}, "
        f"round {view['refund_round']}",
        text="\n".join(f"WARNING {line}" for line in breached),
        severity=Severity.WARNING if breached else Severity.INFO,
        fields=tuple(fields),
        data={"progress": view, "cancellation": record, "sla_breached": bool(breached)},
    )


def _render_archive(ctx: StepContext, args: IdArgs, outcomes: list[Outcome]) -> Reply:
    summary = _archived(ctx, args.lottery_id) or {}
    return Reply(
        title=f"Lottery {args.lottery_id} archived (summary status {summary.get('status')})",
        text=f"Next: /refund resume <reason> if the stop is still on, then /refund report {args.lottery_id}.",
        severity=Severity.SUCCESS,
        fields=(
            RField(label="Payout round (= refund round)", value=str(summary.get("payout_round"))),
            RField(label="Tx", value=outcomes[-1].tx_hash),
        ),
        data={"summary": summary},
    )


@action(
    "/refund",
    "archive",
    summary="Archive a canceled lottery once every ticket is refunded (refunds = proceeds exactly)",
    runbook="Emergency refund 3, refund.md 6 (payouts::archive_canceled_lottery_admin)",
    args=IdArgs,
    reads=(
        "views::get_lottery_status",
        "views::get_cancellation",
        "views::get_refund_progress",
        "views::get_lottery_summary",
        "legacy_bridge::dual_write_status",
    ),
    calls=("payouts::archive_canceled_lottery_admin",),
    render=_render_archive,
)
def archive(ctx: StepContext, args: IdArgs) -> Plan:
    now = ctx.chain.now_s()
    current = _status(ctx, args.lottery_id)
    record = cancellation(ctx, args.lottery_id)
    view = refund_progress(ctx, args.lottery_id)
    checks = [
        _canceled_check(current),
        Check(
            name="cancellation record",
            ok=record is not None,
            seen="present" if record else "none",
            required="present (a lottery canceled without cancel_lottery_admin can never be archived)",
        ),
    ]
    if record is not None:
        checks.append(
            Check(
                name="timestamp >= canceled_ts",
                ok=now >= record["canceled_ts"],
                seen=f"now {now}",
                required=f">= {record['canceled_ts']}",
            )
        )
    sold = view["tickets_sold"]
    refunded = view["prize_refunded"] + view["operations_refunded"]
    if sold > 0:
        checks += [
            Check(
                name="tickets_refunded = tickets_sold",
                ok=view["tickets_refunded"] == sold,
                seen=f"{view['tickets_refunded']:,}",
                required=f"{sold:,}",
            ),
            Check(
                name="refund_round > 0",
                ok=view["refund_round"] > 0,
                seen=str(view["refund_round"]),
                required="> 0",
            ),
            Check(
                name="last_refund_ts > 0",
                ok=view["last_refund_ts"] > 0,
                seen=str(view["last_refund_ts"]),
                required="> 0",
            ),
            Check(
                name="refunds = proceeds_accum",
                ok=refunded == view["proceeds_accum"],
                seen=f"{refunded:,}",
                required=f"{view['proceeds_accum']:,} exactly",
            ),
        ]
    already = _archived(ctx, args.lottery_id)
    checks += [
        Check(
            name="not archived yet",
            ok=already is None,
            seen="none" if already is None else f"summary with status {already['status']}",
            required="no summary",
        ),
        dual_write_check(ctx, args.lottery_id),
    ]
    call = ChainCall(
        function="payouts::archive_canceled_lottery_admin",
        args=(u64(args.lottery_id), u64(now)),
    )
    return Plan(
        summary=f"Archive canceled lottery {args.lottery_id} ({sold:,} tickets refunded)",
        checks=checks,
        calls=[call],
    )


@read(
    "/refund",
    "report",
    summary="The support report: cancellation, refund batches, totals, SLA and archive, ready to paste",
    runbook="Emergency refund 4 (publish a report to support)",
    args=IdArgs,
    reads=(
        "views::get_cancellation",
        "views::get_refund_progress",
        "views::get_lottery_summary",
        "feature_switch::is_initialized",
        "feature_switch::is_enabled",
    ),
)
def report(ctx: StepContext, args: IdArgs) -> Reply:
    record = cancellation(ctx, args.lottery_id)
    if record is None:
        return Reply.error(
            f"Lottery {args.lottery_id} is not canceled: there is no refund to report."
        )
    view = refund_progress(ctx, args.lottery_id)
    now = ctx.chain.now_s()
    sla = sla_lines(record, view, now)
    summary = _archived(ctx, args.lottery_id)
    refunded = view["prize_refunded"] + view["operations_refunded"]
    stop_state = "not gated (feature switch not initialised)"
    if switch_initialized(ctx):
        stop_state = _modes_text(_stop_modes(ctx))
    lines = [
        f"Lottery {args.lottery_id}: cancellation and refund report ({_utc(now)})",
        f"Canceled: {_utc(record['canceled_ts'])}, reason {_reason_text(record['reason_code'])}, "
        f"previous status {status_name(record['previous_status'])}",
        f"Sold: {record['tickets_sold']:,} tickets, {record['proceeds_accum']:,} proceeds",
        f"Refund batches: {view['refund_round']}"
        + (f", last at {_utc(view['last_refund_ts'])}" if view["last_refund_ts"] else ""),
        f"Refunded: {view['tickets_refunded']:,}/{view['tickets_sold']:,} tickets; prize "
        f"{view['prize_refunded']:,} + operations {view['operations_refunded']:,} = {refunded:,} "
        f"of {view['proceeds_accum']:,}",
        f"Remaining: {view['tickets_sold'] - view['tickets_refunded']:,} tickets, "
        f"{view['proceeds_accum'] - refunded:,} amount",
        *(f"{label} SLA: {text}" for label, text, _ in sla),
        "Archive: "
        + (
            f"archived (status {summary['status']}, payout_round {summary['payout_round']})"
            if summary
            else f"not archived yet (/refund archive {args.lottery_id})"
        ),
        f"Sales and draws: {stop_state}",
    ]
    breached = any(bad for _, _, bad in sla)
    return Reply(
        title=f"Refund report: lottery {args.lottery_id}",
        text="\n".join(lines),
        severity=Severity.WARNING if breached else Severity.INFO,
        data={
            "cancellation": record,
            "progress": view,
            "summary": summary,
            "sla_breached": breached,
        },
    )
