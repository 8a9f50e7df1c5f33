"""The event watcher on the devnet: exactly-once hand-off across restarts, digests, leases and fences."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from typing import cast

import pytest
import redis as redis_lib
from redis.client import Pipeline

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify import keys
from chatops.notify.alerts import AlertBook
from chatops.notify.incident_store import IncidentStore
from chatops.notify.incidents import IncidentTracker, OutboxDelivery
from chatops.notify.leader import LeadershipLostError
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.ports import Sink
from chatops.notify.router import EventRouter
from chatops.notify.watcher import Watcher, WatcherConfig
from tests.chatops.notify.conftest import Chain
from tests.chatops.notify.devnet_events import advance, inject
from tests.conftest import wait_until
from tests.fakes.notify import OutboxSink, RecordingSink

A = PACKAGE_ADDRESS
REFUND = f"{A}::history::RefundBatchEvent"
VRF = f"{A}::history::VrfFulfilledEvent"
PURCHASE = f"{A}::sales::TicketPurchaseEvent"


def new_watcher(
    chain: Chain,
    redis: redis_lib.Redis,
    sink: Sink,
    *,
    types: list[str],
    config: WatcherConfig,
    owner: str | None = None,
    wall_s: Callable[[], float] = time.time,
) -> Watcher:
    """A watcher of ``types`` on the devnet that hands events and alerts to ``sink`` (every alert
    to the router's default channel)."""
    router = EventRouter(A)
    book = AlertBook(redis, sink, lambda name, sev: (sev, router.default_channel, False))
    return Watcher(
        chain.client,
        redis,
        router,
        sink,
        book,
        config=config,
        owner=owner,
        event_types=types,
        wall_s=wall_s,
    )


def make_watcher(
    chain: Chain,
    redis: redis_lib.Redis,
    sink: Sink,
    *,
    types: list[str] | None = None,
    owner: str = "w1",
    **config: int,
) -> Watcher:
    watcher = new_watcher(
        chain,
        redis,
        sink,
        types=types or [REFUND, VRF],
        owner=owner,
        # start at the tip: the seeded devnet's own history is not part of these tests
        config=WatcherConfig(**{"window_blocks": 1000, "start_height": None, **config}),  # type: ignore[arg-type]
    )
    watcher.poll_once()
    return watcher


class CrashingSink(RecordingSink):
    """A sink that records the notice, then fails (a crash after hand-off, before the commit)."""

    def __init__(self, crash_on: int) -> None:
        super().__init__()
        self.crash_on = crash_on

    def emit(self, notice: Notice, *, channel: str) -> None:
        super().emit(notice, channel=channel)
        if len(self.emitted) == self.crash_on:
            raise RuntimeError("simulated crash")


def test_each_event_is_handed_on_once_and_routed(chain: Chain, redis: redis_lib.Redis) -> None:
    """Injected events reach the sink once each, with their subject, even when polled twice."""
    sink = RecordingSink()
    watcher = make_watcher(chain, redis, sink)
    for n in range(5):
        inject(
            chain.http,
            "history::RefundBatchEvent",
            {"lottery_id": str(n % 2), "refund_round": str(n)},
        )
    inject(chain.http, "history::VrfFulfilledEvent", {"lottery_id": "3"})
    assert watcher.poll_once() == 6
    assert watcher.poll_once() == 0
    subjects = collections.Counter(n.subject for n in sink.notices())
    assert subjects == {"lottery:0": 3, "lottery:1": 2, "lottery:3": 1}


def test_a_restart_resumes_where_the_cursor_stopped(chain: Chain, redis: redis_lib.Redis) -> None:
    """A new watcher on the same Redis hands on only what came after the first one's cursor."""
    first = RecordingSink()
    watcher = make_watcher(chain, redis, first)
    for n in range(3):
        inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1", "refund_round": str(n)})
    watcher.poll_once()
    for n in range(3, 5):
        inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1", "refund_round": str(n)})
    second = RecordingSink()
    make_watcher(chain, redis, second, owner="w1").poll_once()
    assert [dict(n.fields)["refund_round"] for n in first.notices()] == ["0", "1", "2"]
    assert [dict(n.fields)["refund_round"] for n in second.notices()] == ["3", "4"]


def test_a_crash_after_hand_off_re_emits_the_same_notice_id(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """A crash between hand-off and commit hands the same event on again with the same id, once."""
    crashing = CrashingSink(crash_on=2)
    watcher = make_watcher(chain, redis, crashing)
    for n in range(4):
        inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1", "refund_round": str(n)})
    with pytest.raises(RuntimeError):
        watcher.poll_once()
    after = RecordingSink()
    make_watcher(chain, redis, after).poll_once()
    ids_before = [n.id for n in crashing.notices()]
    ids_after = [n.id for n in after.notices()]
    assert ids_after[0] == ids_before[1]  # the in-doubt one, same dedupe key
    assert len(set(ids_before) | set(ids_after)) == 4
    assert len(ids_after) == 3


def test_a_purchase_burst_becomes_one_digest(chain: Chain, redis: redis_lib.Redis) -> None:
    """1,000 ticket purchases in one period produce one digest notice, not 1,000 messages."""
    sink = RecordingSink()
    watcher = make_watcher(chain, redis, sink, types=[PURCHASE], digest_interval_s=60)
    for _ in range(1000):
        inject(chain.http, "sales::TicketPurchaseEvent", {"lottery_id": "4", "quantity": "2"})
    assert watcher.poll_once() == 1000
    assert sink.notices() == []  # the period is still open
    advance(chain.http, 60)
    watcher.poll_once()
    watcher.poll_once()
    digests = sink.notices()
    assert len(digests) == 1
    assert digests[0].kind == "digest"
    assert dict(digests[0].fields)["tickets"] == "2000"
    assert digests[0].subject == "lottery:4"


def test_the_three_sigma_rule_raises_and_resolves_a_sales_alert(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """A period far above the recent mean raises SalesRate once; a normal period resolves it."""
    sink = RecordingSink()
    watcher = make_watcher(chain, redis, sink, types=[PURCHASE], digest_interval_s=60)
    for quantity in [10, 11, 9, 10, 12, 10, 200, 10]:
        inject(
            chain.http, "sales::TicketPurchaseEvent", {"lottery_id": "5", "quantity": str(quantity)}
        )
        watcher.poll_once()
        advance(chain.http, 60)
        watcher.poll_once()
    kinds = [(n.kind, n.id.split(":")[1]) for n in sink.notices() if n.kind != "digest"]
    assert kinds == [("alert", "SalesRate"), ("alert-resolved", "SalesRate")]


def test_a_standby_replica_does_nothing_while_the_leader_holds_the_lease(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """Only the lease holder polls; the other replica hands on nothing."""
    leader_sink, standby_sink = RecordingSink(), RecordingSink()
    leader = make_watcher(chain, redis, leader_sink, owner="a")
    standby = make_watcher(chain, redis, standby_sink, owner="b")
    inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1"})
    assert leader.poll_once() == 1
    assert standby.poll_once() == 0
    assert standby_sink.notices() == []


def test_lease_takeover_fences_out_the_old_leader(chain: Chain, redis: redis_lib.Redis) -> None:
    """When the leader's lease expires another replica takes over, and the old fence is refused."""
    old = make_watcher(chain, redis, RecordingSink(), owner="a", lease_ttl_ms=200)
    inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1"})
    assert old.poll_once() == 1
    stale_fence = old.lease.fence
    new_sink = RecordingSink()
    new = make_watcher(chain, redis, new_sink, owner="b", lease_ttl_ms=200)  # standby: no lease yet
    assert new.lease.fence == 0
    wait_until(lambda: new.lease.acquire() > 0, timeout_s=5)
    assert new.lease.fence > stale_fence
    inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "2"})
    old.lease.acquire = lambda: stale_fence  # type: ignore[method-assign]  # a paused leader waking up
    with pytest.raises(LeadershipLostError):
        old.poll_once()
    assert new.poll_once() == 1
    assert [n.subject for n in new_sink.notices()] == ["lottery:2"]


def test_an_rpc_outage_backs_off_and_raises_one_alert(chain: Chain, redis: redis_lib.Redis) -> None:
    """A node that keeps failing raises WatcherOutage once, and recovery resolves it."""
    sink = RecordingSink()
    clock = [1000.0]
    watcher = new_watcher(
        chain,
        redis,
        sink,
        types=[REFUND],
        config=WatcherConfig(
            outage_alert_s=60, backoff_s=0.01, backoff_cap_s=0.02, poll_interval_s=0.01
        ),
        wall_s=lambda: clock[0],
    )
    chain.http.post("/devnet/faults", json={"status": 503, "count": 1000}).raise_for_status()
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: redis.exists("chatops:alerts:pending") == 1, timeout_s=5)
        assert sink.notices() == []
        clock[0] += 61
        wait_until(lambda: any(n.kind == "alert" for n in sink.notices()), timeout_s=5)
        chain.http.delete("/devnet/faults").raise_for_status()
        wait_until(lambda: any(n.kind == "alert-resolved" for n in sink.notices()), timeout_s=5)
    finally:
        stop.set()
        thread.join(timeout=5)
    kinds = [n.kind for n in sink.notices()]
    assert kinds == ["alert", "alert-resolved"]


def test_sales_falling_below_half_the_usual_rate_raise_and_resolve_sales_drop(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """A period selling under half the median raises SalesDrop once; a normal period resolves it."""
    sink = RecordingSink()
    watcher = make_watcher(chain, redis, sink, types=[PURCHASE], digest_interval_s=60)
    for quantity in [10, 11, 9, 10, 12, 10, 3, 4, 10]:
        inject(
            chain.http, "sales::TicketPurchaseEvent", {"lottery_id": "6", "quantity": str(quantity)}
        )
        watcher.poll_once()
        advance(chain.http, 60)
        watcher.poll_once()
    drops = [n.kind for n in sink.notices() if n.id.startswith("alert:SalesDrop:")]
    assert drops == ["alert", "alert-resolved"]
    (raised,) = [n for n in sink.notices() if n.id == "alert:SalesDrop:lottery:6:raised:1"]
    assert dict(raised.fields)["tickets"] == "3"


class FenceStealingSink(OutboxSink):
    """A page sink during whose page another replica takes the lease (a new fence)."""

    def __init__(self, outbox: Outbox, redis: redis_lib.Redis) -> None:
        super().__init__(outbox)
        self.redis = redis

    def emit_page(self, notices: Sequence[tuple[Notice, str]], tx: Pipeline) -> int:
        queued = super().emit_page(notices, tx)
        self.redis.incr(keys.WATCHER_FENCE)  # a takeover between the queueing and EXEC
        return queued


def test_a_page_hand_off_under_a_stale_fence_writes_nothing(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """A page handed on in one transaction: a fence taken before or during it writes no item, no
    seen member and no cursor; the new leader then hands the page on once."""
    outbox = Outbox(redis)
    watcher = make_watcher(chain, redis, FenceStealingSink(outbox, redis))
    cursor = watcher.cursor(REFUND)
    for n in range(3):
        inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "1", "refund_round": str(n)})
    with pytest.raises(LeadershipLostError):
        watcher.poll_once()  # the fence moved during the page
    with pytest.raises(LeadershipLostError):
        watcher.poll_once()  # and this watcher's fence is now stale
    assert outbox.depth() == 0
    assert redis.zcard(keys.watcher_seen_key(REFUND)) == 0
    assert watcher.cursor(REFUND) == cursor
    redis.delete(keys.WATCHER_LEASE)
    leader = make_watcher(chain, redis, OutboxSink(outbox), owner="w2")
    assert leader.poll_once() == 0  # the first poll (in make_watcher) handed the page on
    assert outbox.depth() == 3
    assert leader.handed_on == 3


def test_an_incident_opened_mid_page_takes_the_rest_of_the_page_into_its_thread(
    chain: Chain, redis: redis_lib.Redis
) -> None:
    """In one page: the event before the opening one goes to the channel, the opening one opens one
    incident, the later ones of its subject join its thread, in chain order."""
    router = EventRouter(A)
    store = IncidentStore(redis)
    incidents = IncidentTracker(store, OutboxDelivery(Outbox(redis)), router.opens_incident)
    fallback = f"{A}::price_feed::PriceFeedFallbackEvent"
    watcher = Watcher(
        chain.client,
        redis,
        router,
        incidents,
        AlertBook(redis, incidents, lambda name, sev: (sev, router.default_channel, False)),
        event_types=[fallback],
        config=WatcherConfig(window_blocks=1000, start_height=None),
    )
    watcher.poll_once()
    for asset, active in (("1", False), ("1", True), ("2", False), ("1", False), ("1", True)):
        inject(
            chain.http,
            "price_feed::PriceFeedFallbackEvent",
            {"asset_id": asset, "fallback_active": active},
        )
    assert watcher.poll_once() == 5
    incident = store.open_for("asset:1")
    assert incident is not None
    assert [i.id for i in store.recent()] == [incident.id]  # one open incident for the subject
    entries = cast(
        "list[tuple[bytes, dict[bytes, bytes]]]",
        redis.xrange(keys.outbox_stream_key(router.default_channel)),
    )
    queued = []
    for _entry, fields in entries:
        item = cast(
            "dict[bytes, bytes]", redis.hgetall(keys.outbox_item_key(fields[b"item"].decode()))
        )
        title = Notice.model_validate_json(item[b"notice"]).title
        queued.append((title, item[b"thread_of"].decode()))
    assert queued == [
        ("Price feed fallback off (asset:1)", ""),
        (f"Incident #{incident.id} [open] Price feed fallback ON (asset:1)", ""),
        ("Price feed fallback ON (asset:1)", incident.id),
        ("Price feed fallback off (asset:2)", ""),
        ("Price feed fallback off (asset:1)", incident.id),
        ("Price feed fallback ON (asset:1)", incident.id),
    ]
