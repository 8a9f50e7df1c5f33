"""A ``Reply`` as Block Kit within Slack's limits: over-long content is cut with a visible note, never
dropped silently or raised. The console's twin is ``chatops/console/render.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, SectionBlock

from chatops.slack.blocks.limits import (
    FIELD_TEXT_MAX,
    FIELDS_PER_SECTION,
    MAX_BLOCKS,
    TEXT_MAX,
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
    "SEVERITY_MARKER",
    "render_reply",
    "reply_blocks",
    "reply_text",
    "title_block",
]

logger = logging.getLogger(__name__)

# Our own budgets inside Slack's: a long text spans a few sections, labels stay short.
_TEXT_SECTIONS_MAX = 4
_LABEL_MAX = 200
_CHECK_LINE_MAX = 1000
FALLBACK_TEXT_MAX = 3000  # the top-level ``text`` sent with the blocks
_PIECE_MAX = TEXT_MAX // 2

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
    """A block and how many fields/checks it carries, so a cut can say what it left out."""

    block: Block
    counts: dict[str, int] = field(default_factory=dict)


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
    chunks.append(fit(rest, TEXT_MAX))
    return [SectionBlock(text=mrkdwn(chunk)) for chunk in chunks if chunk.strip()]


def _check_line(check: Check) -> str:
    if check.ok:
        prefix = ":white_check_mark: ok "
        raw = f"{check.name} ({check.seen})" if check.seen else check.name
    else:
        prefix = ":x: *FAILED* "
        raw = f"{check.name} (seen {check.seen or '?'}, required {check.required or '?'})"
    return prefix + fit(raw or "-", _CHECK_LINE_MAX - len(prefix))


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
        _Part(SectionBlock(text=mrkdwn(chunk)), {"checks": count})
        for chunk, count in _pack(lines, TEXT_MAX, first=summary)
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


def _field_parts(fields: Sequence[Field]) -> list[_Part]:
    texts = [_field_text(f) for f in fields]
    return [
        _Part(
            SectionBlock(fields=[mrkdwn(t) for t in texts[i : i + FIELDS_PER_SECTION]]),
            {"fields": len(texts[i : i + FIELDS_PER_SECTION])},
        )
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


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


def _tail_blocks(reply: Reply) -> list[Block]:
    blocks: list[Block] = []
    links = [_link(raw) for raw in reply.links if raw.strip()]
    if links:
        blocks.append(context(_joined(links, "  ·  ", "links")))
    follow_ups = [_follow_up(raw) for raw in reply.follow_ups if raw.strip()]
    if follow_ups:
        blocks.append(context(_joined(follow_ups, "\n", "follow-ups")))
    return blocks


def _request_block(reply: Reply) -> ContextBlock | None:
    if reply.request_id is None:
        return None
    state = f" · {escape_mrkdwn(reply.state)}" if reply.state else ""
    return context(fit(f"Request {reply.request_id}", 200) + state)


def render_reply(
    reply: Reply, extra_tail: Sequence[Block], *, show_request: bool
) -> list[dict[str, Any]]:
    """The reply's blocks with ``extra_tail`` (an approval's buttons, a notice's context line) kept
    at the end; when the whole will not fit in one message, the body gives way, never the tail."""
    head: list[Block] = [title_block(reply)]
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
        note = _Part(context(f"… (truncated, {detail}; the message would exceed Slack's limits)"))
        body = [*kept_checks, *_field_parts(reply.fields[:shown_fields]), note]
    blocks = to_dicts([*head, *(p.block for p in body), *tail])
    problems = limit_violations(blocks)
    if problems:
        # A bug in this module, not in the content: show something valid rather than nothing.
        logger.error("rendered blocks break Slack's limits: %s", "; ".join(problems[:5]))
        return to_dicts([title_block(reply), context("(the rest could not be shown)")])
    return blocks


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The Block Kit of a reply: a title with a severity marker, the text, the checks, the fields
    (ten per section), then links, follow-ups and the request id as context. Always valid for
    ``chat.postMessage``: at most 50 blocks, every text within Slack's limits."""
    return render_reply(reply, (), show_request=True)


def reply_text(reply: Reply) -> str:
    """The top-level ``text`` sent with the blocks: what notifications and screen readers show."""
    title = reply.title if reply.title.strip() else "(no title)"
    raw = f"{title}\n{reply.text}" if reply.text.strip() else title
    return fit(raw, FALLBACK_TEXT_MAX)
