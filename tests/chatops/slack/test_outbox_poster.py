"""The Slack notice poster and the outbox over real HTTP to the Slack Web API double."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.ports import PosterError, PosterRateLimitedError, PosterUnavailableError
from chatops.slack.blocks.limits import limit_violations
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import (
    DIGEST_METADATA_EVENT,
    DOUBT_NOTE,
    LOOKUP_ATTEMPTS,
    METADATA_EVENT,
    OutboxPoster,
)
from tests.conftest import REPO_ROOT, wait_until
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble


def notice(n: int, *, title: str = "") -> Notice:
    return Notice(
        id=f"event:VrfFulfilledEvent:5:{n}",
        kind="event",
        subject="lottery:4",
        severity="warning",
        title=title or f"VRF fulfilled #{n}",
        text="Winners can be computed.",
        fields=(("Lottery", "4"), ("Tx hash", "0x" + "cd" * 32)),
        at_s=1_764_497_700 + n,
        event_type="VrfFulfilledEvent",
    )


@pytest.fixture
def api() -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble() as double:
        yield double


@pytest.fixture
def poster(api: SlackWebApiDouble) -> OutboxPoster:
    return OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5))


def message_notice_ids(message: dict[str, Any]) -> list[str]:
    """The notices one message carries, from its metadata: one, or a digest's in queue order."""
    metadata = message.get("metadata", {})
    payload = metadata.get("event_payload", {})
    if metadata.get("event_type") == METADATA_EVENT:
        return [str(payload["notice_id"])]
    if metadata.get("event_type") == DIGEST_METADATA_EVENT:
        return [str(n["notice_id"]) for n in payload["notices"]]
    return []


def notice_ids_of(messages: list[dict[str, Any]]) -> list[str]:
    return [i for m in messages for i in message_notice_ids(m)]


def notice_ids(api: SlackWebApiDouble, channel: str) -> list[str]:
    """Every notice posted in ``channel`` (threads included), in message order."""
    return notice_ids_of(api.messages(channel))


