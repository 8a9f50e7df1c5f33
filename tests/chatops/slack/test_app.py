"""The Slack app end to end: signed requests through Bolt (``app.dispatch`` and the real WSGI server),
Socket Mode against its double, ack-first under a slow chain, replies, the approval round trip with
buttons and the deny modal, rate limits, guards, secrets in logs and ``chatops serve`` itself.

Only Slack's edge is a double (tests/fakes); the chain is the seeded devnet over HTTP, Redis is real.
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis as redis_lib
from slack_bolt import BoltRequest

from approvals.models import AuditEntry
from chatops.slack import keys
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from chatops.slack.metrics import Metrics
from chatops.slack.server import (
    BackgroundChecks,
    HealthServer,
    make_wsgi,
    start_socket_mode,
)
from tests.chatops.slack.blockkit import texts
from tests.chatops.slack.conftest import (
    ALICE,
    APPROVERS,
    BOB,
    BOT_USER,
    CAROL,
    CHANNEL,
    DAVE,
    EXTERNAL,
    FALLBACK,
    GUEST,
    OTHER_TEAM,
    REPLY_TIMEOUT_S,
    Slack,
    ack_text,
    all_text,
    button_value,
    buttons,
    commands_counted,
    ephemeral_for,
    fallback_active,
    flow_of,
    make_deps,
    request_approval,
    serve_env,
    serve_variables,
    settle,
    start_serve,
)
from tests.conftest import free_port, wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_requests import (
    APP_ID,
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    block_actions_payload,
    signed_block_actions,
    signed_request,
    signed_slash_command,
    signed_view_submission,
    slash_command_payload,
)
from tests.fakes.slack_web_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    SlackWebApiDouble,
)
from tests.fakes.socket_mode import SocketModeServerDouble

# -- helpers -------------------------------------------------------------------------------------


def history(ops: Harness, request_id: str) -> list[AuditEntry]:
    """The request's own history, oldest first."""
    service = flow_of(ops).service
    return service.history(service.get(request_id))


# -- Bolt's request path over HTTP ---------------------------------------------------------------


def test_signed_slash_command_is_acked_then_answered_in_channel(
    slack: Slack, deps: SlackDeps
) -> None:
    """A correctly signed /feed show is acked with 200 and its result is posted in the channel."""
    response = slack.command("/feed show 1", ALICE)

    assert response.status == 200
    (posted,) = slack.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
    assert posted.params["channel"] == CHANNEL
    assert "Asset 1" in all_text(posted)
    assert posted.headers["authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"
    assert slack.api.calls("chat.postEphemeral") == []
    # the count is taken once the reply is out, on the worker's thread: wait for it, then check
    # that it is exactly one
    wait_until(lambda: commands_counted(deps.metrics) >= 1, REPLY_TIMEOUT_S)
    assert commands_counted(deps.metrics) == 1


def test_forged_and_stale_requests_are_refused_and_run_nothing(
    slack: Slack, deps: SlackDeps
) -> None:
    """A forged signature and a timestamp older than five minutes both get 401; neither command runs."""
    forged = slack.dispatch(signed_slash_command("/feed", "show 1", user_id=ALICE, forged=True))
    stale = slack.dispatch(signed_slash_command("/feed", "show 1", user_id=ALICE, stale=True))
    unsigned = slack.app.dispatch(
        BoltRequest(body="command=%2Ffeed&text=show+1", headers={"content-type": "text/plain"})
    )

    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    settle(slack, deps, expected_commands=1)
    assert commands_counted(deps.metrics) == 1
    assert len(slack.api.calls("chat.postMessage")) == 1


def test_retried_slash_command_is_acked_and_runs_once(slack: Slack, deps: SlackDeps) -> None:
    """A delivery marked x-slack-retry-num is acked with 200 and does not run the command again."""
    first = slack.dispatch(
        signed_slash_command("/feed", "fallback 1 on 3 spike", user_id=ALICE, channel_id=CHANNEL)
    )
    slack.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
    retry = slack.dispatch(
        signed_slash_command(
            "/feed", "fallback 1 on 3 spike", user_id=ALICE, channel_id=CHANNEL, retry_num=1
        )
    )

    assert (first.status, retry.status) == (200, 200)
    settle(slack, deps, expected_commands=2)
    assert flow_of(slack.ops).service.pending()[0] == 1
    assert len(slack.api.calls("chat.postMessage")) == 2  # the request and the settling /feed show


def test_duplicate_event_ids_are_handled_once(
    slack: Slack, deps: SlackDeps, redis: redis_lib.Redis
) -> None:
    """An Events API delivery seen before (same event_id) is acked and ignored, while a retry of an
    event never seen runs once: the group cache is dropped exactly once per event."""

    def group_change(event_id: str, retry_num: int | None = None) -> int:
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": {"type": "subteam_members_changed", "subteam_id": APPROVERS},
            }
        )
        signed = signed_request(body, content_type="application/json", retry_num=retry_num)
        return slack.dispatch(signed).status

    def group_lookups() -> int:
        return len(slack.api.calls("usergroups.users.list"))

    settle(slack, deps, expected_commands=1)
    assert group_lookups() == 1
    assert group_change("Ev0001") == 200
    settle(slack, deps, expected_commands=2)
    assert group_lookups() == 2  # the event dropped the cache

    assert group_change("Ev0001") == 200  # the same event delivered again
    assert group_change("Ev0001", retry_num=1) == 200  # and retried by Slack
    settle(slack, deps, expected_commands=3)
    assert group_lookups() == 2
    assert redis.exists(keys.slack_event_key("event:Ev0001")) == 1

    assert group_change("Ev0002", retry_num=2) == 200  # a retry whose first delivery was lost
    settle(slack, deps, expected_commands=4)
    assert group_lookups() == 3


