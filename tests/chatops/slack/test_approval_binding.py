"""Every approval is bound to what the approver saw, through Bolt's real request path: a click on a
message from before Redis lost its data, a forged digest, a bare number, a stale deny form all act
on nothing; the first click on a process that just started executes once; an identical request
and one whose simulation aborts are refused when asked for."""

from __future__ import annotations

import json
from typing import Any

import httpx
import redis as redis_lib

from approvals.models import Status
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from chatops.wiring import build_runner
from tests.chatops.slack.conftest import (
    ALICE,
    BOB,
    FALLBACK,
    REPLY_TIMEOUT_S,
    Slack,
    all_text,
    button_value,
    ephemeral_for,
    fallback_active,
    flow_of,
    make_deps,
    request_approval,
    slack_policy,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_requests import signed_view_submission
from tests.fakes.slack_web_api import ApiCall, SlackWebApiDouble

STOP = "/refund stop mass DoS on sales"


def _purchases_enabled(ops: Harness) -> bool:
    return bool(ops.view("feature_switch::is_enabled", "1", True)[0])


def _deny_form(slack: Slack, value: str, user: str, reason: str) -> Any:
    values = {
        DENY_REASON_BLOCK_ID: {DENY_REASON_ACTION_ID: {"type": "plain_text_input", "value": reason}}
    }
    return slack.dispatch(
        signed_view_submission(DENY_MODAL_CALLBACK_ID, values, private_metadata=value, user_id=user)
    )


def _posted_requests(api: SlackWebApiDouble) -> list[ApiCall]:
    return [c for c in api.calls("chat.postMessage") if "actions" in json.dumps(c.params)]


def test_a_message_from_before_redis_lost_its_data_approves_nothing(
    slack: Slack, ops: Harness, redis: redis_lib.Redis
) -> None:
    """alice's fallback request is on screen; Redis loses everything; alice asks for the emergency
    stop, which gets the same number. bob's click on the old message, his typed approve of the old
    id and his old deny form all do nothing: each tells him the message is stale and shows the
    request that has the number now (the form's answer in his direct messages), and the emergency
    stop is neither run nor denied."""
    old_id, old_message = request_approval(slack)
    old_value = button_value(old_message)
    redis.flushall()
    assert slack.command(STOP, ALICE).status == 200
    wait_until(lambda: len(_posted_requests(slack.api)) == 2, REPLY_TIMEOUT_S)
    new_value = button_value(_posted_requests(slack.api)[1])
    new_id = new_value.split(":")[0]
    assert new_id.split("-")[0] == old_id.split("-")[0]  # the same number...
    assert new_id != old_id  # ...but never the same id
    sent_before = ops.tx_count

    assert slack.click(APPROVE_ACTION_ID, old_value, BOB, message_ts="1.1").status == 200
    (clicked,) = ephemeral_for(slack.api, BOB)
    assert slack.command(f"/ops approve {old_id}", BOB).status == 200
    assert _deny_form(slack, old_value, BOB, "wrong request").status == 200
    # The form names no channel and the old request's message is gone with Redis: the answer
    # goes to bob's direct messages with the bot.
    (in_dm,) = slack.api.wait_for("chat.postMessage", count=3, timeout_s=REPLY_TIMEOUT_S)[2:]
    told = [*ephemeral_for(slack.api, BOB, count=2), in_dm]
    assert in_dm.params["channel"] == BOB

    for call in told:
        text = all_text(call)
        assert "this message is stale" in text, text
        assert new_id in text  # the request that has the number now, to act on it knowingly
        assert "/refund stop" in text
    assert "Nothing was approved" in all_text(told[0])
    assert "Nothing was denied" in all_text(told[2])
    assert clicked == told[0]
    assert ops.tx_count == sent_before
    assert _purchases_enabled(ops)
    assert not fallback_active(ops)
    assert flow_of(ops).service.get(new_id).state == Status.PENDING


def test_a_click_whose_digest_is_not_the_requests_is_refused(slack: Slack, ops: Harness) -> None:
    """A button value with the right id and another digest (forged, or from a message showing other
    calls) approves nothing; the request stays pending and nothing is sent."""
    request_id, posted = request_approval(slack)
    forged = f"{request_id}:{'0' * 64}"
    assert button_value(posted) != forged
    sent_before = ops.tx_count

    assert slack.click(APPROVE_ACTION_ID, forged, BOB, message_ts="1.1").status == 200
    (told,) = ephemeral_for(slack.api, BOB)

    assert "does not match what you saw" in all_text(told)
    assert ops.tx_count == sent_before
    assert flow_of(ops).service.get(request_id).state == Status.PENDING


def test_a_bare_number_approves_nothing_and_shows_the_whole_id(slack: Slack, ops: Harness) -> None:
    """``/ops approve 1`` names no request someone saw: refused, with the request's whole id and
    its calls, so the approver types what they have now seen; then it executes once."""
    request_id, _posted = request_approval(slack)
    number = request_id.split("-")[0]

    assert slack.command(f"/ops approve {number}", BOB).status == 200
    (told,) = ephemeral_for(slack.api, BOB)
    assert "give the whole id shown on the request" in all_text(told)
    assert f"/ops approve {request_id}" in all_text(told)
    assert not fallback_active(ops)

    assert slack.command(f"/ops approve {request_id}", BOB).status == 200
    wait_until(
        lambda: flow_of(ops).service.get(request_id).state == Status.SUCCEEDED, REPLY_TIMEOUT_S
    )
    assert fallback_active(ops)


def test_the_first_click_on_a_process_that_just_started_executes_once(
    slack: Slack, ops: Harness, slack_api: SlackWebApiDouble, redis_server: str
) -> None:
    """A replica built from scratch (its own Redis client, runner and flow), whose first request
    ever is an Approve click, executes the request once and says so in the request's message."""
    request_id, posted = request_approval(slack)
    client = redis_lib.Redis.from_url(redis_server)
    try:
        fresh = build_runner(ops.gateway, slack_policy(), client)
        deps = make_deps(Harness(ops.server, ops.gateway, fresh), slack_api, client)
        replica = Slack(build_bolt_app(deps), slack_api, ops)
        sent_before = ops.tx_count

        assert (
            replica.click(APPROVE_ACTION_ID, button_value(posted), BOB, message_ts="1.1").status
            == 200
        )
        slack_api.wait_for("chat.update", timeout_s=REPLY_TIMEOUT_S)
    finally:
        client.close()

    assert ops.tx_count == sent_before + 1
    assert fallback_active(ops)
    done = flow_of(ops).service.get(request_id)
    assert (done.state, done.approvers) == (Status.SUCCEEDED, (BOB,))
    assert "Internal error" not in json.dumps([c.params for c in slack_api.calls()])


def test_an_identical_request_is_refused_with_a_pointer_to_the_open_one(
    slack: Slack, ops: Harness, deps: SlackDeps
) -> None:
    """The same step with the same calls, asked again while the first is open, creates nothing:
    the asker is told which request already asks for it."""
    request_id, _posted = request_approval(slack)

    assert slack.command(FALLBACK + " again", ALICE).status == 200
    (told,) = ephemeral_for(slack.api, ALICE)

    assert f"request {request_id} asks for exactly these calls and is still open" in all_text(told)
    assert flow_of(ops).service.pending()[0] == 1
    assert len(_posted_requests(slack.api)) == 1


def test_a_request_whose_simulation_aborts_is_refused_when_asked(
    slack: Slack, ops: Harness
) -> None:
    """If the chain would abort the call (it changed since the preflight's reads), no request is
    made: the asker reads the abort by name and meaning, never a number alone."""
    fault = {
        "path_prefix": "/rpc/v3/transactions/simulate",
        "vm_status": "Move abort in 0xbc95::price_feed: 0x1902",
    }
    httpx.post(f"{ops.server.url}/devnet/faults", json=fault, timeout=5).raise_for_status()

    assert slack.command(FALLBACK, ALICE).status == 200
    (told,) = ephemeral_for(slack.api, ALICE)

    text = all_text(told)
    assert "would abort on chain" in text
    assert "Nothing was requested or sent" in text
    assert "E_PRICE_FEED_NOT_FOUND" in text  # by name and meaning
    assert flow_of(ops).service.pending() == (0, [])
    assert _posted_requests(slack.api) == []
