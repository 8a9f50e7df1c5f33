"""chatops's App Home tab as a Block Kit view: the requests waiting for this approver (with the same
Approve and Deny buttons as a request's card), the person's own requests, and the open incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from approvals.models import ApprovalRequest
from chatops.flow.multisig.refs import refs_of
from chatops.notify.incident_store import Incident
from chatops.slack.blocks.approval import request_buttons, state_line
from chatops.slack.blocks.limits import TEXT_MAX
from chatops.slack.blocks.mrkdwn import code_span, context, fit, mrkdwn, person

__all__ = ["HOME_ITEMS", "home_view"]

# What one section of the tab lists at most: a Home view holds 100 blocks, and a waiting request
# takes three (its lines, its buttons, a divider).
HOME_ITEMS = 10
_LINE_MAX = 300
_MARK = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _command(request: ApprovalRequest) -> str:
    return fit(f"{request.command} {request.text}".strip(), _LINE_MAX, render=code_span)


def _waiting(requests: Sequence[ApprovalRequest]) -> list[Block]:
    blocks: list[Block] = []
    for request in requests[:HOME_ITEMS]:
        lines = (
            f"*Request {fit(request.id, 60)}*: {fit(request.summary, _LINE_MAX)}\n"
            f"{_command(request)} · {len(request.calls)} call(s)\n"
            f"by {person(request.requester)}: {fit(request.reason, _LINE_MAX)} · "
            f"expires {_when(request.expires_ms)}"
        )
        blocks.append(SectionBlock(text=mrkdwn(lines)))
        # A request approved on chain (multisig mode) gets "Approve on chain", as on its card.
        buttons = request_buttons(request.id, request.digest, on_chain=bool(refs_of(request)))
        if buttons is not None:
            blocks.append(buttons)
        blocks.append(context(f"/ops show {fit(request.id, 60)} shows every call and check."))
    return blocks


def _listed(lines: Sequence[str], empty: str, more: int) -> list[Block]:
    if not lines:
        return [context(empty)]
    text = "\n".join(lines)
    if more:
        text += f"\n… and {more} more"
    return [SectionBlock(text=mrkdwn(text[:TEXT_MAX]))]


def home_view(
    *,
    waiting: Sequence[ApprovalRequest] | None,
    mine: Sequence[tuple[ApprovalRequest, str]],
    incidents: Sequence[Incident],
    note: str = "",
    now_ms: int,
) -> dict[str, Any]:
    """The ``views.publish`` view: ``waiting`` (None for someone who may not approve) the requests
    this person may approve, ``mine`` their own requests with the state each shows, ``incidents``
    the open ones; ``note`` says what could not be read."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="chatops"))]
    if waiting is not None:
        blocks.append(SectionBlock(text=mrkdwn(f"*Waiting for your approval* ({len(waiting)})")))
        blocks += _waiting(waiting) or [context("Nothing is waiting for you.")]
        blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=mrkdwn("*Your requests*")))
    own = [
        f"{code_span(r.id)} {_command(r)}: {state_line(r.id, state, None)}"
        for r, state in mine[:HOME_ITEMS]
    ]
    blocks += _listed(own, "You have asked for nothing from Slack yet.", len(mine) - len(own))
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=mrkdwn("*Open incidents*")))
    open_ = [
        f"{_MARK.get(i.severity, '')} *#{fit(i.id, 40)}* {fit(i.title, _LINE_MAX)} "
        f"({fit(i.subject, 100)}) · {person(i.owner) if i.owner else 'no owner'}"
        for i in incidents[:HOME_ITEMS]
    ]
    blocks += _listed(open_, "No incident is open.", len(incidents) - len(open_))
    footer = f"Updated {_when(now_ms)}." + (f" {fit(note, _LINE_MAX)}" if note else "")
    blocks.append(context(footer))
    view: dict[str, Any] = View(type="home", blocks=blocks).to_dict()
    return view
