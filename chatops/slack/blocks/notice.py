"""A notice (chatops.notify: an event, alert or incident message) as Block Kit, drawn as a reply is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chatops.notify.notice import Notice
from chatops.slack.blocks.mrkdwn import context, fit
from chatops.slack.blocks.reply import render_reply, reply_text
from commands.reply import Field, Reply, Tone

__all__ = ["notice_blocks", "notice_text"]

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
    tone = Tone.SUCCESS if notice.kind == "alert-resolved" else Tone.of(notice.severity)
    return Reply(
        title=notice.title,
        text=notice.text,
        tone=tone,
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
    line = " · ".join(fit(p, 200) for p in parts)
    if notice.severity == "critical" and notice.kind != "alert-resolved":
        line = ":rotating_light: *critical* · " + line
    return render_reply(_notice_reply(notice), [context(line)], show_request=False)


def notice_text(notice: Notice) -> str:
    """The top-level ``text`` of a notice message (notifications and screen readers)."""
    return reply_text(_notice_reply(notice))
