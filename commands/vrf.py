"""``/vrf``: the VRF deposit procedure (status, snapshot, resume) and a lottery's VRF request and
retry state (request, retry)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.constants import MAX_VRF_ATTEMPTS
from chatops.chain.errors import ChainAbortError
from commands.args import U64, Amount, Duration
from commands.emergency import draws_enabled_check
from commands.ports import Events, Plan, StepContext, find_event
from commands.reads import (
    VRF_STATUS_NAMES,
    as_int,
    lottery_status,
    numbers,
    status_name,
    utc,
    vrf_deposit,
    vrf_state,
)
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

__all__ = ["paused_text", "retry_checks", "retry_text"]

RETRY_STRATEGIES = ("fixed", "exponential", "manual")
RETRY_MANUAL = 2
VRF_REQUESTED = 1


def paused_text(view: dict[str, Any]) -> str:
    """``PAUSED since ... (effective X < required Y)`` for a paused deposit."""
    since = int(view["paused_since_ts"])
    return (
        f"PAUSED since {utc(since) if since else 'unknown'} (effective "
        f"{view['effective_balance']:,}, required minimum {view['required_minimum']:,})"
    )


@read(
    "/vrf",
    "status",
    summary="VRF deposit balances, floor and pause state",
    runbook="Admin 1, VRF deposit monitoring (views::get_vrf_deposit_status)",
    reads=("views::get_vrf_deposit_status",),
)
def status(ctx: StepContext, args: BaseModel) -> Reply:
    view = vrf_deposit(ctx)
    paused = bool(view["requests_paused"])
    low = view["effective_balance"] < view["required_minimum"]
    return Reply(
        title="VRF requests PAUSED" if paused else "VRF requests allowed",
        tone=Tone.WARNING if paused or low else Tone.INFO,
        fields=(
            RField(label="Total balance", value=f"{view['total_balance']:,}"),
            RField(label="Minimum balance", value=f"{view['minimum_balance']:,}"),
            RField(label="Effective balance", value=f"{view['effective_balance']:,}"),
            RField(label="Required minimum", value=f"{view['required_minimum']:,}"),
            RField(label="Last snapshot", value=str(view["last_update_ts"])),
            RField(label="Paused since", value=str(view["paused_since_ts"]) if paused else "-"),
        ),
        data=view,
    )


def _strategy(code: int) -> str:
    return RETRY_STRATEGIES[code] if 0 <= code < len(RETRY_STRATEGIES) else f"unknown ({code})"


def retry_text(vrf: dict[str, Any]) -> str:
    """The retry policy and window of a lottery's VRF state, as a phrase."""
    strategy = as_int(vrf["retry_strategy"])
    after = int(vrf["retry_after_ts"])
    when = f"retry after {utc(after)}" if after else "no retry time set"
    if strategy == RETRY_MANUAL and not after:
        when = "manual retry not scheduled"
    return f"{_strategy(strategy)} retry, attempt {vrf['attempt']} of {MAX_VRF_ATTEMPTS}, {when}"


def retry_checks(vrf: dict[str, Any], now_s: int, lottery_id: int) -> list[Check]:
    """``request_draw_admin``'s retry rules after its pending check (spec §4.4, steps 3 and 5);
    while a request is pending that check decides and these do not apply."""
    if as_int(vrf["status"]) == VRF_REQUESTED:
        return []
    after = int(vrf["retry_after_ts"])
    checks = []
    if as_int(vrf["attempt"]) > 0 and as_int(vrf["retry_strategy"]) == RETRY_MANUAL:
        checks.append(
            Check(
                name="manual retry scheduled",
                ok=after > 0,
                seen="not scheduled" if not after else utc(after),
                required=f"a retry time (/vrf retry {lottery_id} [delay]; else 0x170F "
                "E_VRF_MANUAL_SCHEDULE_REQUIRED)",
            )
        )
    if after:
        checks.append(
            Check(
                name="retry window passed",
                ok=now_s >= after,
                seen=f"now {utc(now_s)}",
                required=f"from {utc(after)} (else 0x1709 E_VRF_RETRY_WINDOW)",
            )
        )
    return checks


class LotteryArgs(BaseModel):
    lottery_id: U64


