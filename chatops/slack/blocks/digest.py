"""A digest (several notices queued while a channel was busy) as one compact Block Kit message.

Order and severity are the notify side's (``Digest.listed``: critical first); this only draws them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice
from chatops.severity import Severity
from chatops.slack.blocks.limits import TEXT_MAX, block_text_size, limit_violations
from chatops.slack.blocks.mrkdwn import fit_mrkdwn

__all__ = ["DIGEST_TEXT_BUDGET", "LINE_MAX", "digest_blocks", "digest_text"]

logger = logging.getLogger(__name__)

LINE_MAX = 180  # one notice's line, escaped (a title is usually well under 100 characters)
# All the text of a digest's blocks stays under this, below a message's MESSAGE_TEXT_MAX.
DIGEST_TEXT_BUDGET = 10_000
_NOTIFICATION_MAX = 300

_MARK: dict[Severity, str] = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":small_blue_diamond:",
}
_HEAD_MARK: dict[Severity, str] = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}


def _clock(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%H:%M:%S")


def _line(notice: Notice) -> str:
    """``<mark> `12:00:05` Title — first line of the text``: what the notice is, at a glance."""
    raw = notice.title
    first = notice.text.strip().splitlines()[0] if notice.text.strip() else ""
    if first:
        raw = f"{raw} — {first}"
    prefix = f"{_MARK[notice.severity]} `{_clock(notice.at_s)}` "
    return prefix + fit_mrkdwn(raw, LINE_MAX - len(prefix))


def _sections(heading: str, lines: Sequence[str]) -> list[Block]:
    """The lines packed into as few sections as fit (3,000 characters each), heading first."""
    out: list[Block] = []
    current = heading
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > TEXT_MAX:
            out.append(SectionBlock(text=MarkdownTextObject(text=current)))
            current = line
        else:
            current = candidate
    if current:
        out.append(SectionBlock(text=MarkdownTextObject(text=current)))
    return out


def _span(notices: Sequence[Notice]) -> str:
    first = min(n.at_s for n in notices)
    last = max(n.at_s for n in notices)
    day = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d")
    if first == last:
        return f"{day} {_clock(first)} UTC"
    return f"{day} {_clock(first)} to {_clock(last)} UTC"


def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The Block Kit of a digest: a head line (count, time span, critical count), the critical
    notices under their own heading, then the others by time, one line each, and a context line
    saying why they share a message. Always valid for ``chat.postMessage`` and within
    ``DIGEST_TEXT_BUDGET``; every notice string is escaped before our own markup is added."""
    notices = digest.notices
    critical = digest.critical
    rest = digest.listed[len(critical) :]
    head = f"{_HEAD_MARK[digest.severity]} *{len(notices)} notices* · {_span(notices)}"
    if critical:
        head += f" · *{len(critical)} critical, listed first*"
    subjects = sorted({n.subject for n in notices})
    about = ", ".join(subjects[:3]) + (
        f" and {len(subjects) - 3} more" if len(subjects) > 3 else ""
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    if critical:
        blocks += _sections("*Critical*", [_line(n) for n in critical])
        if rest:
            blocks += _sections("*Then, by time*", [_line(n) for n in rest])
    else:
        blocks += _sections("", [_line(n) for n in rest])
    note = (
        f"{len(notices)} notices about {fit_mrkdwn(about, 300)} in one message: they were queued "
        "while this channel was busy (Slack takes one message per second per channel)."
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    rendered = [block.to_dict() for block in blocks]
    problems = limit_violations(rendered)
    size = block_text_size(rendered)
    if problems or size > DIGEST_TEXT_BUDGET:
        # A bug in this module, not in the content (every line is cut to LINE_MAX): show the head
        # rather than nothing; the notification text and the metadata still list the notices.
        logger.error("digest %s breaks Slack's limits: %s", digest.id, problems[:5] or size)
        return [
            SectionBlock(text=MarkdownTextObject(text=head)).to_dict(),
            ContextBlock(
                elements=[MarkdownTextObject(text="(the lines could not be shown)")]
            ).to_dict(),
        ]
    return rendered


def digest_text(digest: Digest) -> str:
    """The top-level ``text`` (notifications, screen readers): the critical ones first."""
    critical = digest.critical
    count = len(digest.notices)
    if critical:
        raw = f"{len(critical)} critical: {critical[0].title} (in a digest of {count} notices)"
    else:
        listed = digest.listed
        raw = f"{count} notices: {listed[0].title} … {listed[-1].title}"
    return fit_mrkdwn(raw, _NOTIFICATION_MAX)
