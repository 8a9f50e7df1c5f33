"""Coalescing in the outbox, end to end on a real Redis through the real Slack poster to the Web API
double: a channel's backlog goes out as digest messages, each notice exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis as redis_lib

from chatops.notify import keys
from chatops.notify.digest import Digest
from chatops.notify.metrics import OutboxMetrics
from chatops.notify.notice import Notice
from chatops.notify.outbox import GROUP, Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.severity import Severity
from chatops.slack.blocks.limits import limit_violations
from chatops.slack.blocks.notice import notice_blocks, notice_text
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import (
    DIGEST_METADATA_EVENT,
    METADATA_EVENT,
    OutboxPoster,
)
from tests.conftest import wait_until
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble

STREAM = keys.outbox_stream_key("C1")


def event(n: int, *, severity: Severity = "info", title: str = "") -> Notice:
    return Notice(
        id=f"event:PayoutBatchEvent:6:{n}",
        kind="event",
        subject="lottery:4",
        severity=severity,
        title=title or f"Payout batch {n} (lottery:4)",
        text="A payout batch was recorded.",
        at_s=1_764_497_700 + n,
        event_type="PayoutBatchEvent",
    )


def carried(message: dict[str, Any]) -> list[str]:
    """The notice ids a Slack message carries, from its metadata (a digest's in queue order)."""
    metadata = message["metadata"]
    payload = metadata["event_payload"]
    if metadata["event_type"] == DIGEST_METADATA_EVENT:
        return [str(n["notice_id"]) for n in payload["notices"]]
    assert metadata["event_type"] == METADATA_EVENT
    return [str(payload["notice_id"])]


def posted_ids(api: SlackWebApiDouble, channel: str = "C1") -> list[str]:
    return [i for m in api.messages(channel) for i in carried(m)]


def drain(worker: OutboxWorker, outbox: Outbox, timeout_s: float = 10) -> None:
    wait_until(lambda: bool(worker.run_once() or True) and outbox.depth() == 0, timeout_s)


def run_until_killed(worker: OutboxWorker, timeout_s: float = 5) -> None:
    """Run rounds until the poster kills the worker (``SystemExit``); return if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        worker.run_once()


def pending(redis: redis_lib.Redis) -> int:
    """Entries of C1's stream read by a worker and not yet acknowledged."""
    return int(cast(dict[str, Any], redis.xpending(STREAM, GROUP))["pending"])


def settled_in_redis(redis: redis_lib.Redis) -> None:
    """Nothing left of C1's queue: no entry, none pending, the channel retired."""
    assert redis.xlen(STREAM) == 0
    assert pending(redis) == 0
    assert redis.zscore(keys.OUTBOX_CHANNELS, "C1") is None


@pytest.fixture
def api() -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble() as double:
        yield double


@pytest.fixture
def poster(api: SlackWebApiDouble) -> OutboxPoster:
    return OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5))


class _CrashAfterDigest:
    """Posts single notices normally; posts a digest for real, then dies before the outbox records
    it (the process-kill window)."""

    def __init__(self, inner: OutboxPoster) -> None:
        self.inner = inner

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        return self.inner.post(channel, notice, thread_ts)

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        self.inner.post_digest(channel, digest, thread_ts)
        raise SystemExit("killed")

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        self.inner.update(channel, ts, notice)


