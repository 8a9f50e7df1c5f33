"""Routing rules: defaults for the monitored event types, subjects from event fields, policy overrides."""

from __future__ import annotations

from chatops.notify.router import DEFAULT_CHANNEL, EventRouter, short_name
from chatops.notify.routing_policy import Routing

A = "0xa"

REQUIRED = {  # the event types monitoring.md and the runbooks announce
    "VrfFulfilled",
    "VrfDepositAlert",
    "VrfRequestsPaused",
    "PurchaseRateLimitHit",
    "PriceFeedFallback",
    "PriceFeedClampCleared",
    "PartnerPayout",
    "PartnerPayoutCapRevoked",
    "PremiumAccessRevoked",
    "AutomationDryRunPlanned",
    "AutomationError",
    "ArchiveDualWriteStarted",
    "ArchiveDualWriteCompleted",
    "LegacySummaryImported",
    "LegacySummary",
    "LotteryCanceled",
    "RefundBatch",
}


def test_defaults_cover_the_monitored_event_types() -> None:
    """Every event type monitoring.md asks to announce has a default rule."""
    names = {short_name(r.struct) for r in EventRouter(A).rules}
    assert names >= REQUIRED


def test_subjects_come_from_the_event_fields() -> None:
    """Lottery, asset, bot, partner, holder, dual-write and VRF-deposit subjects are derived."""
    router = EventRouter(A)
    cases = {
        "history::VrfFulfilledEvent": ({"lottery_id": "4"}, "lottery:4"),
        "history::LotteryFinalizedEvent": ({"id": "7"}, "lottery:7"),
        "price_feed::PriceFeedClampClearedEvent": ({"asset_id": "1"}, "asset:1"),
        "history::AutomationErrorEvent": ({"operator": "0xb07"}, "bot:0xb07"),
        "roles::PartnerPayoutCapRevokedEvent": ({"partner": "0xa11"}, "partner:0xa11"),
        "roles::PremiumAccessRevokedEvent": ({"holder": "0xb0b"}, "holder:0xb0b"),
        "legacy_bridge::ArchiveDualWriteStartedEvent": ({"lottery_id": "3"}, "dual-write:3"),
        "history::VrfDepositAlertEvent": ({"total_balance": "1"}, "vrf-deposit"),
    }
    for event_type, (data, subject) in cases.items():
        routed = router.route(f"{A}::{event_type}", data, dedupe_key="1:0xa:0", at_s=1)
        assert routed is not None
        assert routed.notice.subject == subject, event_type
        assert routed.channel == DEFAULT_CHANNEL


def test_critical_events_open_incidents_and_info_events_do_not() -> None:
    """A VRF deposit alert opens an incident; a fulfilled VRF request does not."""
    router = EventRouter(A)
    alert = router.route(f"{A}::history::VrfDepositAlertEvent", {}, dedupe_key="k", at_s=1)
    fulfilled = router.route(
        f"{A}::history::VrfFulfilledEvent", {"lottery_id": "1"}, dedupe_key="k", at_s=1
    )
    assert alert is not None
    assert fulfilled is not None
    assert alert.incident
    assert router.opens_incident(alert.notice)
    assert not fulfilled.incident
    assert not router.opens_incident(fulfilled.notice)


def test_fallback_off_is_informational() -> None:
    """Switching a fallback off is info and opens nothing; switching it on is a warning."""
    router = EventRouter(A)
    on = router.route(
        f"{A}::price_feed::PriceFeedFallbackEvent",
        {"asset_id": "1", "fallback_active": True},
        dedupe_key="a",
        at_s=1,
    )
    off = router.route(
        f"{A}::price_feed::PriceFeedFallbackEvent",
        {"asset_id": "1", "fallback_active": False},
        dedupe_key="b",
        at_s=1,
    )
    assert on is not None
    assert off is not None
    assert (on.notice.severity, on.incident) == ("warning", True)
    assert (off.notice.severity, off.incident) == ("info", False)


def test_policy_overrides_channel_severity_and_incident() -> None:
    """The policy's routing section changes an event's channel, severity and incident flag."""
    routing = Routing.model_validate(
        {
            "channel": "C0OPSFEED",
            "events": {
                "VrfFulfilled": {"severity": "warning", "channel": "C0VRF", "incident": True},
                "TicketPurchaseEvent": {"muted": True},
            },
            "alerts": {"VrfDepositLow": {"channel": "C0PAGER"}},
        }
    )
    router = EventRouter(A, routing)
    routed = router.route(
        f"{A}::history::VrfFulfilledEvent", {"lottery_id": "1"}, dedupe_key="k", at_s=1
    )
    other = router.route(
        f"{A}::history::RefundBatchEvent", {"lottery_id": "1"}, dedupe_key="k", at_s=1
    )
    assert routed is not None
    assert other is not None
    assert (routed.channel, routed.notice.severity, routed.incident) == ("C0VRF", "warning", True)
    assert other.channel == "C0OPSFEED"
    rule = router.rule_for("TicketPurchaseEvent")
    assert rule is not None
    assert rule.muted
    assert router.alert_route("VrfDepositLow", "critical").channel == "C0PAGER"


def test_notice_ids_are_stable_dedupe_keys() -> None:
    """The same event routed twice yields the same notice id."""
    router = EventRouter(A)
    one = router.route(
        f"{A}::history::RefundBatchEvent", {"lottery_id": "2"}, dedupe_key="9:0xa:3", at_s=1
    )
    two = router.route(
        f"{A}::history::RefundBatchEvent", {"lottery_id": "2"}, dedupe_key="9:0xa:3", at_s=5
    )
    assert one is not None
    assert two is not None
    assert one.notice.id == two.notice.id == "event:RefundBatchEvent:9:0xa:3"
