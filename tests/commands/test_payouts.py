"""/payouts: winners, payout batches under the global cap, the loop, partner payouts and the
accounting invariant, against the devnet."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from chatops.chain.calls import TypedArg
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BUYERS, PARTNER
from commands.accounting import accounting_invariant
from commands.errors import PreconditionError
from commands.ports import StepContext
from tests.commands.chain_double import ScriptedChain, execute_on, failed_check
from tests.fakes.bot import (
    Harness,
    apply,
    changed,
    payout_cap,
)

HOUR = 3_600
# Lottery 4 (Payout, 3 winners): 14 tickets at 0.1 SUPRA.
ALLOCATED_4 = 1_050_000_000
OPS_ALLOCATED_4 = 140_000_000


def acc(ops: Harness, lottery_id: int) -> dict[str, int]:
    [view] = ops.view("views::accounting_snapshot", str(lottery_id))
    return {k: int(v) for k, v in view.items()}


def winners(ops: Harness, lottery_id: int) -> dict[str, Any]:
    [view] = ops.view("payouts::winner_progress", str(lottery_id))
    return dict(view)


def partner_cap(ops: Harness) -> dict[str, Any]:
    [view] = ops.view("roles::partner_payout_cap_view", PARTNER)
    return dict(view["vec"][0])


def events_of(ops: Harness, struct: str, lottery_id: int) -> list[dict[str, Any]]:
    return [e for e in ops.events(struct) if e.get("lottery_id") == str(lottery_id)]


# --- reads -------------------------------------------------------------------------------------


def test_plan_shows_round_nonce_budget_and_accounting(ops: Harness) -> None:
    """/payouts plan reads winner progress, the cap and accounting for lottery 4."""
    fields = {f.label: f.value for f in ops.run("/payouts plan 4").fields}
    assert fields["Winners"] == "3/3 assigned"
    assert fields["Next payout round"] == "1 (nonce 1 = payout round 1)"
    assert fields["Winners paid"] == "0 of 3 (each prize 350,000,000; /payouts winners 4)"
    assert fields["Cap nonce"] == "next 1 (stride 1)"
    assert fields["Prize"] == f"0 paid of {ALLOCATED_4:,} allocated"


def test_caps_lists_the_batch_cap_and_partners(ops: Harness) -> None:
    """/payouts caps shows the seeded PayoutBatchCap and the partner cap of 0xa11."""
    reply = ops.run("/payouts caps")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["PayoutBatchCap"].startswith("max batch 100")
    assert fields[f"Partner {PARTNER}"].startswith("remaining 1,000,000,000,000")


# --- compute -----------------------------------------------------------------------------------


def test_compute_assigns_winners_after_fulfilment(ops: Harness) -> None:
    """After VrfFulfilled, compute assigns the winner of lottery 3 and moves it to Payout."""
    apply(ops, "draw::request_draw_admin", 3, ops.gateway.now_s(), 900, ops.gateway.chain_id(), 1)
    reply = ops.run("/payouts compute 3")
    assert reply.ok, reply
    assert winners(ops, 3)["total_assigned"] == "1"
    assert events_of(ops, "WinnersComputedEvent", 3)[-1]["total_assigned"] == "1"
    [status] = ops.view("views::get_lottery_status", "3")
    assert status["status"] == 5


def test_compute_refuses_before_the_draw(ops: Harness) -> None:
    """Closing lottery 3: wrong status and no VrfFulfilled yet; nothing is sent."""
    before = ops.tx_count
    reply = ops.run("/payouts compute 3")
    assert failed_check(reply, "lottery status").seen == "Closing"
    assert failed_check(reply, "VrfFulfilled received").seen == "VRF status 0"
    assert ops.tx_count == before


def test_compute_refuses_when_every_winner_is_assigned(ops: Harness) -> None:
    """Lottery 4 has all its winners (0x1802 on chain)."""
    before = ops.tx_count
    assert failed_check(ops.run("/payouts compute 4"), "winners left to compute").seen == "0"
    assert ops.tx_count == before


# --- batch -------------------------------------------------------------------------------------


def test_batch_records_round_one_and_checks_accounting(ops: Harness) -> None:
    """A batch books the prize of the winners it pays and the operations, advances the round and
    the cap, then checks accounting."""
    reply = ops.execute("/payouts batch 4 2 700000000 100000000")
    assert reply.ok, reply
    [event] = events_of(ops, "PayoutBatchEvent", 4)
    assert (event["payout_round"], event["winners_paid"]) == ("1", "2")
    assert event["prize_paid"] == "700000000"
    accounting = acc(ops, 4)
    assert accounting["total_prize_paid"] == 700_000_000
    assert accounting["total_operations_paid"] == 100_000_000
    assert winners(ops, 4)["payout_round"] == "1"
    assert any(m.startswith("accounting after batch: [ok]") for m in ops.progress)


def test_batch_is_privileged(ops: Harness) -> None:
    """A payout batch needs a second person."""
    ops.needs_approval("/payouts batch 4 3")


def test_batch_computes_the_prize_of_the_winners_it_pays(ops: Harness) -> None:
    """Without a typed prize the batch pays the next winners their share of total_allocated."""
    assert ops.execute("/payouts batch 4 1").ok
    assert ops.execute("/payouts batch 4 2").ok
    assert [e["prize_paid"] for e in events_of(ops, "PayoutBatchEvent", 4)] == [
        "350000000",
        "700000000",
    ]
    assert acc(ops, 4)["total_prize_paid"] == ALLOCATED_4


def test_batch_refuses_a_prize_that_is_not_the_winners_share(ops: Harness) -> None:
    """A typed prize other than the winners' share is refused, naming the figure that would pass."""
    before = ops.tx_count
    check = failed_check(
        ops.run("/payouts batch 4 3 1000000000 100000000"), "prize = the winners' prizes"
    )
    assert check.seen == "1,000,000,000 typed"
    assert check.required.startswith("1,050,000,000 for winners #1-#3")
    assert ops.tx_count == before


