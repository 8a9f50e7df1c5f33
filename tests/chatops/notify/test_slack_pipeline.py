"""The whole notify path over real sockets: devnet events -> watcher -> incidents -> outbox -> Slack double."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify.alerts import AlertBook
from chatops.notify.incident_store import IncidentStore
from chatops.notify.incidents import IncidentTracker, OutboxDelivery
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.router import DEFAULT_CHANNEL, EventRouter
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import (
    DIGEST_METADATA_EVENT,
    METADATA_EVENT,
    OutboxPoster,
)
from tests.chatops.notify.conftest import Chain
from tests.chatops.notify.devnet_events import advance
from tests.conftest import wait_until
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble

A = PACKAGE_ADDRESS
BURST = 1000


@pytest.fixture
def api() -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble() as double:
        yield double


def notice_ids(message: dict[str, Any]) -> list[str]:
    """The notices a message carries: one, or a digest's (queue order)."""
    metadata = message.get("metadata", {})
    payload = metadata["event_payload"]
    if metadata.get("event_type") == DIGEST_METADATA_EVENT:
        return [str(n["notice_id"]) for n in payload["notices"]]
    assert metadata.get("event_type") == METADATA_EVENT
    return [str(payload["notice_id"])]


@pytest.mark.slow
def test_a_purchase_burst_and_a_429_storm_reach_the_thread_once_each(
    chain: Chain, redis: redis_lib.Redis, api: SlackWebApiDouble
) -> None:
    """1,000 purchases become one sales digest; with 429s mixed in every notice lands once, threaded
    (the thread's notices coalesced into one message)."""
    router = EventRouter(A)
    store = IncidentStore(redis)
    outbox = Outbox(redis)
    incidents = IncidentTracker(store, OutboxDelivery(outbox), router.opens_incident)
    book = AlertBook(redis, incidents, lambda name, sev: (sev, DEFAULT_CHANNEL, False))
    watcher = Watcher(
        chain.client,
        redis,
        router,
        incidents,
        book,
        event_types=[
            f"{A}::sales::TicketPurchaseEvent",
            f"{A}::history::LotteryCanceledEvent",
            f"{A}::history::RefundBatchEvent",
        ],
        config=WatcherConfig(window_blocks=2000, start_height=None, digest_interval_s=60),
    )
    watcher.poll_once()
    ledger = chain.server.ledger
    ledger.inject_event(f"{A}::history::LotteryCanceledEvent", {"lottery_id": "4"})
    for n in range(BURST):
        ledger.inject_event(f"{A}::sales::TicketPurchaseEvent", {"lottery_id": "4", "quantity": "1", "n": str(n)})  # fmt: skip
    for n in range(3):
        ledger.inject_event(f"{A}::history::RefundBatchEvent", {"lottery_id": "4", "refund_round": str(n)})  # fmt: skip
    assert watcher.poll_once() == BURST + 4
    advance(chain.http, 60)
    watcher.poll_once()  # closes the sales period: one digest
    queued = outbox.depth()
    assert queued == 6  # parent, canceled, 3 refunds, one digest: not 1,000 messages

    api.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    poster = OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5))
    worker = OutboxWorker(redis, poster, threads=store, interval_ms=50)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    try:
        wait_until(lambda: outbox.depth() == 0, timeout_s=20)
    finally:
        stop.set()
        thread.join(timeout=5)

    limited = [c for c in api.calls("chat.postMessage") if c.status == 429]
    assert len(limited) == 3
    messages = api.messages(DEFAULT_CHANNEL)
    ids = [i for m in messages for i in notice_ids(m)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert len(ids) == queued
    incident = store.open_for("lottery:4")
    assert incident is not None
    parent = store.thread_ts(incident.id)
    assert parent is not None
    (head,) = [m for m in messages if "thread_ts" not in m]
    assert head["ts"] == parent[1]
    replies = [m for m in messages if m.get("thread_ts") == parent[1]]
    assert len(replies) == len(messages) - 1
    reply_ids = [i for m in replies for i in notice_ids(m)]
    assert len(reply_ids) == queued - 1
    # The five thread notices were ready together: one digest message, the critical one first.
    assert len(replies) == 1
    sales = [m for m in replies if any(i.startswith("digest:sales:4:") for i in notice_ids(m))]
    assert len(sales) == 1
    assert "1000" in str(sales[0]["blocks"])
    assert sum(i.startswith("event:RefundBatchEvent:") for i in reply_ids) == 3
    assert "1 critical: Lottery canceled" in replies[0]["text"]
