"""Roles through Bolt's request path: a viewer changes nothing, and privileged requests are taken only in
the policy's operations channels (the runner's rules, the same as in the console)."""

from __future__ import annotations

import redis as redis_lib

from chatops.incident_port import IncidentDesk
from chatops.slack.app import build_bolt_app
from tests.chatops.slack.conftest import (
    ALICE,
    CHANNEL,
    DAVE,
    FALLBACK,
    REPLY_TIMEOUT_S,
    Slack,
    ack_text,
    all_text,
    ephemeral_for,
    flow_of,
    make_deps,
    slack_policy,
)
from tests.fakes.bot import Harness, harness
from tests.fakes.slack_web_api import SlackWebApiDouble

OTHER_CHANNEL = "C0RANDOM01"


def _desk(ops: Harness) -> IncidentDesk:
    desk = ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    return desk


def test_a_viewer_cannot_open_or_resolve_an_incident_or_reconcile_a_request(
    slack: Slack, ops: Harness
) -> None:
    """dave (viewer) types /incident open, /incident resolve and /ops reconcile: each is refused to
    him alone for want of its role (once Slack has said who he is, in the ack), and the incidents
    stay as they were."""
    store = _desk(ops).router.store
    slack.command('/incident open asset:1 warning "price spike"', DAVE)
    (refused_open,) = ephemeral_for(slack.api, DAVE)
    assert store.open_for("asset:1") is None

    slack.command('/incident open asset:1 warning "price spike"', ALICE)
    (opened,) = slack.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
    incident = store.open_for("asset:1")
    assert incident is not None
    # Slack has now said who dave is: these are refused in their acks, before they are queued.
    refused_resolve = ack_text(slack.command(f"/incident resolve {incident.id} fixed", DAVE))
    refused_reconcile = ack_text(slack.command("/ops reconcile 1", DAVE))

    assert "/incident open needs the operator role" in all_text(refused_open)
    assert f"Incident #{incident.id} opened" in all_text(opened)
    assert "/incident resolve needs the operator role" in refused_resolve
    assert "/ops reconcile needs the approver role" in refused_reconcile
    assert len(ephemeral_for(slack.api, DAVE)) == 1
    after = store.get(incident.id)
    assert after is not None
    assert after.state == "open"
    assert len(slack.api.calls("chat.postMessage")) == 1


def test_privileged_requests_are_taken_only_in_the_operations_channels(
    slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """With ``privileged_channels`` set, alice's request from another channel is refused there to
    her alone and recorded nowhere; the same request in the operations channel is posted for
    approval, and a step needing no second person runs anywhere."""
    policy = slack_policy().model_copy(update={"privileged_channels": (CHANNEL,)})
    with harness(policy, redis_client=redis) as ops:
        slack = Slack(build_bolt_app(make_deps(ops, slack_api, redis)), slack_api, ops)
        slack.command(FALLBACK, ALICE, channel_id=OTHER_CHANNEL)
        (refused,) = ephemeral_for(slack_api, ALICE)
        assert flow_of(ops).service.pending() == (0, [])

        slack.command(FALLBACK, ALICE)
        (posted,) = slack_api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
        slack.command("/feed show 1", ALICE, channel_id=OTHER_CHANNEL)
        shown = slack_api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)[1]

    assert refused.params["channel"] == OTHER_CHANNEL
    assert "can only be requested in the operations channels" in all_text(refused)
    assert posted.params["channel"] == CHANNEL
    assert "Request 1" in all_text(posted)
    assert shown.params["channel"] == OTHER_CHANNEL
    assert "Asset 1" in all_text(shown)
