"""Redis stopped and restarted mid-approval: the bot fails closed while it is down, and afterwards the
request, its audit trail and the two-person rule are all still there; the approval executes once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals.models import Status
from tests.fakes.bot import Harness
from tests.faults.conftest import DurableRedis, bot, fallbacks_sent, flow_of

FALLBACK = '/feed fallback 1 on 3 "spike"'
pytestmark = pytest.mark.slow


@pytest.fixture
def ops(client: redis_lib.Redis) -> Iterator[Harness]:
    with bot(client) as h:
        yield h


def _assert_plain(text: str) -> None:
    for leak in ("Traceback", "redis.exceptions", "ConnectionError", "Internal error"):
        assert leak not in text


def test_approve_fails_closed_while_redis_is_down_then_executes_once(
    ops: Harness, durable_redis: DurableRedis, client: redis_lib.Redis
) -> None:
    """With Redis stopped, bob's approval is refused with a plain sentence and nothing reaches the
    devnet; after a restart on the same data the request and its audit are intact and the approval
    executes exactly once."""
    asked = ops.run(FALLBACK, "alice")
    assert asked.ok, asked
    request_id = asked.request_id
    assert request_id is not None
    audit_before = [
        (e.event, e.actor, e.state)
        for e in flow_of(ops).service.history(flow_of(ops).service.get(request_id))
    ]
    assert audit_before == [("created", "alice", "pending")]
    sent_before = fallbacks_sent(ops)

    durable_redis.stop()
    refused = ops.run(f"/ops approve {request_id}", "bob")
    shown = ops.run(f"/ops show {request_id}", "bob")
    for reply in (refused, shown):
        assert not reply.ok
        assert "approvals store (Redis) is unavailable" in reply.title
        assert "nothing was recorded or sent" in reply.title
        _assert_plain(reply.title + reply.text)
    assert fallbacks_sent(ops) == sent_before

    durable_redis.start()
    request = flow_of(ops).service.get(request_id)
    assert (request.state, request.requester, request.approvers) == (Status.PENDING, "alice", ())
    assert [
        (e.event, e.actor, e.state)
        for e in flow_of(ops).service.history(flow_of(ops).service.get(request_id))
    ] == audit_before
    assert ops.run(f"/ops approve {request_id}", "alice").ok is False  # still two people

    done = ops.run(f"/ops approve {request_id}", "bob")
    assert done.ok, done
    assert done.state == Status.SUCCEEDED
    again = ops.run(f"/ops approve {request_id}", "carol")
    assert not again.ok
    assert fallbacks_sent(ops) == sent_before + 1
    assert ops.view("price_feed::get_price_view", "1")[0]["fallback_active"] is True
    events = [
        (e.event, e.state)
        for e in flow_of(ops).service.history(flow_of(ops).service.get(request_id))
    ]
    assert events[0] == ("created", "pending")
    assert events[-1] == ("succeeded", "succeeded")
    # The last approval claims the request in the same step: one approval, one execution.
    assert [e for e, _s in events].count("approved") == 1
    assert ("approved", "executing") in events


def test_a_request_asked_while_redis_is_down_is_refused_and_sends_nothing(
    ops: Harness, durable_redis: DurableRedis, client: redis_lib.Redis
) -> None:
    """A privileged step asked for while Redis is down gets the plain refusal, no request id, and
    leaves no trace after the restart."""
    sent_before = fallbacks_sent(ops)
    durable_redis.stop()
    reply = ops.run(FALLBACK, "alice")
    assert not reply.ok
    assert reply.request_id is None
    assert "approvals store (Redis) is unavailable" in reply.title
    _assert_plain(reply.title + reply.text)
    durable_redis.start()
    assert flow_of(ops).service.pending() == (0, [])
    assert fallbacks_sent(ops) == sent_before
