"""Each monitoring.md alert of the monitors raised, then resolved, by the devnet's own transactions and clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BOT_OPERATOR, BUYERS, PARTNER, PREMIUM_BUYER, demo_config
from chatops.notify.alerts import AlertBook
from chatops.notify.metrics import ChainMetrics
from chatops.notify.monitors import Monitors
from tests.fakes.bot import Harness, harness
from tests.fakes.notify import RecordingSink

HOUR = 3600
HASH = bytes.fromhex("ab" * 32)
PROCEEDS_6 = 800_000_000  # lottery 6 (seeded, canceled): 8 tickets at 0.1 SUPRA


@pytest.fixture
def ops() -> Iterator[Harness]:
    with harness() as h:
        yield h


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def monitors(ops: Harness, redis: redis_lib.Redis, sink: RecordingSink) -> Monitors:
    return make_monitors(ops, redis, sink)


def make_monitors(ops: Harness, redis: redis_lib.Redis, sink: RecordingSink) -> Monitors:
    book = AlertBook(redis, sink, lambda name, sev: (sev, "#lottery-ops", False))
    return Monitors(
        ops.gateway,
        book,
        metrics=ChainMetrics(),
        events=ops.gateway.client,
        package_address=PACKAGE_ADDRESS,
    )


def apply(ops: Harness, function: str, *args: Any, signers: list[str] | None = None) -> None:
    """Commit one devnet transaction (signed by the package account unless ``signers``)."""
    ops.server.ledger.apply(function, list(args), signers)


def now(ops: Harness) -> int:
    return ops.server.ledger.now_s


def changes(m: Monitors, name: str) -> list[tuple[str, str]]:
    return [(subject, change) for alert, subject, change in m.check_once() if alert == name]


def test_price_clamp_alerts_after_five_minutes_and_clearing_resolves(
    ops: Harness, monitors: Monitors, sink: RecordingSink
) -> None:
    """A clamped quote held for 5 min raises PriceFeedClamp once; clear_clamp resolves it."""
    apply(ops, "price_feed::update_price", 1, 2_500_000, now(ops))  # +100 %: clamped
    assert changes(monitors, "PriceFeedClamp") == []
    ops.advance(301)
    assert changes(monitors, "PriceFeedClamp") == [("asset:1", "raised")]
    ops.advance(60)
    assert changes(monitors, "PriceFeedClamp") == []
    apply(ops, "price_feed::clear_clamp", 1, now(ops))
    assert changes(monitors, "PriceFeedClamp") == [("asset:1", "resolved")]
    assert [n.kind for n in sink.notices()] == ["alert", "alert-resolved"]


def test_a_clamp_cleared_within_five_minutes_never_alerts(
    ops: Harness, monitors: Monitors, sink: RecordingSink
) -> None:
    """A clamp that clears before its hold time raises nothing and resolves nothing."""
    apply(ops, "price_feed::update_price", 2, 10, now(ops))
    monitors.check_once()
    ops.advance(120)
    apply(ops, "price_feed::clear_clamp", 2, now(ops))
    ops.advance(600)
    assert changes(monitors, "PriceFeedClamp") == []
    assert sink.notices() == []


def test_a_paid_batch_resolves_the_payout_backlog(ops: Harness, monitors: Monitors) -> None:
    """The seeded backlog raises PayoutBacklog after 60 min; paying lottery 4's batch resolves it."""
    monitors.check_once()
    ops.advance(HOUR + 1)
    assert changes(monitors, "PayoutBacklog") == [("payouts", "raised")]
    apply(ops, "payouts::record_payout_batch_admin", 4, 1, 3, 1_000_000_000, 10_000_000, now(ops))
    assert changes(monitors, "PayoutBacklog") == [("payouts", "resolved")]