def test_wsgi_server_serves_slack_events_health_readiness_and_metrics(
    http_server: HealthServer, slack_api: SlackWebApiDouble
) -> None:
    """Over real HTTP: a signed POST /slack/events is acked and answered, a forged one gets 401,
    /healthz is 200, /readyz lists its checks, /metrics counts the command."""
    base = f"http://127.0.0.1:{http_server.port}"
    good = signed_slash_command("/feed", "show 1", user_id=ALICE, channel_id=CHANNEL)
    forged = signed_slash_command("/feed", "show 1", user_id=ALICE, forged=True)
    with httpx.Client(base_url=base, timeout=5) as http:
        acked = http.post("/slack/events", content=good.body, headers=good.headers)
        refused = http.post("/slack/events", content=forged.body, headers=forged.headers)
        slack_api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
        health = http.get("/healthz")
        ready = http.get("/readyz")

        def counted() -> bool:
            return (
                'chatops_commands_total{command="/feed",outcome="ok"} 1.0'
                in http.get("/metrics").text
            )

        wait_until(counted, timeout_s=5)
        missing = http.get("/nowhere")

    assert acked.status_code == 200
    assert refused.status_code == 401
    assert len(slack_api.calls("chat.postMessage")) == 1
    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"redis": True, "chain": True}}
    assert missing.status_code == 404


def test_readyz_answers_503_naming_the_failed_check() -> None:
    """When a dependency is down /readyz answers 503 and says which check failed."""
    server = HealthServer(
        make_wsgi(None, lambda: {"redis": True, "chain": False}, Metrics()), "127.0.0.1", 0
    )
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as http:
            ready = http.get("/readyz")
            events = http.post("/slack/events", content=b"{}")
    finally:
        server.stop()
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "checks": {"redis": True, "chain": False}}
    assert events.status_code == 404  # Socket Mode serves no /slack/events


def test_readyz_answers_at_once_while_a_check_hangs() -> None:
    """A chain check stuck in a slow call never holds /readyz: every answer comes within a second,
    from the last results, and the stuck check turns not-ready once its answer is stale."""
    release = threading.Event()
    answers = itertools.count()

    def chain() -> bool:
        if next(answers) > 0:  # the first answer is quick; then the chain hangs
            release.wait(30)
        return True

    checks = BackgroundChecks(
        {"chain": chain, "redis": lambda: True}, interval_s=0.05, stale_after_s=0.5
    )
    checks.start()
    server = HealthServer(make_wsgi(None, checks.results, Metrics()), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=1) as http:
            wait_until(lambda: http.get("/readyz").status_code == 200, timeout_s=5)

            def stale() -> bool:
                checks: dict[str, bool] = http.get("/readyz").json()["checks"]
                return checks == {"chain": False, "redis": True}

            wait_until(stale, timeout_s=5)
            assert http.get("/readyz").status_code == 503
        assert not release.is_set()  # the check is still stuck: nobody waited for it
    finally:
        release.set()
        checks.stop()
        server.stop()


