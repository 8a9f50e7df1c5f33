"""The amounts the bot derives instead of taking them on trust (each winner's prize, how much of
the prize list is paid, a refund batch's split): the contracts do not check them (spec §4.5).
Pure arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BPS",
    "PaidWinners",
    "RefundAmounts",
    "paid_winners",
    "refund_amounts",
    "winner_amounts",
]

BPS = 10_000


def winner_amounts(total_allocated: int, winners: int) -> list[int]:
    """Each winner's prize, by ordinal: ``total_allocated`` shared equally, the indivisible rest
    one unit each to the first winners, so the list sums to ``total_allocated`` exactly.

    The prize plan says how many winners each slot has but no amount (``reward_payload`` is opaque
    bytes), and ``record_payout_batch_admin`` checks prize paid against ``total_allocated`` (the prize
    and reserve shares of sales), so that total is what the winners share.
    """
    if winners <= 0:
        return []
    base, rest = divmod(total_allocated, winners)
    return [base + (1 if ordinal < rest else 0) for ordinal in range(winners)]


@dataclass(frozen=True)
class PaidWinners:
    """How far ``total_prize_paid`` reaches down the winner list (winners are paid in ordinal order)."""

    count: int  # winners paid in full
    partial: int  # already paid towards the next winner (0 when the total ends on a winner)

    def next_prize(self, amounts: list[int], winners: int) -> int:
        """The prize of a batch paying the next ``winners`` winners (less what the first of them
        already got); a batch paying no winner pays no prize."""
        if winners <= 0:
            return 0
        return sum(amounts[self.count : self.count + winners]) - self.partial


def paid_winners(amounts: list[int], prize_paid: int) -> PaidWinners:
    """Split ``prize_paid`` over ``amounts`` in order: whole winners first, then a partial one."""
    left = prize_paid
    for ordinal, amount in enumerate(amounts):
        if left < amount:
            return PaidWinners(ordinal, left)
        left -= amount
    return PaidWinners(len(amounts), 0)


@dataclass(frozen=True)
class RefundAmounts:
    """A refund batch's two amounts (``force_refund_batch_admin``'s prize and operations refunds)."""

    prize: int
    operations: int

    @property
    def total(self) -> int:
        return self.prize + self.operations


def refund_amounts(
    *,
    tickets_after: int,
    ticket_price: int,
    operations_bps: int,
    prize_refunded: int,
    operations_refunded: int,
) -> RefundAmounts:
    """The batch that brings cumulative refunds to what ``tickets_after`` tickets cost.

    Each ticket is refunded at its price; the operations part is the distribution's operations
    share of the cumulative amount (rounded down, as sales round it, spec §12.3) and the prize part
    is the rest (prize, jackpot and reserve shares). Computed on cumulative totals, so rounding never
    drifts: after the last ticket, refunds equal ``proceeds_accum`` exactly, as the archive requires.
    A negative part means earlier batches refunded more than this rule gives.
    """
    amount_after = tickets_after * ticket_price
    operations_after = amount_after * operations_bps // BPS
    prize_after = amount_after - operations_after
    return RefundAmounts(prize_after - prize_refunded, operations_after - operations_refunded)