@read(
    "/vrf",
    "request",
    summary="The VRF request and retry state of one lottery (attempts, policy, retry window)",
    runbook="Admin 7-8 (draw::vrf_state_view), refund.md (retry policy exhausted)",
    args=LotteryArgs,
    reads=("draw::vrf_state_view",),
)
def request(ctx: StepContext, args: LotteryArgs) -> Reply:
    view = vrf_state(ctx, args.lottery_id)
    code = as_int(view["status"])
    name = VRF_STATUS_NAMES[code] if code < len(VRF_STATUS_NAMES) else str(code)
    strategy = as_int(view["retry_strategy"])
    after = int(view["retry_after_ts"])
    if code == VRF_REQUESTED:
        next_request = (
            "refused while this request is pending (0x1701 E_VRF_PENDING); nothing on chain moves "
            f"it off Requested, so one never fulfilled ends with /refund start {args.lottery_id} "
            "vrf (spec fact 15)"
        )
    elif strategy == RETRY_MANUAL and as_int(view["attempt"]) > 0 and not after:
        next_request = f"needs a manual retry time first: /vrf retry {args.lottery_id} [delay]"
    else:
        next_request = f"allowed from {utc(after)}" if after else "allowed"
    return Reply(
        title=f"Lottery {args.lottery_id}: VRF {name}",
        fields=(
            RField(label="Attempt", value=f"{view['attempt']} of {MAX_VRF_ATTEMPTS}"),
            RField(label="Request id", value=str(view["request_id"])),
            RField(label="Requested at", value=str(view["last_request_ts"])),
            RField(label="Retry policy", value=_strategy(strategy)),
            RField(label="Retry after", value=str(view["retry_after_ts"])),
            RField(label="Retry", value=retry_text(view)),
            RField(label="A new request", value=next_request),
            RField(label="Consumed", value="yes" if view["consumed"] else "no"),
        ),
        data=view,
    )


class RetryArgs(BaseModel):
    lottery_id: U64
    delay: Duration = 0


@action(
    "/vrf",
    "retry",
    summary="Schedule the next VRF attempt of a lottery with a manual retry policy (now + delay)",
    runbook="Admin 7, refund.md (draw::schedule_manual_retry_admin)",
    args=RetryArgs,
    reads=(
        "views::get_lottery_status",
        "draw::vrf_state_view",
        "feature_switch::is_initialized",
        "feature_switch::is_enabled",
    ),
    calls=("draw::schedule_manual_retry_admin",),
    privileged=False,
    help="A manual retry policy sets no retry time at a request: request_draw_admin then refuses "
    "the next attempt (0x170F) until this schedules it. It does not make a pending request "
    "retryable: request_draw_admin refuses any new request while one is Requested (spec fact 15).",
)
def retry(ctx: StepContext, args: RetryArgs) -> Plan:
    now = ctx.chain.now_s()
    current = as_int(lottery_status(ctx, args.lottery_id)["status"])
    vrf = vrf_state(ctx, args.lottery_id)
    at = now + args.delay
    checks = [
        draws_enabled_check(ctx),
        Check(
            name="lottery status",
            ok=current in (2, 3),
            seen=status_name(current),
            required="Closing or DrawRequested",
        ),
        Check(
            name="VRF requested before",
            ok=as_int(vrf["attempt"]) > 0,
            seen=f"attempt {vrf['attempt']}",
            required="a first request (/lottery draw; else 0x1702 E_VRF_NOT_REQUESTED)",
        ),
        Check(
            name="manual retry policy",
            ok=as_int(vrf["retry_strategy"]) == RETRY_MANUAL,
            seen=_strategy(as_int(vrf["retry_strategy"])),
            required="manual (fixed and exponential set their own window; else 0x170E)",
        ),
    ]
    call = ChainCall(
        function="draw::schedule_manual_retry_admin",
        args=(TypedArg.of("u64", args.lottery_id), TypedArg.of("u64", now), TypedArg.of("u64", at)),
    )
    pending = (
        " The current request is still pending: a new one is refused until it is no longer "
        "Requested (spec fact 15)."
        if as_int(vrf["status"]) == VRF_REQUESTED
        else ""
    )
    return Plan(
        summary=f"Schedule the next VRF attempt of lottery {args.lottery_id} from {utc(at)}.{pending}",
        checks=checks,
        calls=[call],
        effects=(f"retry_after_ts {vrf['retry_after_ts']} -> {at}",),
    )


class SnapshotArgs(BaseModel):
    total_balance: Amount
    minimum_balance: Amount
    effective_balance: Amount


def _figures(view: dict[str, Any]) -> str:
    return (
        f"total {int(view['total_balance']):,}, minimum {int(view['minimum_balance']):,}, "
        f"effective {int(view['effective_balance']):,}"
    )