def test_health_server_stops_cleanly_while_serving() -> None:
    """Stopping the server from another thread, right after a request, leaves no error in its threads
    (pytest turns an unhandled thread exception into a failure) and no thread behind."""
    for _ in range(20):
        server = HealthServer(make_wsgi(None, lambda: {"redis": True}, Metrics()), "127.0.0.1", 0)
        server.start()
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5).status_code == 200
        server.stop()
        assert not server.is_serving


# -- Socket Mode ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_socket_mode_handles_envelopes_across_a_reconnect(
    slack_api: SlackWebApiDouble, ops: Harness, redis: redis_lib.Redis
) -> None:
    """Through SocketModeHandler, with no signing secret (as serve builds it for Socket Mode): hello,
    a slash command and a button click acked, Slack's disconnect followed by a reconnect on a new URL,
    and the next envelope still handled."""
    app = build_bolt_app(make_deps(ops, slack_api, redis, signing_secret=None))
    with SocketModeServerDouble() as sm:
        slack_api.socket_mode_url = sm.issue_url
        handler = start_socket_mode(app, DEFAULT_APP_TOKEN, ping_interval_s=0.5)
        try:
            (first,) = sm.wait_for_connections(1)
            opened = slack_api.calls("apps.connections.open")
            assert opened[0].headers["authorization"] == f"Bearer {DEFAULT_APP_TOKEN}"
            wait_until(handler.client.is_connected, timeout_s=5)

            command = sm.request(
                "slash_commands",
                slash_command_payload("/feed", "fallback 1 on 3 spike", user_id=ALICE),
            )
            (posted,) = slack_api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
            request_id = buttons(posted.params["blocks"])[APPROVE_ACTION_ID]
            click = sm.request(
                "interactive", block_actions_payload(APPROVE_ACTION_ID, request_id, user_id=BOB)
            )
            slack_api.wait_for("chat.update", timeout_s=REPLY_TIMEOUT_S)

            old = sm.send_disconnect("refresh_requested")
            sm.wait_for_connections(2, timeout_s=10)
            wait_until(lambda: not old.is_open, timeout_s=10)
            after = sm.request(
                "slash_commands", slash_command_payload("/feed", "show 1", user_id=ALICE)
            )
            slack_api.wait_for("chat.postMessage", count=3, timeout_s=REPLY_TIMEOUT_S)
        finally:
            handler.client.auto_reconnect_enabled = False
            sm.drop_all()
            handler.close()

    assert first.index == 0
    assert command.connection_index == 0
    assert click.connection_index == 0
    assert after.connection_index >= 1
    assert max(command.elapsed_s, click.elapsed_s, after.elapsed_s) < 3
    assert len(slack_api.calls("apps.connections.open")) >= 2
    assert fallback_active(ops)
    thread = [c for c in slack_api.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert [c.params["thread_ts"] for c in thread] == [posted.response["ts"]]


# -- ack first -----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_acks_never_wait_for_a_slow_chain(slack: Slack, ops: Harness) -> None:
    """With every chain read taking five seconds, each command is still acked in under a second and
    its reply arrives afterwards."""
    # Four commands by two people: one person may have three queued or running.
    lines = [("/feed show 1", ALICE), ("/feed show 2", DAVE), ("/lottery list", ALICE)]
    lines.append((FALLBACK, ALICE))
    fault = httpx.post(
        f"{ops.server.url}/devnet/faults",
        json={"delay_ms": 5000, "count": len(lines), "path_prefix": "/rpc/"},
        timeout=5,
    )
    fault.raise_for_status()

    elapsed: list[float] = []
    for line, user in lines:
        started = time.monotonic()
        response = slack.command(line, user)
        elapsed.append(time.monotonic() - started)
        assert response.status == 200
    posted_while_slow = len(slack.api.calls("chat.postMessage")) + len(
        slack.api.calls("chat.postEphemeral")
    )

    def answered() -> bool:
        return len(slack.api.calls("chat.postMessage")) + len(
            slack.api.calls("chat.postEphemeral")
        ) >= len(lines)

    wait_until(answered, timeout_s=40)
    assert max(elapsed) < 1.0, elapsed
    assert posted_while_slow == 0
    assert all(c.status == 200 for c in slack.api.calls("chat.postMessage"))


# -- replies -------------------------------------------------------------------------------------


def test_errors_and_help_are_ephemeral_results_in_channel(slack: Slack) -> None:
    """A usage error and a refusal are answered in the ack (the asker alone sees it), /ops help
    goes to the asker alone, and a result goes to the channel."""
    unknown = slack.command("/feed nonsense", ALICE)
    slack.command("/ops help", ALICE)
    help_parts = ephemeral_for(slack.api, ALICE, count=2)  # the catalog takes two messages
    first = slack.command("/feed show 1", CAROL)  # no role at all; Slack not yet asked who she is
    (refused,) = ephemeral_for(slack.api, CAROL)
    again = slack.command("/feed show 1", CAROL)  # now known: refused before it is queued
    slack.command("/feed show 1", ALICE)
    (result,) = slack.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)

    assert "Unknown subcommand" in ack_text(unknown)
    assert ack_text(first) == ""
    assert "/feed fallback" in "\n".join(all_text(c) for c in help_parts)
    assert all(c.params["channel"] == CHANNEL for c in help_parts)
    assert "viewer role" in all_text(refused)
    assert "viewer role" in ack_text(again)
    assert "Asset 1" in all_text(result)
    assert len(slack.api.calls("chat.postEphemeral")) == 3
    assert len(slack.api.calls("chat.postMessage")) == 1


