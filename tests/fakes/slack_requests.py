"""Requests as Slack sends them to the app: signed HTTP bodies and headers, and Socket Mode envelopes."""

# HTTP: ``signed_*`` return a ``SignedRequest`` (body + headers) for ``BoltRequest(body=,
# headers=)`` or a real POST, signed like Slack (``v0=`` HMAC-SHA256 over
# ``v0:{timestamp}:{body}``), with knobs to forge the signature, make it stale, or mark it as a
# retry. Socket Mode: the ``*_payload`` builders give the same three kinds as dicts
# (``BoltRequest(body=payload, mode="socket_mode")``), and ``socket_mode_envelope`` wraps one the
# way the Socket Mode server does.

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

__all__ = [
    "DEFAULT_SIGNING_SECRET",
    "STALE_AFTER_S",
    "SignedRequest",
    "block_actions_payload",
    "sign",
    "signed_block_actions",
    "signed_home_block_actions",
    "signed_request",
    "signed_slash_command",
    "signed_view_submission",
    "slash_command_payload",
    "socket_mode_envelope",
    "view_submission_payload",
]

DEFAULT_SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
# Bolt (like Slack's docs) rejects a request whose timestamp is more than five minutes off.
STALE_AFTER_S = 5 * 60

TEAM_ID = "T0TEST0001"
TEAM_DOMAIN = "chatops-test"
APP_ID = "A0TEST0001"
VERIFICATION_TOKEN = "legacy-verification-token"
# Loopback discard port: a response_url that can never leave the machine. Pass
# SlackWebApiDouble.response_url() when the test wants respond() to succeed.
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/hooks/commands/T0TEST0001/0/unused"


@dataclass(frozen=True)
class SignedRequest:
    """A request body and the headers Slack sends with it (lowercase names, like Bolt's)."""

    body: str
    headers: dict[str, str]
    timestamp: int

    @property
    def bolt_headers(self) -> dict[str, str | Sequence[str]]:
        """The headers typed as ``BoltRequest(headers=...)`` wants them."""
        return dict(self.headers)


def sign(secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_request(
    body: str,
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    now_s: int | None = None,
    forged: bool = False,
    stale: bool = False,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    content_type: str = "application/x-www-form-urlencoded",
) -> SignedRequest:
    """Sign ``body``; ``forged`` signs with another secret, ``stale`` dates it 6 minutes back."""
    timestamp = int(time.time()) if now_s is None else now_s
    if stale:
        timestamp -= STALE_AFTER_S + 60
    key = "not-" + secret if forged else secret
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": sign(key, timestamp, body),
    }
    if retry_num is not None:
        headers["x-slack-retry-num"] = str(retry_num)
        headers["x-slack-retry-reason"] = retry_reason
    return SignedRequest(body=body, headers=headers, timestamp=timestamp)


# -- payloads ----------------------------------------------------------------------------------


def slash_command_payload(
    command: str,
    text: str = "",
    *,
    user_id: str = "U0ALICE001",
    user_name: str = "alice",
    channel_id: str = "C0OPS00001",
    channel_name: str = "ops",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str = "Test Grid",
    is_enterprise_install: bool = False,
) -> dict[str, str]:
    """The fields of a slash command, all strings, in Slack's order (form body or Socket Mode payload)."""
    fields: dict[str, str] = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
    }
    if enterprise_id is not None:
        fields["enterprise_id"] = enterprise_id
        fields["enterprise_name"] = enterprise_name
    fields.update(
        {
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "true" if is_enterprise_install else "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id(),
        }
    )
    return fields


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    block_id: str = "actions",
    user_id: str = "U0BOB00001",
    user_name: str = "bob",
    channel_id: str = "C0OPS00001",
    channel_name: str = "ops",
    message_ts: str = "1700000000.000100",
    message: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one button click on a message in ``channel_id``."""
    action_ts = f"{time.time():.6f}"  # Slack's: microseconds, so two clicks never share one
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": is_enterprise_install,
        "channel": {"id": channel_id, "name": channel_name},
        "message": dict(message)
        if message is not None
        else {"type": "message", "ts": message_ts, "text": "", "user": "U0BOT00001"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    private_metadata: str = "",
    view_id: str = "V00000001",
    user_id: str = "U0BOB00001",
    user_name: str = "bob",
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> dict[str, Any]:
    """A ``view_submission`` payload; ``values`` is ``view.state.values`` (block_id -> action_id -> value)."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {
                "values": {k: {a: dict(v) for a, v in b.items()} for k, b in (values or {}).items()}
            },
            "hash": "1700000000.abcdef01",
            "title": {"type": "plain_text", "text": "chatops", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT00001",
        },
        "response_urls": [],
        "is_enterprise_install": is_enterprise_install,
        "enterprise": _enterprise(enterprise_id),
    }


