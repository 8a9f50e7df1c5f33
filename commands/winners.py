"""``/payouts winners``: who won, what each winner gets and whether it is paid; the prize state the
payout checks share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from chatops.chain.constants import WINNER_CHUNK_CAPACITY
from commands.args import U64
from commands.ports import StepContext
from commands.reads import accounting, numbers, option, u64, winner_progress
from commands.registry import read
from commands.reply import Field as RField
from commands.reply import Reply, Tone
from commands.shares import PaidWinners, paid_winners, winner_amounts

__all__ = ["WINNER_CHUNKS", "PrizeState", "ordinals", "prize_state"]

WINNER_CHUNKS = "payouts::WinnerState.winner_chunks"


@dataclass(frozen=True)
class PrizeState:
    """A lottery's winners against its accounting: each prize, and how much of the list is paid."""

    progress: dict[str, Any]
    acc: dict[str, Any]
    amounts: list[int]
    paid: PaidWinners

    @property
    def required(self) -> int:
        return int(self.progress["total_required"])

    @property
    def prize_unpaid(self) -> int:
        return int(self.acc.get("total_allocated", 0)) - int(self.acc.get("total_prize_paid", 0))

    @property
    def operations_unpaid(self) -> int:
        allocated = int(self.acc.get("total_operations_allocated", 0))
        return allocated - int(self.acc.get("total_operations_paid", 0))

    @property
    def winners_unpaid(self) -> int:
        """Winners not paid in full (a partly paid one counts)."""
        return len(self.amounts) - self.paid.count

    def describe_paid(self, ordinal: int) -> str:
        amount = self.amounts[ordinal]
        if ordinal < self.paid.count:
            return "paid"
        if ordinal == self.paid.count and self.paid.partial:
            return f"partly paid ({self.paid.partial:,} of {amount:,})"
        return "unpaid"


def ordinals(first: int, last: int) -> str:
    """``winner #2`` or ``winners #1-#3`` (1-based, as /payouts winners numbers them)."""
    return f"winner #{first}" if first == last else f"winners #{first}-#{last}"


def prize_state(ctx: StepContext, lottery_id: int) -> PrizeState:
    """Winner progress, accounting (empty before the first sale), each prize and what is paid.

    Winners live only in ``WinnerState.winner_chunks`` (no function returns them, spec §1.6), 64 to
    a chunk: a page is a chunk. Amounts follow ``shares.winner_amounts``; winners are paid in
    ordinal order, so ``total_prize_paid`` says how far down the list the payouts reached.
    """
    progress = winner_progress(ctx, lottery_id)
    acc = accounting(ctx, lottery_id) or {}
    amounts = winner_amounts(int(acc.get("total_allocated", 0)), int(progress["total_required"]))
    return PrizeState(progress, acc, amounts, paid_winners(amounts, acc.get("total_prize_paid", 0)))


def winner_chunk(ctx: StepContext, lottery_id: int, chunk_seq: int) -> list[dict[str, Any]]:
    """The records of one winner chunk (empty when it does not exist)."""
    [found] = ctx.chain.read(WINNER_CHUNKS, [u64(lottery_id), u64(chunk_seq)])
    chunk = option(found)
    return [numbers(r) for r in chunk["records"]] if chunk else []


class WinnersArgs(BaseModel):
    lottery_id: U64
    page: U64 = Field(default=1, ge=1)


@read(
    "/payouts",
    "winners",
    summary="The winners of a lottery with addresses, prize amounts and paid or not (64 a page)",
    runbook="Admin 8 (winners of compute_winners_admin; WinnerState.winner_chunks)",
    args=WinnersArgs,
    reads=("payouts::winner_progress", "views::accounting_snapshot"),
    help="Winners are stored only in the PayoutLedger resource (no view lists them), 64 to a chunk; "
    "each page is one chunk. Each winner's prize is total_allocated shared equally (the rest one "
    "unit each to the first winners), and winners are paid in order, so total_prize_paid says "
    "which are paid.",
)
def winners(ctx: StepContext, args: WinnersArgs) -> Reply:
    state = prize_state(ctx, args.lottery_id)
    assigned = int(state.progress["total_assigned"])
    pages = max(1, -(-assigned // WINNER_CHUNK_CAPACITY))
    title = f"Lottery {args.lottery_id} winners"
    if not state.progress["initialized"]:
        return Reply(
            title=f"{title}: none computed yet",
            text=f"Winners are computed after VrfFulfilled: /payouts compute {args.lottery_id}.",
        )
    if args.page > pages:
        return Reply.error(f"{title}: there are {pages} page(s) of winners, not {args.page}.")
    records = winner_chunk(ctx, args.lottery_id, args.page - 1)
    start = (args.page - 1) * WINNER_CHUNK_CAPACITY
    rows: list[dict[str, Any]] = []
    fields: list[RField] = []
    for offset, record in enumerate(records):
        ordinal = start + offset
        amount = state.amounts[ordinal] if ordinal < len(state.amounts) else 0
        paid = state.describe_paid(ordinal) if ordinal < len(state.amounts) else "unpaid"
        rows.append(
            {
                "ordinal": ordinal,
                "slot_id": record["slot_id"],
                "ticket_index": record["ticket_index"],
                "winner": record["winner"],
                "amount": amount,
                "paid": paid,
            }
        )
        fields.append(
            RField(
                label=f"#{ordinal + 1} slot {record['slot_id']}",
                value=f"{record['winner']} (ticket {record['ticket_index']}): {amount:,}, {paid}",
            )
        )
    return Reply(
        title=f"{title}: page {args.page} of {pages}, {assigned}/{state.required} assigned, "
        f"{state.paid.count} paid",
        text=f"Prize paid {int(state.acc.get('total_prize_paid', 0)):,} of "
        f"{int(state.acc.get('total_allocated', 0)):,} allocated.",
        tone=Tone.INFO,
        fields=tuple(fields),
        data={"page": args.page, "pages": pages, "winners": rows},
    )