def test_untrusted_text_is_escaped_in_posted_blocks(slack: Slack) -> None:
    """Broadcasts and mentions typed into a command never come back live: not in an ephemeral error
    and not in the in-channel approval message quoting the reason."""
    # Slack's escaped form of what was typed: a real @channel, a mention, and the literal text <@U123>.
    typed = "<!channel> <@U0CAROL001|carol> &lt;@U123&gt; &lt;!here&gt;"
    error = ack_text(slack.command(f"/feed {typed}", ALICE))
    slack.command(f"/feed fallback 1 on 3 spike {typed}", ALICE)
    (request,) = slack.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)

    for shown in (error, all_text(request)):
        for live in ("<!channel>", "<!here>", "<@U123>", "<@U0CAROL001"):
            assert live not in shown, (live, shown)
        assert "&lt;!channel&gt;" in shown  # the error quotes only the unknown word
    reason = all_text(request)
    assert "&lt;@U123&gt;" in reason
    assert "&lt;!here&gt;" in reason


# -- the approval round trip ---------------------------------------------------------------------


def test_approval_round_trip_executes_exactly_once(slack: Slack, ops: Harness) -> None:
    """alice's privileged request gets Approve/Deny buttons; alice, a guest, an external user, a bot
    and a non-approver are refused and told why; bob's approval executes it once, updates the message
    in place and posts the result in its thread; later clicks and duplicate deliveries change nothing."""
    events_before = len(ops.events("PriceFeedFallbackEvent"))
    request_id, posted = request_approval(slack)
    ts = posted.response["ts"]
    value = button_value(posted)
    assert value == f"{request_id}:{flow_of(ops).service.get(request_id).digest}"
    assert posted.params["channel"] == CHANNEL
    assert flow_of(ops).service.get(request_id).state == "pending"

    refusals: dict[str, str] = {}
    for user in (ALICE, GUEST, EXTERNAL, BOT_USER, CAROL):
        assert slack.click(APPROVE_ACTION_ID, value, user, message_ts=ts).status == 200
        (told,) = ephemeral_for(slack.api, user)
        refusals[user] = all_text(told)
    assert all(text.startswith("Not approved") for text in refusals.values()), refusals
    assert "guests cannot act" in refusals[GUEST]
    assert "external (Slack Connect) users cannot act" in refusals[EXTERNAL]
    assert "bots cannot act" in refusals[BOT_USER]
    # Neither carol (no role at all) nor alice (an operator) holds the approver role: the step
    # itself is refused to them, before any approval check.
    assert "/ops approve needs the approver role" in refusals[CAROL]
    assert "/ops approve needs the approver role" in refusals[ALICE]
    assert not fallback_active(ops)
    assert slack.api.calls("chat.update") == []

    approve = signed_block_actions(
        APPROVE_ACTION_ID, value, user_id=BOB, channel_id=CHANNEL, message_ts=ts
    )
    assert slack.dispatch(approve).status == 200
    (update,) = slack.api.wait_for("chat.update", timeout_s=REPLY_TIMEOUT_S)
    note = slack.api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)[1]

    assert (update.params["channel"], update.params["ts"]) == (CHANNEL, ts)
    shown = slack.api.message(CHANNEL, ts)
    assert shown is not None
    assert APPROVE_ACTION_ID not in json.dumps(shown["blocks"])
    assert f"Executed (approved by <@{BOB}>)" in "\n".join(texts(shown["blocks"]))
    assert "succeeded" in shown["text"]
    assert note.params["thread_ts"] == ts
    assert "executed" in all_text(note)
    events = [(e.event, e.state) for e in history(ops, request_id)]
    assert events[0] == ("created", "pending")
    assert ("approved", "executing") in events
    assert events[-1] == ("succeeded", "succeeded")
    assert fallback_active(ops)
    assert len(ops.events("PriceFeedFallbackEvent")) == events_before + 1

    # The same delivery again, then a fresh click by bob: nothing more happens on chain or in Slack.
    assert slack.dispatch(approve).status == 200
    assert slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=ts).status == 200
    (again,) = ephemeral_for(slack.api, BOB)
    assert again.params["channel"] == CHANNEL
    assert "Not approved" in all_text(again)
    assert len(slack.api.calls("chat.update")) == 1
    assert len(slack.api.calls("chat.postMessage")) == 2
    assert len(ops.events("PriceFeedFallbackEvent")) == events_before + 1
    assert [(e.event, e.state) for e in history(ops, request_id)] == events


