"""In-process tests of the emulated ``views`` module (spec §6.1, §6.3) against the shared view schema."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import lottery_registry, views
from chatops.devnet.framework import World
from chatops.devnet.seed import BOT_OPERATOR, demo_config
from tests.chatops.devnet.lottery_support import NOW, WorldTarget, create_active, seeded
from tests.chatops.devnet.ops_support import STRANGER, aborts, normalise, validate


@pytest.fixture
def target() -> WorldTarget:
    return seeded()


def test_lottery_views_validate_against_schema(target: WorldTarget) -> None:
    """get_lottery, get_lottery_status, badges (object form), badge metadata and accounting match the schema."""
    validate("LotteryConfig", target.read("views::get_lottery", 1)[0])
    validate("LotteryStatusView", target.read("views::get_lottery_status", 1)[0])
    primary, mask = target.read("views::get_lottery_badges", 2)
    assert (primary, mask) == (3, "20")
    validate("LotteryBadges", {"primary_type": primary, "tags_mask": mask})
    (meta,) = target.read("views::get_badge_metadata", 9, 1 << 63)
    assert meta == {"primary_label": "unknown", "is_experimental": True, "tags_mask": str(1 << 63)}
    validate("BadgeMetadata", meta)
    validate("Accounting", target.read("views::accounting_snapshot", 1)[0])
    validate("VrfDepositStatusView", target.read("views::get_vrf_deposit_status")[0])
    validate("LotterySummary", target.read("views::get_lottery_summary", 5)[0])
    validate("LotteryIdList", target.read("views::list_finalized_ids", 0, 10)[0])
    (bots,) = target.read("views::list_automation_bots")
    for bot in bots:
        validate("AutomationBotView", bot)
    (one,) = target.read("views::get_automation_bot", BOT_OPERATOR)
    assert one["vec"][0]["operator"] == BOT_OPERATOR
    assert target.read("views::get_automation_bot", STRANGER) == [{"vec": []}]


def test_view_aborts(target: WorldTarget) -> None:
    """Unknown ids abort 0x6507, accounting without sales 0x1202, and a missing Registry 0x1202."""
    with aborts("table", 0x6507):
        target.read("views::get_lottery", 99)
    with aborts("sales", 0x1202):
        target.read("views::accounting_snapshot", 2)
    with aborts("lottery_registry", 0x1202):
        views.status_overview(World(), NOW)


def test_validate_config(target: WorldTarget) -> None:
    """validate_config returns nothing for a valid lottery and re-checks rules on stored configs."""
    assert target.read("views::validate_config", 2) == []
    lottery_registry.get_lottery(target.world, 2).config.ticket_price = 0
    with aborts("types", 0x1209):
        target.read("views::validate_config", 2)
    lottery_registry.get_lottery(target.world, 1).config.vrf_retry_policy.base_delay_secs = 0
    assert target.read("views::validate_config", 1) == []  # retry policy not checked


def test_cancellation_and_refund_views(target: WorldTarget) -> None:
    """get_cancellation is some for lottery 6 and none for 1; refund progress shows the active refund."""
    assert target.read("views::get_cancellation", 1) == [{"vec": []}]
    (record,) = target.read("views::get_cancellation", 6)
    assert record["vec"][0]["reason_code"] == 3
    (progress,) = target.read("views::get_refund_progress", 6)
    assert progress["active"] is True
    assert progress["tickets_sold"] == "8"


def ids(result: list[object]) -> list[int]:
    (values,) = result
    assert isinstance(values, list)
    return [int(v) for v in values]


def test_list_pagination(target: WorldTarget) -> None:
    """Lists are newest first, ``from`` skips matches, limit 0 is empty and > 1000 aborts 0x1501."""
    for lottery_id in (7, 8, 9):
        create_active(target, lottery_id, demo_config(NOW, NOW + 100))
    assert ids(target.read("views::list_active", 0, 10)) == [9, 8, 7, 1]
    assert ids(target.read("views::list_active", 1, 2)) == [8, 7]
    assert ids(target.read("views::list_active", 3, 2)) == [1]
    assert ids(target.read("views::list_active", 0, 0)) == []
    with aborts("views", 0x1501):
        target.read("views::list_active", 0, 1001)
    assert ids(target.read("views::list_active", 0, 1000)) == [9, 8, 7, 1]
    assert ids(target.read("views::list_by_primary_type", 2, 0, 10)) == [3]
    assert ids(target.read("views::list_by_tag_mask", 1 | 4, 0, 10)) == [6, 2]
    assert ids(target.read("views::list_by_tag_mask", 0, 0, 10)) == []
    assert ids(target.read("views::list_by_all_tags", 4 | 16, 0, 10)) == [2]
    assert ids(target.read("views::list_by_all_tags", 0, 1, 3)) == [8, 7, 6]
    with aborts("views", 0x1501):
        target.read("views::list_by_all_tags", 0, 0, 5000)


def overview(target: WorldTarget, now: int) -> dict[str, object]:
    (view,) = target.read("views::status_overview", now)
    validate("StatusOverview", view)
    result = normalise(view)
    assert isinstance(result, dict)
    return result


def test_status_overview_seeded(target: WorldTarget) -> None:
    """The seeded world counts one lottery per status and the §6.3 backlog quirks."""
    view = overview(target, NOW)
    assert view == {
        "total": 6, "draft": 1, "active": 1, "closing": 1, "draw_requested": 0, "drawn": 0,
        "payout": 1, "finalized": 1, "canceled": 1, "vrf_requested": 0, "vrf_fulfilled_pending": 0,
        "vrf_retry_blocked": 0, "winners_pending": 0, "payout_backlog": 1, "refund_active": 1,
        "refund_batch_pending": 8, "refund_sla_breach": False,
    }  # fmt: skip


def test_status_overview_vrf_and_sla(target: WorldTarget) -> None:
    """A fresh request is 'retry blocked' until base delay; a refund with no batch breaches after 12 h."""
    target.apply("draw::request_draw_admin", [3, NOW, 1, 6, 1])
    view = overview(target, NOW)
    assert (view["vrf_requested"], view["vrf_retry_blocked"], view["draw_requested"]) == (1, 1, 1)
    assert overview(target, NOW + 600)["vrf_retry_blocked"] == 0
    target.fulfill_vrf(3)
    assert overview(target, NOW)["vrf_fulfilled_pending"] == 1
    target.apply("payouts::compute_winners_admin", [3, 1])
    assert overview(target, NOW)["vrf_fulfilled_pending"] == 0
    assert overview(target, NOW - 600 + 43_200)["refund_sla_breach"] is False
    assert overview(target, NOW - 600 + 43_201)["refund_sla_breach"] is True
    target.apply("payouts::force_refund_batch_admin", [6, 1, 2, 1, 0, NOW])
    view = overview(target, NOW - 600 + 86_400)
    assert (view["refund_sla_breach"], view["refund_batch_pending"]) == (False, 6)
    assert overview(target, NOW - 600 + 86_401)["refund_sla_breach"] is True


def test_status_overview_refund_flag_never_clears(target: WorldTarget) -> None:
    """After full refunds and the archive, refund_active still counts the lottery (quirk of §6.3)."""
    target.apply("payouts::force_refund_batch_admin", [6, 1, 8, 800_000_000, 0, NOW])
    target.apply("payouts::archive_canceled_lottery_admin", [6, NOW])
    view = overview(target, NOW + 10 * 86_400)
    assert (view["refund_active"], view["refund_batch_pending"], view["refund_sla_breach"]) == (
        1,
        0,
        False,
    )
