"""Runbook "Administrator" at the console, end to end: a lottery from draft to its archived summary,
with the guards that keep money moving only in the runbook's order (finalize after the payouts and
the accounting check; the global payout cap nonce explained; prizes computed, not typed)."""

from __future__ import annotations

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BUYERS, PARTNER
from tests.chatops.console.operators import Desk

LOTTERY = 10
ALLOCATED = 1_050_000_000  # 14 tickets at 0.1 SUPRA, prize 70 % + reserve 5 %
OPS_ALLOCATED = 140_000_000  # operations 10 %
BUDGET = 10**15


def _draft_to_winners(desk: Desk) -> None:
    """Admin 1-8 up to the winners: snapshot, draft, activate, sales, close, draw, compute."""
    assert desk.ok("/vrf status").title == "VRF requests allowed"
    desk.ok("/vrf snapshot 20_000_000_000 10_000_000_000 20_000_000_000")
    desk.ok(f"/lottery create {LOTTERY} 100000000 1000 120s 4")
    desk.ok(f"/lottery validate {LOTTERY}")
    desk.ok(f"/lottery activate {LOTTERY}")
    now = desk.h.gateway.now_s()
    for block, (buyer, quantity) in enumerate(zip(BUYERS, (5, 3, 2, 4), strict=True)):
        desk.h.server.ledger.apply(
            "sales::purchase_tickets_public", [LOTTERY, quantity, now, 3_000 + block], [buyer]
        )
    desk.h.advance(121)
    desk.ok(f"/lottery close {LOTTERY}")
    assert desk.ok(f"/lottery draw {LOTTERY}").title == f"Lottery {LOTTERY}: VRF fulfilled"
    desk.ok(f"/payouts compute {LOTTERY}")
    assert desk.status(LOTTERY) == 5


def test_lifecycle_to_the_archived_summary_through_every_guard(desk: Desk) -> None:
    """Finalize is refused while money is unpaid, round 1 of a second lottery is explained and
    fixed by a re-issue that says it resets the budget used, a wrong prize is refused; the right
    path ends Finalized with a summary that matches the accounting."""
    _draft_to_winners(desk)
    status = desk.fields(f"/lottery status {LOTTERY}")
    assert status["Prize"] == f"0 paid of {ALLOCATED:,} allocated ({ALLOCATED:,} unpaid)"
    assert status["Next payout round"] == "1 (nonce 1 = payout round 1)"

    # Guard 1: finalize with every winner assigned and nothing paid is refused, naming both gaps.
    desk.refused(
        f"/lottery finalize {LOTTERY}",
        "prize paid = total_allocated",
        f"0 paid of {ALLOCATED:,} ({ALLOCATED:,} unpaid)",
        f"all {ALLOCATED:,} paid first",
    )
    assert "[FAILED] operations paid = total_operations_allocated" in desk.printed[-1]
    assert desk.status(LOTTERY) == 5
    assert not desk.events("LotteryFinalizedEvent", LOTTERY)

    # Lottery 4 (seeded, in Payout) pays its winners first: the global cap nonce moves to 1.
    desk.approved("/payouts batch 4 3 operations-paid=40000000 reason='lottery 4 winners'")

    # Guard 4: lottery 10's round 1 now needs nonce 2; the bot says why and what passes.
    text = desk.refused(
        f"/payouts batch {LOTTERY} 3",
        "cap nonce = payout round",
        "the cap expects nonce 2 (last_nonce 1 + stride 1), this lottery's next payout round is 1",
    )
    assert "global" in text
    left = BUDGET - 40_000_000
    reissue = f"/roles payout-cap {PACKAGE_ADDRESS} 100 {left} 0 1"
    assert reissue in text
    assert "operations_budget_used (40,000,000 now) to 0" in text
    plan = desk.fields(f"/payouts plan {LOTTERY}")
    assert plan["Next payout round"].startswith("1: BLOCKED, the cap expects nonce 2")

    # The re-issue's request states in its simulation that the budget used goes back to 0.
    desk.approved(
        f"{reissue} reason='reset the nonce for lottery 10'",
        reason_note="Simulation: succeeds against current state; it changes: "
        f"operations_budget_used 40,000,000 -> 0: the budget guard starts over with {left:,}",
    )
    [cap] = desk.view("roles::payout_batch_cap_view")["vec"]
    assert (cap["last_nonce"], cap["operations_budget_total"]) == ("0", str(left))

    # Winners are listed with their prize; a typed prize that is not theirs is refused.
    rows = (desk.ok(f"/payouts winners {LOTTERY}").data or {})["winners"]
    assert [(r["amount"], r["paid"]) for r in rows] == [(350_000_000, "unpaid")] * 3
    desk.refused(
        f"/payouts batch {LOTTERY} 3 1000000000 100000000",
        "prize = the winners' prizes",
        "1,000,000,000 typed",
        "1,050,000,000 for winners #1-#3",
    )
    assert not desk.events("PayoutBatchEvent", LOTTERY)

    # The right path: the winners, the partner, the operations left, then finalize.
    desk.approved(f"/payouts batch {LOTTERY} 3 1050000000 100000000 paying the three winners")
    rows = (desk.ok(f"/payouts winners {LOTTERY}").data or {})["winners"]
    assert [r["paid"] for r in rows] == ["paid"] * 3
    desk.refused(
        f"/lottery finalize {LOTTERY}",
        "operations paid = total_operations_allocated",
        f"100,000,000 paid of {OPS_ALLOCATED:,} (40,000,000 unpaid)",
    )
    desk.approved(f"/payouts partner {LOTTERY} {PARTNER} 20000000 partner share")
    desk.approved(f"/payouts batch {LOTTERY} 0 0 20000000 operations left")
    status = desk.fields(f"/lottery status {LOTTERY}")
    assert status["Prize"] == f"{ALLOCATED:,} paid of {ALLOCATED:,} allocated (0 unpaid)"
    assert desk.ok(f"/lottery accounting {LOTTERY}").title == (
        f"Lottery {LOTTERY} accounting (Payout): consistent"
    )
    desk.approved(f"/lottery finalize {LOTTERY} all paid and checked")

    assert desk.status(LOTTERY) == 6
    [finalized] = desk.events("LotteryFinalizedEvent", LOTTERY)
    summary = desk.view("views::get_lottery_summary", LOTTERY)
    assert (summary["status"], summary["total_prize_paid"]) == (6, str(ALLOCATED))
    assert summary["total_operations_paid"] == str(OPS_ALLOCATED)
    assert finalized["id"] == str(LOTTERY)
    assert desk.ok(f"/lottery accounting {LOTTERY}").title == (
        f"Lottery {LOTTERY} accounting (Finalized): consistent"
    )
    assert desk.ok(f"/history check {LOTTERY}").ok