def test_second_lottery_round_one_is_explained_and_the_reissue_states_the_reset(
    ops: Harness,
) -> None:
    """After lottery 4's batch the global cap nonce is 1, so lottery 20's round 1 cannot pass: the
    check says so and how to re-issue; the re-issue keeps the budget left and says what resets."""
    assert ops.execute("/payouts batch 4 3 operations-paid=40000000").ok
    _high_operations_lottery(ops, 20)
    before = ops.tx_count
    check = failed_check(ops.run("/payouts batch 20 1"), "cap nonce = payout round")
    assert check.seen.startswith(
        "the cap expects nonce 2 (last_nonce 1 + stride 1), this lottery's next payout round is 1"
    )
    assert "global" in check.seen
    left = 10**15 - 40_000_000
    assert f"/roles payout-cap {PACKAGE_ADDRESS} 100 {left} 0 1" in check.required
    assert "operations_budget_used (40,000,000 now) to 0" in check.required
    assert ops.tx_count == before
    ops.needs_approval(f"/roles payout-cap {PACKAGE_ADDRESS} 100 {left} 0 1")
    changes = ops.execute(f"/roles payout-cap {PACKAGE_ADDRESS} 100 {left} 0 1")
    assert changed(changes)[0].startswith(
        f"operations_budget_used 40,000,000 -> 0: the budget guard starts over with {left:,}"
    )
    assert ops.execute("/payouts batch 20 1").ok


# --- run ---------------------------------------------------------------------------------------


def test_run_sends_consecutive_rounds(ops: Harness) -> None:
    """/payouts run 2 sends rounds 1 and 2 with the same shape, checking accounting after each."""
    reply = ops.execute("/payouts run 4 2 1 operations-per-batch=10000000")
    assert reply.ok, reply
    rounds = [e["payout_round"] for e in events_of(ops, "PayoutBatchEvent", 4)]
    assert rounds == ["1", "2"]
    assert acc(ops, 4)["total_prize_paid"] == 700_000_000
    assert sum(m.startswith("accounting after batch") for m in ops.progress) == 2


def test_run_refuses_a_loop_under_a_cooldown(ops: Harness) -> None:
    """With a cap cooldown the second batch would abort 0x1809: a loop is refused."""
    payout_cap(cooldown=60)(ops)
    before = ops.tx_count
    check = failed_check(ops.run("/payouts run 4 2 1 1 0"), "no cooldown between batches")
    assert check.seen == "cooldown 60 s"
    assert ops.tx_count == before


def _breaks_after_first_batch(ops: Harness) -> ScriptedChain:
    """Accounting as read after the first submit shows more prize paid than allocated."""
    chain = ScriptedChain(ops.gateway)

    def snapshot(args: Sequence[TypedArg]) -> list[Any]:
        [view] = ops.gateway.read("views::accounting_snapshot", args)
        if chain.submitted:
            view = {**view, "total_prize_paid": str(int(view["total_allocated"]) + 1)}
        return [view]

    chain.overrides["views::accounting_snapshot"] = snapshot
    return chain


