"""The outbox on a real Redis with a recording poster: dedupe, rate, Retry-After, threads, updates."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from chatops.notify import keys
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.ports import Sink
from tests.conftest import wait_until
from tests.fakes.notify import OutboxSink, RecordingPoster


def notice(n: int, *, subject: str = "lottery:4", title: str = "") -> Notice:
    return Notice(
        id=f"event:TicketPurchaseEvent:3:{n}",
        kind="event",
        subject=subject,
        severity="info",
        title=title or f"event {n}",
        at_s=1_700_000_000 + n,
    )


class Threads:
    """A ``ThreadLookup`` kept in memory (the incident store's role)."""

    def __init__(self) -> None:
        self.threads: dict[str, tuple[str, str]] = {}

    def thread_ts(self, incident_id: str) -> tuple[str, str] | None:
        return self.threads.get(incident_id)

    def set_thread(self, incident_id: str, channel: str, ts: str) -> None:
        self.threads[incident_id] = (channel, ts)


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def running(
    redis: redis_lib.Redis, poster: RecordingPoster
) -> Iterator[tuple[OutboxWorker, Threads]]:
    threads = Threads()
    worker = OutboxWorker(redis, poster, threads=threads, interval_ms=100)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    yield worker, threads
    stop.set()
    thread.join(timeout=5)


def test_enqueue_is_idempotent_by_notice_and_target(redis: redis_lib.Redis) -> None:
    """The same notice to the same channel queues once; another channel or thread is another item."""
    outbox = Outbox(redis)
    assert outbox.enqueue(notice(1), channel="C1")
    assert not outbox.enqueue(notice(1), channel="C1")
    assert outbox.enqueue(notice(1), channel="C2")
    assert outbox.enqueue(notice(1), channel="C1", thread_of="7")
    assert outbox.depth() == 3


def test_each_item_is_posted_once_in_order(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """Queued notices reach their channel once each, in the order they were queued."""
    outbox = Outbox(redis)
    for n in range(5):
        outbox.enqueue(notice(n), channel="C1")
        outbox.enqueue(notice(n), channel="C1")  # a retried enqueue
    wait_until(lambda: len(poster.notices("C1")) == 5)
    assert [n.id for n in poster.notices("C1")] == [notice(n).id for n in range(5)]
    wait_until(lambda: outbox.depth() == 0)
    item = outbox.item(notice(0).id, channel="C1")
    assert item is not None
    assert item.state == "sent"
    assert item.ts == poster.posts("C1")[0].ts


def test_a_channel_gets_at_most_one_message_per_interval(
    redis: redis_lib.Redis, poster: RecordingPoster
) -> None:
    """Two workers on one channel still space its posts by the interval; other channels are not held."""
    # One notice per message, so the six notices are six messages to space out.
    workers = [OutboxWorker(redis, poster, interval_ms=200, digest_items=1) for _ in range(2)]
    stop = threading.Event()
    runners = [
        threading.Thread(target=w.run, args=(stop,), kwargs={"poll_s": 0.005}) for w in workers
    ]
    outbox = Outbox(redis)
    for n in range(6):
        outbox.enqueue(notice(n), channel="C1")
    outbox.enqueue(notice(99), channel="C2")
    for runner in runners:
        runner.start()
    try:
        wait_until(lambda: len(poster.posts("C1")) == 6, timeout_s=10)
    finally:
        stop.set()
        for runner in runners:
            runner.join(timeout=5)
    times = [p.at_s for p in poster.posts("C1")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.19
    assert poster.posts("C2")[0].at_s < times[1]


def test_retry_after_delays_the_channel_and_loses_nothing(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """A rate-limit answer keeps the item and holds the channel for Retry-After, then posts it."""
    poster.fail_next("rate", retry_after_s=0.5, times=3)
    outbox = Outbox(redis)
    outbox.enqueue(notice(1), channel="C1")
    outbox.enqueue(notice(2), channel="C1")
    wait_until(lambda: len(poster.notices("C1")) == 2, timeout_s=10)
    assert [n.id for n in poster.notices("C1")] == [notice(1).id, notice(2).id]


def test_a_refused_item_is_recorded_failed_and_the_queue_moves_on(
    redis: redis_lib.Redis, poster: RecordingPoster
) -> None:
    """A permanent refusal fails that item only; the next one is posted."""
    poster.fail_next("refuse")
    outbox = Outbox(redis)
    outbox.enqueue(notice(1), channel="C1")
    outbox.enqueue(notice(2), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10, digest_items=1)  # one item per message
    wait_until(lambda: bool(worker.run_once() or True) and len(poster.posts("C1")) == 1)
    assert poster.posts("C1")[0].notice.id == notice(2).id
    failed = outbox.item(notice(1).id, channel="C1")
    assert failed is not None
    assert failed.state == "failed"
    assert "channel_not_found" in failed.error


def test_an_in_doubt_post_is_found_not_posted_again(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """A post that went through but answered with an outage is found on retry, not repeated."""
    poster.fail_next("down", posted=True)
    outbox = Outbox(redis)
    outbox.enqueue(notice(1), channel="C1")
    wait_until(
        lambda: (i := outbox.item(notice(1).id, channel="C1")) is not None and i.state == "sent",
        timeout_s=10,
    )
    assert len(poster.posts("C1")) == 1


def test_replies_go_into_the_thread_of_the_incident_parent(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """The parent's ts is written back to the incident store and later items land in its thread."""
    _worker, threads = running
    outbox = Outbox(redis)
    outbox.enqueue(notice(0, title="incident 7"), channel="C1", parent_of="7")
    outbox.enqueue(notice(1), channel="C1", thread_of="7")
    outbox.enqueue(notice(2), channel="C1", thread_of="7")
    wait_until(lambda: len(poster.notices("C1")) == 3)
    parent, *replies = poster.posts("C1")  # the two replies may share a digest
    assert parent.thread_ts is None
    assert threads.threads["7"] == ("C1", parent.ts)
    assert [n.id for r in replies for n in r.notices] == [notice(1).id, notice(2).id]
    assert {r.thread_ts for r in replies} == {parent.ts}


def test_a_reply_waits_for_a_parent_queued_in_another_channel(
    redis: redis_lib.Redis, poster: RecordingPoster
) -> None:
    """A reply queued before its parent is posted waits for it instead of going unthreaded."""
    threads = Threads()
    worker = OutboxWorker(redis, poster, threads=threads, interval_ms=50)
    outbox = Outbox(redis)
    outbox.enqueue(notice(0), channel="C-incidents", parent_of="9")
    outbox.enqueue(notice(1), channel="C1", thread_of="9")
    redis.zadd(keys.OUTBOX_CHANNELS, {"C-incidents": 10**15})  # hold the parent back
    worker.run_once()
    assert poster.posts() == []
    redis.zadd(keys.OUTBOX_CHANNELS, {"C-incidents": 0})
    wait_until(lambda: bool(worker.run_once() or True) and len(poster.posts()) == 2, timeout_s=5)
    parent, reply = poster.posts()
    assert reply.thread_ts == parent.ts
    assert reply.channel == "C-incidents"


def test_a_reply_whose_parent_failed_is_posted_unthreaded(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """If the parent can never be posted, its replies still reach the channel."""
    poster.fail_next("refuse")
    outbox = Outbox(redis)
    outbox.enqueue(notice(0), channel="C1", parent_of="3")
    outbox.enqueue(notice(1), channel="C1", thread_of="3")
    wait_until(lambda: len(poster.posts("C1")) == 1)
    assert poster.posts("C1")[0].thread_ts is None


def test_update_replaces_the_incident_parent_in_place(
    redis: redis_lib.Redis, poster: RecordingPoster, running: tuple[OutboxWorker, Threads]
) -> None:
    """An update item edits the parent message; nothing new is posted for it."""
    outbox = Outbox(redis)
    outbox.enqueue(notice(0, title="open"), channel="C1", parent_of="5")
    outbox.enqueue(
        notice(1, title="mitigated").model_copy(update={"id": "incident:5:mitigated"}),
        channel="C1",
        update_of="5",
    )
    wait_until(lambda: any(c.op == "update" for c in poster.calls))
    assert len(poster.posts("C1")) == 1
    assert poster.messages["C1"][0].notice.title == "mitigated"


def test_outbox_sink_is_a_sink(redis: redis_lib.Redis) -> None:
    """OutboxSink hands a notice to the outbox for the given channel."""
    sink: Sink = OutboxSink(Outbox(redis))
    sink.emit(notice(1), channel="C9")
    assert Outbox(redis).item(notice(1).id, channel="C9") is not None
