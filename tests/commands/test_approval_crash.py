"""A worker killed with SIGKILL mid-execution: its lease runs out, the sweeper flags the request, and
/ops reconcile settles it from the devnet by sender and sequence number without ever resending."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from approvals.models import Status
from chatops.approval_flow import ApprovalFlow
from chatops.chain.signer import LocalKeySigner
from tests.commands.harness import Harness
from tests.conftest import REPO_ROOT, wait_until

LEASE_MS = 300


def _sent(ops: Harness) -> list[str]:
    """Hashes of every committed set_fallback transaction on the devnet."""
    return [
        h
        for h, tx in ops.server.ledger.transactions.items()
        if tx.function is not None and tx.function.endswith("::price_feed::set_fallback")
    ]


def _flow(ops: Harness) -> ApprovalFlow:
    flow = ops.runner.approvals
    assert isinstance(flow, ApprovalFlow)
    return flow


@pytest.fixture
def key_file(ops2: Harness, tmp_path: Path) -> Path:
    """The admin key in a 0600 file for the worker process (never printed)."""
    signer = ops2.gateway.signer
    assert isinstance(signer, LocalKeySigner)
    path = tmp_path / "admin.key"
    signer.write_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


@pytest.fixture
def approved(ops2: Harness) -> str:
    """A fallback request approved by bob but not yet claimed by any worker."""
    reply = ops2.run('/feed fallback 1 on 3 "spike"', "alice")
    assert reply.request_id is not None
    service = _flow(ops2).service
    request, counted = service.approve(
        reply.request_id, "bob", service.get(reply.request_id).digest
    )
    assert counted
    assert request.state == Status.APPROVED
    return reply.request_id


class Worker:
    """The worker subprocess, started up to ``stage``; ``kill`` sends SIGKILL."""

    def __init__(self, proc: subprocess.Popen[str], hashes: list[str]) -> None:
        self.proc = proc
        self.hashes = hashes

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL


@pytest.fixture
def start_worker(
    ops2: Harness, redis_server: str, key_file: Path, tmp_path: Path
) -> Iterator[Callable[[str, str], Worker]]:
    """Starts the worker subprocess up to a stage; kills whatever is left at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(request_id: str, stage: str) -> Worker:
        errors = (tmp_path / f"worker-{stage}.err").open("w")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.commands.approval_worker",
                redis_server,
                ops2.server.url,
                request_id,
                str(key_file),
                stage,
                str(LEASE_MS),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        errors.close()
        started.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            proc.wait(timeout=10)
            detail = (tmp_path / f"worker-{stage}.err").read_text()
            pytest.fail(f"worker did not reach {stage}: {detail[-2000:]}")
        return Worker(proc, line[1:])

    yield start
    for proc in started:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _lease_lost(ops: Harness, request_id: str) -> None:
    """Poll the sweeper until it flags the dead worker's request (its lease is short)."""
    service = _flow(ops).service
    wait_until(lambda: request_id in service.sweep()[1], timeout_s=10)
    assert service.get(request_id).state == Status.NEEDS_RECONCILIATION


def test_worker_killed_after_submitting_is_reconciled_as_succeeded(
    ops2: Harness, approved: str, start_worker: Callable[[str, str], Worker]
) -> None:
    """The transaction the dead worker sent is found on chain by sequence number and never resent."""
    before = _sent(ops2)
    worker = start_worker(approved, "submitted")
    [tx_hash] = worker.hashes
    assert _sent(ops2) == [*before, tx_hash]
    service = _flow(ops2).service
    running = service.get(approved)
    assert running.state == Status.EXECUTING
    assert running.sender == ops2.gateway.signer.address
    assert running.submit_seq is not None

    worker.kill()
    _lease_lost(ops2, approved)

    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.ok, reply
    assert reply.state == Status.SUCCEEDED
    assert "found 1 of 1 transaction(s) on chain" in reply.title
    done = service.get(approved)
    assert (done.state, done.tx_hashes) == (Status.SUCCEEDED, (tx_hash,))
    assert ops2.run(f"/ops approve {approved}", "carol").ok is False
    assert not ops2.run(f"/ops reconcile {approved}", "bob").ok
    assert _sent(ops2) == [*before, tx_hash]
    assert len(ops2.events("PriceFeedFallbackEvent")) == 1
    assert ops2.view("price_feed::get_price_view", "1")[0]["fallback_active"] is True


@pytest.mark.parametrize(
    ("stage", "title"),
    [
        pytest.param("recorded", "reconciled, nothing was sent", id="after-recording-sequence"),
        pytest.param("claimed", "nothing was sent; ask again", id="right-after-claim"),
    ],
)
def test_worker_killed_before_submitting_is_reconciled_as_nothing_sent(
    ops2: Harness, approved: str, start_worker: Callable[[str, str], Worker], stage: str, title: str
) -> None:
    """A worker that died before sending leaves nothing on chain, and reconciliation says so."""
    before = _sent(ops2)
    worker = start_worker(approved, stage)
    assert worker.hashes == []
    worker.kill()
    _lease_lost(ops2, approved)

    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.state == Status.FAILED
    assert title in reply.title
    done = _flow(ops2).service.get(approved)
    assert (done.state, done.tx_hashes) == (Status.FAILED, ())
    assert (done.submit_seq is None) == (stage == "claimed")
    assert ops2.run(f"/ops approve {approved}", "carol").ok is False
    assert _sent(ops2) == before
    assert ops2.events("PriceFeedFallbackEvent") == []


def test_another_requests_transaction_at_the_recorded_sequence_is_not_taken_for_ours(
    ops2: Harness, approved: str, start_worker: Callable[[str, str], Worker]
) -> None:
    """If the dead worker sent nothing and another request then used that sequence number for the same
    function with other arguments, reconciliation still reports that nothing of this request was sent."""
    worker = start_worker(approved, "recorded")
    worker.kill()
    _lease_lost(ops2, approved)
    recorded = _flow(ops2).service.get(approved)
    other = ops2.run('/feed fallback 1 on 4 "other spike"', "alice")
    assert other.request_id is not None
    assert ops2.run(f"/ops approve {other.request_id}", "bob").state == Status.SUCCEEDED
    [other_hash] = _flow(ops2).service.get(other.request_id).tx_hashes
    assert ops2.server.ledger.transactions[other_hash].sequence_number == recorded.submit_seq

    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.state == Status.FAILED
    assert "nothing was sent" in reply.title
    done = _flow(ops2).service.get(approved)
    assert (done.state, done.tx_hashes) == (Status.FAILED, ())
    assert _sent(ops2) == [other_hash]