# -- signed HTTP requests ----------------------------------------------------------------------


def signed_slash_command(
    command: str,
    text: str = "",
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    now_s: int | None = None,
    forged: bool = False,
    stale: bool = False,
    retry_num: int | None = None,
    **fields: Any,
) -> SignedRequest:
    """A signed form-encoded slash command (``slash_command_payload`` keywords pass through)."""
    body = urlencode(slash_command_payload(command, text, **fields))
    return signed_request(
        body, secret=secret, now_s=now_s, forged=forged, stale=stale, retry_num=retry_num
    )


def signed_block_actions(
    action_id: str,
    value: str = "",
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    now_s: int | None = None,
    forged: bool = False,
    stale: bool = False,
    retry_num: int | None = None,
    **fields: Any,
) -> SignedRequest:
    """A signed ``payload=<json>`` form body for a button click."""
    return _signed_interaction(
        block_actions_payload(action_id, value, **fields),
        secret=secret,
        now_s=now_s,
        forged=forged,
        stale=stale,
        retry_num=retry_num,
    )


def signed_home_block_actions(
    action_id: str, value: str, *, user_id: str, secret: str = DEFAULT_SIGNING_SECRET
) -> SignedRequest:
    """A signed click on a button of the app's Home tab: Slack names the view, and no channel."""
    payload = block_actions_payload(action_id, value, user_id=user_id)
    del payload["channel"], payload["message"]
    payload["container"] = {"type": "view", "view_id": "V0HOME0001"}
    payload["view"] = {"id": "V0HOME0001", "type": "home", "blocks": []}
    return _signed_interaction(payload, secret=secret)


def signed_view_submission(
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    now_s: int | None = None,
    forged: bool = False,
    stale: bool = False,
    retry_num: int | None = None,
    **fields: Any,
) -> SignedRequest:
    """A signed ``payload=<json>`` form body for a modal submission."""
    return _signed_interaction(
        view_submission_payload(callback_id, values, **fields),
        secret=secret,
        now_s=now_s,
        forged=forged,
        stale=stale,
        retry_num=retry_num,
    )


# -- Socket Mode ------------------------------------------------------------------------------


def socket_mode_envelope(
    kind: Literal["slash_commands", "interactive", "events_api"],
    payload: Mapping[str, Any],
    *,
    envelope_id: str | None = None,
    accepts_response_payload: bool | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> dict[str, Any]:
    """Wrap a payload as Slack's Socket Mode server does (defaults to Slack's accepts_response_payload)."""
    if accepts_response_payload is None:
        accepts_response_payload = kind == "slash_commands" or (
            kind == "interactive" and payload.get("type") == "view_submission"
        )
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "type": kind,
        "payload": dict(payload),
        "accepts_response_payload": accepts_response_payload,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    }


def _signed_interaction(payload: dict[str, Any], **kwargs: Any) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return signed_request(body, **kwargs)


def _trigger_id() -> str:
    return f"1700000000.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def _enterprise(enterprise_id: str | None) -> dict[str, str] | None:
    return None if enterprise_id is None else {"id": enterprise_id, "name": "Test Grid"}
