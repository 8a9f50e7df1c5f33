"""Reply -> Block Kit (slack_sdk.models.blocks), within Slack's limits, every untrusted string escaped.

Pure functions: no I/O and no client. Everything a step or a person wrote goes through
``escape_mrkdwn`` first; our own markup (bold, code spans, emoji, mentions of ids we trust) is
added afterwards. Over-long content is cut with a visible note, never dropped silently or raised.
The console's twin is ``chatops/console/render.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from chatops.flow.render import ON_CHAIN
from chatops.notify.notice import Notice
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    APPROVE_ON_CHAIN_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from commands.reply import Check, Field, Reply, Severity

__all__ = [
    "BUTTON_TEXT_MAX",
    "CONTEXT_ELEMENTS_MAX",
    "FIELDS_PER_SECTION",
    "FIELD_TEXT_MAX",
    "HEADER_TEXT_MAX",
    "MAX_BLOCKS",
    "TEXT_MAX",
    "approval_blocks",
    "button_value",
    "deny_modal",
    "escape_mrkdwn",
    "fit_mrkdwn",
    "limit_violations",
    "notice_blocks",
    "notice_text",
    "parse_button_value",
    "progress_blocks",
    "progress_text",
    "reply_blocks",
    "reply_text",
]

logger = logging.getLogger(__name__)

# Slack's limits (docs.slack.dev, Block Kit reference); slack_sdk's models check only some of them.
MAX_BLOCKS = 50
TEXT_MAX = 3000  # a section's text, a context element, any text object
FIELD_TEXT_MAX = 2000  # each of a section's fields
FIELDS_PER_SECTION = 10
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
MODAL_TITLE_MAX = 24

# Our own budgets inside Slack's: a long text spans a few sections, labels stay short.
_TEXT_SECTIONS_MAX = 4
_LABEL_MAX = 200
_CHECK_LINE_MAX = 1000
_FALLBACK_TEXT_MAX = 3000
_DENY_REASON_MIN, _DENY_REASON_MAX = 3, 300  # commands.args.Reason

_ZWJ = "\u200d"
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone))", re.IGNORECASE)
_HEX = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_CODE_LABEL = re.compile(
    r"^(?:call\b|tx\b|transactions?\b|digest\b|.*\bhash(?:es)?\b)", re.IGNORECASE
)
_SAFE_URL = re.compile(r"https?://[^\s<>|`]+")
_USER_ID = re.compile(r"[UW](?=[A-Z]*[0-9])[A-Z0-9]{6,20}")  # U0123ABCD; not a word like "WARNING"

_MARKER = {
    Severity.INFO: ":information_source:",
    Severity.SUCCESS: ":white_check_mark:",
    Severity.WARNING: ":warning:",
    Severity.ERROR: ":x:",
}


# --- escaping and fitting -----------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text inert in mrkdwn: ``& < >`` become entities (so no ``<@U…>``,
    ``<!channel>``, ``<!here>`` or ``<url|label>`` can form) and ``@here``/``@channel``/``@everyone``
    get a zero-width joiner after the ``@`` so they read the same but never notify anyone."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _ZWJ, escaped)


def _note(more: int, unit: str) -> str:
    return f"… (truncated, {more} more {unit})"


def _fit(
    raw: str,
    limit: int,
    render: Callable[[str], str] = escape_mrkdwn,
    unit: str = "characters",
) -> str:
    """``render(raw)`` if it fits in ``limit``; else the render of the longest prefix of ``raw`` that
    fits together with a note of how much was cut. Cutting the raw text (not the rendered one)
    never splits an entity such as ``&amp;``."""
    # Every render is at least as long as its input, so a longer input cannot fit: skip rendering it
    # whole (a megabyte of text costs no more than 3000 characters).
    if len(raw) <= limit:
        full = render(raw)
        if len(full) <= limit:
            return full
    low, high = 0, min(len(raw), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(raw[:mid]) + _note(len(raw) - mid, unit)) <= limit:
            low = mid
        else:
            high = mid - 1
    out = render(raw[:low]) + _note(len(raw) - low, unit)
    # Only a limit shorter than the note itself gets here; we never pass one for mrkdwn text.
    return out if len(out) <= limit else out[:limit]


def fit_mrkdwn(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` escaped and, if longer than ``limit``, cut with a visible "… (truncated, N more
    characters)" note; the cut never splits an entity."""
    return _fit(text, limit)


