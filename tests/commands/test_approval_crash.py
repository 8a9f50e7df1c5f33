"""A worker killed with SIGKILL mid-execution: its lease runs out, the sweeper flags the request, and
/ops reconcile settles it from the devnet by sender and sequence number without ever resending."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from approvals import keys
from approvals.errors import LeaseLostError
from approvals.ids import parse_request_id
from approvals.models import Status
from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.client import DEFAULT_EXPIRY_S
from chatops.chain.signer import LocalKeySigner
from chatops.flow import ApprovalFlow, FencedChain
from tests.conftest import REPO_ROOT, wait_until
from tests.fakes.bot import Harness

LEASE_MS = 300


def _sent(ops: Harness) -> list[str]:
    """Hashes of every committed set_fallback transaction on the devnet."""
    return [
        h
        for h, tx in ops.server.ledger.transactions.items()
        if tx.function is not None and tx.function.endswith("::price_feed::set_fallback")
    ]


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
    request, counted, _token = service.approve(reply.request_id, "bob", digest=reply.digest or "")
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


def test_worker_killed_right_after_claiming_is_reconciled_as_nothing_sent(
    ops2: Harness, approved: str, start_worker: Callable[[str, str], Worker]
) -> None:
    """A worker that died before recording any transaction sent nothing, and reconciliation says so
    at once."""
    before = _sent(ops2)
    worker = start_worker(approved, "claimed")
    assert worker.hashes == []
    worker.kill()
    _lease_lost(ops2, approved)

    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.state == Status.FAILED
    assert "nothing was sent; ask again" in reply.title
    done = _flow(ops2).service.get(approved)
    assert (done.state, done.tx_hashes, done.submit_seq) == (Status.FAILED, (), None)
    assert ops2.run(f"/ops approve {approved}", "carol").ok is False
    assert _sent(ops2) == before
    assert ops2.events("PriceFeedFallbackEvent") == []


def _raw_state(ops: Harness, request_id: str) -> str:
    """The state field of the request's hash in Redis, read past the service."""
    client = _flow(ops).service.store.client
    number = parse_request_id(request_id).number
    state = cast(bytes | None, client.hget(keys.request_key(number), "state"))
    assert state is not None
    return state.decode()


def _set_chain_time(ops: Harness, now_s: int) -> None:
    ops.advance(now_s - ops.server.ledger.now_s)
    assert ops.gateway.now_s() == now_s


def test_a_recorded_transaction_is_not_settled_as_unsent_before_it_expires(
    ops2: Harness, approved: str, start_worker: Callable[[str, str], Worker]
) -> None:
    """The worker died holding a signed transaction (for the chain, one a slow node may still
    deliver): until its expiration passes on the chain's clock, reconciliation refuses and changes
    nothing; from that second on nothing can land, and it settles the request as not sent."""
    before = _sent(ops2)
    worker = start_worker(approved, "recorded")
    worker.kill()
    _lease_lost(ops2, approved)
    flow = _flow(ops2)
    recorded = flow.service.get(approved)
    [submission] = flow.service.submissions(flow.service.get(approved))
    assert submission.sequence_number == recorded.submit_seq
    assert submission.expires_s == ops2.gateway.now_s() + DEFAULT_EXPIRY_S
    audit_before = flow.service.history(flow.service.get(approved))

    for now_s in (ops2.gateway.now_s(), submission.expires_s - 1):
        _set_chain_time(ops2, now_s)
        early = ops2.run(f"/ops reconcile {approved}", "bob")
        assert not early.ok
        assert early.title == (
            f"Request {approved} is not settled yet: its transaction (sequence number "
            f"{submission.sequence_number}) is not on chain but may still land until "
            f"{_utc(submission.expires_s)}, when it expires (the chain's clock reads "
            f"{_utc(now_s)}). Nothing was changed; run /ops reconcile {approved} again after "
            f"{_utc(submission.expires_s)}."
        )
        assert _raw_state(ops2, approved) == Status.NEEDS_RECONCILIATION
        assert flow.service.history(flow.service.get(approved)) == audit_before

    _set_chain_time(ops2, submission.expires_s)
    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.state == Status.FAILED
    assert reply.title == f"Request {approved}: reconciled, nothing was sent"
    done = flow.service.get(approved)
    assert (done.state, done.tx_hashes) == (Status.FAILED, ())
    assert done.result == (
        f"no transaction found on chain, and it expired at {_utc(submission.expires_s)} "
        "(chain time): nothing was sent"
    )
    assert _raw_state(ops2, approved) == Status.FAILED
    assert ops2.run(f"/ops approve {approved}", "carol").ok is False
    assert _sent(ops2) == before
    assert ops2.events("PriceFeedFallbackEvent") == []