def test_run_stops_midway_when_the_invariant_breaks(ops: Harness) -> None:
    """If accounting shows an overpayment after batch 1 of 3, the run stops and reports an incident.

    The contract refuses any batch that would break the invariant (0x1304/0x1305), so no devnet
    transaction can produce this state: the chain double reports it after the first batch.
    """
    chain = _breaks_after_first_batch(ops)
    before = ops.tx_count
    with pytest.raises(PreconditionError) as info:
        execute_on(ops, chain, "/payouts run 4 3 1")
    message = str(info.value)
    assert message.startswith(
        "Stopped after transaction 1 of 3: total_prize_paid <= total_allocated no longer holds "
        "(incident)."
    )
    assert chain.submitted[0].tx_hash in message
    failed = [c for c in info.value.checks if not c.ok]
    assert [c.seen for c in failed] == [f"{ALLOCATED_4 + 1:,}"]
    assert ops.tx_count == before + 1
    assert [e["payout_round"] for e in events_of(ops, "PayoutBatchEvent", 4)] == ["1"]


def _high_operations_lottery(ops: Harness, lottery_id: int) -> None:
    """Operations 70 %, prize 20 %, reserve 10 %: total_operations_allocated > total_allocated.

    Built through the devnet's own transactions: create, activate, 10 tickets, close, draw, compute.
    """
    assert ops.run(
        f"/lottery create {lottery_id} 100000000 1000 60s distribution=2000/0/7000/1000"
    ).ok
    assert ops.run(f"/lottery activate {lottery_id}").ok
    now = ops.gateway.now_s()
    ops.server.ledger.apply(
        "sales::purchase_tickets_public", [lottery_id, 10, now, 700], [BUYERS[0]]
    )
    ops.advance(61)
    assert ops.run(f"/lottery close {lottery_id}").ok
    assert ops.run(f"/lottery draw {lottery_id}").ok
    assert ops.run(f"/payouts compute {lottery_id}").ok


def test_invariant_holds_when_operations_exceed_the_prize_allocation(ops: Harness) -> None:
    """Operations paid beyond total_allocated but within their own allocation are not an incident.

    The runbook compares both paid totals with total_allocated; the contract allocates operations
    separately, so a run paying 50 % of sales as operations on a 70 % operations lottery completes.
    """
    _high_operations_lottery(ops, 20)
    allocated = acc(ops, 20)
    assert allocated["total_operations_allocated"] > allocated["total_allocated"]
    reply = ops.execute("/payouts run 20 2 0 0 250000000")
    assert reply.ok, reply
    after = acc(ops, 20)
    assert after["total_operations_paid"] == 500_000_000
    assert after["total_operations_paid"] > after["total_allocated"]
    ctx = StepContext(chain=ops.gateway, user="alice", cancel=threading.Event())
    assert all(c.ok for c in accounting_invariant(ctx, 20))


def test_invariant_flags_operations_beyond_their_allocation(ops: Harness) -> None:
    """On the same state, operations paid above total_operations_allocated fail the check."""
    _high_operations_lottery(ops, 20)

    def overpaid(args: Sequence[TypedArg]) -> list[Any]:
        [view] = ops.gateway.read("views::accounting_snapshot", args)
        return [{**view, "total_operations_paid": str(int(view["total_operations_allocated"]) + 1)}]

    chain = ScriptedChain(ops.gateway, {"views::accounting_snapshot": overpaid})
    ctx = StepContext(chain=chain, user="alice", cancel=threading.Event())
    prize, operations = accounting_invariant(ctx, 20)
    assert prize.ok
    assert not operations.ok
    assert operations.seen == "700,000,001"
    assert operations.required == "<= 700,000,000"


# --- partner -----------------------------------------------------------------------------------


def test_partner_payout_uses_the_partner_nonce(ops: Harness) -> None:
    """A partner payout is booked as operations with the partner cap's next nonce."""
    reply = ops.execute(f"/payouts partner 4 {PARTNER} 5000000")
    assert reply.ok, reply
    [event] = events_of(ops, "PartnerPayoutEvent", 4)
    assert (event["amount"], event["payout_round"]) == ("5000000", "1")
    cap = partner_cap(ops)
    assert cap["remaining_payout"] == str(10**12 - 5_000_000)
    assert cap["next_nonce"] == "2"
    assert acc(ops, 4)["total_operations_paid"] == 5_000_000


def test_partner_is_privileged(ops: Harness) -> None:
    """A partner payout needs a second person."""
    ops.needs_approval(f"/payouts partner 4 {PARTNER} 1")
