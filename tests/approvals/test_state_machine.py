"""Random sequences of clicks, expiries, claims and crashes against the real scripts, checked by a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from approvals import errors
from approvals.ids import parse_request_id
from approvals.models import FINAL_STATES, Status
from approvals.policy import Policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from tests.approvals.clock import ManualClock
from tests.approvals.requests import USERS, fallback_request

TTL_S = 300
LEASE_MS = 240_000
PEOPLE = ("carol", "erin", "bob", "alice", "dave", "mallory")
APPROVERS = ("carol", "erin", "bob")
# Approvals lean towards eligible approvers and denials away from them, so that requests get
# approved, claimed, crashed and completed often enough in 30 steps; everyone still turns up.
CLICKERS = st.one_of(st.sampled_from(APPROVERS), st.sampled_from(PEOPLE))
DENIERS = st.sampled_from(("alice", "dave", "mallory") * 3 + APPROVERS)
MOSTLY_TRUE = st.sampled_from((True, True, True, False))
MOSTLY_FALSE = st.sampled_from((True, False, False, False))
RECENT = st.integers(0, 3)
MAX_REQUESTS = 3
WORKERS = ("w1", "w2", "w3")
SETTLED = FINAL_STATES | {Status.NEEDS_RECONCILIATION}


@dataclass
class Expected:
    """What the model says about one request."""

    requester: str
    expires_ms: int
    state: Status = Status.PENDING
    approvers: set[str] = field(default_factory=set)
    token: str | None = None
    lease_expires_ms: int = 0
    claims: int = 0
    settled_as: Status | None = None


def _number(request_id: str) -> int:
    return parse_request_id(request_id).number


class ApprovalMachine(RuleBasedStateMachine):
    """Drives one ``ApprovalService`` on the test Redis and keeps a model of every request.

    ``client`` and ``policy`` are set by the test (a subclass per run); each example starts from an
    empty Redis.
    """

    client: ClassVar[redis_lib.Redis]
    policy: ClassVar[Policy]

    def __init__(self) -> None:
        super().__init__()
        self.client.flushdb()
        self.clock = ManualClock()
        self.service = ApprovalService(RedisApprovalStore(self.client), self.policy, self.clock)
        self.model: dict[str, Expected] = {}

    def _pick(self, index: int) -> tuple[str, Expected]:
        """The ``index``-th newest request."""
        ids = sorted(self.model, key=_number, reverse=True)
        request_id = ids[index % len(ids)]
        return request_id, self.model[request_id]

    def _touch_expiry(self, expected: Expected) -> bool:
        """Scripts that look at a pending request expire it on the spot when it is past due."""
        if expected.state == Status.PENDING and self.clock() >= expected.expires_ms:
            expected.state = Status.EXPIRED
            return True
        return False

    @initialize(requester=st.sampled_from(PEOPLE))
    def first(self, requester: str) -> None:
        """Every run starts with one request, so the other rules have something to act on."""
        self.create(requester)

    @precondition(lambda self: len(self.model) < MAX_REQUESTS)
    @rule(requester=st.sampled_from(PEOPLE))
    def create(self, requester: str) -> None:
        # Each request asks for calls of its own: identical open requests are refused.
        request = self.service.create(fallback_request(requester, f"{len(self.model) + 1:064x}"))
        assert request.state == Status.PENDING
        self.model[request.id] = Expected(
            requester=requester, expires_ms=self.clock() + TTL_S * 1000
        )

    @precondition(lambda self: self.model)
    @rule(index=RECENT, clicks=st.lists(st.tuples(CLICKERS, MOSTLY_TRUE), min_size=1, max_size=3))
    def approve(self, index: int, clicks: list[tuple[str, bool]]) -> None:
        """A few people click approve on one request, one after the other."""
        request_id, expected = self._pick(index)
        for user, right_digest in clicks:
            self._approve_once(request_id, expected, user, right_digest)

    def _approve_once(
        self, request_id: str, expected: Expected, user: str, right_digest: bool
    ) -> None:
        digest = self.service.get(request_id).digest if right_digest else "b" * 64
        if not self.policy.may_approve(user):
            with pytest.raises(errors.NotAnApproverError):
                self.service.approve(request_id, user, digest=digest)
            return
        if user == expected.requester:
            with pytest.raises(errors.SelfApprovalError):
                self.service.approve(request_id, user, digest=digest)
            return
        if not right_digest:
            with pytest.raises(errors.DigestMismatchError):
                self.service.approve(request_id, user, digest=digest)
            return
        if self._touch_expiry(expected):
            with pytest.raises(errors.ApprovalExpiredError):
                self.service.approve(request_id, user, digest=digest)
            return
        if expected.state != Status.PENDING:
            with pytest.raises(errors.InvalidStateError):
                self.service.approve(request_id, user, digest=digest)
            return
        _request, counted, _token = self.service.approve(request_id, user, digest=digest)
        assert counted == (user not in expected.approvers)
        expected.approvers.add(user)
        if len(expected.approvers) >= self.policy.approvals_needed:
            expected.state = Status.APPROVED

    @precondition(lambda self: self.model)
    @rule(index=RECENT, user=DENIERS)
    def deny(self, index: int, user: str) -> None:
        request_id, expected = self._pick(index)
        if not self.policy.may_approve(user):
            with pytest.raises(errors.NotAnApproverError):
                self.service.deny(request_id, user, "no")
            return
        if user == expected.requester:
            with pytest.raises(errors.SelfApprovalError):
                self.service.deny(request_id, user, "no")
            return
        if self._touch_expiry(expected):
            with pytest.raises(errors.ApprovalExpiredError):
                self.service.deny(request_id, user, "no")
            return
        if expected.state != Status.PENDING:
            with pytest.raises(errors.InvalidStateError):
                self.service.deny(request_id, user, "no")
            return
        self.service.deny(request_id, user, "no")
        expected.state = Status.DENIED

    @precondition(lambda self: self.model)
    @rule(index=RECENT, as_requester=MOSTLY_FALSE, other=st.sampled_from(PEOPLE))
    def cancel(self, index: int, as_requester: bool, other: str) -> None:
        request_id, expected = self._pick(index)
        user = expected.requester if as_requester else other
        if user != expected.requester:
            with pytest.raises(errors.NotRequesterError):
                self.service.cancel(request_id, user)
            return
        if self._touch_expiry(expected):
            with pytest.raises(errors.ApprovalExpiredError):
                self.service.cancel(request_id, user)
            return
        if expected.state not in (Status.PENDING, Status.APPROVED):
            with pytest.raises(errors.InvalidStateError):
                self.service.cancel(request_id, user)
            return
        self.service.cancel(request_id, user)
        expected.state = Status.CANCELLED

    @rule(ms=st.sampled_from((1_000, 10_000, 60_000, TTL_S * 1000)))
    def expire(self, ms: int) -> None:
        """Time passes and the sweeper runs."""
        self.clock.advance(ms)
        self._sweep()

    def _sweep(self) -> None:
        expired, lost = self.service.sweep()
        now = self.clock()
        should_expire = {
            i for i, e in self.model.items() if e.state == Status.PENDING and now >= e.expires_ms
        }
        should_lose = {
            i
            for i, e in self.model.items()
            if e.state == Status.EXECUTING and now >= e.lease_expires_ms
        }
        assert (set(expired), set(lost)) == (should_expire, should_lose)
        for request_id in should_expire:
            self.model[request_id].state = Status.EXPIRED
        for request_id in should_lose:
            self.model[request_id].state = Status.NEEDS_RECONCILIATION

    @precondition(lambda self: self.model)
    @rule(index=RECENT, workers=st.lists(st.sampled_from(WORKERS), min_size=2, max_size=3))
    def claim(self, index: int, workers: list[str]) -> None:
        """Several workers race to take one request; at most the first of them can win."""
        request_id, expected = self._pick(index)
        for worker in workers:
            self._claim_once(request_id, expected, worker)

    def _claim_once(self, request_id: str, expected: Expected, worker: str) -> None:
        if expected.state != Status.APPROVED:
            with pytest.raises(errors.AlreadyClaimedError):
                self.service.claim(request_id, worker, lease_ms=LEASE_MS)
            return
        request = self.service.get(request_id)
        token, _claimed = self.service.claim(request_id, worker, lease_ms=LEASE_MS)
        # The two-person rule at the moment of execution: the requester plus ``needed`` other,
        # eligible people approved, and nothing final or expired came before.
        people = set(request.approvers)
        assert request.requester not in people
        assert all(self.policy.may_approve(p) for p in people)
        needed = self.policy.approvals_needed
        assert len(people) >= needed
        assert len(people | {request.requester}) >= needed + 1 >= 2
        assert request.state == Status.APPROVED
        expected.claims += 1
        expected.token = token
        expected.lease_expires_ms = self.clock() + LEASE_MS
        expected.state = Status.EXECUTING

    @precondition(lambda self: any(e.state == Status.EXECUTING for e in self.model.values()))
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """A worker dies: its lease runs out and the sweeper flags the request."""
        executing = sorted(
            (i for i, e in self.model.items() if e.state == Status.EXECUTING), key=_number
        )
        request_id = data.draw(st.sampled_from(executing))
        self.clock.advance(self.model[request_id].lease_expires_ms - self.clock())
        self._sweep()
        assert self.model[request_id].state == Status.NEEDS_RECONCILIATION

    @precondition(lambda self: self.model)
    @rule(data=st.data(), ok=st.booleans(), own_token=MOSTLY_TRUE)
    def complete(self, data: st.DataObject, ok: bool, own_token: bool) -> None:
        """A worker records the outcome; mostly of a request that is executing, else of any."""
        executing = [i for i, e in self.model.items() if e.state == Status.EXECUTING]
        anyone = sorted(self.model, key=_number)
        request_id = data.draw(
            st.one_of(st.sampled_from(executing), st.sampled_from(anyone))
            if executing
            else st.sampled_from(anyone)
        )
        expected = self.model[request_id]
        token = expected.token if own_token and expected.token else "w9:stale"
        if expected.state != Status.EXECUTING or token != expected.token:
            with pytest.raises(errors.LeaseLostError):
                self.service.complete(request_id, token, ok=ok, result="r", tx_hashes=[])
            return
        self.service.complete(request_id, token, ok=ok, result="r", tx_hashes=[])
        expected.state = Status.SUCCEEDED if ok else Status.FAILED

    @invariant()
    def matches_the_model(self) -> None:
        for request_id, expected in self.model.items():
            actual = self.service.get(request_id)
            assert actual.state == expected.state, request_id
            assert set(actual.approvers) == expected.approvers, request_id

    @invariant()
    def claimed_at_most_once(self) -> None:
        for request_id, expected in self.model.items():
            claims = [
                e
                for e in self.service.history(self.service.get(request_id))
                if e.event == "claimed"
            ]
            assert len(claims) == expected.claims <= 1, request_id

    @invariant()
    def settled_states_never_change(self) -> None:
        for request_id, expected in self.model.items():
            state = self.service.get(request_id).state
            if expected.settled_as is not None:
                assert state == expected.settled_as, request_id
            if state in SETTLED:
                expected.settled_as = state

    @invariant()
    def no_claim_after_expiry_denial_or_cancel(self) -> None:
        for request_id in self.model:
            events = [e.event for e in self.service.history(self.service.get(request_id))]
            if "claimed" in events:
                before = events[: events.index("claimed")]
                assert not {"expired", "denied", "cancelled"} & set(before), request_id
                assert "approved" in before, request_id


@pytest.mark.parametrize("needed", [1, 2])
def test_two_person_rule_holds_under_random_operations(redis: redis_lib.Redis, needed: int) -> None:
    """Across random clicks, expiries, claims, crashes and completions the model and Redis agree,
    and nothing runs without two people, twice, or after a final state."""

    class OnTestRedis(ApprovalMachine):
        client = redis
        policy = Policy(users=USERS, approvals_needed=needed, ttl_s=TTL_S)

    run_state_machine_as_test(
        OnTestRedis,
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        ),
    )
