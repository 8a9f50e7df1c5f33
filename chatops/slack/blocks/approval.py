"""The approval request message (the reply, then Approve/Deny buttons or its outcome) and the deny
modal; a button's value binds a click to the request's whole id and the digest of the calls shown.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from chatops.flow.render import ON_CHAIN
from chatops.slack.blocks.limits import (
    BUTTON_VALUE_MAX,
    CONFIRM_TEXT_MAX,
    CONFIRM_TITLE_MAX,
    MODAL_TITLE_MAX,
)
from chatops.slack.blocks.mrkdwn import clip_plain, context, escape_mrkdwn, fit, mrkdwn, person
from chatops.slack.blocks.reply import Message, render_messages
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    APPROVE_ON_CHAIN_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from commands.reply import Reply

__all__ = [
    "approval_blocks",
    "approval_messages",
    "button_value",
    "deny_modal",
    "parse_button_value",
    "request_buttons",
    "state_line",
]

logger = logging.getLogger(__name__)

_DENY_REASON_MIN, _DENY_REASON_MAX = 3, 300  # commands.args.Reason

_FINAL_LINES: dict[str, tuple[str, str]] = {
    # state: (marker, sentence); {who} is the actor when one is known, {id} the request id.
    "pending": (":hourglass_flowing_sand:", "Waiting for approval."),
    "approved": (":white_check_mark:", "Approved{by}; executing now."),
    "executing": (":gear:", "Executing{approved_by}."),
    "succeeded": (":white_check_mark:", "Executed{approved_by}."),
    "executed": (":white_check_mark:", "Executed{approved_by}."),
    "failed": (":x:", "Failed{approved_by}; see the result above."),
    "denied": (":no_entry:", "Denied{by}."),
    "expired": (":hourglass:", "Expired: nobody approved it in time."),
    "cancelled": (":heavy_multiplication_x:", "Cancelled{by}."),
    "needs-reconciliation": (
        ":warning:",
        "Outcome unknown: /ops reconcile {id} settles it from the chain; nothing is resent.",
    ),
}


def state_line(request_id: str, state: str, actor: str | None) -> str:
    """Where a request stands, in one mrkdwn line (what replaces its buttons once it is decided)."""
    who = person(actor) if actor else ""
    known = _FINAL_LINES.get(state)
    if known is None:
        return f":grey_question: State: {fit(state, 200)}."
    marker, sentence = known
    text = sentence.format(
        by=f" by {who}" if who else "",
        approved_by=f" (approved by {who})" if who else "",
        id=escape_mrkdwn(request_id),
    )
    return f"{marker} {text}"


_BUTTON_VALUE = re.compile(r"^(#?\d{1,12}(?:-[0-9a-z]{1,16})?):([0-9a-f]{64})$")


def button_value(request_id: str, digest: str) -> str:
    """What the Approve and Deny buttons carry: the request's whole id and the digest of the calls
    the message shows, so a click approves exactly what the approver saw."""
    return f"{request_id}:{digest}"


def parse_button_value(value: str) -> tuple[str, str]:
    """(request id, digest) from a button's value (or the deny form's ``private_metadata``).

    Raises:
        ValueError: not a value chatops made.
    """
    found = _BUTTON_VALUE.match(value)
    if found is None:
        raise ValueError("not a chatops request button")
    return found.group(1), found.group(2)


def _approve_on_chain(value: str) -> ButtonElement:
    """Multisig mode's Approve: it approves nothing here (the chain counts only votes signed with
    an owner's key); a click answers the clicker with the command that approves on chain."""
    return ButtonElement(
        text=PlainTextObject(text="Approve on chain"),
        action_id=APPROVE_ON_CHAIN_ACTION_ID,
        value=value,
        style="primary",
    )


