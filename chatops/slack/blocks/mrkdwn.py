"""Untrusted text made inert in mrkdwn and cut to fit, plus the small text objects every renderer uses.

Our own markup (bold, code spans, emoji, mentions of ids we trust) is added only after escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from chatops.slack.blocks.limits import TEXT_MAX

__all__ = [
    "HEX",
    "clip_plain",
    "code_span",
    "context",
    "cut_note",
    "escape_mrkdwn",
    "fit",
    "fit_mrkdwn",
    "hex_as_code",
    "mrkdwn",
    "person",
]

_ZWJ = "\u200d"
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone))", re.IGNORECASE)
HEX = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_USER_ID = re.compile(r"[UW](?=[A-Z]*[0-9])[A-Z0-9]{6,20}")  # U0123ABCD; not a word like "WARNING"


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text inert in mrkdwn: ``& < >`` become entities (so no ``<@U…>``,
    ``<!channel>``, ``<!here>`` or ``<url|label>`` can form) and ``@here``/``@channel``/``@everyone``
    get a zero-width joiner after the ``@`` so they read the same but never notify anyone."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _ZWJ, escaped)


def cut_note(more: int, unit: str) -> str:
    """What a cut says it left out."""
    return f"… (truncated, {more} more {unit})"


def fit(
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
        if len(render(raw[:mid]) + cut_note(len(raw) - mid, unit)) <= limit:
            low = mid
        else:
            high = mid - 1
    out = render(raw[:low]) + cut_note(len(raw) - low, unit)
    # Only a limit shorter than the note itself gets here; we never pass one for mrkdwn text.
    return out if len(out) <= limit else out[:limit]


def fit_mrkdwn(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` escaped and, if longer than ``limit``, cut with a visible "… (truncated, N more
    characters)" note; the cut never splits an entity."""
    return fit(text, limit)


def clip_plain(text: str, limit: int) -> str:
    """plain_text is shown as typed (no mrkdwn, no mentions): only its length needs care."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code_span(raw: str) -> str:
    """A code span of untrusted text; a backtick inside would close it early, so it is swapped."""
    return "`" + escape_mrkdwn(raw.replace("`", "'")) + "`"


def hex_as_code(raw: str) -> str:
    """Escaped text whose hex strings (addresses, hashes) are code spans."""
    return HEX.sub(lambda m: f"`{m.group(0)}`", escape_mrkdwn(raw))


def person(user: str) -> str:
    """A Slack user id we got from Slack becomes a mention; anything else is shown as text."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape_mrkdwn(user)


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(text)])
