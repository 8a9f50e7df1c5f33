"""In-process tests of the emulated ``payouts`` module (spec §4.5, §12.7, §12.8)."""

from __future__ import annotations

import pytest
from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import draw, lottery_registry, payouts, sales
from chatops.devnet.framework import sha3
from chatops.devnet.seed import BUYERS, PARTNER, demo_config
from tests.chatops.devnet.lottery_support import NOW, WorldTarget, buy, create_active, seeded
from tests.chatops.devnet.ops_support import STRANGER, aborts, admin, published, validate


@pytest.fixture
def target() -> WorldTarget:
    return seeded()


def drawn(
    t: WorldTarget, lottery_id: int, winners: tuple[int, ...], tickets: int, dedup: bool = True
) -> None:
    create_active(
        t,
        lottery_id,
        demo_config(NOW - 100, NOW + 100, winners_per_slot=winners, winners_dedup=dedup),
    )
    buy(t, lottery_id, BUYERS[0], tickets, NOW - 50)
    t.apply("lottery_registry::advance_status", [lottery_id, 2])
    t.apply("draw::request_draw_admin", [lottery_id, NOW, 1, 6, 1])
    t.fulfill_vrf(lottery_id)
    t.events.clear()


def u64s(*values: int) -> bytes:
    ser = Serializer()
    for v in values:
        ser.u64(v)
    return ser.output()


def test_compute_winners_follows_the_spec_digest(target: WorldTarget) -> None:
    """The first winner's ticket and running hashes match an independent §12.7 computation."""
    drawn(target, 40, (2,), 10)
    target.apply("payouts::compute_winners_admin", [40, 1])
    state = draw.draw_state(target.world, 40)
    assert state is not None
    base = Serializer()
    base.u256(state.verified_numbers[0])
    digest = sha3(
        base.output() + state.snapshot_hash + state.vrf_state.payload_hash + u64s(40, 0, 0, 1, 1)
    )
    ticket = int.from_bytes(digest[:8], "little") % 10
    winner = payouts.winner_state(target.world, 40)
    assert winner is not None
    assert winner.winners[0].ticket_index == ticket
    checksum = sha3(sha3(b"lottery_multi::winner_seed") + u64s(ticket) + digest)
    batch = sha3(sha3(b"lottery_multi::winner_batch_seed") + u64s(0, ticket) + digest)
    ((name, data),) = target.events
    assert name == "history::WinnersComputedEvent"
    assert data["checksum_after_batch"] == "0x" + checksum.hex()
    assert data["winners_batch_hash"] == "0x" + batch.hex()
    assert (data["batch_no"], data["assigned_in_batch"], data["total_assigned"]) == ("0", "1", "1")
    assert lottery_registry.status(target.world, 40) == 4  # still Drawn until the last winner
    target.apply("payouts::compute_winners_admin", [40, 5])
    assert lottery_registry.status(target.world, 40) == 5
    assert len({w.ticket_index for w in winner.winners}) == 2
    with aborts("payouts", 0x1802):
        target.apply("payouts::compute_winners_admin", [40, 5])


def test_compute_winners_aborts(target: WorldTarget) -> None:
    """batch_limit 0 (0x1501), wrong status (0x1210), forced Drawn without VRF (0x1801 in draw), stranger (0x1202)."""
    with aborts("payouts", 0x1501):
        target.apply("payouts::compute_winners_admin", [4, 0])
    with aborts("payouts", 0x1210):
        target.apply("payouts::compute_winners_admin", [3, 1])
    with aborts("payouts", 0x1202):
        target.apply("payouts::compute_winners_admin", [4, 1], [STRANGER])
    target.apply("lottery_registry::advance_status", [3, 3])
    target.apply("lottery_registry::advance_status", [3, 4])
    with aborts("draw", 0x1801):
        target.apply("payouts::compute_winners_admin", [3, 1])


