"""Requests expire visibly: once the sweeper expires one, its Slack message loses its buttons."""

from __future__ import annotations

from approvals.models import Status
from chatops.slack.app import refresh_requests
from chatops.slack.deps import SlackDeps
from tests.chatops.slack.conftest import (
    ALICE,
    Slack,
    all_text,
    buttons,
    flow_of,
    request_approval,
)
from tests.fakes.bot import Harness


def test_an_expired_request_message_is_updated_without_buttons(
    slack: Slack, ops: Harness, deps: SlackDeps
) -> None:
    """The sweeper's expiry is shown in place (same ts): state expired, no Approve/Deny left."""
    request_id, posted = request_approval(slack)
    flow = flow_of(ops)
    request = flow.service.get(request_id)
    assert flow.service.store.expire(request_id, request.expires_ms + 1).status == "ok"
    assert flow.service.get(request_id).state == Status.EXPIRED
    refresh_requests(deps, [request_id])
    (update,) = slack.api.wait_for("chat.update", timeout_s=5)
    assert update.params["ts"] == posted.response["ts"]
    assert buttons(update.params["blocks"]) == {}
    assert "xpired" in all_text(update)


def test_refreshing_a_request_without_a_message_posts_nothing(
    slack: Slack, ops: Harness, deps: SlackDeps
) -> None:
    """A request asked for outside Slack (console) has no message: refreshing it sends nothing."""
    reply = ops.run("/feed fallback 1 on 3 console spike", user=ALICE)
    assert reply.request_id is not None
    refresh_requests(deps, [reply.request_id])
    assert slack.api.calls("chat.update") == []
    assert slack.api.calls("chat.postMessage") == []
