"""Requests built by tests.fakes.slack_requests are signed and shaped the way Bolt expects from Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    block_actions_payload,
    signed_block_actions,
    signed_request,
    signed_slash_command,
    signed_view_submission,
    slash_command_payload,
    socket_mode_envelope,
    view_submission_payload,
)
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble


@pytest.fixture
def app() -> Iterator[App]:
    with SlackWebApiDouble() as api:
        bolt = App(
            signing_secret=DEFAULT_SIGNING_SECRET,
            client=WebClient(base_url=api.url, token=DEFAULT_BOT_TOKEN),
        )

        @bolt.command("/lottery")
        def on_lottery(ack: Ack, command: dict[str, Any]) -> None:
            ack(f"lottery {command['text']} by {command['user_id']}")

        @bolt.action("approve")
        def on_approve(ack: Ack, body: dict[str, Any]) -> None:
            ack()

        @bolt.view("deny_modal")
        def on_deny(ack: Ack, view: dict[str, Any]) -> None:
            reason = view["state"]["values"]["reason"]["input"]["value"]
            ack(response_action="errors", errors={"reason": f"got {reason}"})

        yield bolt


def test_signature_matches_slack_sdk_verifier() -> None:
    """A signed body verifies with slack_sdk's SignatureVerifier; forged and stale ones do not."""
    verifier = SignatureVerifier(DEFAULT_SIGNING_SECRET)
    good = signed_request("a=1")
    forged = signed_request("a=1", forged=True)
    stale = signed_request("a=1", stale=True)
    assert verifier.is_valid_request(good.body, good.headers)
    assert not verifier.is_valid_request(forged.body, forged.headers)
    assert not verifier.is_valid_request(stale.body, stale.headers)


def test_slash_command_form_carries_slack_fields() -> None:
    """The slash command form has Slack's fields, enterprise ones only when asked, and retry headers."""
    plain = signed_slash_command("/lottery", "status", retry_num=1)
    fields = {k: v[0] for k, v in parse_qs(plain.body, keep_blank_values=True).items()}
    assert fields["command"] == "/lottery"
    assert fields["is_enterprise_install"] == "false"
    assert "enterprise_id" not in fields
    assert plain.headers["x-slack-retry-num"] == "1"
    grid = slash_command_payload("/lottery", enterprise_id="E0GRID0001", is_enterprise_install=True)
    assert (grid["enterprise_id"], grid["is_enterprise_install"]) == ("E0GRID0001", "true")


def test_bolt_accepts_signed_slash_command_and_rejects_forged_or_stale(app: App) -> None:
    """Bolt runs the listener for a signed command and answers 401 to forged or stale ones."""
    ok = signed_slash_command("/lottery", "status", user_id="U0ALICE001")
    response = app.dispatch(BoltRequest(body=ok.body, headers=ok.bolt_headers))
    assert (response.status, response.body) == (200, "lottery status by U0ALICE001")
    for bad in (
        signed_slash_command("/lottery", forged=True),
        signed_slash_command("/lottery", stale=True),
    ):
        assert app.dispatch(BoltRequest(body=bad.body, headers=bad.bolt_headers)).status == 401


def test_bolt_routes_block_actions_and_view_submission(app: App) -> None:
    """Signed block_actions and view_submission bodies reach the matching Bolt listeners."""
    click = signed_block_actions("approve", "req-1")
    assert app.dispatch(BoltRequest(body=click.body, headers=click.bolt_headers)).status == 200
    values = {"reason": {"input": {"type": "plain_text_input", "value": "too risky"}}}
    submit = signed_view_submission("deny_modal", values)
    response = app.dispatch(BoltRequest(body=submit.body, headers=submit.bolt_headers))
    assert response.status == 200
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"reason": "got too risky"},
    }
    unknown = signed_block_actions("nobody_listens")
    assert app.dispatch(BoltRequest(body=unknown.body, headers=unknown.bolt_headers)).status == 404


def test_socket_mode_payloads_reach_bolt_unsigned(app: App) -> None:
    """The three payload kinds dispatch in socket_mode without signatures, wrapped like Slack's envelopes."""
    command = socket_mode_envelope("slash_commands", slash_command_payload("/lottery", "draw"))
    click = socket_mode_envelope("interactive", block_actions_payload("approve"))
    submit = socket_mode_envelope(
        "interactive",
        view_submission_payload("deny_modal", {"reason": {"input": {"value": "no"}}}),
    )
    assert (command["accepts_response_payload"], click["accepts_response_payload"]) == (True, False)
    assert submit["accepts_response_payload"] is True
    for envelope in (command, click, submit):
        response = app.dispatch(BoltRequest(body=envelope["payload"], mode="socket_mode"))
        assert response.status == 200