def test_deny_through_the_modal_updates_the_message(slack: Slack, ops: Harness) -> None:
    """Deny opens the reason modal; a too-short reason is refused in the modal; a real one denies the
    request and updates its message in place; nothing is sent to the chain."""
    request_id, posted = request_approval(slack)
    ts = posted.response["ts"]
    value = button_value(posted)
    txs_before = ops.tx_count

    assert slack.click(DENY_ACTION_ID, value, BOB, message_ts=ts).status == 200
    (opened,) = slack.api.wait_for("views.open", timeout_s=REPLY_TIMEOUT_S)
    view = opened.params["view"]
    assert view["callback_id"] == DENY_MODAL_CALLBACK_ID
    assert view["private_metadata"] == value
    assert opened.params["trigger_id"]

    def submit(reason: str) -> Any:
        values = {
            DENY_REASON_BLOCK_ID: {
                DENY_REASON_ACTION_ID: {"type": "plain_text_input", "value": reason}
            }
        }
        return slack.dispatch(
            signed_view_submission(
                DENY_MODAL_CALLBACK_ID, values, private_metadata=value, user_id=BOB
            )
        )

    short = submit("no")
    assert short.status == 200
    assert json.loads(short.body)["response_action"] == "errors"
    assert flow_of(ops).service.get(request_id).state == "pending"

    assert submit("provider confirmed the price").status == 200
    (update,) = slack.api.wait_for("chat.update", timeout_s=REPLY_TIMEOUT_S)
    assert (update.params["channel"], update.params["ts"]) == (CHANNEL, ts)
    shown = slack.api.message(CHANNEL, ts)
    assert shown is not None
    assert APPROVE_ACTION_ID not in json.dumps(shown["blocks"])
    assert f"Denied by <@{BOB}>" in "\n".join(texts(shown["blocks"]))
    request = flow_of(ops).service.get(request_id)
    assert request.state == "denied"
    assert request.denied_by == BOB
    assert [e.event for e in history(ops, request_id)][-1] == "denied"
    assert ops.tx_count == txs_before
    assert not fallback_active(ops)


