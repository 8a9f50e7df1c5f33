"""The approval UI: the Approve and Deny buttons of a request's card (in its channel, a DM or App Home)
and the deny modal. A click becomes the ``/ops approve`` or ``/ops deny`` a person would type, run by
the same path, in the executor's urgent lane: a flood of commands never delays it.
"""

from __future__ import annotations

from typing import Any

import redis
from slack_bolt import Ack, App

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
from chatops.slack.web.reply_poster import Asker
from commands.invocation import Invocation, quote

__all__ = ["register"]


def _asker(body: dict[str, Any], channel: str, what: str) -> Asker:
    """Who clicked, where their answer goes: the click's channel, or for a click in App Home
    (which has none) the person's direct messages with the bot."""
    user = str(body["user"]["id"])
    return Asker(
        user=user,
        channel=channel or user,
        command=what,
        response_url=str(body.get("response_url") or "") or None,
    )


def _execution_progress(
    invocations: Invocations, body: dict[str, Any], request_id: str, to: Asker
) -> ProgressMessage | None:
    """The progress message of the execution an approval may start, as a reply in the thread
    of the request's message (or of the message clicked, if the request's was not recorded)."""
    message = invocations.poster.message_of(request_id)
    channel = to.channel
    if message is not None:
        channel, thread_ts = message
    else:
        container = body.get("container") or {}
        thread_ts = str(container.get("thread_ts") or container.get("message_ts") or "")
    return invocations.progress_message(
        channel=channel, user=to.user, command=f"request {request_id}", thread_ts=thread_ts or None
    )


def _clicked(
    invocations: Invocations,
    body: dict[str, Any],
    words: str,
    request_id: str,
    to: Asker,
    refusal: str,
) -> None:
    """A button or the deny modal: the same ``/ops`` step a person would type, carrying the
    request's whole id and the digest of the calls the message showed."""
    inv = Invocation(user=to.user, command="/ops", text=words, channel=to.channel)
    try:
        # The last approval executes the request here: its progress goes to the request's
        # thread, and the shutdown's cancel stops it between two transactions.
        approving = words.startswith("approve ")
        progress = _execution_progress(invocations, body, request_id, to) if approving else None
        invocations.run(inv, to, progress=progress, clicked=refusal)
    except redis.RedisError:  # the records around the step (its message): nothing was kept
        invocations.poster.reply_error(f"{refusal}: {STORE_DOWN_TEXT}", to)


def _admit_click(
    invocations: Invocations,
    body: dict[str, Any],
    words: str,
    request_id: str,
    to: Asker,
    refusal: str,
) -> None:
    """Queue a click as ``_clicked`` in the urgent lane; a full or closing executor is answered as
    ``refusal``, from the courier."""
    verb = words.split(maxsplit=1)[0]
    refused = invocations.admit(
        lambda: _clicked(invocations, body, words, request_id, to, refusal),
        f"{verb} request {request_id} (by {to.user})",
        urgent=True,
        on_dropped=lambda: invocations.poster.reply_error(f"{refusal}: {RESTARTING_TEXT}", to),
    )
    if refused is not None:
        invocations.tell(to, f"{refusal}: {refused}")


def register(app: App, invocations: Invocations) -> None:
    """Listen to the Approve and Deny buttons and to the deny modal's submission."""
    deps = invocations.deps

    @app.action(APPROVE_ACTION_ID)
    @app.action(APPROVE_ON_CHAIN_ACTION_ID)  # the same /ops approve: it shows how, on chain
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        channel = str((body.get("channel") or {}).get("id") or "")
        try:
            request_id, digest = parse_button_value(str(body["actions"][0]["value"]))
        except ValueError:
            to = _asker(body, channel, "an approval")
            invocations.tell(to, "Not approved: this button is not one chatops made.")
            return
        to = _asker(body, channel, f"approve {request_id}")
        marker = f"action:{to.user}:{body['actions'][0].get('action_ts', '')}:{request_id}"
        try:
            if not first_seen(deps.store, marker):
                return
        except redis.RedisError:  # answered from the payload: no Redis record is needed to reply
            invocations.tell(to, f"Not approved: {STORE_DOWN_TEXT}")
            return
        words = f"approve {request_id} digest={digest}"
        _admit_click(invocations, body, words, request_id, to, "Not approved")

    @app.action(DENY_ACTION_ID)
    def on_deny(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        value = str(body["actions"][0]["value"])
        try:
            view = deny_modal(value)
        except ValueError:
            return
        trigger = body["trigger_id"]
        # views.open is a Web API call: from the courier, never on this listener's thread.
        deps.courier.submit(
            lambda: deps.client.views_open(trigger_id=trigger, view=view),
            label=f"deny form for {body['user']['id']}",
        )

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
        to = _asker(body, channel, f"deny {request_id}")
        _admit_click(invocations, body, words, request_id, to, "Not denied")
