"""Runbook "Emergency refund" at the console: stop, cancel, the refund plan, batches whose amounts
the bot computes (a batch that does not add up is refused), the archive and the report."""

from __future__ import annotations

from tests.chatops.console.operators import Desk

LOTTERY = 1  # seeded Active: 8 tickets at 0.1 SUPRA (one premium purchase), operations 10 %
PROCEEDS = 800_000_000


def test_cancellation_to_archived_refunds(desk: Desk) -> None:
    """A batch of 5 tickets typed as 300,000,000 is refused (they cost 500,000,000); the planned
    batches go through and the lottery is archived with refunds equal to its proceeds."""
    desk.approved("/refund stop critical frontend bug")
    desk.approved(f"/refund start {LOTTERY} operations critical frontend bug")
    assert desk.status(LOTTERY) == 7

    plan = desk.ok(f"/refund plan {LOTTERY}")
    assert plan.title == f"Lottery {LOTTERY} refund plan: round 1, 8 tickets left"

    desk.refused(
        f"/refund batch {LOTTERY} 5 300000000 0",
        "amounts = tickets x price by the distribution",
        "prize 300,000,000 + operations 0 for 5 tickets",
        "prize 450,000,000 + operations 50,000,000 = 500,000,000",
    )
    assert not desk.events("RefundBatchEvent", LOTTERY)
    assert desk.view("views::get_refund_progress", LOTTERY)["refund_round"] == "0"

    desk.approved(f"/refund batch {LOTTERY} 5 first five tickets")
    assert desk.ok(f"/refund plan {LOTTERY}").title == (
        f"Lottery {LOTTERY} refund plan: round 2, 3 tickets left"
    )
    desk.refused(
        f"/refund archive {LOTTERY}",
        "tickets_refunded = tickets_sold",
        "5",
        "8",
    )
    desk.approved(f"/refund batch {LOTTERY} 3 270000000 30000000 the rest")
    assert desk.ok(f"/refund plan {LOTTERY}").title == (
        f"Lottery {LOTTERY}: every ticket is refunded"
    )
    desk.approved(f"/refund archive {LOTTERY} all refunded")
    desk.approved("/refund resume refunds done")

    summary = desk.view("views::get_lottery_summary", LOTTERY)
    assert (summary["status"], summary["payout_round"]) == (7, "2")
    progress = desk.view("views::get_refund_progress", LOTTERY)
    refunded = int(progress["prize_refunded"]) + int(progress["operations_refunded"])
    assert refunded == PROCEEDS
    assert [e["refund_round"] for e in desk.events("RefundBatchEvent", LOTTERY)] == ["1", "2"]
    assert desk.ok(f"/lottery accounting {LOTTERY}").title == (
        f"Lottery {LOTTERY} accounting (Canceled): consistent"
    )
    report = desk.ok(f"/refund report {LOTTERY}").text
    assert "Refunded: 8/8 tickets; prize 720,000,000 + operations 80,000,000" in report
