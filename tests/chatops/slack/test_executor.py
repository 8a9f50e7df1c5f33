"""The bounded executor on real threads: busy and closing refusals, draining within the grace period,
cancellation at its end, and the work that never started being handed back to its asker."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from chatops.slack.executor import Admission, Executor
from tests.conftest import wait_until


def test_a_full_executor_answers_busy_and_a_closed_one_closing() -> None:
    """Beyond its limit the executor refuses with BUSY; once closed, with CLOSING, even when empty."""
    executor = Executor(workers=1, limit=2)
    release = threading.Event()
    assert executor.submit(release.wait, label="a") is Admission.ACCEPTED
    assert executor.submit(release.wait, label="b") is Admission.ACCEPTED
    assert executor.submit(release.wait, label="c") is Admission.BUSY
    release.set()
    wait_until(lambda: executor.in_flight() == [])
    executor.close()
    assert executor.is_closing
    assert executor.submit(lambda: None, label="d") is Admission.CLOSING
    assert executor.drain(1) == []


def test_drain_waits_for_work_in_flight_and_queued() -> None:
    """Work running and queued when the drain starts all runs to the end before drain returns."""
    executor = Executor(workers=1, limit=4)
    done: list[str] = []

    def slow(name: str) -> None:
        time.sleep(0.3)
        done.append(name)

    executor.submit(lambda: slow("first"), label="first")
    executor.submit(lambda: slow("second"), label="second")
    left = executor.drain(10)

    assert left == []
    assert done == ["first", "second"]
    assert not executor.cancel.is_set()


def test_workers_run_side_by_side_up_to_their_number() -> None:
    """Three pieces of work on three workers run at the same time (none waits in the queue)."""
    executor = Executor(workers=3, limit=8)
    started = threading.Barrier(3, timeout=5)
    for index in range(3):
        executor.submit(started.wait, label=str(index))
    assert executor.drain(10) == []
    assert not started.broken


def test_grace_running_out_cancels_drops_queued_work_and_names_what_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the grace period runs out, ``cancel`` is set, work that never started is handed to its
    ``on_dropped`` instead of running, and the work still running is returned and logged."""
    caplog.set_level(logging.WARNING, logger="chatops.slack.executor")
    executor = Executor(workers=1, limit=4)
    stuck = threading.Event()
    ran: list[str] = []
    dropped: list[str] = []
    executor.submit(stuck.wait, label="/payouts run (by U1)")
    wait_until(lambda: executor.in_flight() == ["/payouts run (by U1)"])
    executor.submit(
        lambda: ran.append("queued"),
        label="/feed show (by U2)",
        on_dropped=lambda: dropped.append("U2"),
    )

    started = time.monotonic()
    left = executor.drain(1.0)
    elapsed = time.monotonic() - started
    stuck.set()

    assert executor.cancel.is_set()
    assert [u.label for u in left] == ["/payouts run (by U1)"]
    assert left[0].running_s >= 1.0
    assert 1.0 <= elapsed < 3.0
    assert dropped == ["U2"]
    assert ran == []
    assert "still running: /payouts run (by U1)" in caplog.text


def test_work_that_heeds_cancel_stops_inside_the_grace_period() -> None:
    """A loop that checks ``cancel`` between its steps stops in the cancellation window, so drain
    returns with nothing left running."""
    executor = Executor(workers=1, limit=2)
    steps: list[int] = []

    def procedure() -> None:
        for step in range(1000):
            if executor.cancel.is_set():
                return
            steps.append(step)
            time.sleep(0.05)

    executor.submit(procedure, label="procedure")
    left = executor.drain(1.5)

    assert left == []
    assert executor.cancel.is_set()
    assert 0 < len(steps) < 1000
