"""The whole lottery lifecycle through entry functions, and the seeded demo state (spec §3, seed.py)."""

from __future__ import annotations

from chatops.devnet.contracts import lottery_registry
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BUYERS, demo_config, encode_config
from tests.chatops.devnet.lottery_support import NOW, WorldTarget, seeded
from tests.chatops.devnet.ops_support import validate


def test_full_lifecycle() -> None:
    """draft -> active -> purchases -> closing -> request -> fulfil -> winners -> payouts -> finalize."""
    t = seeded()
    config = demo_config(NOW, NOW + 3_600, winners_per_slot=(2, 1), run_id=77)
    t.apply("lottery_registry::create_draft_admin", [70, encode_config(config)])
    assert t.read("views::validate_config", 70) == []
    t.apply("lottery_registry::advance_status", [70, 1])
    for block, buyer in enumerate(BUYERS):
        t.apply("sales::purchase_tickets_public", [70, 3, NOW + 60, block], [buyer])
    t.apply("lottery_registry::advance_status", [70, 2])
    t.advance(3_600)
    t.apply("draw::request_draw_admin", [70, t.now_s, 123, 6, 1])
    assert lottery_registry.status(t.world, 70) == 3
    t.fulfill_vrf(70)
    assert lottery_registry.status(t.world, 70) == 4
    t.apply("payouts::compute_winners_admin", [70, 2])
    t.apply("payouts::compute_winners_admin", [70, 2])
    assert lottery_registry.status(t.world, 70) == 5
    t.apply("payouts::record_payout_batch_admin", [70, 1, 2, 500_000_000, 0, t.now_s])
    t.apply("payouts::record_payout_batch_admin", [70, 2, 1, 200_000_000, 10_000, t.now_s + 1])
    t.apply("payouts::finalize_lottery_admin", [70, t.now_s + 2])
    assert lottery_registry.status(t.world, 70) == 6
    (summary,) = t.read("views::get_lottery_summary", 70)
    validate("LotterySummary", summary)
    assert (summary["tickets_sold"], summary["payout_round"], summary["vrf_status"]) == (
        "12",
        "2",
        2,
    )
    assert t.read("views::list_finalized_ids", 0, 1) == [["70"]]
    names = t.names()
    for expected in (
        "history::LotteryCreatedEvent",
        "sales::TicketPurchaseEvent",
        "history::VrfRequestedEvent",
        "history::VrfFulfilledEvent",
        "history::WinnersComputedEvent",
        "history::PayoutBatchEvent",
        "history::LotteryFinalizedEvent",
    ):
        assert expected in names


def test_seed_builds_every_stage() -> None:
    """The seed leaves lotteries 1..6 in Active, Draft, Closing, Payout, Finalized and Canceled."""
    t = seeded()
    assert [lottery_registry.status(t.world, i) for i in range(1, 7)] == [1, 0, 2, 5, 6, 7]
    (deposit,) = t.read("views::get_vrf_deposit_status")
    assert deposit["requests_paused"] is False
    (progress,) = t.read("payouts::winner_progress", 4)
    assert progress["total_assigned"] == progress["total_required"] == "3"
    # the runbook's next steps all succeed on the seeded state
    t.apply("payouts::record_payout_batch_admin", [4, 1, 3, 1_000, 0, NOW])
    t.apply("draw::request_draw_admin", [3, NOW, 1, 6, 1])
    t.apply("lottery_registry::advance_status", [2, 1])
    t.apply("roles::set_payout_batch_cap_admin", [PACKAGE_ADDRESS, 100, 10**15, 0, 1])
    t.apply("payouts::force_refund_batch_admin", [6, 1, 8, 800_000_000, 0, NOW])


def test_seed_is_relative_to_now() -> None:
    """Seeding at another time shifts the sales windows with it."""
    from chatops.devnet.seed import seed

    t = WorldTarget(now_s=NOW + 1_000_000)
    seed(t)
    (config,) = t.read("views::get_lottery", 1)
    assert int(config["sales_window"]["sales_start"]) == NOW + 1_000_000 - 3_600
