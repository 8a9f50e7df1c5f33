"""``/refund``: the runbook's "Emergency refund" section and refund.md (spec §4.2, §4.5, §11.4):
cancellation, the refund plan, refund batches whose amounts the bot computes, and the archive.
The emergency stop is in ``commands.emergency``, progress against the SLA in ``refund_report``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.constants import REFUND_FIRST_BATCH_SLA_SECS, REFUND_FULL_SLA_SECS
from commands.accounting import accounting_invariant
from commands.args import U64, Amount, Reason
from commands.dualwrite import dual_write_check
from commands.payout_cap import cap_checks, nonce_check
from commands.ports import Outcome, Plan, StepContext
from commands.reads import (
    as_int,
    cancellation,
    lottery_config,
    lottery_status,
    lottery_summary,
    payout_cap,
    refund_progress,
    sales_totals,
    status_name,
    u64,
    utc,
)
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField
from commands.shares import RefundAmounts, refund_amounts

__all__ = ["not_canceled", "reason_text"]

STATUS_CANCELED = 7
CANCEL_REASONS = {"vrf": 1, "vrf-failure": 1, "compliance": 2, "operations": 3}
REASON_NAMES = {1: "VRF failure", 2: "compliance", 3: "operations"}


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


def not_canceled(lottery_id: int, what: str, data: dict[str, Any]) -> Reply:
    """The answer of a refund read for a lottery that was never canceled."""
    return Reply(
        title=f"Lottery {lottery_id} is not canceled: {what}",
        text=f"Refunds start with /refund start {lottery_id} <reason> <text>.",
        data={**data, "cancellation": None},
    )


def reason_text(code: int) -> str:
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
        f"/refund plan {args.lottery_id}, then /refund batch {args.lottery_id} <tickets>"
        if tickets
        else f"/refund archive {args.lottery_id} (no ticket was sold)"
    )
    return Reply(
        title=f"Lottery {args.lottery_id} canceled: refunds started",
        text=f"Next: {next_step}. First batch due by {utc(canceled_ts + REFUND_FIRST_BATCH_SLA_SECS)}, "
        f"full refund by {utc(canceled_ts + REFUND_FULL_SLA_SECS)}.",
        tone=Tone.SUCCESS,
        fields=(
            RField(label="Reason", value=reason_text(int(record.get("reason_code", 0)))),
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
        f"{reason_text(args.reason_code)}: {args.reason}. {sold:,} tickets and {proceeds:,} of "
        f"proceeds to refund.{note}",
        checks=checks,
        calls=[call],
    )


class IdArgs(BaseModel):
    lottery_id: U64


def next_amounts(
    ctx: StepContext, lottery_id: int, progress: dict[str, Any], tickets: int
) -> RefundAmounts:
    """What refunding ``tickets`` more tickets comes to (``shares.refund_amounts``)."""
    config = lottery_config(ctx, lottery_id)
    return refund_amounts(
        tickets_after=progress["tickets_refunded"] + tickets,
        ticket_price=config.ticket_price,
        operations_bps=config.operations_bps,
        prize_refunded=progress["prize_refunded"],
        operations_refunded=progress["operations_refunded"],
    )


def _amounts_text(amounts: RefundAmounts) -> str:
    return f"prize {amounts.prize:,} + operations {amounts.operations:,} = {amounts.total:,}"


@read(
    "/refund",
    "plan",
    summary="The next refund batch: round, tickets left, the amounts the bot computes, the cap",
    runbook="Emergency refund 3, refund.md 3-4 (views::get_refund_progress, views::get_lottery, "
    "roles::payout_batch_cap_view)",
    args=IdArgs,
    reads=(
        "views::get_cancellation",
        "views::get_refund_progress",
        "views::get_lottery",
        "roles::payout_batch_cap_view",
    ),
    help="A refund gives each ticket back at its price; the operations part is the lottery's "
    "operations share (rounded down on the cumulative amount) and the prize part the rest, so the "
    "last batch makes refunds equal proceeds exactly, as the archive requires.",
)
def plan(ctx: StepContext, args: IdArgs) -> Reply:
    record = cancellation(ctx, args.lottery_id)
    progress = refund_progress(ctx, args.lottery_id)
    if record is None:
        return not_canceled(args.lottery_id, "no refunds to plan", {"progress": progress})
    left = progress["tickets_sold"] - progress["tickets_refunded"]
    round_ = progress["refund_round"] + 1
    if left == 0:
        return Reply(
            title=f"Lottery {args.lottery_id}: every ticket is refunded",
            text=f"Next: /refund archive {args.lottery_id}.",
            tone=Tone.SUCCESS,
            data={"progress": progress, "tickets_left": 0},
        )
    cap = payout_cap(ctx)
    size = left
    if cap is not None and cap["max_batch_size"]:
        size = min(left, int(cap["max_batch_size"]))
    amounts = next_amounts(ctx, args.lottery_id, progress, size)
    everything = next_amounts(ctx, args.lottery_id, progress, left)
    nonce = "no PayoutBatchCap: /roles payout-cap" if cap is None else ""
    if cap is not None:
        check = nonce_check(cap, round_, round_name="refund round")
        nonce = check.seen if check.ok else f"BLOCKED, {check.seen}; {check.required}"
    return Reply(
        title=f"Lottery {args.lottery_id} refund plan: round {round_}, {left:,} tickets left",
        text=f"Next: /refund batch {args.lottery_id} {size} ({_amounts_text(amounts)}).",
        fields=(
            RField(label="Next refund round", value=f"{round_} ({nonce})"),
            RField(
                label="Tickets",
                value=f"{progress['tickets_refunded']:,}/{progress['tickets_sold']:,} refunded, "
                f"{left:,} left",
            ),
            RField(label="Next batch", value=f"{size:,} tickets: {_amounts_text(amounts)}"),
            RField(
                label="All that is left", value=f"{left:,} tickets: {_amounts_text(everything)}"
            ),
            RField(
                label="Refunded",
                value=f"{progress['prize_refunded'] + progress['operations_refunded']:,} of "
                f"{progress['proceeds_accum']:,} proceeds",
            ),
        ),
        data={
            "progress": progress,
            "round": round_,
            "tickets_left": left,
            "batch": {"tickets": size, "prize": amounts.prize, "operations": amounts.operations},
        },
    )


class BatchArgs(BaseModel):
    lottery_id: U64
    tickets: Amount
    prize_refund: Amount | None = None
    operations_refund: Amount | None = None


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
        else f"/refund plan {args.lottery_id} ({left:,} tickets left)"
    )
    return Reply(
        title=f"Lottery {args.lottery_id}: refund round {progress['refund_round']} recorded",
        text=f"Next: {follow}",
        tone=Tone.SUCCESS,
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
    summary="Record one refund batch of <tickets> (the bot computes the amounts; checks the "
    "PayoutBatchCap and the totals)",
    runbook="Emergency refund 3, refund.md 4-5 (payouts::force_refund_batch_admin)",
    args=BatchArgs,
    reads=(
        "views::get_lottery_status",
        "views::get_refund_progress",
        "views::get_lottery",
        "roles::payout_batch_cap_view",
        "views::accounting_snapshot",
    ),
    calls=("payouts::force_refund_batch_admin",),
    render=_render_batch,
    help="The amounts are computed from the tickets, the ticket price and the distribution (see "
    "/refund plan); typed amounts must equal them.",
)
def batch(ctx: StepContext, args: BatchArgs) -> Plan:
    now = ctx.chain.now_s()
    current = _status(ctx, args.lottery_id)
    progress = refund_progress(ctx, args.lottery_id)
    round_ = progress["refund_round"] + 1
    tickets_after = progress["tickets_refunded"] + args.tickets
    amounts = next_amounts(ctx, args.lottery_id, progress, args.tickets)
    # A negative computed part fails the amounts check below; the call must still be well-formed.
    prize = max(amounts.prize, 0) if args.prize_refund is None else args.prize_refund
    operations = (
        max(amounts.operations, 0) if args.operations_refund is None else args.operations_refund
    )
    refunded_after = (
        progress["prize_refunded"] + progress["operations_refunded"] + prize + operations
    )
    last_ts = progress["last_refund_ts"]
    checks = [_canceled_check(current)]
    checks += cap_checks(
        payout_cap(ctx),
        size=args.tickets,
        operations=operations,
        round_=round_,
        now_s=now,
        round_name="refund round",
    )
    checks += [
        Check(
            name="at least one amount > 0",
            ok=args.tickets > 0 or prize + operations > 0,
            seen=f"tickets {args.tickets}, prize {prize}, operations {operations}",
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
            name="amounts = tickets x price by the distribution",
            ok=amounts.prize >= 0
            and amounts.operations >= 0
            and (prize, operations) == (amounts.prize, amounts.operations),
            seen=f"prize {prize:,} + operations {operations:,} for {args.tickets:,} tickets",
            required=f"{_amounts_text(amounts)} (leave the amounts out and the bot uses these)"
            if amounts.prize >= 0 and amounts.operations >= 0
            else "earlier batches refunded more than their tickets cost: reconcile by hand",
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
            u64(prize),
            u64(operations),
            u64(now),
        ),
    )
    return Plan(
        summary=f"Refund round {round_} of lottery {args.lottery_id} (previous round "
        f"{progress['refund_round']}): {args.tickets:,} tickets, prize {prize:,}, "
        f"operations {operations:,}",
        checks=checks,
        calls=[call],
        after=_refund_control(args.lottery_id),
    )


def _render_archive(ctx: StepContext, args: IdArgs, outcomes: list[Outcome]) -> Reply:
    summary = lottery_summary(ctx, args.lottery_id) or {}
    return Reply(
        title=f"Lottery {args.lottery_id} archived (summary status {summary.get('status')})",
        text=f"Next: /refund resume <reason> if the stop is still on, then /refund report {args.lottery_id}.",
        tone=Tone.SUCCESS,
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
    already = lottery_summary(ctx, args.lottery_id)
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