def test_dedup_exhausted_with_more_winners_than_tickets(target: WorldTarget) -> None:
    """Two deduplicated winners over one ticket abort 0x1804; without dedup the same ticket wins twice."""
    drawn(target, 41, (2,), 1)
    with aborts("payouts", 0x1804):
        target.apply("payouts::compute_winners_admin", [41, 2])
    drawn(target, 42, (2,), 1, dedup=False)
    target.apply("payouts::compute_winners_admin", [42, 2])
    state = payouts.winner_state(target.world, 42)
    assert state is not None
    assert [w.ticket_index for w in state.winners] == [0, 0]


def test_payout_batch_books_accounting(target: WorldTarget) -> None:
    """record_payout_batch_admin updates accounting, the lottery's round and emits PayoutBatchEvent."""
    target.apply("payouts::record_payout_batch_admin", [4, 1, 3, 500_000_000, 1_000, NOW])
    (acc,) = target.read("views::accounting_snapshot", 4)
    assert acc["total_prize_paid"] == "500000000"
    assert acc["total_operations_paid"] == "1000"
    assert target.events[-1][0] == "history::PayoutBatchEvent"
    assert target.read("payouts::winner_progress", 4)[0]["payout_round"] == "1"


def test_payout_batch_aborts(target: WorldTarget) -> None:
    """Wrong status 0x1210, cap nonce 0x180A (roles), non-monotonic round 0x1806, over-allocation 0x1304."""
    with aborts("payouts", 0x1210):
        target.apply("payouts::record_payout_batch_admin", [3, 1, 1, 1, 0, NOW])
    with aborts("roles", 0x180A):
        target.apply("payouts::record_payout_batch_admin", [4, 2, 1, 1, 0, NOW])
    target.apply("roles::set_payout_batch_cap_admin", [STRANGER, 0, 10**15, 0, 0])
    with aborts("payouts", 0x1806):
        target.apply("payouts::record_payout_batch_admin", [4, 2, 1, 1, 0, NOW])
    with aborts("economics", 0x1304):
        target.apply("payouts::record_payout_batch_admin", [4, 1, 1, 10**15, 0, NOW])
    with aborts("economics", 0x1305):
        target.apply("payouts::record_payout_batch_admin", [4, 1, 1, 0, 10**14, NOW])


def test_payout_without_winner_state_aborts_1805(target: WorldTarget) -> None:
    """A lottery forced to Payout by advance_status has no winner state: 0x1805."""
    for status in (3, 4, 5):
        target.apply("lottery_registry::advance_status", [3, status])
    with aborts("payouts", 0x1805):
        target.apply("payouts::record_payout_batch_admin", [3, 1, 1, 1, 0, NOW])
    with aborts("payouts", 0x1805):
        target.apply("payouts::finalize_lottery_admin", [3, NOW])


def test_partner_payout(target: WorldTarget) -> None:
    """A partner payout books operations and emits PartnerPayoutEvent; an unknown partner aborts 0x1105."""
    target.apply("payouts::record_partner_payout_admin", [4, PARTNER, 1_000, 1, NOW])
    assert target.events[-1][0] == "history::PartnerPayoutEvent"
    (acc,) = target.read("views::accounting_snapshot", 4)
    assert acc["total_operations_paid"] == "1000"
    with aborts("roles", 0x1105):
        target.apply("payouts::record_partner_payout_admin", [4, STRANGER, 1, 1, NOW])
    with aborts("economics", 0x1305):
        target.apply("payouts::record_partner_payout_admin", [4, PARTNER, 10**11, 2, NOW])