def test_a_notice_is_posted_as_escaped_block_kit_with_its_id_in_metadata(
    api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """The message has valid blocks, escaped text, no broadcast mention, and the notice id."""
    ts = poster.post("C1", notice(1, title="<!channel> @here clamp <b>"), None)
    (message,) = api.messages("C1")
    assert message["ts"] == ts
    assert message["metadata"]["event_payload"]["notice_id"] == notice(1).id
    blocks: list[dict[str, Any]] = message["blocks"]
    assert limit_violations(blocks) == []
    rendered = str(blocks)
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "@here" not in rendered
    assert "VrfFulfilledEvent" in rendered
    assert "lottery:4" in rendered


def test_update_replaces_the_message_and_find_posted_sees_threads(
    api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """update edits in place; find_posted finds a top-level post and a threaded one, not others."""
    parent = poster.post("C1", notice(1), None)
    reply = poster.post("C1", notice(2), parent)
    poster.update("C1", parent, notice(1, title="resolved"))
    assert "resolved" in api.messages("C1")[0]["text"]
    assert poster.find_posted("C1", notice(1), None) == parent
    assert poster.find_posted("C1", notice(2), parent) == reply
    assert poster.find_posted("C1", notice(2), None) is None
    assert poster.find_posted("C1", notice(3), parent) is None


def test_slack_errors_become_the_notify_errors(
    api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """429 carries Retry-After, 5xx is an outage, channel_not_found is permanent."""
    api.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(PosterRateLimitedError) as limited:
        poster.post("C1", notice(1), None)
    assert limited.value.retry_after_s == 7
    api.fail_next("chat.postMessage", status=503)
    with pytest.raises(PosterUnavailableError):
        poster.post("C1", notice(1), None)
    api.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(PosterError) as refused:
        poster.post("C1", notice(1), None)
    assert refused.value.error == "channel_not_found"
    with pytest.raises(PosterError):
        poster.update("C1", "1.000000", notice(1))
    assert api.messages("C1") == []


def post_times(api: SlackWebApiDouble, channel: str) -> list[float]:
    return [
        c.at_s
        for c in api.calls("chat.postMessage")
        if c.params.get("channel") == channel and c.response.get("ok")
    ]


def test_outbox_posts_at_most_one_message_per_second_per_channel(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """Four notices to one channel take three seconds; a second channel is not held up by the first."""
    outbox = Outbox(redis)
    for n in range(4):
        outbox.enqueue(notice(n), channel="C1")
    outbox.enqueue(notice(9), channel="C2")
    worker = OutboxWorker(redis, poster, digest_items=1)  # one notice per message: four messages
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    try:
        wait_until(lambda: len(api.messages("C1")) == 4, timeout_s=10)
    finally:
        stop.set()
        thread.join(timeout=5)
    times = post_times(api, "C1")
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.99
    assert post_times(api, "C2")[0] < times[1]
    assert notice_ids(api, "C1") == [notice(n).id for n in range(4)]


def test_a_429_storm_delays_but_loses_nothing(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """Five 429s in a row hold the channel for their Retry-After; then every notice lands once."""
    api.fail_next("chat.postMessage", status=429, retry_after=1, times=5)
    outbox = Outbox(redis)
    for n in range(3):
        outbox.enqueue(notice(n), channel="C1")
    worker = OutboxWorker(redis, poster, interval_ms=50)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    started = time.monotonic()
    thread.start()
    try:
        wait_until(lambda: len(notice_ids(api, "C1")) == 3, timeout_s=15)
    finally:
        stop.set()
        thread.join(timeout=5)
    limited = [c for c in api.calls("chat.postMessage") if c.status == 429]
    assert len(limited) == 5
    # Each 429 asked for a second: no call came sooner than that after one.
    for call in limited:
        later = [c.at_s for c in api.calls("chat.postMessage") if c.at_s > call.at_s]
        assert min(later) - call.at_s >= 0.99
    assert time.monotonic() - started >= 5
    assert notice_ids(api, "C1") == [notice(n).id for n in range(3)]


class _CrashAfterPost:
    """Posts for real, then dies before the outbox records it (the process-kill window)."""

    def __init__(self, inner: OutboxPoster) -> None:
        self.inner = inner

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        self.inner.post(channel, notice, thread_ts)
        raise SystemExit("killed")

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        self.inner.post_digest(channel, digest, thread_ts)
        raise SystemExit("killed")

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        raise SystemExit("killed")


def _crashed_after_first_post(redis: redis_lib.Redis, poster: OutboxPoster) -> Outbox:
    """Two notices queued for C1, the first posted by a worker that died before recording it."""
    outbox = Outbox(redis)
    outbox.enqueue(notice(1), channel="C1")
    outbox.enqueue(notice(2), channel="C1")
    dying = OutboxWorker(redis, _CrashAfterPost(poster), interval_ms=10, digest_items=1)
    with pytest.raises(SystemExit):
        dying.run_once()
    return outbox


def test_a_post_made_just_before_a_crash_is_recorded_not_repeated(
    redis: redis_lib.Redis, api: SlackWebApiDouble, poster: OutboxPoster
) -> None:
    """After a crash between post and record, the next worker finds the message and posts nothing."""
    outbox = _crashed_after_first_post(redis, poster)
    item = outbox.item(notice(1).id, channel="C1")
    assert item is not None
    assert item.state == "posting"
    survivor = OutboxWorker(redis, poster, interval_ms=10)
    wait_until(lambda: bool(survivor.run_once() or True) and outbox.depth() == 0, timeout_s=5)
    assert notice_ids(api, "C1") == [notice(1).id, notice(2).id]
    assert len(api.calls("conversations.history")) >= 1


def test_a_lookup_that_cannot_work_is_bounded_and_the_post_says_it_may_repeat(
    redis: redis_lib.Redis,
) -> None:
    """Without the history scope (the manifest before it was added), a notice in doubt after a
    crash is looked for three times, each answered missing_scope; then it is posted with a note
    that it may repeat an earlier message, and the channel's next notice follows: nothing stalls."""
    with SlackWebApiDouble(scopes=["chat:write"]) as api:
        poster = OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5))
        outbox = _crashed_after_first_post(redis, poster)
        survivor = OutboxWorker(redis, poster, interval_ms=10, digest_items=1)
        wait_until(lambda: bool(survivor.run_once() or True) and outbox.depth() == 0, timeout_s=15)

        lookups = api.calls("conversations.history")
        messages = api.messages("C1")
    assert [c.response["error"] for c in lookups] == ["missing_scope"] * LOOKUP_ATTEMPTS
    assert lookups[0].response["needed"] == "channels:history"
    assert notice_ids_of(messages) == [notice(1).id, notice(1).id, notice(2).id]
    marked = [DOUBT_NOTE in json.dumps(m["blocks"]) for m in messages]
    assert marked == [False, True, False]


@pytest.mark.slow
def test_sigkilled_workers_lose_nothing_and_duplicate_nothing(
    redis: redis_lib.Redis, redis_server: str, api: SlackWebApiDouble
) -> None:
    """Workers killed with SIGKILL at random points, with 429s mixed in: every notice lands once."""
    rng = random.Random(6)  # noqa: S311 - test randomness, seeded for replay
    channels = ["C1", "C2", "C3"]
    outbox = Outbox(redis)
    total = 150
    for n in range(total):
        outbox.enqueue(notice(n), channel=channels[n % 3])
    api.set_latency("chat.postMessage", 0.005)
    for _ in range(4):
        api.fail_next("chat.postMessage", status=429, retry_after=1)
    command = [
        sys.executable,
        "-m",
        "tests.chatops.slack.outbox_worker_main",
        redis_server,
        api.url,
        "10",
        "300",
    ]
    kills = 0
    deadline = time.monotonic() + 90
    procs: list[subprocess.Popen[bytes]] = []
    try:
        while outbox.depth() and time.monotonic() < deadline:
            # Two workers compete, as replicas would; one of them is killed at a random point.
            while len(procs) < 2:
                procs.append(subprocess.Popen(command, cwd=REPO_ROOT))
            time.sleep(rng.uniform(0.2, 0.8))
            victim = procs.pop(rng.randrange(len(procs)))
            victim.kill()
            victim.wait(timeout=10)
            kills += 1
        if outbox.depth():
            procs.append(subprocess.Popen(command, cwd=REPO_ROOT))
            wait_until(lambda: outbox.depth() == 0, timeout_s=30)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
    assert kills >= 3
    for index, channel in enumerate(channels):
        ids = notice_ids(api, channel)
        duplicates = [i for i, count in Counter(ids).items() if count > 1]
        assert duplicates == []
        assert ids == [notice(n).id for n in range(index, total, 3)]
