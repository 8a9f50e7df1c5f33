"""App Home and direct messages through Bolt's request path: an approver sees what waits for them and
approves from there, each eligible approver gets a request's card in their direct messages (the same
buttons, the same path), and the requester hears how their request ended, when the policy says so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis as redis_lib

from approvals.models import Status
from chatops.incident_port import IncidentDesk
from chatops.notify.notice import Notice
from chatops.slack.app import build_bolt_app, home_refresher, refresh_requests
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import APPROVE_ACTION_ID
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from tests.chatops.slack.blockkit import texts
from tests.chatops.slack.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    REPLY_TIMEOUT_S,
    Slack,
    all_text,
    button_value,
    buttons,
    flow_of,
    home_opened_request,
    make_deps,
    request_approval,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_requests import (
    SignedRequest,
    signed_block_actions,
    signed_home_block_actions,
)
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, ApiCall, SlackWebApiDouble

DM_BOB = "D" + BOB[1:]  # the double's direct-message channel with bob
DM_ALICE = "D" + ALICE[1:]


@pytest.fixture
def told_deps(ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis) -> SlackDeps:
    """The adapter's parts with both direct-message switches of the policy on."""
    desk = ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    return make_deps(
        ops, slack_api, redis, dm_approvers=True, dm_requester=True, incidents=desk.router
    )


@pytest.fixture
def told(told_deps: SlackDeps, slack_api: SlackWebApiDouble, ops: Harness) -> Slack:
    """The bot built on ``told_deps``."""
    return Slack(build_bolt_app(told_deps), slack_api, ops)


def _posted_to(api: SlackWebApiDouble, channel: str) -> list[ApiCall]:
    return [c for c in api.calls("chat.postMessage") if c.params.get("channel") == channel]


def _home(api: SlackWebApiDouble, user: str, count: int = 1) -> dict[str, Any]:
    def published() -> bool:
        published_to = [c for c in api.calls("views.publish") if c.params.get("user_id") == user]
        return len(published_to) >= count

    wait_until(published, REPLY_TIMEOUT_S)
    view: dict[str, Any] | None = api.home_view(user)
    assert view is not None
    return view


def test_each_eligible_approver_gets_the_card_in_direct_messages(told: Slack) -> None:
    """alice's request: bob (an approver through the group) gets its card with the same buttons;
    alice, and the guest, the external user and the bot named approver, get none."""
    _request_id, posted = request_approval(told)
    wait_until(lambda: _posted_to(told.api, BOB) != [], REPLY_TIMEOUT_S)
    (card,) = _posted_to(told.api, BOB)
    dm_targets = {
        c.params["channel"]
        for c in told.api.calls("chat.postMessage")
        if c.params["channel"] != CHANNEL
    }
    assert dm_targets == {BOB}
    assert buttons(card.params["blocks"]) == buttons(posted.params["blocks"])


def test_a_click_in_a_direct_message_approves_and_the_requester_is_told(told: Slack) -> None:
    """bob approves from his direct messages: the request executes once, the card there loses its
    buttons and says it ran, and alice is told in hers."""
    request_id, _posted = request_approval(told)
    wait_until(lambda: _posted_to(told.api, BOB) != [], REPLY_TIMEOUT_S)
    (card,) = _posted_to(told.api, BOB)
    ts = card.response["ts"]
    response = told.dispatch(_click_in(DM_BOB, button_value(card), BOB, message_ts=ts))
    assert response.status == 200
    service = flow_of(told.ops).service
    wait_until(lambda: service.get(request_id).state == Status.SUCCEEDED, REPLY_TIMEOUT_S)

    def updated() -> list[ApiCall]:
        return [
            c
            for c in told.api.calls("chat.update")
            if c.params.get("channel") == DM_BOB and c.params.get("ts") == ts
        ]

    wait_until(lambda: updated() != [], REPLY_TIMEOUT_S)
    assert buttons(updated()[-1].params["blocks"]) == {}
    assert "Executed" in all_text(updated()[-1])
    wait_until(lambda: _posted_to(told.api, ALICE) != [], REPLY_TIMEOUT_S)
    (news,) = _posted_to(told.api, ALICE)
    assert news.params["text"] == f"Your request {request_id} is succeeded."
    assert "Executed" in all_text(news)


