"""Ports of the notify package: where notices go (``Sink``, ``PageSink``), how they reach a chat
(``Poster``, ``PostFinder``, ``ThreadLookup``) and the poster's errors. Implemented outside;
nothing here imports Slack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice

if TYPE_CHECKING:
    from redis.client import Pipeline

__all__ = [
    "PageSink",
    "PostFinder",
    "Poster",
    "PosterError",
    "PosterRateLimitedError",
    "PosterUnavailableError",
    "Sink",
    "ThreadLookup",
]


class PosterError(Exception):
    """The chat refused the message for good (e.g. channel_not_found); ``error`` is its code.

    The errors are siblings on purpose: neither a rate limit (``PosterRateLimitedError``: nothing
    was posted, retry after ``retry_after_s``) nor an outage (``PosterUnavailableError``: 5xx,
    timeout, connection; unknown whether it was posted) is a permanent failure like this one.
    """

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class PosterRateLimitedError(Exception):
    """The chat asked to wait ``retry_after_s`` seconds before the next call (HTTP 429)."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"Rate limited; retry after {retry_after_s:g} s.")
        self.retry_after_s = retry_after_s


class PosterUnavailableError(Exception):
    """The chat did not answer usably (5xx, timeout, connection); the message may or may not exist."""


class Poster(Protocol):
    """Posts and edits messages in a chat: one notice per message, or a ``Digest`` of several.

    Implemented by ``chatops/slack/web/outbox_poster.py`` (and test doubles).
    """

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        """Post ``notice`` (in the thread of ``thread_ts`` if given); return the message ts.

        Raises:
            PosterRateLimitedError: retry later, nothing was posted.
            PosterError: permanent failure.
        """
        ...

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        """Post ``digest`` as ONE message (in the thread of ``thread_ts`` if given): one line per
        notice, in ``digest.listed`` order, carrying ``digest.id`` so ``PostFinder.find_digest``
        can find it after a crash; return the message ts. Raises as ``post`` does, for the whole
        digest: either every notice of it is in the message or none is.
        """
        ...

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        """Replace the message ``ts`` in ``channel`` with ``notice``.

        Raises:
            PosterRateLimitedError: retry later, nothing was changed.
            PosterError: permanent failure (e.g. unknown ts).
        """
        ...


class Sink(Protocol):
    """Where the watcher and the monitors hand a notice on (the incident tracker, over the outbox).

    The incident tracker implements it (and ``PageSink``) on top of the outbox.
    """

    def emit(self, notice: Notice, *, channel: str) -> None: ...


@runtime_checkable
class PageSink(Protocol):
    """Optional for a ``Sink``: hand on a page of notices inside the caller's Redis transaction.

    The watcher queues the commit of those events on the same transaction, so a page's hand-off and
    its commit happen together or not at all (and not at all under a stale fence).
    """

    def emit_page(self, notices: Sequence[tuple[Notice, str]], tx: Pipeline) -> int:
        """Queue on ``tx`` the writes that hand on a prefix of ``notices`` (``(notice, channel)``
        pairs, in order) and return its length. Reads may go straight to Redis; writes only on
        ``tx``. A notice whose hand-off needs a round trip of its own ends the prefix: the caller
        then hands it on with ``emit``."""
        ...


@runtime_checkable
class PostFinder(Protocol):
    """Optional for a ``Poster``: find a message it posted for ``notice`` (by ``notice.id``) or for
    a digest (by ``digest.id``).

    The outbox asks this after a crash between a post and its record, so an in-doubt item (or every
    item of an in-doubt digest) is recorded instead of posted twice. A poster without it makes such
    items at-least-once.
    """

    def find_posted(self, channel: str, notice: Notice, thread_ts: str | None) -> str | None:
        """The ts of the message posted for ``notice`` in ``channel`` (or that thread), if any."""
        ...

    def find_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str | None:
        """The ts of the message posted for ``digest`` in ``channel`` (or that thread), if any."""
        ...


class ThreadLookup(Protocol):
    """Where an incident's thread lives (implemented by the incident store).

    The outbox resolves ``thread_of``/``update_of`` (an incident id) through ``thread_ts`` and, once
    it has posted an incident's parent message, writes its ts back through ``set_thread``.
    """

    def thread_ts(self, incident_id: str) -> tuple[str, str] | None:
        """``(channel, ts)`` of the incident's parent message, or None while it is not posted."""
        ...

    def set_thread(self, incident_id: str, channel: str, ts: str) -> None: ...
