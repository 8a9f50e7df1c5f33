"""The Slack adapter's bounded executor: acks never wait for it, a full queue is refused ("busy"), clicks
pass floods, one person gets a share, and at shutdown it finishes what it took within a grace period.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter, deque
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
    OWNER_BUSY = "owner-busy"  # the asker has as much queued or running as one person may
    CLOSING = "closing"  # shutting down: refuse, the asker retries once the bot is back


@dataclass
class _Work:
    label: str
    fn: Callable[[], object]
    on_dropped: Callable[[], None] | None
    owner: str | None = None
    is_urgent: bool = False
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

    Urgent work (an approver's click) has a queue of its own, of ``urgent_limit``, taken before any
    other; ordinary work never holds more than ``workers - reserved`` threads, so an urgent piece
    waits for no flood, only for the urgent work before it. ``per_owner`` caps what one owner (a
    person) has queued or running, so one person cannot take everyone's turn.

    ``cancel`` is set when the grace period is nearly over: work that takes it (the runner's
    ``cancel``) stops at its next safe point, e.g. between two transactions of a procedure.
    The workers are daemon threads, started as needed: once the grace period is over, work stuck
    in a call that never returns cannot hold the process (``concurrent.futures`` joins its
    workers at exit, however long they take).
    """

    def __init__(
        self,
        workers: int = 8,
        limit: int = 64,
        *,
        per_owner: int | None = None,
        reserved: int = 0,
        urgent_limit: int = 32,
    ) -> None:
        if not 0 <= reserved < workers:
            raise ValueError("reserved workers must leave at least one for ordinary work")
        self._workers = workers
        self._limit = limit
        self._per_owner = per_owner
        self._ordinary_threads = workers - reserved
        self._urgent_limit = urgent_limit
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)  # a piece of work ended
        self._queued = threading.Condition(self._lock)  # work to pick up, or stop
        self._work: dict[int, _Work] = {}
        self._queue: deque[int] = deque()
        self._urgent: deque[int] = deque()
        self._owners: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._ordinary = 0  # ordinary work queued or running
        self._ordinary_running = 0
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
        self,
        fn: Callable[[], object],
        *,
        label: str,
        on_dropped: Callable[[], None] | None = None,
        owner: str | None = None,
        urgent: bool = False,
    ) -> Admission:
        """Queue ``fn`` unless full (for its kind, or for its ``owner``) or closing.

        ``label`` names the work in the shutdown log (a command and its asker, no typed text);
        ``on_dropped`` runs instead of ``fn`` if the grace period runs out before ``fn`` started:
        the caller says there how to tell its asker, since the executor knows nothing of Slack.
        Constant work under one lock: an ack path may call it.
        """
        with self._lock:
            if self._is_closing:
                return Admission.CLOSING
            queue = self._urgent if urgent else self._queue
            if urgent and len(self._urgent) >= self._urgent_limit:
                return Admission.BUSY
            if not urgent and self._ordinary >= self._limit:
                return Admission.BUSY
            if owner is not None and self._per_owner is not None:
                if self._owners[owner] >= self._per_owner:
                    return Admission.OWNER_BUSY
                self._owners[owner] += 1
            work_id = next(self._ids)
            self._work[work_id] = _Work(label, fn, on_dropped, owner, urgent)
            queue.append(work_id)
            if not urgent:
                self._ordinary += 1
            self._queued.notify()
            # Each idle worker takes one piece of work: a new thread only for what is left over.
            if self._startable() > self._idle and self._threads < self._workers:
                self._threads += 1
                threading.Thread(target=self._serve, name="chatops-work", daemon=True).start()
        return Admission.ACCEPTED

    def _startable(self) -> int:
        """How many queued pieces a free worker may start now (lock held)."""
        room = max(0, self._ordinary_threads - self._ordinary_running)
        return len(self._urgent) + min(len(self._queue), room)

    def _pick(self) -> int | None:
        """The next piece a worker may start, urgent first (lock held)."""
        if self._urgent:
            return self._urgent.popleft()
        if self._queue and self._ordinary_running < self._ordinary_threads:
            self._ordinary_running += 1
            return self._queue.popleft()
        return None

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
                work_id = self._pick()
                while work_id is None and not self._is_stopped:
                    self._queued.wait()
                    work_id = self._pick()
                self._idle -= 1
                if work_id is None:
                    self._threads -= 1
                    return
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
                    self._forget(work_id)
                    if not work.is_urgent:
                        self._ordinary_running -= 1
                        self._queued.notify()  # ordinary work may wait for this thread's room
                    self._finished.notify_all()

    def _forget(self, work_id: int) -> _Work:
        """Remove a piece of work from the counts (lock held)."""
        work = self._work.pop(work_id)
        if not work.is_urgent:
            self._ordinary -= 1
        if work.owner is not None and self._per_owner is not None:
            self._owners[work.owner] -= 1
            if self._owners[work.owner] <= 0:
                del self._owners[work.owner]
        return work

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
            dropped = [self._forget(work_id) for work_id in (*self._urgent, *self._queue)]
            self._urgent.clear()
            self._queue.clear()
            self._finished.notify_all()
        for work in dropped:
            if work.on_dropped is None:
                continue
            try:
                work.on_dropped()
            except Exception:
                logger.exception("telling the asker failed", extra={"work": work.label})
