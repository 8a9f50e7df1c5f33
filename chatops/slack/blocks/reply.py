"""A ``Reply`` as Block Kit messages within Slack's limits: a long one is split into several messages,
and what still does not fit is cut with a visible note, never dropped silently or raised.
The console's twin is ``chatops/console/render.py``.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from chatops.slack.blocks.limits import (
    FIELD_TEXT_MAX,
    FIELDS_PER_SECTION,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    TEXT_MAX,
    block_text_size,
    limit_violations,
    to_dicts,
)
from chatops.slack.blocks.mrkdwn import (
    HEX,
    code_span,
    context,
    cut_note,
    escape_mrkdwn,
    fit,
    hex_as_code,
    mrkdwn,
)
from commands.reply import Check, Field, Reply, Tone

__all__ = [
    "FALLBACK_TEXT_MAX",
    "MAX_MESSAGES",
    "SEVERITY_MARKER",
    "Message",
    "render_messages",
    "render_reply",
    "reply_blocks",
    "reply_messages",
    "reply_text",
    "title_block",
]

logger = logging.getLogger(__name__)

# A reply is at most this many messages: a response_url takes five posts.
MAX_MESSAGES = 5
# Our own budgets inside Slack's: labels stay short, a section of fields stays well inside a
# message, and every message keeps room for the note that says what did not fit.
_LABEL_MAX = 200
_FIELDS_TEXT_MAX = 4000
_NOTE_RESERVE = 300
_CONTINUED_TITLE_MAX = 150
_CHECK_LINE_MAX = 1000
FALLBACK_TEXT_MAX = 3000  # the top-level ``text`` sent with the blocks
_PIECE_MAX = TEXT_MAX // 2
_SEPARATOR = {"text": "", "checks": "\n", "fields": ""}

_CODE_LABEL = re.compile(
    r"^(?:call\b|tx\b|transactions?\b|digest\b|.*\bhash(?:es)?\b)", re.IGNORECASE
)
_SAFE_URL = re.compile(r"https?://[^\s<>|`]+")

SEVERITY_MARKER = {
    Tone.INFO: ":information_source:",
    Tone.SUCCESS: ":white_check_mark:",
    Tone.WARNING: ":warning:",
    Tone.ERROR: ":x:",
}


@dataclass
class _Part:
    """A rendered block and what it shows (characters of the reply's text, checks, fields), so a
    cut can say what it left out."""

    block: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return block_text_size(self.block)


@dataclass(frozen=True)
class _Piece:
    """A piece of a section yet to be drawn: a stretch of text, a check line or a field. Pieces
    of one kind flow into sections as big as Slack and the message's room allow."""

    kind: Literal["text", "checks", "fields"]
    text: str
    counts: dict[str, int]


_Item = _Part | _Piece


def _part(block: Block, **counts: int) -> _Part:
    return _Part(to_dicts([block])[0], dict(counts))


@dataclass(frozen=True)
class Message:
    """One Slack message of a reply: its top-level ``text`` (notifications) and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


def title_block(reply: Reply) -> SectionBlock:
    marker = SEVERITY_MARKER[reply.tone]
    title = reply.title if reply.title.strip() else "(no title)"
    return SectionBlock(text=mrkdwn(f"{marker} *{fit(title, TEXT_MAX - len(marker) - 3)}*"))


def _longest_prefix(raw: str, limit: int) -> int:
    low, high = 0, min(len(raw), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if len(escape_mrkdwn(raw[:mid])) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _text_pieces(text: str) -> list[_Piece]:
    """The text in pieces of at most ``_PIECE_MAX`` characters once escaped, each cut at a line
    break where one is near, so sections end at line breaks."""
    pieces: list[_Piece] = []
    rest = text
    while rest:
        cut = len(rest)
        if cut > _PIECE_MAX or len(escape_mrkdwn(rest)) > _PIECE_MAX:
            cut = _longest_prefix(rest, _PIECE_MAX)
            newline = rest.rfind("\n", 0, cut)
            if newline > cut // 2:
                cut = newline + 1
        chunk, rest = rest[:cut], rest[cut:]
        pieces.append(_Piece("text", escape_mrkdwn(chunk), {"characters": cut}))
    return pieces


def _check_line(check: Check) -> str:
    if check.ok:
        prefix = ":white_check_mark: ok "
        raw = f"{check.name} ({check.seen})" if check.seen else check.name
    else:
        prefix = ":x: *FAILED* "
        raw = f"{check.name} (seen {check.seen or '?'}, required {check.required or '?'})"
    return prefix + fit(raw or "-", _CHECK_LINE_MAX - len(prefix))


def _check_pieces(checks: Sequence[Check]) -> list[_Piece]:
    if not checks:
        return []
    failed = sum(1 for c in checks if not c.ok)
    summary = f"*Checks*: {len(checks) - failed} ok" + (f", {failed} FAILED" if failed else "")
    return [
        _Piece("checks", summary, {}),
        *(_Piece("checks", _check_line(c), {"checks": 1}) for c in checks),
    ]


def _field_text(item: Field) -> str:
    label = f"*{fit(item.label, _LABEL_MAX)}*\n" if item.label.strip() else ""
    room = FIELD_TEXT_MAX - len(label)
    value = item.value if item.value.strip() else "-"
    if _CODE_LABEL.match(item.label) and "\n" not in value:
        if "," in value and HEX.search(value):
            return label + fit(value, room, render=hex_as_code)
        return label + fit(value, room, render=code_span)
    return label + fit(value, room, render=hex_as_code)


def _link(raw: str) -> str:
    """A well-formed URL becomes a link (a cut one would point elsewhere, so a long URL stays text)."""
    if _SAFE_URL.fullmatch(raw) and len(raw) <= _PIECE_MAX // 2:
        return "<" + raw.replace("&", "&amp;") + ">"
    return fit(raw, _PIECE_MAX)


def _follow_up(raw: str) -> str:
    return "→ " + fit(raw, _PIECE_MAX - 2)


def _joined(pieces: Sequence[str], sep: str, unit: str) -> str:
    """Rendered pieces (each at most _PIECE_MAX) joined by ``sep`` within TEXT_MAX; the pieces that
    do not fit are counted in a note."""
    out = ""
    for index, piece in enumerate(pieces):
        more = len(pieces) - index - 1
        reserve = len(sep) + len(cut_note(more, unit)) if more else 0
        candidate = f"{out}{sep}{piece}" if out else piece
        if len(candidate) + reserve > TEXT_MAX:
            return f"{out}{sep}{cut_note(len(pieces) - index, unit)}"
        out = candidate
    return out


def _tail_parts(reply: Reply, *, show_request: bool, after_body: bool) -> list[_Part]:
    """Links, follow-ups and the request line, after a divider when a body comes before them."""
    parts: list[_Part] = []
    links = [_link(raw) for raw in reply.links if raw.strip()]
    if links:
        parts.append(_part(context(_joined(links, "  ·  ", "links"))))
    follow_ups = [_follow_up(raw) for raw in reply.follow_ups if raw.strip()]
    if follow_ups:
        parts.append(_part(context(_joined(follow_ups, "\n", "follow-ups"))))
    if show_request and reply.request_id is not None:
        state = f" · {escape_mrkdwn(reply.state)}" if reply.state else ""
        parts.append(_part(context(fit(f"Request {reply.request_id}", 200) + state)))
    if parts and after_body:
        parts.insert(0, _part(DividerBlock()))
    return parts


def _size(parts: Sequence[_Part]) -> int:
    return sum(part.size for part in parts)


def _label(reply: Reply, number: int, total: int) -> dict[str, Any]:
    """The first block of a continuation: which reply it continues."""
    title = reply.title if reply.title.strip() else "(no title)"
    text = f"*{fit(title, _CONTINUED_TITLE_MAX)}*, continued ({number}/{total})"
    return to_dicts([context(text)])[0]


def _joins(kind: str, texts: Sequence[str]) -> bool:
    """Whether ``texts`` fit one section: ten fields of all they hold, or one text within TEXT_MAX."""
    if kind == "fields":
        return len(texts) <= FIELDS_PER_SECTION and sum(map(len, texts)) <= _FIELDS_TEXT_MAX
    return len(_SEPARATOR[kind].join(texts)) <= TEXT_MAX


def _section(kind: str, texts: Sequence[str], counts: dict[str, int]) -> _Part:
    if kind == "fields":
        return _part(SectionBlock(fields=[mrkdwn(t) for t in texts]), **counts)
    return _part(SectionBlock(text=mrkdwn(_SEPARATOR[kind].join(texts))), **counts)


def _fill(queue: deque[_Item], blocks: int, text: int) -> list[_Part]:
    """Take items off ``queue``, in order, while they fit ``blocks`` blocks and ``text``
    characters; pieces of one kind flow into as few sections as hold them."""
    taken: list[_Part] = []
    used = 0
    kind = ""
    texts: list[str] = []
    counts: dict[str, int] = {}

    def close() -> None:
        nonlocal used, texts, counts
        if texts and (kind != "text" or "".join(texts).strip()):  # Slack refuses a blank one
            section = _section(kind, texts, counts)
            taken.append(section)
            used += section.size
        texts, counts = [], {}

    while queue:
        item = queue[0]
        if isinstance(item, _Piece) and item.kind == kind and texts:
            trial = [*texts, item.text]
            if _joins(kind, trial) and used + len(_SEPARATOR[kind].join(trial)) <= text:
                texts = trial
                for unit, count in item.counts.items():
                    counts[unit] = counts.get(unit, 0) + count
                queue.popleft()
                continue
        close()
        size = len(item.text) if isinstance(item, _Piece) else item.size
        if len(taken) >= blocks or used + size > text:
            break
        queue.popleft()
        if isinstance(item, _Piece):
            kind, texts, counts = item.kind, [item.text], dict(item.counts)
        else:
            taken.append(item)
            used += size
    close()
    return taken


def _left_out(items: Sequence[_Item]) -> str:
    """ "1,200 more characters, 3 more fields": what ``items`` would have shown."""
    totals: dict[str, int] = {}
    for item in items:
        for unit, count in item.counts.items():
            totals[unit] = totals.get(unit, 0) + count
    return ", ".join(f"{count:,} more {unit}" for unit, count in totals.items() if count)


def render_messages(
    reply: Reply,
    extra_tail: Sequence[Block] = (),
    *,
    show_request: bool = True,
    max_messages: int = MAX_MESSAGES,
    continued: str = "",
) -> list[Message]:
    """The reply as at most ``max_messages`` messages, each within Slack's limits: the title, the
    text (as many sections as it needs), the checks, the fields, then links, follow-ups and the
    request line. ``extra_tail`` (an approval's buttons, a notice's context line) ends the first
    message, and the body gives way to it; a first message with more after it says so with
    ``continued`` ("in the thread"), when given. What does not fit in ``max_messages`` is counted in a
    note at the end of the last one."""
    title = _part(title_block(reply))
    content: list[_Item] = [
        *_text_pieces(reply.text),
        *_check_pieces(reply.checks),
        *(_Piece("fields", _field_text(f), {"fields": 1}) for f in reply.fields),
    ]
    tail = _tail_parts(
        reply, show_request=show_request, after_body=bool(reply.checks or reply.fields)
    )
    extra = [_part(block) for block in extra_tail]
    queue: deque[_Item] = deque(content)
    bodies: list[list[_Part]] = []
    while True:
        number = len(bodies) + 1
        is_last = number == max_messages
        fixed = [title, *extra] if number == 1 else [title]  # a label as big as the title, at most
        reserve = [*tail] if is_last else []
        room_blocks = MAX_BLOCKS - len(fixed) - len(reserve) - 1
        room_text = MESSAGE_TEXT_BUDGET - _size(fixed) - _size(reserve) - _NOTE_RESERVE
        body = _fill(queue, room_blocks, room_text)
        if not queue:
            left_blocks = room_blocks + 1 + len(reserve) - len(body)
            left_text = room_text + _NOTE_RESERVE + _size(reserve) - _size(body)
            if is_last or (len(tail) <= left_blocks and _size(tail) <= left_text):
                bodies.append([*body, *tail])
            else:
                bodies += [body, tail]
            break
        if is_last or not body:  # out of messages, or a part no message can hold
            why = (
                "the message would exceed Slack's limits"
                if max_messages == 1
                else f"the reply would take more than {max_messages} messages"
            )
            note = _part(context(f"… (truncated, {_left_out(queue)}; {why})"))
            bodies.append([*body, note, *tail])
            break
        bodies.append(body)
    total = len(bodies)
    messages: list[Message] = []
    for number, body in enumerate(bodies, start=1):
        if number == 1:
            after: list[_Part] = []
            if total > 1 and continued:
                more = f"… (continued {continued}: {total - 1} more message(s))"
                after = [_part(context(more))]
            blocks = [title.block, *(p.block for p in body), *(p.block for p in after)]
            blocks += [p.block for p in extra]
            text = reply_text(reply)
        else:
            blocks = [_label(reply, number, total), *(p.block for p in body)]
            text = fit(f"{reply.title} (continued {number}/{total})", FALLBACK_TEXT_MAX)
        problems = limit_violations(blocks)
        if problems:
            # A bug in this module, not in the content: show something valid rather than nothing.
            logger.error("rendered blocks break Slack's limits: %s", "; ".join(problems[:5]))
            blocks = to_dicts([title_block(reply), context("(the rest could not be shown)")])
        messages.append(Message(text, blocks))
    return messages


def render_reply(
    reply: Reply, extra_tail: Sequence[Block], *, show_request: bool
) -> list[dict[str, Any]]:
    """The reply as one message, ``extra_tail`` (an approval's buttons, a notice's context line)
    kept at its end; when the whole will not fit, the body gives way, with a note, never the tail."""
    return render_messages(reply, extra_tail, show_request=show_request, max_messages=1)[0].blocks


def reply_messages(reply: Reply) -> list[Message]:
    """The reply as the messages it takes (at most ``MAX_MESSAGES``), each within Slack's limits."""
    return render_messages(reply)


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The Block Kit of a reply as one message: a title with a severity marker, the text, the
    checks, the fields, then links, follow-ups and the request id as context; what does not fit
    one message is counted in a note. Always valid for ``chat.postMessage``."""
    return render_reply(reply, (), show_request=True)


def reply_text(reply: Reply) -> str:
    """The top-level ``text`` sent with the blocks: what notifications and screen readers show."""
    title = reply.title if reply.title.strip() else "(no title)"
    raw = f"{title}\n{reply.text}" if reply.text.strip() else title
    return fit(raw, FALLBACK_TEXT_MAX)
