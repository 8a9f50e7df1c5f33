"""Slack 429/5xx storms: replies and approval messages through the Bolt app's WebClient retry handlers,
and notices (posts and in-place updates) through the outbox, each still arrive exactly once."""

# Only Slack's edge is a double (tests/fakes/slack_web_api.py); the chain is the seeded devnet and
# Redis is real.

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis as redis_lib
from slack_bolt import App

from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.slack import keys
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import APPROVE_ACTION_ID
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import (
    DIGEST_METADATA_EVENT,
    METADATA_EVENT,
    OutboxPoster,
)
from tests.chatops.slack import conftest as slack_fixtures
from tests.chatops.slack.conftest import ALICE, BOB, CHANNEL, Slack, make_deps
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, ApiCall, SlackWebApiDouble

FALLBACK = "/feed fallback 1 on 3 spike"
REPLY_TIMEOUT_S = 20.0

# The Slack app's fixtures (workspace double, devnet harness with approvals), shared as they are.
slack_api = slack_fixtures.slack_api
ops = slack_fixtures.ops


@pytest.fixture
def deps(ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis) -> SlackDeps:
    return make_deps(ops, slack_api, redis)


@pytest.fixture
def app(deps: SlackDeps) -> App:
    return build_bolt_app(deps)


@pytest.fixture
def slack(app: App, slack_api: SlackWebApiDouble, ops: Harness) -> Slack:
    return Slack(app, slack_api, ops)


def _ok(calls: list[ApiCall]) -> list[ApiCall]:
    return [c for c in calls if c.status == 200 and c.response.get("ok")]


def _approve_button(message: dict[str, Any]) -> str:
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == APPROVE_ACTION_ID:
                return str(element["value"])
    raise AssertionError("the approval message has no Approve button")


def test_a_reply_arrives_once_through_a_mixed_429_and_5xx_storm(slack: Slack) -> None:
    """Two 429s, a 503, another 429 on chat.postMessage: the result is posted exactly once (the 503
    after two 429s is retried too: each kind of failure has its own retry budget)."""
    slack.api.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    slack.api.fail_next("chat.postMessage", status=503)
    slack.api.fail_next("chat.postMessage", status=429, retry_after=0)
    slack.command("/feed show 1", ALICE)

    calls = slack.api.wait_for("chat.postMessage", count=5, timeout_s=REPLY_TIMEOUT_S)
    assert [c.status for c in calls] == [429, 429, 503, 429, 200]
    (message,) = slack.api.messages(CHANNEL)
    assert "Asset 1" in message["text"]


def test_an_error_reply_arrives_once_through_a_5xx_storm(slack: Slack) -> None:
    """Two 5xx on chat.postEphemeral: the asker still sees the usage error exactly once."""
    slack.api.fail_next("chat.postEphemeral", status=500)
    slack.api.fail_next("chat.postEphemeral", status=503)
    slack.command("/feed show not-a-number", ALICE)

    calls = slack.api.wait_for("chat.postEphemeral", count=3, timeout_s=REPLY_TIMEOUT_S)
    assert [c.status for c in calls] == [500, 503, 200]
    (told,) = slack.api.ephemerals(CHANNEL)
    assert told["user"] == ALICE
    assert slack.api.messages(CHANNEL) == []