def test_deny_by_an_ineligible_user_is_refused_and_told(slack: Slack, ops: Harness) -> None:
    """A guest who submits the deny modal is told why in the request's channel; the request stays pending."""
    request_id, posted = request_approval(slack)
    values = {
        DENY_REASON_BLOCK_ID: {
            DENY_REASON_ACTION_ID: {"type": "plain_text_input", "value": "not today"}
        }
    }
    response = slack.dispatch(
        signed_view_submission(
            DENY_MODAL_CALLBACK_ID, values, private_metadata=button_value(posted), user_id=GUEST
        )
    )

    assert response.status == 200
    (told,) = ephemeral_for(slack.api, GUEST)
    assert told.params["channel"] == CHANNEL
    assert "Not denied" in all_text(told)
    assert "guests cannot act" in all_text(told)
    assert flow_of(ops).service.get(request_id).state == "pending"
    assert slack.api.calls("chat.update") == []


# -- rate limits ---------------------------------------------------------------------------------


def test_rate_limited_post_is_retried_and_arrives_once(slack: Slack) -> None:
    """chat.postMessage answered 429 with Retry-After once: the reply is retried and posted once."""
    slack.api.fail_next("chat.postMessage", status=429, retry_after=0)
    slack.command("/feed show 1", ALICE)

    calls = slack.api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)
    assert [c.status for c in calls] == [429, 200]
    assert len(slack.api.messages(CHANNEL)) == 1


def test_rate_limited_approval_message_is_posted_once_and_recorded(
    slack: Slack, redis: redis_lib.Redis
) -> None:
    """A 429 on the approval message still yields exactly one message, whose ts is kept in Redis."""
    slack.api.fail_next("chat.postMessage", status=429, retry_after=1)
    slack.command(FALLBACK, ALICE)

    calls = slack.api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)
    (message,) = slack.api.messages(CHANNEL)
    request_id = buttons(message["blocks"])[APPROVE_ACTION_ID].split(":")[0]

    def recorded() -> bool:
        ts: Any = redis.hget(keys.slack_message_key(request_id), "ts")
        return bool(ts == str(message["ts"]).encode())

    wait_until(recorded, timeout_s=5)
    assert [c.status for c in calls] == [429, 200]


# -- guards --------------------------------------------------------------------------------------


def test_requests_from_another_workspace_run_nothing(slack: Slack, deps: SlackDeps) -> None:
    """A slash command or a click from another team id is answered with a refusal and runs nothing."""
    command = slack.command(FALLBACK, ALICE, team_id=OTHER_TEAM)
    click = slack.dispatch(
        signed_block_actions(
            APPROVE_ACTION_ID, f"1-abcde:{'0' * 64}", user_id=BOB, team_id=OTHER_TEAM
        )
    )

    assert (command.status, click.status) == (200, 200)
    assert "not allowed" in str(command.body)
    settle(slack, deps, expected_commands=1)
    assert flow_of(slack.ops).service.pending() == (0, [])
    assert slack.api.calls("users.info") == [
        c for c in slack.api.calls("users.info") if c.params["user"] == ALICE
    ]


def test_requests_that_carry_no_workspace_run_nothing(slack: Slack, deps: SlackDeps) -> None:
    """A signed slash command without team_id and a click whose payload names no team are refused
    like requests from another workspace: a missing team is not ours."""
    fields = slash_command_payload("/feed", "fallback 1 on 3 spike", user_id=ALICE)
    del fields["team_id"]
    command = slack.dispatch(signed_request(urlencode(fields)))
    payload = block_actions_payload(APPROVE_ACTION_ID, "1", user_id=BOB)
    payload["team"] = None
    del payload["user"]["team_id"]
    click = slack.dispatch(signed_request(urlencode({"payload": json.dumps(payload)})))

    assert (command.status, click.status) == (200, 200)
    assert "not allowed" in str(command.body)
    assert "not allowed" in str(click.body)
    settle(slack, deps, expected_commands=1)
    assert flow_of(slack.ops).service.pending() == (0, [])
    assert [c.params["user"] for c in slack.api.calls("users.info")] == [ALICE]


