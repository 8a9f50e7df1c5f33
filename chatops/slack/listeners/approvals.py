"""The approval UI: the Approve and Deny buttons of a request's message and the deny modal.

A click becomes the ``/ops approve`` or ``/ops deny`` a person would type, run by the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatops.slack.blocks.approval import deny_modal, parse_button_value
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    APPROVE_ON_CHAIN_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from chatops.slack.invocations import RESTARTING_TEXT, STORE_DOWN_TEXT, Invocations
from chatops.slack.middleware.guard import first_seen
from chatops.slack.web.progress import ProgressMessage
from commands.invocation import Invocation, quote
from commands.reply import Reply

__all__ = ["register"]


def _refuser(
    invocations: Invocations, channel: str, user: str, refusal: str
) -> Callable[[str], None]:
    """How a click is refused: ``refusal`` ("Not approved") and why, to the person alone, in the
    channel of the click (a click with no channel cannot be answered)."""

    def refuse(text: str) -> None:
        if channel:
            reply = Reply.error(f"{refusal}: {text}")
            invocations.poster.reply(reply, channel=channel, user=user)

    return refuse


def _execution_progress(
    invocations: Invocations, body: dict[str, Any], request_id: str, user: str, channel: str
) -> ProgressMessage | None:
    """The progress message of the execution an approval may start, as a reply in the thread
    of the request's message (or of the message clicked, if the request's was not recorded)."""
    message = invocations.poster.message_of(request_id)
    if message is not None:
        channel, thread_ts = message
    else:
        container = body.get("container") or {}
        thread_ts = str(container.get("thread_ts") or container.get("message_ts") or "")
    if not channel:
        return None
    return invocations.progress_message(
        channel=channel, user=user, command=f"request {request_id}", thread_ts=thread_ts or None
    )


def _clicked(
    invocations: Invocations,
    body: dict[str, Any],
    words: str,
    request_id: str,
    channel: str,
    refusal: str,
) -> None:
    """A button or the deny modal: the same ``/ops`` step a person would type, carrying the
    request's whole id and the digest of the calls the message showed."""
    user = str(body["user"]["id"])
    inv = Invocation(user=user, command="/ops", text=words, channel=channel)
    try:
        # The last approval executes the request here: its progress goes to the request's
        # thread, and the shutdown's cancel stops it between two transactions.
        approving = words.startswith("approve ")
        progress = (
            _execution_progress(invocations, body, request_id, user, channel) if approving else None
        )
        invocations.run(inv, progress=progress, clicked=refusal)
    except redis.RedisError:  # the records around the step (its message): nothing was kept
        _refuser(invocations, channel, user, refusal)(STORE_DOWN_TEXT)


def _admit_click(
    invocations: Invocations,
    body: dict[str, Any],
    words: str,
    request_id: str,
    channel: str,
    refusal: str,
) -> None:
    """Queue a click as ``_clicked``; a full or closing executor is answered as ``refusal``."""
    user = str(body["user"]["id"])
    verb = words.split(maxsplit=1)[0]
    invocations.admit(
        lambda: _clicked(invocations, body, words, request_id, channel, refusal),
        f"{verb} request {request_id} (by {user})",
        _refuser(invocations, channel, user, refusal),
    )


def register(app: App, invocations: Invocations) -> None:
    """Listen to the Approve and Deny buttons and to the deny modal's submission."""
    deps = invocations.deps

    @app.action(APPROVE_ACTION_ID)
    @app.action(APPROVE_ON_CHAIN_ACTION_ID)  # the same /ops approve: it shows how, on chain
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id") or "")
        refuse = _refuser(invocations, channel, user, "Not approved")
        try:
            request_id, digest = parse_button_value(str(body["actions"][0]["value"]))
        except ValueError:
            refuse("this button is not one chatops made.")
            return
        marker = f"action:{user}:{body['actions'][0].get('action_ts', '')}:{request_id}"
        try:
            if not first_seen(deps.store, marker):
                return
        except redis.RedisError:  # answered from the payload: no Redis record is needed to reply
            refuse(STORE_DOWN_TEXT)
            return
        words = f"approve {request_id} digest={digest}"
        _admit_click(invocations, body, words, request_id, channel, "Not approved")

    @app.action(DENY_ACTION_ID)
    def on_deny(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = str(body["actions"][0]["value"])
        try:
            parse_button_value(value)
        except ValueError:
            return
        client.views_open(trigger_id=body["trigger_id"], view=deny_modal(value))

    @app.view(DENY_MODAL_CALLBACK_ID)
    def on_deny_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = str(
            view["state"]["values"][DENY_REASON_BLOCK_ID][DENY_REASON_ACTION_ID].get("value") or ""
        ).strip()
        if len(reason) < 3:
            ack(response_action="errors", errors={DENY_REASON_BLOCK_ID: "Say why, in a few words."})
            return
        if deps.executor.is_closing:  # the modal stays open with the reason typed: submit later
            ack(response_action="errors", errors={DENY_REASON_BLOCK_ID: RESTARTING_TEXT})
            return
        try:
            request_id, digest = parse_button_value(str(view["private_metadata"]))
        except ValueError:
            ack(
                response_action="errors",
                errors={DENY_REASON_BLOCK_ID: "This form is not one chatops made."},
            )
            return
        try:  # a submission carries no channel: answers go to the request's, looked up before ack
            channel = invocations.poster.channel_of(request_id) or ""
        except redis.RedisError:
            errors = {DENY_REASON_BLOCK_ID: f"Not denied: {STORE_DOWN_TEXT}"}
            ack(response_action="errors", errors=errors)
            return
        ack()
        words = f"deny {request_id} digest={digest} {quote(reason)}"
        _admit_click(invocations, body, words, request_id, channel, "Not denied")
