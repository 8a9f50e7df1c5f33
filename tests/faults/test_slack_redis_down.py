"""Redis stopped under the Slack app: a click, a deny submission, a typed command and a mention are
still acked with 200, the person is told (only them) that nothing was recorded and why, and once Redis
is back nothing was recorded indeed."""

# Signed requests through Bolt's real request path; Redis is a real redis-server, stopped and
# restarted.

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from approvals.models import Status
from chatops.incident_port import IncidentDesk
from chatops.slack import keys
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from tests.chatops.slack import conftest as slack_fixtures
from tests.chatops.slack.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    Slack,
    all_text,
    ephemeral_for,
    make_deps,
    mention_request,
    slack_policy,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_requests import signed_view_submission
from tests.fakes.slack_web_api import SlackWebApiDouble
from tests.faults.conftest import DurableRedis, bot, fallbacks_sent, flow_of

pytestmark = pytest.mark.slow

FALLBACK = "/feed fallback 1 on 3 spike"
UNAVAILABLE = "approvals store (Redis) is unavailable, so nothing was recorded or sent"
PARENT_TS = "1700000000.000900"

# The Slack app's fixtures, on this module's ops and deps (the bot on the durable Redis).
slack_api = slack_fixtures.slack_api
app = slack_fixtures.app
slack = slack_fixtures.slack


@pytest.fixture
def ops(client: redis_lib.Redis) -> Iterator[Harness]:
    with bot(client, policy=slack_policy()) as h:
        yield h


@pytest.fixture
def deps(ops: Harness, slack_api: SlackWebApiDouble, client: redis_lib.Redis) -> SlackDeps:
    desk = ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    return make_deps(ops, slack_api, client, incidents=desk.router)


def requested(slack: Slack) -> tuple[str, str, str]:
    """alice's fallback request, posted with its buttons while Redis is up: (request id, its buttons' value, ts)."""
    assert slack.command(FALLBACK, ALICE).status == 200
    (posted,) = slack.api.wait_for("chat.postMessage", timeout_s=10)
    value = json.dumps(posted.params["blocks"]).split('"value": "', 1)[1].split('"', 1)[0]
    request_id = value.split(":")[0]  # a button carries the request's whole id and its digest
    assert flow_of(slack.ops).service.get(request_id).state == Status.PENDING
    return request_id, value, str(posted.response["ts"])


def audit_of(ops: Harness, request_id: str) -> list[tuple[str, str, str]]:
    service = flow_of(ops).service
    return [(e.event, e.actor, e.state) for e in service.history(service.get(request_id))]


def assert_plain(text: str) -> None:
    for leak in ("Traceback", "redis.exceptions", "ConnectionError", "Internal error"):
        assert leak not in text, text


def test_an_approve_click_while_redis_is_down_is_answered_and_records_nothing(
    slack: Slack, ops: Harness, durable_redis: DurableRedis, client: redis_lib.Redis
) -> None:
    """bob clicks Approve with Redis stopped: Slack gets 200, bob alone is told in the channel that
    nothing was recorded or sent and why; after the restart the request is pending with the same
    audit, no click marker is kept, nothing reached the chain, and bob's next click executes it."""
    request_id, value, ts = requested(slack)
    audit = audit_of(ops, request_id)
    sent = fallbacks_sent(ops)

    durable_redis.stop()
    response = slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=ts)
    (told,) = ephemeral_for(slack.api, BOB)

    assert response.status == 200
    assert told.params["channel"] == CHANNEL
    assert UNAVAILABLE in all_text(told)
    assert all_text(told).startswith("Not approved")
    assert_plain(all_text(told))

    durable_redis.start()
    assert flow_of(ops).service.get(request_id).state == Status.PENDING
    assert audit_of(ops, request_id) == audit
    assert fallbacks_sent(ops) == sent
    assert client.keys(keys.slack_event_key("action:*")) == []
    assert slack.api.calls("chat.update") == []

    assert slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=ts).status == 200
    wait_until(lambda: flow_of(ops).service.get(request_id).state == Status.SUCCEEDED, 20)
    assert fallbacks_sent(ops) == sent + 1