def test_requests_for_another_app_run_nothing(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """With the app id configured, a request addressed to another app is acked and ignored."""
    deps = make_deps(ops, slack_api, redis, app_id=APP_ID)
    slack = Slack(build_bolt_app(deps), slack_api, ops)
    other = slack.command(FALLBACK, ALICE, api_app_id="A0OTHER001")

    assert other.status == 200
    settle(slack, deps, expected_commands=1)
    assert flow_of(ops).service.pending() == (0, [])


def test_external_guest_and_bot_users_cannot_use_commands(slack: Slack, ops: Harness) -> None:
    """Slack Connect users, guests and bots are refused before the runner, though the policy names them."""
    for user in (EXTERNAL, GUEST, BOT_USER):
        slack.command(FALLBACK, user)
    told = {
        user: all_text(ephemeral_for(slack.api, user)[0]) for user in (EXTERNAL, GUEST, BOT_USER)
    }

    assert "external (Slack Connect) users cannot act" in told[EXTERNAL]
    assert "guests cannot act" in told[GUEST]
    assert "bots cannot act" in told[BOT_USER]
    assert flow_of(ops).service.pending() == (0, [])
    assert slack.api.calls("chat.postMessage") == []


def test_logs_never_contain_the_bot_token_or_signing_secret(
    ops: Harness,
    slack_api: SlackWebApiDouble,
    redis: redis_lib.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A whole round trip logged at DEBUG (Bolt, slack_sdk and ours) shows neither secret."""
    for name in (None, "slack_sdk", "slack_bolt", "chatops"):
        caplog.set_level(logging.DEBUG, logger=name)
    # Bolt's app logger copies the root level when the app is built, so build it now.
    slack = Slack(build_bolt_app(make_deps(ops, slack_api, redis)), slack_api, ops)
    _request_id, posted = request_approval(slack)
    slack.dispatch(signed_slash_command("/feed", "show 1", user_id=ALICE, forged=True))
    slack.click(APPROVE_ACTION_ID, button_value(posted), BOB, message_ts=posted.response["ts"])
    slack.api.wait_for("chat.update", timeout_s=REPLY_TIMEOUT_S)
    slack.api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)

    logged = "\n".join([caplog.text, *(str(r.__dict__) for r in caplog.records)])
    # The capture really saw the DEBUG traffic, requests with their headers included.
    assert any(
        r.name.startswith("slack_sdk") and "headers" in r.getMessage() for r in caplog.records
    )
    assert any(r.name.startswith("slack_bolt") for r in caplog.records)
    assert DEFAULT_BOT_TOKEN not in logged
    assert DEFAULT_SIGNING_SECRET not in logged


# -- chatops serve -------------------------------------------------------------------------------


def run_serve(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``chatops serve`` in a clean environment with ``variables``, expected to exit on its own."""
    return subprocess.run(
        [sys.executable, "-m", "chatops", "serve"],
        cwd=tmp_path,
        env=serve_env(variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_serve_refuses_to_start_without_its_variables(tmp_path: Path, blank: str | None) -> None:
    """chatops serve with its variables unset, empty or blank exits 2 and names each missing variable
    once (a blank SLACK_APP_TOKEN is no Socket Mode, so HTTP mode needs the signing secret; no
    SUPRA_RPC_URL is no chain, unless a rehearsal is asked for)."""
    names = (
        "SLACK_BOT_TOKEN",
        "REDIS_URL",
        "CHATOPS_POLICY_FILE",
        "SLACK_SIGNING_SECRET",
        "SUPRA_RPC_URL",
    )
    given = {} if blank is None else dict.fromkeys((*names, "SLACK_APP_TOKEN"), blank)
    done = run_serve(tmp_path, given)

    assert done.returncode == 2, done.stderr
    for name in names:
        assert done.stderr.count(name + ":") == 1, done.stderr
    assert "CHATOPS_REHEARSAL=1" in done.stderr.split("SUPRA_RPC_URL:", 1)[1].splitlines()[0]
    assert "Traceback" not in done.stderr


def test_serve_without_a_chain_refuses_unless_a_rehearsal_is_asked(
    tmp_path: Path, redis_server: str, slack_api: SlackWebApiDouble
) -> None:
    """With everything else set but no SUPRA_RPC_URL and no CHATOPS_REHEARSAL, serve exits 2 naming
    SUPRA_RPC_URL alone, before asking Slack anything: it never serves the devnet silently."""
    env = serve_variables(tmp_path, redis_server, slack_api, free_port())
    del env["CHATOPS_REHEARSAL"]
    done = run_serve(tmp_path, env)

    assert done.returncode == 2, done.stderr
    assert "SUPRA_RPC_URL:" in done.stderr
    assert "(1 problem(s))" in done.stderr
    assert slack_api.calls("auth.test") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "var", "why"),
    [
        ({"CHATOPS_SLACK_TEAM_ID": OTHER_TEAM}, "CHATOPS_SLACK_TEAM_ID", TEAM_ID),
        (
            {"CHATOPS_SLACK_ENTERPRISE_ID": "E0OTHER001"},
            "CHATOPS_SLACK_ENTERPRISE_ID",
            "names none",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-revoked-0000"}, "SLACK_BOT_TOKEN", "invalid_auth"),
        ({"SLACK_API_URL": "dead"}, "SLACK_API_URL", "could not be reached"),
    ],
)
def test_serve_refuses_to_start_when_auth_test_disagrees_or_fails(
    tmp_path: Path,
    redis_server: str,
    slack_api: SlackWebApiDouble,
    change: dict[str, str],
    var: str,
    why: str,
) -> None:
    """A configured team or organisation that is not the bot token's (per auth.test), a token Slack
    refuses, or a Web API that cannot be reached: serve exits 2 saying which and why, before it
    listens, and never prints the token."""
    env = serve_variables(tmp_path, redis_server, slack_api, free_port())
    env.update(change)
    if env["SLACK_API_URL"] == "dead":
        env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    done = run_serve(tmp_path, env)

    assert done.returncode == 2, done.stderr
    assert f"{var}:" in done.stderr
    assert why in done.stderr.split(f"{var}:", 1)[1].splitlines()[0]
    assert "Traceback" not in done.stderr
    assert env["SLACK_BOT_TOKEN"] not in done.stderr + done.stdout
    assert "serving on port" not in done.stderr + done.stdout


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_serve_starts_in_http_mode_and_answers_slack(
    tmp_path: Path, redis_server: str, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """With every variable set (embedded devnet, test Redis, Web API double) chatops serve asks
    auth.test for its workspace before it listens, answers /healthz and /readyz, answers a signed
    slash command POSTed to it through the double, and refuses one from another workspace (no
    CHATOPS_SLACK_TEAM_ID is set: the workspace check is on anyway)."""
    port = free_port()
    env = serve_env(serve_variables(tmp_path, redis_server, slack_api, port))
    served = start_serve(tmp_path, env, port)
    proc, base, log = served.proc, served.base, served.log
    try:
        asked_at_start = len(slack_api.calls("auth.test"))
        ready = httpx.get(f"{base}/readyz", timeout=5)
        foreign = signed_slash_command(
            "/feed", "show 2", user_id=ALICE, channel_id=CHANNEL, team_id=OTHER_TEAM
        )
        refused = httpx.post(
            f"{base}/slack/events", content=foreign.body, headers=foreign.headers, timeout=5
        )
        acked = served.post_command("/feed show 1", ALICE)
        (posted,) = slack_api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        proc.terminate()
        returncode = proc.wait(timeout=10)

    assert returncode == 0, "SIGTERM must stop serve cleanly"
    for name in (
        "chatops_outbox_depth",
        "chatops_approvals_pending",
        "vrf_effective_balance",
        "chatops_outbox_digests_total",  # the outbox worker's metrics share the registry
        "chatops_outbox_digest_items_bucket",
        "process_resident_memory_bytes",  # the process and platform collectors
        "python_info",
        'chatops_chain_rpc_seconds_count{method="POST rpc/v3/view"}',
        'chatops_slack_api_seconds_count{method="chat.postMessage"}',
        'chatops_slack_api_seconds_count{method="auth.test"}',
        'chatops_commands_total{command="/feed",outcome="ok"} 1.0',
        "chatops_rehearsal 1.0",
    ):
        assert name in metrics

    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": True, "chain": True, "accepting": True}
    # a rehearsal says so: on /readyz, and on every message it posts
    assert ready.json()["rehearsal"] is True
    assert str(posted.params["text"]).startswith("[REHEARSAL]")
    assert "REHEARSAL" in all_text(posted).split("Asset 1")[0]
    assert asked_at_start == 1
    assert acked == 200
    assert "Asset 1" in all_text(posted)
    assert refused.status_code == 200
    assert "not allowed" in refused.text
    assert len(slack_api.calls("chat.postMessage")) == 1
    output = log.read_text()
    assert "http mode" in output
    assert DEFAULT_BOT_TOKEN not in output
    assert DEFAULT_SIGNING_SECRET not in output