def test_automation_failures_at_the_maximum_alert_and_a_raised_limit_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """failure_count reaching max_failures raises AutomationFailures for the bot; rotating resolves."""
    rotate = ("automation::rotate_bot", b"* * * * *", [1, 2, 4])
    apply(ops, *rotate, 0, 2, now(ops) + 86_400, signers=[PACKAGE_ADDRESS, BOT_OPERATOR])
    apply(ops, "automation::record_failure", 1, b"\x01", now(ops), 7, signers=[BOT_OPERATOR])
    assert changes(monitors, "AutomationFailures") == []  # 1 of 2
    apply(ops, "automation::record_failure", 1, b"\x02", now(ops), 7, signers=[BOT_OPERATOR])
    assert changes(monitors, "AutomationFailures") == [(f"bot:{BOT_OPERATOR}", "raised")]
    assert changes(monitors, "AutomationFailures") == []
    apply(ops, *rotate, 0, 5, now(ops) + 86_400, signers=[PACKAGE_ADDRESS, BOT_OPERATOR])
    assert changes(monitors, "AutomationFailures") == [(f"bot:{BOT_OPERATOR}", "resolved")]


def test_a_dry_run_older_than_its_timelock_and_15_minutes_alerts_until_executed(
    ops: Harness, monitors: Monitors
) -> None:
    """A pending dry-run raises AutomationDryRunStale after timelock + 15 min; executing it resolves."""
    start = now(ops)
    apply(
        ops,
        "automation::announce_dry_run",
        1,
        HASH,
        start,
        start + 900,
        signers=[BOT_OPERATOR],
    )
    ops.advance(900 + 899)
    assert changes(monitors, "AutomationDryRunStale") == []
    ops.advance(2)
    assert changes(monitors, "AutomationDryRunStale") == [(f"bot:{BOT_OPERATOR}", "raised")]
    apply(ops, "automation::record_success", 1, HASH, now(ops), signers=[BOT_OPERATOR])
    assert changes(monitors, "AutomationDryRunStale") == [(f"bot:{BOT_OPERATOR}", "resolved")]


def test_partner_cap_expiring_within_a_day_alerts_and_extending_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """A partner cap expiring within 24 h raises RoleCapExpiring; re-issuing it without expiry resolves."""
    assert changes(monitors, "RoleCapExpiring") == []
    apply(ops, "roles::upsert_partner_payout_cap_admin", PARTNER, 10**12, 0, 1, now(ops) + 2 * HOUR)
    assert changes(monitors, "RoleCapExpiring") == [(f"partner:{PARTNER}", "raised")]
    apply(ops, "roles::upsert_partner_payout_cap_admin", PARTNER, 10**12, 0, 1, 0)
    assert changes(monitors, "RoleCapExpiring") == [(f"partner:{PARTNER}", "resolved")]


def test_premium_cap_expiring_alerts_and_revoking_it_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """A premium cap expiring within 24 h raises RoleCapExpiring; revoking the cap resolves it."""
    apply(ops, "roles::grant_premium_access_admin", PREMIUM_BUYER, now(ops) + HOUR, False, None)
    assert changes(monitors, "RoleCapExpiring") == [(f"holder:{PREMIUM_BUYER}", "raised")]
    apply(ops, "roles::revoke_premium_access_admin", PREMIUM_BUYER)
    assert changes(monitors, "RoleCapExpiring") == [(f"holder:{PREMIUM_BUYER}", "resolved")]


def test_a_refund_backlog_held_four_hours_alerts_and_the_last_batch_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """Lottery 6's pending refunds raise RefundBacklog after 4 h; refunding every ticket resolves it."""
    monitors.check_once()
    ops.advance(4 * HOUR - 60)
    assert changes(monitors, "RefundBacklog") == []
    ops.advance(61)
    assert changes(monitors, "RefundBacklog") == [("refunds", "raised")]
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 8, PROCEEDS_6, 0, now(ops))
    assert changes(monitors, "RefundBacklog") == [("refunds", "resolved")]


def test_no_first_refund_batch_within_12_hours_breaches_the_sla(
    ops: Harness, monitors: Monitors
) -> None:
    """12 h after the cancellation without a batch RefundSlaBreach raises; completing refunds resolves."""
    ops.advance(11 * HOUR)
    assert changes(monitors, "RefundSlaBreach") == []
    ops.advance(HOUR)
    assert changes(monitors, "RefundSlaBreach") == [("refunds", "raised")]
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 8, PROCEEDS_6, 0, now(ops))
    assert changes(monitors, "RefundSlaBreach") == [("refunds", "resolved")]