def _snapshot_effects(before: dict[str, Any], events: Events) -> tuple[tuple[str, ...], str | None]:
    """What the simulated snapshot changes, and why it needs a second person (None if it does not)."""
    snap = numbers(find_event(events, "::VrfDepositSnapshotEvent") or {})
    paused = find_event(events, "::VrfRequestsPausedEvent")
    resumed = find_event(events, "::VrfRequestsResumedEvent")
    low = find_event(events, "::VrfDepositAlertEvent") is not None
    effects = [
        f"required_minimum {before['required_minimum']:,} -> {snap.get('required_minimum', 0):,} "
        f"(effective floor {snap.get('effective_floor', 0):,})",
    ]
    why = None
    if paused is not None:
        effects.insert(
            0, "requests_paused false -> true: every draw request is refused until resumed"
        )
        why = "it pauses VRF requests, stopping every draw"
    elif resumed is not None:
        effects.insert(
            0,
            f"requests_paused true -> false: lifts the pause in place since "
            f"{utc(int(before['paused_since_ts']))}",
        )
        why = "it lifts the VRF pause, as /vrf resume does (two people)"
    else:
        state = "true (stays paused)" if before["requests_paused"] else "false (unchanged)"
        effects.insert(0, f"requests_paused {state}" + (", below the floor" if low else ""))
    return tuple(effects), why


@action(
    "/vrf",
    "snapshot",
    summary="Record a VRF deposit snapshot; one that would pause requests or lift the pause needs a "
    "second person",
    runbook="Admin 1 (vrf_deposit::record_snapshot_admin)",
    args=SnapshotArgs,
    reads=("views::get_vrf_deposit_status",),
    calls=("vrf_deposit::record_snapshot_admin",),
    privileged=False,
    help="The balances are the operator's own figures. The bot simulates the snapshot and shows "
    "the last recorded one, the new figures and what changes; a snapshot that pauses requests or "
    "lifts the pause needs a second person (lifting it is what /vrf resume does).",
)
def snapshot(ctx: StepContext, args: SnapshotArgs) -> Plan:
    """A snapshot's balances are the operator's own figures (spec §4.7) and a snapshot pauses or lifts
    the pause by itself, so a snapshot that would change the pause is privileged like ``/vrf
    resume``: the bot simulates it to see what it changes before anything is sent.
    """
    before = vrf_deposit(ctx)
    checks = [
        Check(
            name="effective <= total balance",
            ok=args.effective_balance <= args.total_balance,
            seen=f"{args.effective_balance} > {args.total_balance}"
            if args.effective_balance > args.total_balance
            else "ok",
            required="effective balance not above total",
        )
    ]
    call = ChainCall(
        function="vrf_deposit::record_snapshot_admin",
        args=(
            TypedArg.of("u64", args.total_balance),
            TypedArg.of("u64", args.minimum_balance),
            TypedArg.of("u64", args.effective_balance),
            TypedArg.of("u64", ctx.chain.now_s()),
        ),
    )
    effects: tuple[str, ...] = ()
    why = None
    try:
        effects, why = _snapshot_effects(before, ctx.chain.simulate(call))
    except ChainAbortError as exc:
        checks.append(Check(name="simulation", ok=False, seen=str(exc), required="no abort"))
    last = (
        f"last recorded at {utc(int(before['last_update_ts']))}: {_figures(before)}"
        if before["last_update_ts"]
        else "no snapshot recorded yet"
    )
    return Plan(
        summary=f"Record the VRF deposit snapshot total {args.total_balance:,}, minimum "
        f"{args.minimum_balance:,}, effective {args.effective_balance:,} ({last})",
        checks=checks,
        calls=[call],
        needs_approval=why,
        effects=effects,
    )


@action(
    "/vrf",
    "resume",
    summary="Resume VRF requests after a top-up (manual override of the pause)",
    runbook="VRF deposit monitoring (vrf_deposit::resume_requests)",
    reads=("views::get_vrf_deposit_status",),
    calls=("vrf_deposit::resume_requests",),
)
def resume(ctx: StepContext, args: BaseModel) -> Plan:
    view = vrf_deposit(ctx)
    checks = [
        Check(
            name="requests paused",
            ok=bool(view["requests_paused"]),
            seen="paused" if view["requests_paused"] else "not paused",
            required="paused (resume is a no-op otherwise)",
        ),
    ]
    call = ChainCall(
        function="vrf_deposit::resume_requests", args=(TypedArg.of("u64", ctx.chain.now_s()),)
    )
    short = view["effective_balance"] < view["required_minimum"]
    note = " (override: effective balance is still below the required minimum)" if short else ""
    return Plan(summary=f"Resume VRF requests{note}", checks=checks, calls=[call])
