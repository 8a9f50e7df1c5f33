"""In-process doubles of the notify ports: a recording ``Poster`` (with scripted failures) and ``Sink``.

For tests of the watcher, the router and the outbox that need no HTTP; the Slack path is tested with
``SlackWebApiDouble`` and the real ``OutboxPoster``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice
from chatops.notify.ports import PosterError, PosterRateLimitedError, PosterUnavailableError

__all__ = ["Emitted", "Posted", "RecordingPoster", "RecordingSink"]


@dataclass(frozen=True)
class Posted:
    """One post, digest or update the poster accepted; ``at_s`` is ``time.monotonic()`` at the call.

    A digest (``op="digest"``) is one message: ``notice`` is its first notice in queue order and
    ``notices`` all of them; for a post or an update ``notices`` is ``(notice,)``.
    """

    op: str
    channel: str
    ts: str
    notice: Notice
    thread_ts: str | None
    at_s: float
    digest: Digest | None = None

    @property
    def notices(self) -> tuple[Notice, ...]:
        return self.digest.notices if self.digest is not None else (self.notice,)


class RecordingPoster:
    """A ``Poster`` (and ``PostFinder``) that keeps every message; failures are queued explicitly.

    ``fail_next("rate", retry_after_s=1)`` answers the next call with ``PosterRateLimitedError``;
    ``"down"`` with ``PosterUnavailableError`` (after posting when ``posted=True``: the in-doubt case),
    ``"refuse"`` with ``PosterError``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._failures: deque[tuple[str, float, bool]] = deque()
        self.calls: list[Posted] = []
        self.messages: dict[str, list[Posted]] = {}

    def fail_next(
        self, kind: str, *, retry_after_s: float = 1.0, times: int = 1, posted: bool = False
    ) -> None:
        if kind not in ("rate", "down", "refuse"):
            raise ValueError(f"unknown failure {kind!r}")
        with self._lock:
            self._failures.extend([(kind, retry_after_s, posted)] * times)

    def _failure(self) -> tuple[str, float, bool] | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        return self._post(channel, notice, thread_ts, None)

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        return self._post(channel, digest.notices[0], thread_ts, digest)

    def _post(
        self, channel: str, notice: Notice, thread_ts: str | None, digest: Digest | None
    ) -> str:
        failure = self._failure()
        if failure is not None and not failure[2]:
            _raise(failure)
        with self._lock:
            ts = f"{1_700_000_000 + next(self._counter)}.000100"
            op = "post" if digest is None else "digest"
            entry = Posted(op, channel, ts, notice, thread_ts, time.monotonic(), digest)
            self.calls.append(entry)
            self.messages.setdefault(channel, []).append(entry)
        if failure is not None:
            _raise(failure)
        return ts

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        failure = self._failure()
        if failure is not None:
            _raise(failure)
        with self._lock:
            found = [m for m in self.messages.get(channel, []) if m.ts == ts]
            if not found:
                raise PosterError("message_not_found", error="message_not_found")
            entry = Posted("update", channel, ts, notice, found[0].thread_ts, time.monotonic())
            self.calls.append(entry)
            box = self.messages[channel]
            box[box.index(found[0])] = entry

    def find_posted(self, channel: str, notice: Notice, thread_ts: str | None) -> str | None:
        with self._lock:
            for message in self.messages.get(channel, []):
                if (
                    message.digest is None
                    and message.notice.id == notice.id
                    and message.thread_ts == thread_ts
                ):
                    return message.ts
        return None

    def find_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str | None:
        with self._lock:
            for message in self.messages.get(channel, []):
                if (
                    message.digest is not None
                    and message.digest.id == digest.id
                    and message.thread_ts == thread_ts
                ):
                    return message.ts
        return None

    def posts(self, channel: str | None = None) -> list[Posted]:
        """The messages posted (single notices and digests), oldest first."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.op in ("post", "digest") and (channel is None or c.channel == channel)
            ]

    def notices(self, channel: str | None = None) -> list[Notice]:
        """Every notice posted, in message order (a digest's in queue order)."""
        return [notice for message in self.posts(channel) for notice in message.notices]


def _raise(failure: tuple[str, float, bool]) -> None:
    kind, retry_after_s, _posted = failure
    if kind == "rate":
        raise PosterRateLimitedError(retry_after_s)
    if kind == "down":
        raise PosterUnavailableError("service_unavailable")
    raise PosterError("channel_not_found", error="channel_not_found")


@dataclass(frozen=True)
class Emitted:
    notice: Notice
    channel: str


class RecordingSink:
    """A ``Sink`` that keeps what it was handed, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.emitted: list[Emitted] = []

    def emit(self, notice: Notice, *, channel: str) -> None:
        with self._lock:
            self.emitted.append(Emitted(notice, channel))

    def notices(self) -> list[Notice]:
        with self._lock:
            return [e.notice for e in self.emitted]
