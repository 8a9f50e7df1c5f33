"""Requests carrying proposals of an outside approver (multisig mode) on a real redis-server: the
``proposed`` and ``chain_claim`` scripts, the index from a proposal's number to its request, and
the rule that approvals recorded in Redis decide nothing for such a request."""

from __future__ import annotations

import threading

import pytest
import redis as redis_lib

from approvals import keys
from approvals.errors import AlreadyClaimedError, InvalidStateError
from approvals.models import Status
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from tests.approvals.clock import ManualClock
from tests.approvals.requests import TTL_S, approval_policy, new_request

REFS = ["7:0x" + "ab" * 32 + ":1800003600", "8:0x" + "cd" * 32 + ":1800003601"]


def _proposed(service: ApprovalService, expires_in_ms: int | None = 3_600_000) -> str:
    request = service.create(new_request())
    service.proposed(request.id, "worker-a", REFS, found_by=["7", "8"], expires_in_ms=expires_in_ms)
    return request.id


def test_proposals_are_recorded_indexed_and_move_the_expiry(
    service: ApprovalService, clock: ManualClock, redis: redis_lib.Redis
) -> None:
    """proposed keeps the references as given, finds the request from each proposal's number, moves
    its expiry (and the pending index) to the proposals' and audits it; the request stays pending."""
    request_id = _proposed(service)
    request = service.get(request_id)
    assert request.proposals == tuple(REFS)
    assert request.state == Status.PENDING
    assert request.expires_ms == clock.ms + 3_600_000
    assert redis.zscore(keys.PENDING, request_id) == clock.ms + 3_600_000
    found = service.request_of_proposal("8")
    assert found is not None
    assert found.id == request_id
    assert service.request_of_proposal("9") is None
    assert [e.event for e in service.history(request)] == ["created", "proposed"]
    clock.advance(TTL_S * 1000 + 1)  # past the policy's TTL, not past the proposals'
    assert service.sweep() == ([], [])
    assert service.get(request_id).state == Status.PENDING


def test_proposals_that_cannot_run_end_the_request_and_free_its_calls(
    service: ApprovalService,
) -> None:
    """With a failure the request ends in the given final state with that result (what was proposed
    still recorded), and the same calls may be asked for again."""
    request = service.create(new_request(digest="f" * 64))
    done = service.proposed(
        request.id,
        "worker-a",
        REFS[:1],
        found_by=["7"],
        failure="call 2 of 2 could not be proposed",
    )
    assert (done.state, done.result, done.proposals) == (
        Status.FAILED,
        "call 2 of 2 could not be proposed",
        tuple(REFS[:1]),
    )
    assert [e.event for e in service.history(done)][-1] == "proposed"
    again = service.create(new_request(digest="f" * 64))
    cleared = service.proposed(
        again.id, "alice", [], found_by=[], failure="cleared", final=Status.EXPIRED
    )
    assert cleared.state == Status.EXPIRED


def test_a_final_request_takes_no_proposals(service: ApprovalService) -> None:
    """A cancelled request refuses proposals: nothing is recorded or indexed."""
    request = service.create(new_request())
    service.cancel(request.id, "alice")
    with pytest.raises(InvalidStateError):
        service.proposed(request.id, "worker-a", REFS, found_by=["7", "8"])
    assert service.get(request.id).proposals == ()
    assert service.request_of_proposal("7") is None


def test_the_chain_claim_takes_a_pending_request_once_whoever_asks(
    service: ApprovalService, redis_server: str
) -> None:
    """Eight workers (two of them on another connection) claim on the chain's word: exactly one
    wins, the request is executing under its lease and names who approved outside."""
    request_id = _proposed(service)
    connection = redis_lib.Redis.from_url(redis_server)
    other = ApprovalService(RedisApprovalStore(connection), approval_policy(), service.now_ms)
    wins: list[str] = []
    losses: list[str] = []

    def claim(svc: ApprovalService, worker: str) -> None:
        try:
            token, _request = svc.chain_claim(request_id, worker, ["U0ALICE", "U0BOB"])
        except AlreadyClaimedError:
            losses.append(worker)
        else:
            wins.append(token)

    threads = [
        threading.Thread(target=claim, args=(other if i < 2 else service, f"w{i}"))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connection.close()
    assert len(wins) == 1
    assert len(losses) == 7
    request = service.get(request_id)
    assert request.state == Status.EXECUTING
    assert request.lease_owner == wins[0]
    assert request.approvers == ("U0ALICE", "U0BOB")
    assert [e.event for e in service.history(request)][-1] == "chain-approved"


def test_a_forced_approved_request_is_claimed_only_on_the_chains_word(
    service: ApprovalService, redis: redis_lib.Redis
) -> None:
    """Redis forced to 'approved' claims nothing by itself (no script runs on it), and the chain's
    claim treats it as it treats a pending one; a request without proposals is never claimed so."""
    request_id = _proposed(service)
    number = int(request_id.split("-")[0])
    redis.hset(keys.request_key(number), "state", "approved")
    _token, claimed = service.chain_claim(request_id, "w", [])
    assert claimed.state == Status.EXECUTING
    off_chain = service.create(new_request())
    with pytest.raises(InvalidStateError):
        service.chain_claim(off_chain.id, "w", [])
    assert service.get(off_chain.id).state == Status.PENDING


def test_a_final_request_is_not_claimed(service: ApprovalService) -> None:
    """A denied request with proposals is never claimed, whatever the chain says."""
    request_id = _proposed(service)
    service.deny(request_id, "bob", "wrong asset")
    with pytest.raises(AlreadyClaimedError):
        service.chain_claim(request_id, "w", [])
    assert service.get(request_id).state == Status.DENIED
