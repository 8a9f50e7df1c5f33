"""The Slack adapter's bounded executor: acks never wait for it, a full queue is refused ("busy"), and
at shutdown it finishes what it took within a grace period. It knows nothing of Slack.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

__all__ = ["CANCEL_WINDOW_S", "Admission", "Executor", "Unfinished"]

logger = logging.getLogger(__name__)

# The end of the grace period kept for cancellation: long enough for a procedure to stop between
# two transactions and answer, short enough to leave most of the grace period to finishing.
CANCEL_WINDOW_S = 5.0


class Admission(Enum):
    """What ``Executor.submit`` did with the work."""

    ACCEPTED = "accepted"
    BUSY = "busy"  # the queue is full: refuse, the asker may retry at once
    CLOSING = "closing"  # shutting down: refuse, the asker retries once the bot is back


@dataclass
class _Work:
    label: str
    fn: Callable[[], object]
    on_dropped: Callable[[], None] | None
    started_s: float | None = None  # monotonic, once a worker picked it up


@dataclass(frozen=True)
class Unfinished:
    """Work that was still running when the grace period ran out."""

    label: str
    running_s: float

    def __str__(self) -> str:
        return f"{self.label}, running for {self.running_s:.0f} s"


class Executor:
    """At most ``limit`` pieces of work queued or running, on up to ``workers`` threads.

    ``cancel`` is set when the grace period is nearly over: work that takes it (the runner's
    ``cancel``) stops at its next safe point, e.g. between two transactions of a procedure.
    The workers are daemon threads, started as needed: once the grace period is over, work stuck
    in a call that never returns cannot hold the process (``concurrent.futures`` joins its
    workers at exit, however long they take).
    """

    def __init__(self, workers: int = 8, limit: int = 64) -> None:
        self._workers = workers
        self._limit = limit
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)  # a piece of work ended
        self._queued = threading.Condition(self._lock)  # work to pick up, or stop
        self._work: dict[int, _Work] = {}
        self._queue: deque[int] = deque()
        self._ids = itertools.count(1)
        self._threads = 0
        self._idle = 0
        self._is_closing = False
        self._is_stopped = False
        self.cancel = threading.Event()

    @property
    def is_closing(self) -> bool:
        """True once ``close`` (or ``drain``) was called: nothing new is accepted."""
        with self._lock:
            return self._is_closing

    def submit(
        self, fn: Callable[[], object], *, label: str, on_dropped: Callable[[], None] | None = None
    ) -> Admission:
        """Queue ``fn`` unless full or closing.

        ``label`` names the work in the shutdown log (a command and its asker, no typed text);
        ``on_dropped`` runs instead of ``fn`` if the grace period runs out before ``fn`` started:
        the caller says there how to tell its asker, since the executor knows nothing of Slack.
        """
        with self._lock:
            if self._is_closing:
                return Admission.CLOSING
            if len(self._work) >= self._limit:
                return Admission.BUSY
            work_id = next(self._ids)
            self._work[work_id] = _Work(label, fn, on_dropped)
            self._queue.append(work_id)
            self._queued.notify()
            # Each idle worker takes one piece of work: a new thread only for what is left over.
            if len(self._queue) > self._idle and self._threads < self._workers:
                self._threads += 1
                threading.Thread(target=self._serve, name="chatops-work", daemon=True).start()
        return Admission.ACCEPTED

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
                while not self._queue and not self._is_stopped:
                    self._queued.wait()
                self._idle -= 1
                if not self._queue:
                    self._threads -= 1
                    return
                work_id = self._queue.popleft()
                work = self._work[work_id]
                work.started_s = time.monotonic()
            try:
                if not self.cancel.is_set():
                    work.fn()
                elif work.on_dropped is not None:  # taken, but the grace period ran out first
                    work.on_dropped()
            except Exception:
                logger.exception("background work failed", extra={"work": work.label})
            finally:
                with self._lock:
                    del self._work[work_id]
                    self._finished.notify_all()

    def close(self) -> None:
        """Stop taking work: from now on ``submit`` answers ``CLOSING``."""
        with self._lock:
            self._is_closing = True

    def in_flight(self) -> list[str]:
        """Labels of the work queued or running, oldest first."""
        with self._lock:
            return [work.label for work in self._work.values()]

    def drain(self, grace_s: float) -> list[Unfinished]:
        """Close, then wait for the work already taken, for at most ``grace_s`` seconds in all.

        The last part of the grace period (a fifth of it, at most ``CANCEL_WINDOW_S``) is for
        cancellation: ``cancel`` is set, so a procedure stops between transactions and its reply
        says what was sent, and work that never started is dropped (its ``on_dropped`` tells the
        asker). Returns what was still running when the grace period ran out, and logs it.
        """
        self.close()
        deadline_s = time.monotonic() + grace_s
        window_s = min(CANCEL_WINDOW_S, grace_s / 5)
        if not self._wait_idle(deadline_s - window_s):
            logger.warning(
                "shutdown: cancelling what is still running (%s)", "; ".join(self.in_flight())
            )
            self.cancel.set()
            self._drop_queued()
            self._wait_idle(deadline_s)
        now_s = time.monotonic()
        with self._lock:
            left = [
                Unfinished(work.label, now_s - work.started_s)
                for work in self._work.values()
                if work.started_s is not None
            ]
            self._is_stopped = True  # idle workers exit; a busy one exits after its work
            self._queued.notify_all()
        if left:
            logger.warning(
                "shutdown: the grace period (%.0f s) ran out; still running: %s",
                grace_s,
                "; ".join(str(u) for u in left),
            )
        return left

    def _wait_idle(self, until_s: float) -> bool:
        with self._lock:
            return self._finished.wait_for(
                lambda: not self._work, timeout=max(0.0, until_s - time.monotonic())
            )

    def _drop_queued(self) -> None:
        """Take back the work no worker has started, and tell each asker it was not run."""
        with self._lock:
            dropped = [self._work.pop(work_id) for work_id in self._queue]
            self._queue.clear()
            self._finished.notify_all()
        for work in dropped:
            if work.on_dropped is None:
                continue
            try:
                work.on_dropped()
            except Exception:
                logger.exception("telling the asker failed", extra={"work": work.label})
