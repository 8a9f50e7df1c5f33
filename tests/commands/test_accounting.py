"""/lottery accounting (accounting_check.sh compare) and the paid-against-allocated lines of
/lottery status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatops.chain.calls import TypedArg
from tests.commands.chain_double import ScriptedChain, run_on
from tests.fakes.bot import Harness, paid_out


def _fields(ops: Harness, line: str) -> dict[str, str]:
    reply = ops.run(line)
    assert reply.ok, reply
    return {f.label: f.value for f in reply.fields}


def test_status_shows_paid_against_allocated_and_the_next_round(ops: Harness) -> None:
    """Lottery 4 before any payout: prize, operations and the partner cap, and round 1 passes."""
    fields = _fields(ops, "/lottery status 4")
    assert fields["Prize"] == "0 paid of 1,050,000,000 allocated (1,050,000,000 unpaid)"
    assert fields["Operations"] == (
        "0 paid of 140,000,000 allocated (140,000,000 unpaid; partner payouts included)"
    )
    partner = next(v for k, v in fields.items() if k.startswith("Partner 0x"))
    assert partner == "0 paid of its 1,000,000,000,000 cap (all lotteries), next nonce 1"
    assert fields["Next payout round"] == "1 (nonce 1 = payout round 1)"
    assert fields["Winners"] == "3/3 assigned, 0 paid, payout round 0"


def test_status_after_a_batch_counts_the_paid_winner(ops: Harness) -> None:
    """One paid winner moves the prize line and the next round to 2."""
    assert ops.execute("/payouts batch 4 1 350000000 10000000").ok
    fields = _fields(ops, "/lottery status 4")
    assert fields["Prize"] == "350,000,000 paid of 1,050,000,000 allocated (700,000,000 unpaid)"
    assert fields["Winners"] == "3/3 assigned, 1 paid, payout round 1"
    assert fields["Next payout round"] == "2 (nonce 2 = payout round 2)"


def test_compare_before_finalize_names_what_is_unpaid(ops: Harness) -> None:
    """Before the summary exists, the comparison is with what finalize would write: unpaid named."""
    reply = ops.run("/lottery accounting 4")
    assert reply.ok
    assert reply.tone == "warning"
    failed = {c.name: c.seen for c in reply.checks if not c.ok}
    assert failed == {
        "prize paid = total_allocated": "0 paid of 1,050,000,000 (1,050,000,000 unpaid)",
        "operations paid = total_operations_allocated": "0 paid of 140,000,000 (140,000,000 unpaid)",
    }


def test_compare_after_finalize_matches_the_summary(ops: Harness) -> None:
    """After the payouts and finalize, the archived summary's three totals equal the accounting."""
    paid_out(4)(ops)
    assert ops.execute("/lottery finalize 4").ok
    reply = ops.run("/lottery accounting 4")
    assert reply.title == "Lottery 4 accounting (Finalized): consistent"
    assert reply.data is not None
    assert (
        reply.data["total_allocated_match"],
        reply.data["total_prize_paid_match"],
        reply.data["total_operations_paid_match"],
    ) == (True, True, True)
    assert {c.name for c in reply.checks} == {
        "summary total_allocated = accounting",
        "summary total_prize_paid = accounting",
        "summary total_operations_paid = accounting",
    }


def test_compare_of_a_finalized_lottery_that_paid_short(ops: Harness) -> None:
    """Seeded lottery 5 was finalized with 50,000,000 prize unpaid: its summary matches the
    accounting (the chain allowed it), and the reply says consistent, with the totals shown."""
    reply = ops.run("/lottery accounting 5")
    assert reply.title == "Lottery 5 accounting (Finalized): consistent"
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Prize"] == "1,000,000,000 paid of 1,050,000,000 allocated"


def test_compare_of_a_canceled_lottery_is_about_refunds(ops: Harness) -> None:
    """A canceled lottery pays nothing out: the comparison is refunds against proceeds."""
    reply = ops.run("/lottery accounting 6")
    [check] = reply.checks
    assert (check.name, check.ok) == ("refunds = proceeds_accum", False)
    assert check.seen == "0 refunded of 800,000,000"


def test_compare_before_any_sale(ops: Harness) -> None:
    """No accounting exists before the first ticket: said plainly, not as an abort."""
    reply = ops.run("/lottery accounting 2")
    assert reply.ok
    assert reply.title == "Lottery 2: no accounting yet (no ticket sold)"


def test_compare_flags_a_summary_that_differs_from_the_accounting(ops: Harness) -> None:
    """An accounting that moved after the archive (no transaction can do it: the chain double
    reports it) makes the comparison an error naming the total that differs."""
    paid_out(4)(ops)
    assert ops.execute("/lottery finalize 4").ok

    def moved(args: Sequence[TypedArg]) -> list[Any]:
        [view] = ops.gateway.read("views::accounting_snapshot", args)
        return [{**view, "total_prize_paid": str(int(view["total_prize_paid"]) - 1)}]

    chain = ScriptedChain(ops.gateway, {"views::accounting_snapshot": moved})
    reply = run_on(ops, chain, "/lottery accounting 4")
    assert not reply.ok
    assert reply.title == (
        "Lottery 4 accounting (Finalized): summary total_prize_paid = accounting fails"
    )
    [failed] = [c for c in reply.checks if not c.ok]
    assert failed.seen == "summary 1,050,000,000, accounting 1,049,999,999"
