"""The bounded executor on real threads: busy and closing refusals, draining within the grace period,
cancellation at its end, and the work that never started being handed back to its asker."""

from __future__ import annotations

import functools
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


def test_one_owner_gets_at_most_its_share() -> None:
    """Past ``per_owner`` pieces queued or running, an owner is refused OWNER_BUSY while others are
    still accepted; once one of its pieces ends, it is accepted again."""
    executor = Executor(workers=2, limit=8, per_owner=2)
    release = threading.Event()
    first_done = threading.Event()
    assert executor.submit(first_done.wait, label="a1", owner="A") is Admission.ACCEPTED
    assert executor.submit(release.wait, label="a2", owner="A") is Admission.ACCEPTED
    assert executor.submit(release.wait, label="a3", owner="A") is Admission.OWNER_BUSY
    assert executor.submit(release.wait, label="b1", owner="B") is Admission.ACCEPTED
    first_done.set()
    wait_until(lambda: "a1" not in executor.in_flight())
    assert executor.submit(release.wait, label="a4", owner="A") is Admission.ACCEPTED
    release.set()
    assert executor.drain(5) == []


def test_urgent_work_passes_a_full_queue_and_busy_workers() -> None:
    """With every ordinary thread busy and the queue full, urgent work is still accepted and runs
    at once on the reserved worker, before the ordinary work queued ahead of it."""
    executor = Executor(workers=3, limit=4, reserved=1)
    release = threading.Event()
    order: list[str] = []
    for index in range(2):
        executor.submit(release.wait, label=f"running {index}")
    for name in ("queued 0", "queued 1"):
        executor.submit(functools.partial(order.append, name), label=name)
    assert executor.submit(lambda: None, label="one too many") is Admission.BUSY

    clicked = threading.Event()
    assert executor.submit(clicked.set, label="approve", urgent=True) is Admission.ACCEPTED
    assert clicked.wait(5)
    assert order == []  # the two ordinary threads are still busy: nothing queued has started
    release.set()
    assert executor.drain(5) == []
    assert order == ["queued 0", "queued 1"]


def test_urgent_work_has_its_own_limit() -> None:
    """Urgent work is refused BUSY past ``urgent_limit`` queued, whatever the ordinary queue holds."""
    executor = Executor(workers=1, limit=8, urgent_limit=1)
    release = threading.Event()
    running = threading.Event()

    def run() -> None:
        running.set()
        release.wait()

    executor.submit(run, label="running", urgent=True)
    assert running.wait(5)
    started = threading.Event()
    assert executor.submit(started.set, label="queued", urgent=True) is Admission.ACCEPTED
    assert executor.submit(lambda: None, label="over", urgent=True) is Admission.BUSY
    assert executor.submit(lambda: None, label="ordinary") is Admission.ACCEPTED
    release.set()
    assert executor.drain(5) == []
    assert started.is_set()