def test_the_requester_hears_once_when_the_request_expires(
    told: Slack, told_deps: SlackDeps
) -> None:
    """The sweeper expires alice's request: she is told once, however many times it is refreshed."""
    request_id, _posted = request_approval(told)
    service = flow_of(told.ops).service
    request = service.get(request_id)
    assert service.store.expire(request_id, request.expires_ms + 1).status == "ok"
    deps = told_deps
    refresh_requests(deps, [request_id])
    refresh_requests(deps, [request_id])
    wait_until(lambda: _posted_to(told.api, ALICE) != [], REPLY_TIMEOUT_S)
    deps.courier.drain(5)
    (news,) = _posted_to(told.api, ALICE)
    assert "expired" in news.params["text"]


def test_no_direct_message_unless_the_policy_says_so(slack: Slack, deps: SlackDeps) -> None:
    """With the switches off (the default), a request and its approval send no direct message."""
    request_id, posted = request_approval(slack)
    slack.click(APPROVE_ACTION_ID, button_value(posted), BOB, message_ts=posted.response["ts"])
    service = flow_of(slack.ops).service
    wait_until(lambda: service.get(request_id).state == Status.SUCCEEDED, REPLY_TIMEOUT_S)
    deps.courier.drain(5)
    assert {c.params["channel"] for c in slack.api.calls("chat.postMessage")} == {CHANNEL}


def test_app_home_shows_an_approver_what_waits_and_approves_from_there(told: Slack) -> None:
    """bob opens chatops's Home: alice's request waits for him there with Approve and Deny (the
    card's own value); approving from Home executes it and his tab no longer lists it."""
    request_id, posted = request_approval(told)
    assert told.dispatch(home_opened_request(BOB, event_id="Ev0HOME0001")).status == 200
    view = _home(told.api, BOB)
    shown = "\n".join(texts(view["blocks"]))
    assert "*Waiting for your approval* (1)" in shown
    assert f"*Request {request_id}*" in shown
    assert buttons(view["blocks"]) == buttons(posted.params["blocks"])

    value = buttons(view["blocks"])[APPROVE_ACTION_ID]
    clicked = told.dispatch(signed_home_block_actions(APPROVE_ACTION_ID, value, user_id=BOB))
    assert clicked.status == 200
    service = flow_of(told.ops).service
    wait_until(lambda: service.get(request_id).state == Status.SUCCEEDED, REPLY_TIMEOUT_S)

    def waiting_none() -> bool:
        home = json.dumps(told.api.home_view(BOB))
        return "*Waiting for your approval* (0)" in home

    wait_until(waiting_none, REPLY_TIMEOUT_S)


def test_app_home_shows_everyone_their_requests_and_the_open_incidents(told: Slack) -> None:
    """alice's Home lists her request and where it stands, and the open incident; she is no
    approver, so nothing waits for her there."""
    request_id, _posted = request_approval(told)
    told.command('/incident open asset:1 warning "price spike"', ALICE)
    wait_until(lambda: _desk_open(told), REPLY_TIMEOUT_S)
    told.dispatch(home_opened_request(ALICE, event_id="Ev0HOME0002"))
    shown = "\n".join(texts(_home(told.api, ALICE)["blocks"]))
    assert "Waiting for your approval" not in shown
    assert f"`{request_id}`" in shown
    assert "Waiting for approval." in shown
    assert "price spike" in shown
    assert "(asset:1)" in shown


def _desk_open(slack: Slack) -> bool:
    desk = slack.ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    return desk.router.store.open_for("asset:1") is not None


def _click_in(channel: str, value: str, user: str, *, message_ts: str) -> SignedRequest:
    return signed_block_actions(
        APPROVE_ACTION_ID, value, user_id=user, channel_id=channel, message_ts=message_ts
    )


def test_an_incident_posted_in_the_chat_publishes_every_open_home_again(
    told: Slack, told_deps: SlackDeps
) -> None:
    """Once the outbox posts an incident's message, bob's open Home tab is published again."""
    assert told.dispatch(home_opened_request(BOB, event_id="Ev0HOME0003")).status == 200
    _home(told.api, BOB)
    poster = OutboxPoster(
        outbox_web_client(DEFAULT_BOT_TOKEN, told.api.url, timeout_s=5),
        on_incident=home_refresher(told_deps),
    )
    incident = Notice(
        id="incident:7:opened",
        kind="incident",
        subject="asset:1",
        severity="warning",
        title="Incident #7 opened: price spike",
        text="",
        at_s=1_764_497_700,
    )
    poster.post(CHANNEL, incident, None)
    _home(told.api, BOB, count=2)