def test_the_approval_message_and_its_update_arrive_once_through_storms(
    slack: Slack, ops: Harness, redis: redis_lib.Redis
) -> None:
    """The approval message survives a 429/5xx storm and is posted once (its ts kept in Redis); after
    bob's approval the update survives its own storm and edits that one message once; the result
    lands once in its thread; the fallback is sent once."""
    before = len(ops.events("PriceFeedFallbackEvent"))
    slack.api.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    slack.api.fail_next("chat.postMessage", status=502)
    slack.command(FALLBACK, ALICE)
    posts = slack.api.wait_for("chat.postMessage", count=4, timeout_s=REPLY_TIMEOUT_S)
    assert [c.status for c in posts] == [429, 429, 502, 200]
    (message,) = slack.api.messages(CHANNEL)
    button = _approve_button(message)
    request_id = button.split(":")[0]
    ts = str(message["ts"])

    def recorded() -> bool:
        kept = cast(bytes | None, redis.hget(keys.slack_message_key(request_id), "ts"))
        return kept == ts.encode()

    wait_until(recorded, timeout_s=5)

    slack.api.fail_next("chat.update", status=503)
    slack.api.fail_next("chat.update", status=429, retry_after=0, times=2)
    slack.click(APPROVE_ACTION_ID, button, BOB, message_ts=ts)
    updates = slack.api.wait_for("chat.update", count=4, timeout_s=REPLY_TIMEOUT_S)
    slack.api.wait_for("chat.postMessage", count=5, timeout_s=REPLY_TIMEOUT_S)

    assert [c.status for c in updates] == [503, 429, 429, 200]
    assert {(c.params["channel"], c.params["ts"]) for c in updates} == {(CHANNEL, ts)}
    shown = slack.api.message(CHANNEL, ts)
    assert shown is not None
    assert "succeeded" in shown["text"]
    assert APPROVE_ACTION_ID not in str(shown["blocks"])
    notes = [c for c in _ok(slack.api.calls("chat.postMessage")) if c.params.get("thread_ts")]
    assert [c.params["thread_ts"] for c in notes] == [ts]
    assert len(_ok(slack.api.calls("chat.postMessage"))) == 2  # the request and its thread note
    assert len(ops.events("PriceFeedFallbackEvent")) == before + 1


# -- the outbox: OutboxPoster has no retry handlers, the outbox owns retries ------------------


def _notice(n: int, title: str = "") -> Notice:
    return Notice(
        id=f"event:RefundBatchEvent:storm:{n}",
        kind="event",
        subject="lottery:7",
        severity="info",
        title=title or f"Refund batch {n}",
        text="A refund batch was processed.",
        at_s=1_764_497_700 + n,
        event_type="RefundBatchEvent",
    )


@pytest.fixture
def api() -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble() as double:
        yield double


def _drain(redis: redis_lib.Redis, api: SlackWebApiDouble, outbox: Outbox) -> None:
    worker = OutboxWorker(
        redis,
        OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5)),
        interval_ms=20,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    try:
        wait_until(lambda: outbox.depth() == 0, timeout_s=30)
    finally:
        stop.set()
        thread.join(timeout=5)


def _notice_ids(api: SlackWebApiDouble, channel: str) -> list[str]:
    """Every notice posted in ``channel``, in message order (a digest's in queue order)."""
    ids: list[str] = []
    for m in api.messages(channel):
        metadata = m.get("metadata", {})
        payload = metadata.get("event_payload", {})
        if metadata.get("event_type") == METADATA_EVENT:
            ids.append(str(payload["notice_id"]))
        elif metadata.get("event_type") == DIGEST_METADATA_EVENT:
            ids += [str(n["notice_id"]) for n in payload["notices"]]
    return ids


def test_outbox_posts_and_updates_arrive_once_through_a_storm(
    redis: redis_lib.Redis, api: SlackWebApiDouble
) -> None:
    """Posts and an in-place update behind a storm of 429s and 5xx on both methods: every notice is
    posted exactly once and in order (the parent alone, the five events in one digest), the
    incident message is edited once, nothing is marked failed."""
    for status in (429, 503, 500, 429, 502, 429):
        api.fail_next("chat.postMessage", status=status, retry_after=0)
    api.fail_next("chat.update", status=503)
    api.fail_next("chat.update", status=429, retry_after=0)
    outbox = Outbox(redis)
    outbox.enqueue(_notice(0, "Incident opened"), channel="C1", parent_of="inc-1")
    for n in range(1, 6):
        outbox.enqueue(_notice(n), channel="C1")
    outbox.enqueue(_notice(99, "Incident resolved"), channel="C1", update_of="inc-1")

    _drain(redis, api, outbox)

    ids = _notice_ids(api, "C1")
    assert [i for i, count in Counter(ids).items() if count > 1] == []
    assert ids == [_notice(n).id for n in range(6)]
    parent = api.messages("C1")[0]
    assert "Incident resolved" in parent["text"]
    assert len(_ok(api.calls("chat.update"))) == 1
    assert [c.status for c in api.calls("chat.update")] == [503, 429, 200]
    assert len(_ok(api.calls("chat.postMessage"))) == len(api.messages("C1")) == 2
    for n in range(1, 6):
        item = outbox.item(_notice(n).id, channel="C1")
        assert item is not None
        assert item.state == "sent"
    update = outbox.item(_notice(99).id, channel="C1", update_of="inc-1")
    assert update is not None
    assert update.state == "sent"
