"""/payouts winners and the prize arithmetic behind it: who won, how much, and paid or not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commands.shares import paid_winners, refund_amounts, winner_amounts
from tests.commands.chain_double import failed_check
from tests.fakes.bot import Harness, harness


def test_winners_lists_addresses_amounts_and_paid(ops: Harness) -> None:
    """Lottery 4's three winners with their ticket owners and 350,000,000 each, all unpaid."""
    reply = ops.run("/payouts winners 4")
    assert reply.ok, reply
    assert reply.title == "Lottery 4 winners: page 1 of 1, 3/3 assigned, 0 paid"
    assert reply.data is not None
    rows = reply.data["winners"]
    assert [r["ordinal"] for r in rows] == [0, 1, 2]
    assert [r["slot_id"] for r in rows] == [0, 1, 1]
    assert {r["amount"] for r in rows} == {350_000_000}
    assert {r["paid"] for r in rows} == {"unpaid"}
    for row in rows:
        [owner] = ops.view("sales::ticket_owner", "4", str(row["ticket_index"]))
        assert row["winner"] == owner


def test_winners_show_who_a_batch_paid(ops: Harness) -> None:
    """After a batch paying one winner, that one is paid and the others are not."""
    assert ops.execute("/payouts batch 4 1").ok
    rows = (ops.run("/payouts winners 4").data or {})["winners"]
    assert [r["paid"] for r in rows] == ["paid", "unpaid", "unpaid"]


def test_winners_show_a_partly_paid_winner(ops: Harness) -> None:
    """A batch recorded outside the bot with an odd amount leaves one winner partly paid, and the
    next batch the bot plans pays exactly the rest of that winner."""
    ops.server.ledger.apply(
        "payouts::record_payout_batch_admin", [4, 1, 1, 100_000_000, 0, ops.gateway.now_s()]
    )
    rows = (ops.run("/payouts winners 4").data or {})["winners"]
    assert rows[0]["paid"] == "partly paid (100,000,000 of 350,000,000)"
    assert ops.run("/payouts plan 4").text == (
        "Next: /payouts batch 4 3 (prize 950,000,000 for winners #1-#3)"
    )
    assert ops.execute("/payouts batch 4 1").ok
    [_, second] = ops.events("PayoutBatchEvent")[-2:]
    assert second["prize_paid"] == "250000000"


def test_winners_before_any_are_computed(ops: Harness) -> None:
    """Lottery 3 is Closing: no winners yet, pointing at /payouts compute."""
    reply = ops.run("/payouts winners 3")
    assert reply.ok
    assert reply.title == "Lottery 3 winners: none computed yet"


def test_winners_page_beyond_the_last(ops: Harness) -> None:
    """Page 2 of a three-winner lottery does not exist: a specific error."""
    reply = ops.run("/payouts winners 4 2")
    assert not reply.ok
    assert reply.title == "Lottery 4 winners: there are 1 page(s) of winners, not 2."


def test_winners_read_from_resources_on_a_strict_node() -> None:
    """On a node that refuses non-view reads the winners come from WinnerState.winner_chunks."""
    with harness(strict_views=True) as strict:
        reply = strict.run("/payouts winners 4")
        assert reply.ok, reply
        assert len((reply.data or {})["winners"]) == 3


def test_batch_refuses_more_winners_than_are_unpaid(ops: Harness) -> None:
    """Paying 4 winners of a 3-winner lottery is refused before anything is sent."""
    before = ops.tx_count
    check = failed_check(ops.run("/payouts batch 4 4"), "winners left to pay")
    assert check.seen == "4 to pay"
    assert ops.tx_count == before


@given(st.integers(0, 10**18), st.integers(1, 300))
def test_winner_amounts_sum_to_the_allocation(total: int, winners: int) -> None:
    """The winners' prizes add up to total_allocated exactly and differ by at most one unit."""
    amounts = winner_amounts(total, winners)
    assert len(amounts) == winners
    assert sum(amounts) == total
    assert max(amounts) - min(amounts) <= 1


@given(st.integers(0, 10**15), st.integers(1, 50), st.data())
def test_paid_winners_splits_any_paid_total(total: int, winners: int, data: st.DataObject) -> None:
    """Any prize paid so far is whole winners plus a part of the next one, in order."""
    amounts = winner_amounts(total, winners)
    paid = data.draw(st.integers(0, total))
    split = paid_winners(amounts, paid)
    assert sum(amounts[: split.count]) + split.partial == paid
    assert split.count == len(amounts) or split.partial < amounts[split.count]


@given(
    st.integers(1, 10**12),
    st.integers(0, 10_000),
    st.lists(st.integers(1, 50), min_size=1, max_size=10),
)
def test_refund_batches_add_up_to_the_proceeds(
    price: int, operations_bps: int, batches: list[int]
) -> None:
    """Batches computed one after another refund exactly tickets x price, operations rounded down."""
    prize = operations = tickets = 0
    for size in batches:
        tickets += size
        step = refund_amounts(
            tickets_after=tickets,
            ticket_price=price,
            operations_bps=operations_bps,
            prize_refunded=prize,
            operations_refunded=operations,
        )
        assert step.prize >= 0
        assert step.operations >= 0
        prize += step.prize
        operations += step.operations
    assert prize + operations == tickets * price
    assert operations == tickets * price * operations_bps // 10_000


def test_an_operations_only_batch_pays_no_prize_even_after_a_partial_payment(
    ops: Harness,
) -> None:
    """Lottery 4 with one winner partly paid: a batch of 0 winners plans prize 0 (never negative)."""
    ops.server.ledger.apply(
        "payouts::record_payout_batch_admin", [4, 1, 1, 100_000_000, 0, ops.gateway.now_s()]
    )
    assert ops.execute("/payouts batch 4 0 0 5000000").ok
    assert ops.events("PayoutBatchEvent")[-1]["prize_paid"] == "0"