def test_a_summary_differing_from_the_expected_hash_alerts_after_ten_minutes(
    ops: Harness, monitors: Monitors
) -> None:
    """Finalizing against a wrong expected hash raises DualWriteMismatch (not Pending); clearing resolves."""
    apply(ops, "legacy_bridge::set_expected_hash", 4, HASH)
    apply(ops, "payouts::finalize_lottery_admin", 4, now(ops))  # silent mismatch: it stays pending
    assert changes(monitors, "DualWriteMismatch") == []
    ops.advance(601)
    found = monitors.check_once()
    assert ("DualWriteMismatch", "dual-write:4", "raised") in found
    assert not [c for c in found if c[0] == "DualWritePending"]
    ops.advance(3 * HOUR)
    assert changes(monitors, "DualWritePending") == []
    apply(ops, "legacy_bridge::clear_expected_hash", 4)
    assert changes(monitors, "DualWriteMismatch") == [("dual-write:4", "resolved")]


def test_dual_write_pending_is_measured_from_the_started_event(
    ops: Harness, redis: redis_lib.Redis, sink: RecordingSink
) -> None:
    """An expectation set 2 h ago raises DualWritePending on a monitor's first look; clearing resolves."""
    apply(ops, "legacy_bridge::set_expected_hash", 4, HASH)
    started = now(ops)
    ops.advance(2 * HOUR - 1)
    assert changes(make_monitors(ops, redis, sink), "DualWritePending") == []
    ops.advance(1)
    fresh = make_monitors(ops, redis, sink)  # a restarted bot: no first-seen time of its own
    assert changes(fresh, "DualWritePending") == [("dual-write:4", "raised")]
    (alert,) = [n for n in sink.notices() if n.id.startswith("alert:DualWritePending:")]
    assert ("started_at", str(started)) in alert.fields
    apply(ops, "legacy_bridge::clear_expected_hash", 4)
    assert changes(fresh, "DualWritePending") == [("dual-write:4", "resolved")]


def test_an_expectation_set_after_the_summary_is_pending_not_a_mismatch(
    ops: Harness, monitors: Monitors
) -> None:
    """Lottery 5's summary predates its expectation, so it waits (DualWritePending), not mismatches."""
    apply(ops, "legacy_bridge::set_expected_hash", 5, HASH)
    ops.advance(2 * HOUR)
    found = monitors.check_once()
    assert ("DualWritePending", "dual-write:5", "raised") in found
    assert not [c for c in found if c[0] == "DualWriteMismatch"]


def test_monitor_passes_update_the_prometheus_gauges(ops: Harness, monitors: Monitors) -> None:
    """After a pass the /metrics text carries the chain gauges with the devnet's current values."""
    apply(ops, "price_feed::set_fallback", 1, True, 2)
    apply(ops, "price_feed::update_price", 2, 10, now(ops))  # clamp on asset 2
    apply(ops, "legacy_bridge::set_expected_hash", 4, HASH)
    rotate = ("automation::rotate_bot", b"* * * * *", [1, 2, 4])
    apply(ops, *rotate, 0, 3, now(ops) + 86_400, signers=[PACKAGE_ADDRESS, BOT_OPERATOR])
    apply(ops, "automation::record_failure", 1, b"\x01", now(ops), 7, signers=[BOT_OPERATOR])
    monitors.check_once()
    assert monitors.metrics is not None
    text = monitors.metrics.render().decode()
    assert 'price_feed_fallback_active{asset_id="1"} 1.0' in text
    assert 'price_feed_fallback_active{asset_id="2"} 0.0' in text
    assert 'price_feed_clamp_active{asset_id="1"} 0.0' in text
    assert 'price_feed_clamp_active{asset_id="2"} 1.0' in text
    assert f'automation_failure_count{{operator="{BOT_OPERATOR}"}} 1.0' in text
    assert "vrf_effective_balance 2e+10" in text
    assert "dual_write_pending 1.0" in text
    assert 'status_overview{field="refund_batch_pending"} 8.0' in text
    apply(ops, "price_feed::set_fallback", 1, False, 0)
    monitors.check_once()
    assert 'price_feed_fallback_active{asset_id="1"} 0.0' in monitors.metrics.render().decode()