def test_a_backlog_of_45_is_posted_as_3_digests_in_order_each_notice_once(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """45 ready notices for one channel become 20 + 20 + 5 in three messages, in queue order; every
    item is recorded sent with its message's ts and digest id, XACKed and deleted; metrics count it."""
    outbox = Outbox(redis)
    for n in range(45):
        outbox.enqueue(event(n), channel="C1")
    metrics = OutboxMetrics()
    worker = OutboxWorker(redis, poster, interval_ms=10, metrics=metrics)

    drain(worker, outbox)

    messages = api.messages("C1")
    assert [len(carried(m)) for m in messages] == [20, 20, 5]
    assert posted_ids(api) == [event(n).id for n in range(45)]
    assert len(api.calls("chat.postMessage")) == 3
    for message in messages:
        assert limit_violations(message["blocks"]) == []
        assert message["metadata"]["event_payload"]["count"] == len(carried(message))
    settled_in_redis(redis)
    for n in range(45):
        item = outbox.item(event(n).id, channel="C1")
        assert item is not None
        message = messages[n // 20]
        assert item.state == "sent"
        assert item.ts == message["ts"]
        assert item.digest == message["metadata"]["event_payload"]["digest_id"]
    sample = metrics.registry.get_sample_value
    assert sample("chatops_outbox_digests_total") == 3
    assert sample("chatops_outbox_digest_items_count") == 3
    assert sample("chatops_outbox_digest_items_sum") == 45
    assert sample("chatops_outbox_notices_total", {"how": "digest"}) == 45
    assert sample("chatops_outbox_messages_total", {"kind": "digest"}) == 3


def test_a_single_ready_item_is_posted_as_today(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """One ready item per place is one plain notice message (same blocks, text and metadata as
    before coalescing existed), whether top level or threaded."""
    outbox = Outbox(redis)
    outbox.enqueue(event(0, title="Incident 7"), channel="C1", parent_of="7")
    outbox.enqueue(event(1), channel="C1")
    outbox.enqueue(event(2), channel="C1", thread_of="7")
    metrics = OutboxMetrics()
    worker = OutboxWorker(redis, poster, interval_ms=10, metrics=metrics)

    drain(worker, outbox)

    parent, top, reply = api.messages("C1")
    assert [carried(m) for m in (parent, top, reply)] == [[event(n).id] for n in range(3)]
    assert top["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"notice_id": event(1).id},
    }
    assert top["blocks"] == notice_blocks(event(1))
    assert top["text"] == notice_text(event(1))
    assert "thread_ts" not in top
    assert reply["thread_ts"] == parent["ts"]
    assert metrics.registry.get_sample_value("chatops_outbox_digests_total") == 0
    assert (
        metrics.registry.get_sample_value("chatops_outbox_messages_total", {"kind": "single"}) == 3
    )


def test_items_of_two_threads_never_share_a_digest(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """Interleaved replies to two incidents and top-level events: each message holds one place's
    notices only, in that place's order, and the interleaving still coalesces."""
    outbox = Outbox(redis)
    outbox.enqueue(event(900, title="Incident 7"), channel="C1", parent_of="7")
    outbox.enqueue(event(901, title="Incident 8"), channel="C1", parent_of="8")
    place: dict[str, str] = {}
    for n in range(30):
        incident = ("7", "8", "")[n % 3]
        outbox.enqueue(event(n), channel="C1", thread_of=incident or None)
        place[event(n).id] = incident
    worker = OutboxWorker(redis, poster, interval_ms=10)

    drain(worker, outbox)

    messages = api.messages("C1")
    parents = {"7": messages[0]["ts"], "8": messages[1]["ts"]}
    assert [carried(m) for m in messages[:2]] == [[event(900).id], [event(901).id]]
    seen: dict[str, list[str]] = {"7": [], "8": [], "": []}
    for message in messages[2:]:
        places = {place[i] for i in carried(message)}
        assert len(places) == 1
        (where,) = places
        assert message.get("thread_ts") == (parents[where] if where else None)
        seen[where] += carried(message)
    for where, ids in seen.items():
        assert ids == [event(n).id for n in range(30) if place[event(n).id] == where]
    assert len(messages) == 2 + 3  # each place's ten notices fit one digest
    settled_in_redis(redis)


@pytest.mark.parametrize("in_thread", [False, True])
def test_a_crash_after_posting_a_digest_is_settled_by_the_lookup_without_duplicates(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster, in_thread: bool
) -> None:
    """A worker dies between posting a digest and recording it: its items stay "posting" under one
    digest id; the next worker finds the message (history or thread replies), records all of them
    sent and posts only the rest."""
    outbox = Outbox(redis)
    if in_thread:
        outbox.enqueue(event(900, title="Incident 7"), channel="C1", parent_of="7")
    for n in range(25):
        outbox.enqueue(event(n), channel="C1", thread_of="7" if in_thread else None)
    dying = OutboxWorker(redis, _CrashAfterDigest(poster), interval_ms=10)
    with pytest.raises(SystemExit):
        run_until_killed(dying)

    digests = [
        m for m in api.messages("C1") if m["metadata"]["event_type"] == DIGEST_METADATA_EVENT
    ]
    assert [carried(m) for m in digests] == [[event(n).id for n in range(20)]]
    frozen = digests[0]["metadata"]["event_payload"]["digest_id"]
    for n in range(25):
        item = outbox.item(event(n).id, channel="C1", thread_of="7" if in_thread else None)
        assert item is not None
        assert (item.state, item.digest) == (("posting", frozen) if n < 20 else ("queued", ""))
    assert pending(redis) == 25  # read ahead, none acknowledged

    survivor = OutboxWorker(redis, poster, interval_ms=10)
    drain(survivor, outbox)

    ids = posted_ids(api)
    assert ids == ([event(900).id] if in_thread else []) + [event(n).id for n in range(25)]
    lookup = "conversations.replies" if in_thread else "conversations.history"
    assert len(api.calls(lookup)) >= 1
    assert len(api.calls("chat.postMessage")) == (3 if in_thread else 2)
    for n in range(20):
        item = outbox.item(event(n).id, channel="C1", thread_of="7" if in_thread else None)
        assert item is not None
        assert (item.state, item.ts) == ("sent", digests[0]["ts"])
    settled_in_redis(redis)


def test_a_429_on_a_digest_defers_it_and_posts_it_once_later(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """Rate limited: nothing was posted, so the items go back to the queue (no digest kept), the
    channel waits for Retry-After, then one message carries them all."""
    api.fail_next("chat.postMessage", status=429, retry_after=1)
    outbox = Outbox(redis)
    for n in range(5):
        outbox.enqueue(event(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10)

    assert worker.run_once() == 0
    for n in range(5):
        item = outbox.item(event(n).id, channel="C1")
        assert item is not None
        assert (item.state, item.digest, item.attempts) == ("queued", "", 1)
    due = cast(float | None, redis.zscore(keys.OUTBOX_CHANNELS, "C1"))
    assert due is not None
    assert due >= time.time() * 1000 + 800

    drain(worker, outbox)

    calls = api.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at_s - calls[0].at_s >= 0.99
    assert [carried(m) for m in api.messages("C1")] == [[event(n).id for n in range(5)]]
    settled_in_redis(redis)


def test_a_5xx_on_a_digest_keeps_it_whole_and_reposts_the_same_digest_once(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """An outage leaves the digest in doubt: the retry looks for it first, finds nothing and posts
    the same digest (same id, same items) once; items that arrived meanwhile wait their turn."""
    api.fail_next("chat.postMessage", status=503)
    outbox = Outbox(redis)
    for n in range(3):
        outbox.enqueue(event(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10)

    assert worker.run_once() == 0
    outbox.enqueue(event(3), channel="C1")  # arrives while the digest is in doubt
    drain(worker, outbox)

    first, retried, later = api.calls("chat.postMessage")
    assert (first.status, retried.status, later.status) == (503, 200, 200)
    assert (
        first.params["metadata"]["event_payload"]["digest_id"]
        == retried.params["metadata"]["event_payload"]["digest_id"]
    )
    assert len(api.calls("conversations.history")) == 1
    assert [carried(m) for m in api.messages("C1")] == [
        [event(n).id for n in range(3)],
        [event(3).id],
    ]
    settled_in_redis(redis)


def test_a_refused_digest_is_posted_one_by_one_and_only_what_is_refused_alone_fails(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """A permanent refusal of a digest may be about its form (a block the chat rejects): nothing
    was posted, so each notice goes again alone, never folded again; only a notice refused alone
    is recorded failed."""
    api.fail_next("chat.postMessage", error="invalid_blocks")
    outbox = Outbox(redis)
    for n in range(3):
        outbox.enqueue(event(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10)

    assert worker.run_once() == 0  # refused as a digest: back in the queue, marked to go alone
    for n in range(3):
        item = outbox.item(event(n).id, channel="C1")
        assert item is not None
        assert (item.state, item.digest, item.alone) == ("queued", "", True)
    api.fail_next("chat.postMessage", error="msg_too_long")  # the first one alone, refused too
    drain(worker, outbox)

    assert [carried(m) for m in api.messages("C1")] == [[event(1).id], [event(2).id]]
    states = [outbox.item(event(n).id, channel="C1") for n in range(3)]
    assert [(i.state if i else None) for i in states] == ["failed", "sent", "sent"]
    assert states[0] is not None
    assert "msg_too_long" in states[0].error
    settled_in_redis(redis)


def test_a_digest_refused_for_its_channel_fails_each_item_once_alone(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """A channel the bot cannot post to refuses every message: each item is tried once alone, then
    recorded failed, and nothing is posted twice."""
    api.fail_next("chat.postMessage", error="channel_not_found", times=4)
    outbox = Outbox(redis)
    for n in range(3):
        outbox.enqueue(event(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10)

    drain(worker, outbox)

    assert api.messages("C1") == []
    assert len(api.calls("chat.postMessage")) == 4  # the digest, then each notice alone
    for n in range(3):
        item = outbox.item(event(n).id, channel="C1")
        assert item is not None
        assert item.state == "failed"
        assert "channel_not_found" in item.error
    settled_in_redis(redis)


def test_critical_notices_in_a_flood_are_listed_first_and_alerts_go_alone(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """The documented rule: a critical event folds but heads its digest (and its notification);
    an alert is never folded: the digest before it stops at it and it is posted alone, in order."""
    outbox = Outbox(redis)
    for n in range(30):
        if n == 12:
            notice = event(n, severity="critical", title="AutomationBot error (bot:0x1)")
        elif n == 25:
            notice = Notice(
                id="alert:AutomationFailures:bot:0x1:raised:1",
                kind="alert",
                subject="bot:0x1",
                severity="critical",
                title="AutomationBot failing",
                at_s=1_764_497_700 + n,
            )
        else:
            notice = event(n)
        outbox.enqueue(notice, channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10)

    drain(worker, outbox)

    messages = api.messages("C1")
    assert [len(carried(m)) for m in messages] == [20, 5, 1, 4]
    assert carried(messages[2]) == ["alert:AutomationFailures:bot:0x1:raised:1"]
    assert messages[2]["metadata"]["event_type"] == METADATA_EVENT
    assert [i for m in messages for i in carried(m)][12] == event(12).id  # queue order kept
    first = messages[0]
    assert first["text"].startswith("1 critical: AutomationBot error")
    texts = [b["text"]["text"] for b in first["blocks"] if b["type"] == "section"]
    assert "1 critical, listed first" in texts[0]
    assert texts[1].startswith("*Critical*\n:rotating_light:")
    assert "AutomationBot error" in texts[1]
    assert "AutomationBot error" not in "".join(texts[2:])
    assert texts[2].startswith("*Then, by time*")
    assert ":rotating_light:" not in messages[1]["text"]
    settled_in_redis(redis)


def test_digest_size_is_bounded(redis: redis_lib.Redis, poster: OutboxPoster) -> None:
    """A worker refuses a digest size outside 1..40 (Slack's limits); 1 turns coalescing off."""
    for bad in (0, 41):
        with pytest.raises(ValueError, match="digest_items"):
            OutboxWorker(redis, poster, digest_items=bad)


def test_coalescing_off_posts_one_message_per_item(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """With ``digest_items=1`` a backlog is posted one notice per message, as before."""
    outbox = Outbox(redis)
    for n in range(3):
        outbox.enqueue(event(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=10, digest_items=1)

    drain(worker, outbox)

    assert [carried(m) for m in api.messages("C1")] == [[event(n).id] for n in range(3)]