def test_a_deny_submission_while_redis_is_down_keeps_the_modal_open_with_the_reason(
    slack: Slack, ops: Harness, durable_redis: DurableRedis
) -> None:
    """bob submits the deny modal with Redis stopped: the modal stays open showing that nothing was
    recorded and why (only bob sees it), and after the restart the request is still pending."""
    request_id, value, _ts = requested(slack)
    audit = audit_of(ops, request_id)
    values = {
        DENY_REASON_BLOCK_ID: {
            DENY_REASON_ACTION_ID: {"type": "plain_text_input", "value": "provider is fine"}
        }
    }

    durable_redis.stop()
    response = slack.dispatch(
        signed_view_submission(DENY_MODAL_CALLBACK_ID, values, private_metadata=value, user_id=BOB)
    )

    assert response.status == 200
    answer: dict[str, Any] = json.loads(str(response.body))
    assert answer["response_action"] == "errors"
    shown = answer["errors"][DENY_REASON_BLOCK_ID]
    assert UNAVAILABLE in shown
    assert shown.startswith("Not denied")
    assert_plain(shown)

    durable_redis.start()
    assert flow_of(ops).service.get(request_id).state == Status.PENDING
    assert audit_of(ops, request_id) == audit
    assert slack.api.calls("chat.update") == []


def test_typed_commands_while_redis_is_down_are_answered_and_record_nothing(
    slack: Slack, ops: Harness, durable_redis: DurableRedis
) -> None:
    """With Redis stopped, alice's new request and bob's typed /ops approve are both acked and each
    is told, ephemerally, that nothing was recorded and why; after the restart the only request is
    the one from before, still pending with the same audit, and nothing reached the chain."""
    request_id, _value, _ts = requested(slack)
    audit = audit_of(ops, request_id)
    sent = fallbacks_sent(ops)

    durable_redis.stop()
    asked = slack.command(FALLBACK, ALICE)
    approved = slack.command(f"/ops approve {request_id}", BOB)
    (alice_told,) = ephemeral_for(slack.api, ALICE)
    (bob_told,) = ephemeral_for(slack.api, BOB)

    assert (asked.status, approved.status) == (200, 200)
    for told in (alice_told, bob_told):
        assert told.params["channel"] == CHANNEL
        assert UNAVAILABLE in all_text(told)
        assert_plain(all_text(told))

    durable_redis.start()
    assert [r.id for r in flow_of(ops).service.pending()[1]] == [request_id]
    assert audit_of(ops, request_id) == audit
    assert fallbacks_sent(ops) == sent
    assert len(slack.api.calls("chat.postMessage")) == 1  # the request from before, nothing new


def test_events_while_redis_is_down_are_acked_and_a_mention_is_answered(
    slack: Slack, ops: Harness, durable_redis: DurableRedis, deps: SlackDeps
) -> None:
    """With Redis stopped (no event de-duplication possible), an Events API delivery still gets 200;
    a mention in an incident's thread tells its author, in that thread, that nothing was noted and
    why; after the restart the incident's timeline is unchanged."""
    assert deps.incidents is not None
    store = deps.incidents.store
    incident, _ = store.open_or_join(
        "asset:1", channel=CHANNEL, title="price spike", severity="warning", at_s=1, by="test"
    )
    store.set_thread(incident.id, CHANNEL, PARENT_TS)
    timeline = store.timeline(incident.id)

    durable_redis.stop()
    status = slack.dispatch(
        mention_request("provider confirmed the quote", thread_ts=PARENT_TS, event_id="Ev0100")
    ).status
    (told,) = ephemeral_for(slack.api, ALICE)

    assert status == 200
    assert told.params["channel"] == CHANNEL
    assert told.params["thread_ts"] == PARENT_TS
    assert "Not added to the incident" in all_text(told)
    assert "Redis" in all_text(told)
    assert_plain(all_text(told))

    durable_redis.start()
    assert store.timeline(incident.id) == timeline