def test_a_procedure_cut_between_its_calls_waits_for_the_next_one_to_expire(
    ops2: Harness, start_worker: Callable[[str, str], Worker]
) -> None:
    """The worker sent the first of two calls and died holding the second: reconciliation waits
    while that one may still land, then settles the request as failed with the one it found."""
    request_id = ops2.run("/refund stop mass DoS on sales", "alice").request_id
    assert request_id is not None
    flow = _flow(ops2)
    flow.service.approve(request_id, "bob")
    worker = start_worker(request_id, "partial")
    [first_hash] = worker.hashes
    worker.kill()
    _lease_lost(ops2, request_id)
    first, second = flow.service.submissions(flow.service.get(request_id))
    assert second.sequence_number == first.sequence_number + 1

    early = ops2.run(f"/ops reconcile {request_id}", "bob")
    assert not early.ok
    assert early.title.startswith(
        f"Request {request_id} is not settled yet: 1 of 2 transactions landed, and the next "
        f"(sequence number {second.sequence_number}) is not on chain but may still land until "
        f"{_utc(second.expires_s)}"
    )
    assert _raw_state(ops2, request_id) == Status.NEEDS_RECONCILIATION

    _set_chain_time(ops2, second.expires_s)
    reply = ops2.run(f"/ops reconcile {request_id}", "bob")
    assert reply.state == Status.FAILED
    done = flow.service.get(request_id)
    assert (done.state, done.tx_hashes) == (Status.FAILED, (first_hash,))
    assert done.result == (
        "found 1 of 2 transaction(s) on chain; statuses: Success; the next expired unsent at "
        f"{_utc(second.expires_s)} (chain time)"
    )


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
    assert reply.title == f"Request {approved}: reconciled, nothing was sent"
    done = _flow(ops2).service.get(approved)
    assert (done.state, done.tx_hashes) == (Status.FAILED, ())
    assert done.result == (
        f"sequence number {recorded.submit_seq} was used by another transaction: "
        "nothing of this request was sent"
    )
    assert _raw_state(ops2, approved) == Status.FAILED
    assert _sent(ops2) == [other_hash]


def _calls(ops: Harness, request_id: str) -> list[ChainCall]:
    """The request's approved calls, as the executing worker sends them."""
    return [
        ChainCall(
            function=c["function"], args=tuple(TypedArg(type=t, value=v) for t, v in c["args"])
        )
        for c in _flow(ops).service.get(request_id).calls
    ]


def _recorded(ops: Harness, request_id: str) -> dict[bytes, bytes]:
    """The request's recorded submissions (sub:<sequence number> fields of its hash in Redis),
    read past the service ({} when none)."""
    client = _flow(ops).service.store.client
    number = parse_request_id(request_id).number
    fields = cast(dict[bytes, bytes], client.hgetall(keys.request_key(number)))
    return {name: value for name, value in fields.items() if name.startswith(b"sub:")}


def test_a_worker_that_lost_its_lease_records_nothing_and_sends_nothing(
    ops2: Harness, approved: str
) -> None:
    """A slow worker whose lease ran out before its only transaction left is stopped by the fence:
    nothing is recorded (the submissions hash does not exist) and nothing reaches the chain, so
    reconciliation settles the request at once as not sent instead of waiting out an expiration."""
    flow = _flow(ops2)
    token, _claimed = flow.service.claim(approved, "slow-worker", lease_ms=50)
    chain = FencedChain(ops2.gateway, flow.service, approved, token, lease_ms=50)
    [call] = _calls(ops2, approved)
    _lease_lost(ops2, approved)
    sent, audit = ops2.tx_count, flow.service.history(flow.service.get(approved))
    sender_seq = ops2.gateway.client.account(ops2.gateway.signer.address).sequence_number

    with pytest.raises(LeaseLostError):
        chain.submit(call)
    assert ops2.tx_count == sent
    assert ops2.gateway.client.account(ops2.gateway.signer.address).sequence_number == sender_seq
    assert _recorded(ops2, approved) == {}
    assert flow.service.submissions(flow.service.get(approved)) == []
    assert flow.service.history(flow.service.get(approved)) == audit
    assert flow.service.get(approved).submit_seq is None

    reply = ops2.run(f"/ops reconcile {approved}", "bob")
    assert reply.state == Status.FAILED
    assert reply.title == f"Request {approved}: nothing was sent; ask again if still needed"
    assert ops2.tx_count == sent


def test_a_worker_that_lost_its_lease_between_calls_records_and_sends_nothing_more(
    ops2: Harness,
) -> None:
    """A slow worker whose lease ran out between two calls is stopped by the fence before the second
    leaves: the second is neither recorded nor sent, so reconciliation settles at once with the
    first (nothing left that may land)."""
    request_id = ops2.run("/refund stop mass DoS on sales", "alice").request_id
    assert request_id is not None
    flow = _flow(ops2)
    flow.service.approve(request_id, "bob")
    token, _claimed = flow.service.claim(request_id, "slow-worker", lease_ms=50)
    chain = FencedChain(ops2.gateway, flow.service, request_id, token, lease_ms=50)
    first, second = _calls(ops2, request_id)
    first_hash = chain.submit(first).tx_hash
    _lease_lost(ops2, request_id)
    sent, recorded = ops2.tx_count, _recorded(ops2, request_id)
    assert len(recorded) == 1

    with pytest.raises(LeaseLostError):
        chain.submit(second)
    assert ops2.tx_count == sent
    assert _recorded(ops2, request_id) == recorded
    assert _raw_state(ops2, request_id) == Status.NEEDS_RECONCILIATION

    reply = ops2.run(f"/ops reconcile {request_id}", "bob")
    result = "found 1 of 2 transaction(s) on chain; statuses: Success; the rest were never sent"
    assert reply.title == f"Request {request_id}: reconciled, {result}"
    done = flow.service.get(request_id)
    assert (done.state, done.tx_hashes, done.result) == (Status.FAILED, (first_hash,), result)
    assert ops2.tx_count == sent
