"""Coalescing: several queued notices for one place (a channel, or one incident's thread) as one
chat message, so a flood drains at 1 message/s per channel, not 1 notice/s. Knows nothing of
Slack."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chatops.notify.notice import Notice, NoticeKind
from chatops.severity import Severity

__all__ = [
    "DEFAULT_DIGEST_ITEMS",
    "FOLDABLE_KINDS",
    "MAX_DIGEST_ITEMS",
    "Digest",
    "digest_id",
    "is_foldable",
]

# One line per notice: 20 lines is about 4,000 characters of Block Kit in 3 sections; the ceiling
# (40 lines, at most 8,000 characters of lines) stays far below Slack's 50 blocks, its 40,000
# characters of text and the ~13,000 characters of blocks at which chat.postMessage answers
# msg_blocks_too_long.
DEFAULT_DIGEST_ITEMS = 20
MAX_DIGEST_ITEMS = 40
FOLDABLE_KINDS: frozenset[NoticeKind] = frozenset({"event", "digest"})

_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


def is_foldable(notice: Notice) -> bool:
    """May this notice share a message with others.

    Only machine-made notices that come in floods fold: chain events and the watcher's digests
    (``FOLDABLE_KINDS``). Alerts and their resolutions, incident notes and state changes, command
    results and approvals are each posted alone, in their place in the queue: they are few by
    construction, and each one asks a person for something. A digest the chat refuses for good is
    not the end of its notices: nothing was posted, so each goes again alone (marked so, never
    folded again), and only a notice refused alone is failed.
    """
    return notice.kind in FOLDABLE_KINDS


def digest_id(item_ids: Sequence[str]) -> str:
    """The identity of a digest: a function of its items (in order), so a retry of the same digest
    carries the same id and the post-crash lookup finds the message whoever posted it."""
    raw = "\x1f".join(item_ids).encode()
    return "digest:" + hashlib.sha256(raw).hexdigest()[:24]


@dataclass(frozen=True)
class Digest:
    """Notices posted as one message; ``notices`` in queue order (what the message metadata lists).

    Not to be confused with the watcher's ``kind="digest"`` notice (one notice summing up a sales
    period), which may itself be a line of a ``Digest``. The outbox builds digests and a ``Poster``
    renders them (``chatops/slack/blocks/digest.py`` for Slack).

    A digest lists its critical notices first (by time, each marked), then the others by time; its
    notification text leads with the critical count and the first critical title. A critical event
    in a flood (an ``AutomationErrorEvent`` loop is critical *and* the flood) is therefore the first
    thing the operator reads, never a line in the middle. Posting each critical event alone would
    bring the 1 notice/s drain back in exactly the storm this exists for.
    """

    id: str
    notices: tuple[Notice, ...]

    def __post_init__(self) -> None:
        if not self.notices:
            raise ValueError("a digest holds at least one notice")
        if len(self.notices) > MAX_DIGEST_ITEMS:
            raise ValueError(f"a digest holds at most {MAX_DIGEST_ITEMS} notices")

    @property
    def critical(self) -> tuple[Notice, ...]:
        """The critical notices, by time: listed first, whatever their place in the queue."""
        return _by_time(n for n in self.notices if n.severity == "critical")

    @property
    def listed(self) -> tuple[Notice, ...]:
        """The order the message shows: critical notices first, then the rest; each part by time."""
        rest = _by_time(n for n in self.notices if n.severity != "critical")
        return self.critical + rest

    @property
    def severity(self) -> Severity:
        """The highest severity of its notices (the message's marker)."""
        return max((n.severity for n in self.notices), key=_RANK.__getitem__)


def _by_time(notices: Iterable[Notice]) -> tuple[Notice, ...]:
    # sorted() is stable: notices of the same second keep their queue order.
    return tuple(sorted(notices, key=lambda n: n.at_s))