def test_refund_batches_and_archive(target: WorldTarget) -> None:
    """Refunds of lottery 6 up to the exact proceeds allow the archive, which stores a status-7 summary."""
    with aborts("payouts", 0x1818):
        target.apply("payouts::archive_canceled_lottery_admin", [6, NOW])
    target.apply("payouts::force_refund_batch_admin", [6, 1, 4, 300_000_000, 100_000_000, NOW])
    name, data = target.events[-1]
    assert name == "history::RefundBatchEvent"
    assert data["event_category"] == 8
    assert (data["total_tickets_refunded"], data["total_amount_refunded"]) == ("4", "400000000")
    target.apply("payouts::force_refund_batch_admin", [6, 2, 4, 300_000_000, 100_000_000, NOW + 1])
    with aborts("payouts", 0x1817):
        target.apply("payouts::archive_canceled_lottery_admin", [6, NOW - 601])
    target.apply("payouts::archive_canceled_lottery_admin", [6, NOW + 2])
    assert target.names()[-1] == "history::LotteryFinalizedEvent"
    (summary,) = target.read("views::get_lottery_summary", 6)
    validate("LotterySummary", summary)
    assert (summary["status"], summary["payout_round"], summary["closed_at"]) == (
        7,
        "2",
        str(NOW - 7_200),
    )
    assert lottery_registry.status(target.world, 6) == 7


def test_refund_aborts(target: WorldTarget) -> None:
    """Refund checks: status 0x1815, empty 0x1816, round 0x1812, tickets 0x1813, funds 0x1814."""
    with aborts("payouts", 0x1815):
        target.apply("payouts::force_refund_batch_admin", [4, 1, 1, 1, 0, NOW])
    with aborts("sales", 0x1816):
        target.apply("payouts::force_refund_batch_admin", [6, 1, 0, 0, 0, NOW])
    target.apply("roles::set_payout_batch_cap_admin", [STRANGER, 0, 10**15, 0, 0])
    with aborts("sales", 0x1812):
        target.apply("payouts::force_refund_batch_admin", [6, 2, 1, 1, 0, NOW])
    with aborts("sales", 0x1813):
        target.apply("payouts::force_refund_batch_admin", [6, 1, 9, 1, 0, NOW])
    with aborts("sales", 0x1814):
        target.apply("payouts::force_refund_batch_admin", [6, 1, 1, 800_000_001, 0, NOW])


def test_archive_aborts(target: WorldTarget) -> None:
    """Archive needs Canceled (0x1210), a CancellationRecord (0x1212) and full funds (0x1819)."""
    with aborts("payouts", 0x1210):
        target.apply("payouts::archive_canceled_lottery_admin", [4, NOW])
    target.apply("lottery_registry::advance_status", [2, 7])
    with aborts("payouts", 0x1212):
        target.apply("payouts::archive_canceled_lottery_admin", [2, NOW])
    target.apply("payouts::force_refund_batch_admin", [6, 1, 8, 1, 0, NOW])
    with aborts("payouts", 0x1819):
        target.apply("payouts::archive_canceled_lottery_admin", [6, NOW])


def test_finalize(target: WorldTarget) -> None:
    """finalize_lottery_admin archives a status-6 summary and sets Finalized; partial winners abort 0x1B03."""
    target.apply("payouts::finalize_lottery_admin", [4, NOW])
    assert lottery_registry.status(target.world, 4) == 6
    (summary,) = target.read("views::get_lottery_summary", 4)
    validate("LotterySummary", summary)
    assert summary["status"] == 6
    assert summary["finalized_at"] == str(NOW)
    finalized = [data for name, data in target.events if name == "history::LotteryFinalizedEvent"]
    state = draw.draw_state(target.world, 4)
    assert state is not None
    assert summary["winners_batch_hash"] == "0x" + state.winners_batch_hash.hex()
    assert finalized[0]["id"] == "4"
    with aborts("payouts", 0x1210):
        target.apply("payouts::finalize_lottery_admin", [4, NOW])
    drawn(target, 43, (3,), 5)
    target.apply("payouts::compute_winners_admin", [43, 1])
    for status in (5,):
        target.apply("lottery_registry::advance_status", [43, status])
    with aborts("payouts", 0x1B03):
        target.apply("payouts::finalize_lottery_admin", [43, NOW])


def test_init_and_default_progress() -> None:
    """init_payouts publishes once; winner_progress defaults to zeros."""
    w = published(payouts.init_payouts)
    with aborts("payouts", 0x1201):
        payouts.init_payouts(w, admin())
    assert payouts.winner_progress(w, 1)[0]["initialized"] is False
    assert sales.sales_state(w, 1) is None