def request_buttons(request_id: str, digest: str, *, on_chain: bool = False) -> ActionsBlock | None:
    """Approve (with a confirmation; "Approve on chain" in multisig mode) and Deny for one request,
    wherever its card is shown (its channel, an approver's direct messages, App Home): the same
    value and the same listeners. None when the id cannot be carried by a button."""
    value = button_value(request_id, digest)
    if _BUTTON_VALUE.match(value) is None or len(value) > BUTTON_VALUE_MAX:
        logger.warning("request id unusable as a button value; buttons left out")
        return None
    deny = ButtonElement(
        text=PlainTextObject(text="Deny"),
        action_id=DENY_ACTION_ID,
        value=value,
        style="danger",
    )
    if on_chain:
        return ActionsBlock(elements=[_approve_on_chain(value), deny])
    plain_id = clip_plain(request_id, 40)
    approve = ButtonElement(
        text=PlainTextObject(text="Approve"),
        action_id=APPROVE_ACTION_ID,
        value=value,
        style="primary",
        confirm=ConfirmObject(
            title=PlainTextObject(
                text=clip_plain(f"Approve request {plain_id}?", CONFIRM_TITLE_MAX)
            ),
            text=PlainTextObject(
                text=clip_plain(
                    f"Approve request {plain_id}? It will execute immediately.", CONFIRM_TEXT_MAX
                )
            ),
            confirm=PlainTextObject(text="Approve"),
            deny=PlainTextObject(text="Cancel"),
        ),
    )
    return ActionsBlock(elements=[approve, deny])


def _approval_tail(
    request_id: str, digest: str, state: str, can_act: bool, actor: str | None, on_chain: bool
) -> list[Block]:
    shown_id = fit(request_id, 100)
    if state != "pending":
        return [DividerBlock(), context(state_line(request_id, state, actor))]
    buttons = request_buttons(request_id, digest, on_chain=on_chain) if can_act else None
    if buttons is None:
        how = "on chain (/ops approve " if on_chain else "an approver: /ops approve "
        waiting = (
            f":hourglass_flowing_sand: Waiting for {how}{shown_id}"
            + (" shows how)" if on_chain else "")
            + f" or /ops deny {shown_id} &lt;reason&gt;."
        )
        return [DividerBlock(), context(waiting)]
    return [DividerBlock(), buttons]


def approval_messages(
    reply: Reply, *, request_id: str, state: str, can_act: bool, actor: str | None = None
) -> list[Message]:
    """An approval request as messages: the card (the reply, then while ``state`` is ``pending``
    the Approve and Deny buttons, whose ``value`` is the request's whole id and its digest; Approve
    asks for confirmation), and, when the request is too long for one message, the rest, for the
    card's thread (the card says so). When ``can_act`` is false or the request has no digest to
    carry, a line saying how an approver acts replaces the buttons. In any other state a line with
    the outcome replaces them; ``actor`` is who approved, denied or cancelled (a Slack user id is
    shown as a mention). A request approved on chain (multisig mode) gets "Approve on chain"
    instead of Approve.
    """
    on_chain = (reply.data or {}).get("approval") == ON_CHAIN
    tail = _approval_tail(request_id, reply.digest or "", state, can_act, actor, on_chain)
    return render_messages(reply, tail, show_request=False, continued="in the thread")


def approval_blocks(
    reply: Reply, *, request_id: str, state: str, can_act: bool, actor: str | None = None
) -> list[dict[str, Any]]:
    """The card of ``approval_messages``: what is posted first and updated in place."""
    messages = approval_messages(
        reply, request_id=request_id, state=state, can_act=can_act, actor=actor
    )
    return messages[0].blocks


def deny_modal(value: str) -> dict[str, Any]:
    """The ``views.open`` payload asking for the reason of a denial; the Deny button's value (the
    request's whole id and digest) travels in ``private_metadata`` and comes back with the
    submission, so a denial too is bound to what the approver saw.

    Raises:
        ValueError: ``value`` is not a Deny button's value.
    """
    request_id, _digest = parse_button_value(value)
    view = View(
        type="modal",
        callback_id=DENY_MODAL_CALLBACK_ID,
        private_metadata=value,
        title=PlainTextObject(text=clip_plain(f"Deny request {request_id}", MODAL_TITLE_MAX)),
        submit=PlainTextObject(text="Deny"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=mrkdwn(
                    f"Deny request *{fit(request_id, 300)}*? This is final; the requester sees your reason."
                )
            ),
            InputBlock(
                block_id=DENY_REASON_BLOCK_ID,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(
                    action_id=DENY_REASON_ACTION_ID,
                    multiline=True,
                    min_length=_DENY_REASON_MIN,
                    max_length=_DENY_REASON_MAX,
                    placeholder=PlainTextObject(text="Why this must not run"),
                ),
                optional=False,
            ),
        ],
    )
    payload: dict[str, Any] = view.to_dict()
    return payload