def test_a_refund_round_unchanged_for_an_hour_alerts_and_a_batch_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """Lottery 6 (canceled, no batch yet) raises RefundRoundStalled after 60 min; a batch resolves it."""
    assert changes(monitors, "RefundRoundStalled") == []
    ops.advance(HOUR)
    assert changes(monitors, "RefundRoundStalled") == [("lottery:6", "raised")]
    assert changes(monitors, "RefundRoundStalled") == []  # no repeat while unchanged
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 2, 200_000_000, 0, now(ops))
    assert changes(monitors, "RefundRoundStalled") == [("lottery:6", "resolved")]


def test_a_refund_batch_older_than_two_hours_alerts_and_finishing_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """During a refund, a last batch older than 120 min raises RefundAging; the final batch resolves it."""
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 2, 200_000_000, 0, now(ops))
    ops.advance(2 * HOUR - 60)
    assert changes(monitors, "RefundAging") == []
    ops.advance(61)
    assert changes(monitors, "RefundAging") == [("lottery:6", "raised")]
    apply(ops, "payouts::force_refund_batch_admin", 6, 2, 6, PROCEEDS_6 - 200_000_000, 0, now(ops))
    assert changes(monitors, "RefundAging") == [("lottery:6", "resolved")]


def test_more_than_one_unpaid_winner_batch_alerts_and_paying_resolves(
    ops: Harness, monitors: Monitors
) -> None:
    """payout_round_gap > 1 (two winner batches, none paid) raises PayoutRoundGap; paying resolves it."""
    t = now(ops)
    config = demo_config(t - 100, t + 1_000, run_id=20, winners_per_slot=(1, 2))
    apply(ops, "lottery_registry::create_draft_admin", 20, config.bcs())
    apply(ops, "lottery_registry::advance_status", 20, 1)
    apply(ops, "sales::purchase_tickets_public", 20, 5, t, 9_000, signers=[BUYERS[0]])
    ops.advance(1_001)
    apply(ops, "lottery_registry::advance_status", 20, 2)
    apply(ops, "draw::request_draw_admin", 20, now(ops), 9_001, 6, 1)  # the devnet fulfils it
    apply(ops, "payouts::compute_winners_admin", 20, 1)
    assert changes(monitors, "PayoutRoundGap") == []  # one batch computed, gap 1
    apply(ops, "payouts::compute_winners_admin", 20, 1)
    assert changes(monitors, "PayoutRoundGap") == [("lottery:20", "raised")]
    apply(ops, "payouts::compute_winners_admin", 20, 1)  # the last winner: status Payout, gap 3
    apply(ops, "payouts::record_payout_batch_admin", 20, 1, 1, 1, 0, now(ops))
    assert changes(monitors, "PayoutRoundGap") == []  # gap 2: still raised, not repeated
    apply(ops, "payouts::record_payout_batch_admin", 20, 2, 1, 1, 0, now(ops))
    assert changes(monitors, "PayoutRoundGap") == [("lottery:20", "resolved")]


def test_compliant_bots_never_raise_the_timelock_breach(ops: Harness, monitors: Monitors) -> None:
    """The seeded bot obeys the 900 s rule for sensitive actions, so AutomationTimelockBreach stays quiet.

    The contract refuses any bot that would breach it (0x1A07), so the alert guards a future contract.
    """
    monitors.check_once()
    [bots] = ops.view("views::list_automation_bots")
    assert bots
    assert all(
        not ({5, 6, 7} & {int(a) for a in bot["allowed_actions"]})
        or int(bot["timelock_secs"]) >= 900
        for bot in bots
    )
    assert "AutomationTimelockBreach" not in {a.name for a in monitors.alerts.active()}
