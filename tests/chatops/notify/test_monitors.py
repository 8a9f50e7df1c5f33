"""Monitors on the devnet: each monitoring.md alert raises from a real view, once, and resolves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from chatops.notify.alerts import AlertBook
from chatops.notify.metrics import ChainMetrics
from chatops.notify.monitors import Monitors
from tests.fakes.bot import Harness, harness
from tests.fakes.notify import RecordingSink


@pytest.fixture
def ops() -> Iterator[Harness]:
    with harness() as h:
        yield h


def monitors(ops: Harness, redis: redis_lib.Redis, sink: RecordingSink) -> Monitors:
    book = AlertBook(redis, sink, lambda name, sev: (sev, "#lottery-ops", False))
    return Monitors(ops.gateway, book, metrics=ChainMetrics())


def changes_of(m: Monitors, name: str) -> list[tuple[str, str]]:
    return [(subject, change) for alert, subject, change in m.check_once() if alert == name]


def test_vrf_deposit_low_raises_once_and_resolves(ops: Harness, redis: redis_lib.Redis) -> None:
    """A low snapshot raises VrfDepositLow once; a healthy snapshot resolves it."""
    sink = RecordingSink()
    m = monitors(ops, redis, sink)
    assert changes_of(m, "VrfDepositLow") == []
    ops.execute("/vrf snapshot 20000000000 10000000000 1000")
    assert changes_of(m, "VrfDepositLow") == [("vrf-deposit", "raised")]
    assert changes_of(m, "VrfDepositLow") == []  # unchanged: never repeats
    ops.execute("/vrf snapshot 40000000000 10000000000 40000000000")
    assert changes_of(m, "VrfDepositLow") == [("vrf-deposit", "resolved")]
    assert m.metrics is not None
    assert b"vrf_effective_balance 4e+10" in m.metrics.render()


def test_vrf_requests_paused_alerts_after_five_minutes(
    ops: Harness, redis: redis_lib.Redis
) -> None:
    """Paused requests alert only after 5 min paused, and resolve once resumed."""
    m = monitors(ops, redis, RecordingSink())
    ops.execute("/vrf snapshot 20000000000 10000000000 1000")
    assert changes_of(m, "VrfRequestsPaused") == []
    ops.advance(301)
    assert changes_of(m, "VrfRequestsPaused") == [("vrf-deposit", "raised")]
    ops.execute("/vrf snapshot 40000000000 10000000000 40000000000")
    assert changes_of(m, "VrfRequestsPaused") == [("vrf-deposit", "resolved")]


def test_price_feed_fallback_alerts_after_five_minutes(
    ops: Harness, redis: redis_lib.Redis
) -> None:
    """A fallback held for 5 min raises PriceFeedFallback for its asset; switching it off resolves."""
    m = monitors(ops, redis, RecordingSink())
    ops.execute("/feed fallback 1 true 1 provider outage")
    assert changes_of(m, "PriceFeedFallback") == []
    ops.advance(301)
    assert changes_of(m, "PriceFeedFallback") == [("asset:1", "raised")]
    ops.execute("/feed fallback 1 false 0 provider back")
    assert changes_of(m, "PriceFeedFallback") == [("asset:1", "resolved")]


def test_payout_backlog_alerts_after_an_hour(ops: Harness, redis: redis_lib.Redis) -> None:
    """The seeded payout backlog raises PayoutBacklog only once held for 60 min."""
    m = monitors(ops, redis, RecordingSink())
    assert changes_of(m, "PayoutBacklog") == []
    ops.advance(3601)
    assert changes_of(m, "PayoutBacklog") == [("payouts", "raised")]
    assert changes_of(m, "PayoutBacklog") == []