def _clip_plain(text: str, limit: int) -> str:
    """plain_text is shown as typed (no mrkdwn, no mentions): only its length needs care."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(raw: str) -> str:
    """A code span of untrusted text; a backtick inside would close it early, so it is swapped."""
    return "`" + escape_mrkdwn(raw.replace("`", "'")) + "`"


def _hex_as_code(raw: str) -> str:
    return _HEX.sub(lambda m: f"`{m.group(0)}`", escape_mrkdwn(raw))


def _person(user: str) -> str:
    """A Slack user id we got from Slack becomes a mention; anything else is shown as text."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape_mrkdwn(user)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(text)])


# --- the parts of a reply -----------------------------------------------------------------------


@dataclass
class _Part:
    """A block and how many fields/checks it carries, so a cut can say what it left out."""

    block: Block
    counts: dict[str, int] = field(default_factory=dict)


def _title_block(reply: Reply) -> SectionBlock:
    marker = _MARKER[reply.severity]
    title = reply.title if reply.title.strip() else "(no title)"
    return SectionBlock(text=_mrkdwn(f"{marker} *{_fit(title, TEXT_MAX - len(marker) - 3)}*"))


def _longest_prefix(raw: str, limit: int) -> int:
    low, high = 0, min(len(raw), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if len(escape_mrkdwn(raw[:mid])) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _text_blocks(text: str) -> list[SectionBlock]:
    """Long text spans up to a few sections, cut at a line break where one is near; the rest is
    cut with a note."""
    chunks: list[str] = []
    rest = text
    while len(chunks) < _TEXT_SECTIONS_MAX - 1 and (
        len(rest) > TEXT_MAX or len(escape_mrkdwn(rest)) > TEXT_MAX
    ):
        cut = _longest_prefix(rest, TEXT_MAX)
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        chunks.append(escape_mrkdwn(rest[:cut]))
        rest = rest[cut:]
    chunks.append(_fit(rest, TEXT_MAX))
    return [SectionBlock(text=_mrkdwn(chunk)) for chunk in chunks if chunk.strip()]


def _check_line(check: Check) -> str:
    if check.ok:
        prefix = ":white_check_mark: ok "
        raw = f"{check.name} ({check.seen})" if check.seen else check.name
    else:
        prefix = ":x: *FAILED* "
        raw = f"{check.name} (seen {check.seen or '?'}, required {check.required or '?'})"
    return prefix + _fit(raw or "-", _CHECK_LINE_MAX - len(prefix))


def _pack(lines: Sequence[str], limit: int, first: str = "") -> list[tuple[str, int]]:
    """Lines joined into chunks of at most ``limit`` characters; each chunk with its line count.
    Every line must already be shorter than ``limit`` minus ``first``."""
    chunks: list[tuple[str, int]] = []
    current, count = first, 0
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and count:
            chunks.append((current, count))
            candidate, count = line, 0
        current = candidate
        count += 1
    if count or current:
        chunks.append((current, count))
    return chunks


def _check_parts(checks: Sequence[Check]) -> list[_Part]:
    if not checks:
        return []
    failed = sum(1 for c in checks if not c.ok)
    summary = f"*Checks*: {len(checks) - failed} ok" + (f", {failed} FAILED" if failed else "")
    lines = [_check_line(c) for c in checks]
    return [
        _Part(SectionBlock(text=_mrkdwn(chunk)), {"checks": count})
        for chunk, count in _pack(lines, TEXT_MAX, first=summary)
    ]


def _field_text(item: Field) -> str:
    label = f"*{_fit(item.label, _LABEL_MAX)}*\n" if item.label.strip() else ""
    room = FIELD_TEXT_MAX - len(label)
    value = item.value if item.value.strip() else "-"
    if _CODE_LABEL.match(item.label) and "\n" not in value:
        if "," in value and _HEX.search(value):
            return label + _fit(value, room, render=_hex_as_code)
        return label + _fit(value, room, render=_code)
    return label + _fit(value, room, render=_hex_as_code)


def _field_parts(fields: Sequence[Field]) -> list[_Part]:
    texts = [_field_text(f) for f in fields]
    return [
        _Part(
            SectionBlock(fields=[_mrkdwn(t) for t in texts[i : i + FIELDS_PER_SECTION]]),
            {"fields": len(texts[i : i + FIELDS_PER_SECTION])},
        )
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


_PIECE_MAX = TEXT_MAX // 2


def _link(raw: str) -> str:
    """A well-formed URL becomes a link (a cut one would point elsewhere, so a long URL stays text)."""
    if _SAFE_URL.fullmatch(raw) and len(raw) <= _PIECE_MAX // 2:
        return "<" + raw.replace("&", "&amp;") + ">"
    return _fit(raw, _PIECE_MAX)


def _follow_up(raw: str) -> str:
    return "→ " + _fit(raw, _PIECE_MAX - 2)


def _joined(pieces: Sequence[str], sep: str, unit: str) -> str:
    """Rendered pieces (each at most _PIECE_MAX) joined by ``sep`` within TEXT_MAX; the pieces that
    do not fit are counted in a note."""
    out = ""
    for index, piece in enumerate(pieces):
        more = len(pieces) - index - 1
        reserve = len(sep) + len(_note(more, unit)) if more else 0
        candidate = f"{out}{sep}{piece}" if out else piece
        if len(candidate) + reserve > TEXT_MAX:
            return f"{out}{sep}{_note(len(pieces) - index, unit)}"
        out = candidate
    return out


def _tail_blocks(reply: Reply) -> list[Block]:
    blocks: list[Block] = []
    links = [_link(raw) for raw in reply.links if raw.strip()]
    if links:
        blocks.append(_context(_joined(links, "  ·  ", "links")))
    follow_ups = [_follow_up(raw) for raw in reply.follow_ups if raw.strip()]
    if follow_ups:
        blocks.append(_context(_joined(follow_ups, "\n", "follow-ups")))
    return blocks


def _request_block(reply: Reply) -> ContextBlock | None:
    if reply.request_id is None:
        return None
    state = f" · {escape_mrkdwn(reply.state)}" if reply.state else ""
    return _context(_fit(f"Request {reply.request_id}", 200) + state)


def _render(
    reply: Reply, extra_tail: Sequence[Block], *, show_request: bool
) -> list[dict[str, Any]]:
    head: list[Block] = [_title_block(reply)]
    if reply.text.strip():
        head.extend(_text_blocks(reply.text))
    checks = _check_parts(reply.checks)
    field_sections = -(-len(reply.fields) // FIELDS_PER_SECTION)
    tail = _tail_blocks(reply)
    request = _request_block(reply) if show_request else None
    if request is not None:
        tail.append(request)
    if tail and (checks or field_sections):
        tail.insert(0, DividerBlock())
    tail.extend(extra_tail)

    room = MAX_BLOCKS - len(head) - len(tail)
    if len(checks) + field_sections <= room:
        body = checks + _field_parts(reply.fields)
    else:
        # The body gives way (title, text, context and buttons stay): keep what fits, in order,
        # render only the fields that are shown, and say what was left out.
        keep = room - 1
        kept_checks, cut_checks = checks[:keep], checks[keep:]
        shown_fields = max(0, keep - len(kept_checks)) * FIELDS_PER_SECTION
        left = {
            "checks": sum(part.counts.get("checks", 0) for part in cut_checks),
            "fields": len(reply.fields) - shown_fields,
        }
        detail = ", ".join(f"{count} more {unit}" for unit, count in left.items() if count)
        note = _Part(_context(f"… (truncated, {detail}; the message would exceed Slack's limits)"))
        body = [*kept_checks, *_field_parts(reply.fields[:shown_fields]), note]
    blocks = _to_dicts([*head, *(p.block for p in body), *tail])
    problems = limit_violations(blocks)
    if problems:
        # A bug in this module, not in the content: show something valid rather than nothing.
        logger.error("rendered blocks break Slack's limits: %s", "; ".join(problems[:5]))
        return _to_dicts([_title_block(reply), _context("(the rest could not be shown)")])
    return blocks


def _to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Serialise through slack_sdk's validators; a block they refuse becomes a visible note."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        try:
            out.append(block.to_dict())
        except SlackObjectFormationError:
            logger.warning(
                "a %s block failed validation and was replaced", block.type, exc_info=True
            )
            out.append(_context("(part of this message could not be shown)").to_dict())
    return out


# --- public surface -----------------------------------------------------------------------------


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The Block Kit of a reply: a title with a severity marker, the text, the checks, the fields
    (ten per section), then links, follow-ups and the request id as context. Always valid for
    ``chat.postMessage``: at most 50 blocks, every text within Slack's limits."""
    return _render(reply, (), show_request=True)


def reply_text(reply: Reply) -> str:
    """The top-level ``text`` sent with the blocks: what notifications and screen readers show."""
    title = reply.title if reply.title.strip() else "(no title)"
    raw = f"{title}\n{reply.text}" if reply.text.strip() else title
    return _fit(raw, _FALLBACK_TEXT_MAX)


_FINAL_LINES: dict[str, tuple[str, str]] = {
    # state: (marker, sentence); {who} is the actor when one is known, {id} the request id.
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


def _state_line(request_id: str, state: str, actor: str | None) -> str:
    who = _person(actor) if actor else ""
    known = _FINAL_LINES.get(state)
    if known is None:
        return f":grey_question: State: {_fit(state, 200)}."
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


def _approval_tail(
    request_id: str, digest: str, state: str, can_act: bool, actor: str | None, on_chain: bool
) -> list[Block]:
    shown_id = _fit(request_id, 100)
    if state != "pending":
        return [DividerBlock(), _context(_state_line(request_id, state, actor))]
    value = button_value(request_id, digest)
    if not can_act or _BUTTON_VALUE.match(value) is None or len(value) > BUTTON_VALUE_MAX:
        if can_act:
            logger.warning("request id unusable as a button value; buttons left out")
        how = "on chain (/ops approve " if on_chain else "an approver: /ops approve "
        waiting = (
            f":hourglass_flowing_sand: Waiting for {how}{shown_id}"
            + (" shows how)" if on_chain else "")
            + f" or /ops deny {shown_id} &lt;reason&gt;."
        )
        return [DividerBlock(), _context(waiting)]
    plain_id = _clip_plain(request_id, 40)
    deny = ButtonElement(
        text=PlainTextObject(text="Deny"),
        action_id=DENY_ACTION_ID,
        value=value,
        style="danger",
    )
    if on_chain:
        return [DividerBlock(), ActionsBlock(elements=[_approve_on_chain(value), deny])]
    approve = ButtonElement(
        text=PlainTextObject(text="Approve"),
        action_id=APPROVE_ACTION_ID,
        value=value,
        style="primary",
        confirm=ConfirmObject(
            title=PlainTextObject(
                text=_clip_plain(f"Approve request {plain_id}?", CONFIRM_TITLE_MAX)
            ),
            text=PlainTextObject(
                text=_clip_plain(
                    f"Approve request {plain_id}? It will execute immediately.", CONFIRM_TEXT_MAX
                )
            ),
            confirm=PlainTextObject(text="Approve"),
            deny=PlainTextObject(text="Cancel"),
        ),
    )
    return [DividerBlock(), ActionsBlock(elements=[approve, deny])]


def approval_blocks(
    reply: Reply, *, request_id: str, state: str, can_act: bool, actor: str | None = None
) -> list[dict[str, Any]]:
    """An approval request message: the reply, then while ``state`` is ``pending`` the Approve and
    Deny buttons (their ``value`` is the request's whole id and its digest; Approve asks for
    confirmation), or, when ``can_act`` is false or the request has no digest to carry, a line
    saying how an approver acts.
    In any other state a line with the outcome replaces the buttons; ``actor`` is who approved,
    denied or cancelled (a Slack user id is shown as a mention). A request approved on chain
    (multisig mode) gets "Approve on chain" instead of Approve.
    """
    on_chain = (reply.data or {}).get("approval") == ON_CHAIN
    tail = _approval_tail(request_id, reply.digest or "", state, can_act, actor, on_chain)
    return _render(reply, tail, show_request=False)


# --- progress of a long command ------------------------------------------------------------------

_COMMAND_MAX = 200
_PROGRESS_LINE_MAX = 900  # three of them fit one section


def _progress_head(command: str, user: str, outcome: Reply | None) -> str:
    shown = _fit(command, _COMMAND_MAX, render=_code)
    if outcome is None:
        return f":hourglass_flowing_sand: {_person(user)} is running {shown}"
    title = _fit(outcome.title if outcome.title.strip() else "(no title)", TEXT_MAX // 2)
    if outcome.ok:
        return f"{_MARKER[outcome.severity]} {shown} finished: *{title}*"
    return f"{_MARKER[Severity.ERROR]} {shown} stopped: *{title}*"


def progress_blocks(
    command: str,
    user: str,
    lines: Sequence[str],
    outcome: Reply | None = None,
    *,
    details_in_thread: bool = False,
) -> list[dict[str, Any]]:
    """The live message of a long command: who runs what and its latest progress lines, newest
    last; once ``outcome`` is known, how it ended (the reply itself is posted on its own: to
    ``user`` alone, or with ``details_in_thread`` in the thread the message is in)."""
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(_progress_head(command, user, outcome)))]
    if lines:
        shown = "\n".join(_fit(line, _PROGRESS_LINE_MAX, render=_hex_as_code) for line in lines)
        blocks.append(SectionBlock(text=_mrkdwn(shown)))
    if outcome is None:
        blocks.append(_context("Updated as the steps advance."))
    elif not outcome.ok:
        where = "follow in this thread" if details_in_thread else f"were sent to {_person(user)}"
        blocks.append(_context(f"The details {where}."))
    rendered = _to_dicts(blocks)
    problems = limit_violations(rendered)
    if problems:
        logger.error("rendered progress breaks Slack's limits: %s", "; ".join(problems[:5]))
        return _to_dicts(blocks[:1])
    return rendered


def progress_text(command: str, lines: Sequence[str], outcome: Reply | None = None) -> str:
    """The top-level ``text`` of the progress message (notifications and screen readers)."""
    if outcome is not None:
        raw = f"{command}: {'finished' if outcome.ok else 'stopped'}: {outcome.title}"
    else:
        raw = f"{command}: {lines[-1]}" if lines else f"{command}: running"
    return _fit(raw, _FALLBACK_TEXT_MAX)


# --- notices (chatops.notify): events, alerts, digests, incident messages --------------------------

_NOTICE_SEVERITY = {
    "info": Severity.INFO,
    "warning": Severity.WARNING,
    "critical": Severity.ERROR,
}
_NOTICE_KIND = {
    "event": "Event",
    "alert": "Alert",
    "alert-resolved": "Resolved",
    "digest": "Digest",
    "command": "Command",
    "approval": "Approval",
    "incident": "Incident",
}


def _notice_reply(notice: Notice) -> Reply:
    severity = _NOTICE_SEVERITY[notice.severity]
    if notice.kind == "alert-resolved":
        severity = Severity.SUCCESS
    return Reply(
        title=notice.title,
        text=notice.text,
        severity=severity,
        fields=tuple(Field(label=label, value=value) for label, value in notice.fields),
        links=notice.links,
    )


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    """The Block Kit of a notice: title with a severity marker, text, fields and links (escaped and
    cut exactly as a reply's), then a context line with its kind, subject, time and critical mark."""
    when = datetime.fromtimestamp(notice.at_s, UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [_NOTICE_KIND[notice.kind], notice.subject, when]
    if notice.event_type:
        parts.insert(1, notice.event_type)
    line = " · ".join(_fit(p, 200) for p in parts)
    if notice.severity == "critical" and notice.kind != "alert-resolved":
        line = ":rotating_light: *critical* · " + line
    return _render(_notice_reply(notice), [_context(line)], show_request=False)


def notice_text(notice: Notice) -> str:
    """The top-level ``text`` of a notice message (notifications and screen readers)."""
    return reply_text(_notice_reply(notice))


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
        title=PlainTextObject(text=_clip_plain(f"Deny request {request_id}", MODAL_TITLE_MAX)),
        submit=PlainTextObject(text="Deny"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=_mrkdwn(
                    f"Deny request *{_fit(request_id, 300)}*? This is final; the requester sees your reason."
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


# --- our own checks of Slack's limits ---------------------------------------------------------


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def limit_violations(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Every way ``blocks`` break Slack's documented limits (empty when they do not), including the
    ones slack_sdk does not check (field length, empty text, button value)."""
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")

    def text_ok(where: str, obj: Any, limit: int) -> None:
        text = _text_of(obj)
        if text is None or not text.strip():
            problems.append(f"{where}: empty or missing text")
        elif len(text) > limit:
            problems.append(f"{where}: {len(text)} characters (max {limit})")

    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"block {index} ({kind})"
        if kind == "section":
            if "text" in block:
                text_ok(where, block["text"], TEXT_MAX)
            fields = block.get("fields", [])
            if len(fields) > FIELDS_PER_SECTION:
                problems.append(f"{where}: {len(fields)} fields (max {FIELDS_PER_SECTION})")
            for n, item in enumerate(fields):
                text_ok(f"{where} field {n}", item, FIELD_TEXT_MAX)
            if "text" not in block and not fields:
                problems.append(f"{where}: neither text nor fields")
        elif kind == "header":
            text_ok(where, block.get("text"), HEADER_TEXT_MAX)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
                problems.append(f"{where}: {len(elements)} elements")
            for n, item in enumerate(elements):
                text_ok(f"{where} element {n}", item, TEXT_MAX)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
                problems.append(f"{where}: {len(elements)} elements")
            for n, item in enumerate(elements):
                if item.get("type") == "button":
                    text_ok(f"{where} button {n}", item.get("text"), BUTTON_TEXT_MAX)
                    if len(str(item.get("value", ""))) > BUTTON_VALUE_MAX:
                        problems.append(f"{where} button {n}: value too long")
    return problems
