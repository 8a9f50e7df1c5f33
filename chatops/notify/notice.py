"""The transport-neutral ``Notice``: one thing to tell a channel (event, alert, digest, command, approval).

Knows nothing of Slack; ``chatops/slack/blocks/notice.py`` renders it as Block Kit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from chatops.severity import Severity

__all__ = ["Notice", "NoticeKind"]

NoticeKind = Literal[
    "event", "alert", "alert-resolved", "digest", "command", "approval", "incident"
]


class Notice(BaseModel):
    """One message for a channel.

    ``id`` is the stable dedupe key (``event:<type>:<creation_number>:<seq>``,
    ``alert:<name>:<subject>:raised:<n>``): the outbox posts each (id, target) once.
    ``subject`` is the routing key (``lottery:4``, ``asset:1``, ``vrf-deposit``, ``bot:0x..``,
    ``partner:0x..``, ``dual-write:4``, ``global``) that joins notices into one incident.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: NoticeKind
    subject: str
    severity: Severity
    title: str
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()
    at_s: int
    event_type: str | None = None
