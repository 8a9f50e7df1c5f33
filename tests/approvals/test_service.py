"""ApprovalService and its Lua scripts on a real redis-server, with time moved by hand."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals import keys
from approvals.errors import (
    AlreadyClaimedError,
    ApprovalError,
    ApprovalExpiredError,
    BreakGlassNotAllowedError,
    DigestMismatchError,
    InvalidStateError,
    LeaseLostError,
    NotAnApproverError,
    NotRequesterError,
    SelfApprovalError,
)
from approvals.ids import parse_request_id
from approvals.models import AuditEntry, Status, Submission
from approvals.policy import BreakGlass
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from tests.approvals.clock import ManualClock
from tests.approvals.requests import TTL_S, approval_policy, new_request

DIGEST = "d" * 64
OTHER_DIGEST = "e" * 64


def _break_glass_service(redis: redis_lib.Redis, clock: ManualClock) -> ApprovalService:
    """A service whose policy lets ``refund.stop`` run under break-glass."""
    return ApprovalService(
        RedisApprovalStore(redis),
        approval_policy(break_glass=BreakGlass(enabled=True, steps=("refund.stop",))),
        clock,
    )


@pytest.fixture
def two_needed(redis: redis_lib.Redis, clock: ManualClock) -> ApprovalService:
    return ApprovalService(RedisApprovalStore(redis), approval_policy(approvals_needed=2), clock)


@pytest.fixture
def other_client(redis_server: str) -> Iterator[redis_lib.Redis]:
    """A second connection to the same Redis, as another bot process would have."""
    client = redis_lib.Redis.from_url(redis_server)
    yield client
    client.close()


def _sub(seq: int, expires_s: int = 1_800_000_300) -> Submission:
    return Submission(sequence_number=seq, expires_s=expires_s)


def _approved(service: ApprovalService) -> str:
    request = service.create(new_request())
    service.approve(request.id, "bob")
    assert service.get(request.id).state == Status.APPROVED
    return request.id


def _trail(service: ApprovalService, request_id: str) -> list[AuditEntry]:
    """The request's own history, oldest first."""
    return service.history(service.get(request_id))


def test_what_create_and_approve_return_is_what_is_stored(
    redis: redis_lib.Redis, clock: ManualClock
) -> None:
    """The scripts hand back the request without a second read (create only the fields it set,
    approve the whole hash from its cache): both must equal a fresh read, break-glass included."""
    service = _break_glass_service(redis, clock)
    created = service.create(new_request())
    assert created == service.get(created.id)
    assert (created.state, created.expires_ms) == (Status.PENDING, clock.ms + TTL_S * 1000)
    approved, counted, _token = service.approve(created.id, "bob")
    assert counted
    assert approved == service.get(created.id)
    assert (approved.state, approved.approvers) == (Status.APPROVED, ("bob",))
    glass = service.create(new_request(policy_key="refund.stop"), break_glass=True)
    assert glass == service.get(glass.id)
    retro, counted, _token = service.approve(glass.id, "carol")
    assert counted
    assert retro == service.get(glass.id)
    assert retro.retro_approved_by == "carol"


def test_requester_cannot_approve_own_request(service: ApprovalService) -> None:
    """An approver who asked for the request is refused as its approver and nothing is recorded."""
    request = service.create(new_request(requester="bob"))
    with pytest.raises(SelfApprovalError, match="second person"):
        service.approve(request.id, "bob")
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.PENDING, ())


def test_script_refuses_self_approval_without_the_service_checks(service: ApprovalService) -> None:
    """The approve script alone refuses the requester, even when the service is bypassed."""
    request = service.create(new_request(requester="alice"))
    result = service.store.approve(request.id, None, "alice", request.digest)
    assert result.status == "self"
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.PENDING, ())
    refused = [e for e in _trail(service, request.id) if e.event == "approve-refused"]
    assert [(e.actor, e.detail) for e in refused] == [("alice", "self-approval")]


def test_requester_cannot_deny_own_request(service: ApprovalService) -> None:
    """The requester withdraws with cancel; deny by the requester is refused and changes nothing."""
    request = service.create(new_request(requester="bob"))
    with pytest.raises(SelfApprovalError):
        service.deny(request.id, "bob", "changed my mind")
    assert service.get(request.id).state == Status.PENDING


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        pytest.param("dave", (), id="viewer"),
        pytest.param("alice", (), id="operator-only"),
        pytest.param("mallory", (), id="not-in-policy"),
        pytest.param("mallory", ("unknown-group",), id="unknown-group"),
    ],
)
def test_ineligible_approver_is_refused(
    service: ApprovalService, user: str, groups: tuple[str, ...]
) -> None:
    """Only holders of the approver role (by name or group) may approve."""
    request = service.create(new_request(requester="erin"))
    with pytest.raises(NotAnApproverError, match=user):
        service.approve(request.id, user, groups=groups)
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.PENDING, ())


def test_approver_group_membership_makes_a_user_eligible(
    redis: redis_lib.Redis, clock: ManualClock
) -> None:
    """A user with no explicit role approves through an approver group the policy names."""
    service = ApprovalService(
        RedisApprovalStore(redis), approval_policy(groups={"S-approvers": "approver"}), clock
    )
    request = service.create(new_request())
    approved, counted, _token = service.approve(request.id, "zoe", groups=("S-approvers",))
    assert counted
    assert (approved.state, approved.approvers) == (Status.APPROVED, ("zoe",))


def test_same_approver_twice_counts_once(two_needed: ApprovalService) -> None:
    """With two approvals needed, bob clicking twice leaves it pending; carol's click approves it."""
    request = two_needed.create(new_request())
    first, counted_first, _token = two_needed.approve(request.id, "bob")
    second, counted_second, _token = two_needed.approve(request.id, "bob")
    assert (counted_first, counted_second) == (True, False)
    assert (first.state, second.state, second.approvers) == (
        Status.PENDING,
        Status.PENDING,
        ("bob",),
    )
    done, counted, _token = two_needed.approve(request.id, "carol")
    assert counted
    assert (done.state, done.approvers) == (Status.APPROVED, ("bob", "carol"))


def test_racing_clicks_of_one_approver_count_once(
    two_needed: ApprovalService, redis_server: str
) -> None:
    """Twenty simultaneous clicks by bob from separate connections record a single approval."""
    request = two_needed.create(new_request())
    barrier = threading.Barrier(20)
    counted: list[bool] = []
    lock = threading.Lock()

    def click() -> None:
        client = redis_lib.Redis.from_url(redis_server)
        try:
            mine = ApprovalService(RedisApprovalStore(client), two_needed.policy, two_needed.now_ms)
            barrier.wait()
            _req, was_counted, _token = mine.approve(request.id, "bob")
            with lock:
                counted.append(was_counted)
        finally:
            client.close()

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counted) == [False] * 19 + [True]
    after = two_needed.get(request.id)
    assert (after.state, after.approvers) == (Status.PENDING, ("bob",))


def test_approval_after_expiry_is_refused_and_expires_the_request(
    service: ApprovalService, clock: ManualClock
) -> None:
    """An approval at the expiry instant is refused, and the request becomes expired for good."""
    request = service.create(new_request())
    clock.advance(TTL_S * 1000)
    with pytest.raises(ApprovalExpiredError):
        service.approve(request.id, "bob")
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.EXPIRED, ())
    assert service.pending() == (0, [])
    with pytest.raises(AlreadyClaimedError):
        service.claim(request.id, "w1")
    with pytest.raises(InvalidStateError):
        service.approve(request.id, "carol")


def test_approval_just_before_expiry_counts(service: ApprovalService, clock: ManualClock) -> None:
    """One millisecond before the expiry the approval still counts (the boundary is exact)."""
    request = service.create(new_request())
    clock.advance(TTL_S * 1000 - 1)
    approved, counted, _token = service.approve(request.id, "bob")
    assert counted
    assert approved.state == Status.APPROVED


def test_changed_arguments_are_refused(service: ApprovalService) -> None:
    """An approval bound to a different digest is refused and leaves the request pending."""
    request = service.create(new_request())
    with pytest.raises(DigestMismatchError):
        service.approve(request.id, "bob", digest=OTHER_DIGEST)
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.PENDING, ())
    refused = [e for e in _trail(service, request.id) if e.event == "approve-refused"]
    assert [(e.actor, e.detail) for e in refused] == [("bob", "digest mismatch")]


def test_deny_is_final(service: ApprovalService) -> None:
    """After carol denies, nobody can approve, deny again, cancel or claim the request."""
    request = service.create(new_request())
    denied = service.deny(request.id, "carol", "wrong asset")
    assert (denied.state, denied.denied_by, denied.result) == (
        Status.DENIED,
        "carol",
        "wrong asset",
    )
    with pytest.raises(InvalidStateError):
        service.approve(request.id, "bob")
    with pytest.raises(InvalidStateError):
        service.deny(request.id, "bob", "again")
    with pytest.raises(InvalidStateError):
        service.cancel(request.id, "alice")
    with pytest.raises(AlreadyClaimedError):
        service.claim(request.id, "w1")
    after = service.get(request.id)
    assert (after.state, after.approvers) == (Status.DENIED, ())


def test_only_the_requester_may_cancel(service: ApprovalService) -> None:
    """bob cannot withdraw alice's request; alice can, and then it can no longer be approved or run."""
    request = service.create(new_request())
    with pytest.raises(NotRequesterError):
        service.cancel(request.id, "bob")
    assert service.get(request.id).state == Status.PENDING
    cancelled = service.cancel(request.id, "alice")
    assert cancelled.state == Status.CANCELLED
    with pytest.raises(InvalidStateError):
        service.approve(request.id, "bob")
    with pytest.raises(AlreadyClaimedError):
        service.claim(request.id, "w1")
    assert service.get(request.id).state == Status.CANCELLED


def test_cancel_after_approval_stops_the_execution(service: ApprovalService) -> None:
    """An approved request withdrawn before anyone claims it is never claimed."""
    request_id = _approved(service)
    assert service.cancel(request_id, "alice").state == Status.CANCELLED
    with pytest.raises(AlreadyClaimedError):
        service.claim(request_id, "w1")


def test_executing_request_cannot_be_cancelled(service: ApprovalService) -> None:
    """Once a worker holds the request, cancel is refused and the worker still completes it."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1")
    with pytest.raises(InvalidStateError):
        service.cancel(request_id, "alice")
    done = service.complete(request_id, token, ok=True, result="done", tx_hashes=["0xabc"])
    assert (done.state, done.tx_hashes) == (Status.SUCCEEDED, ("0xabc",))


def test_claim_needs_an_approved_request(service: ApprovalService) -> None:
    """A pending request cannot be claimed for execution."""
    request = service.create(new_request())
    with pytest.raises(AlreadyClaimedError):
        service.claim(request.id, "w1")
    assert service.get(request.id).state == Status.PENDING


def test_only_one_of_many_concurrent_claimants_wins(
    service: ApprovalService, redis_server: str
) -> None:
    """Thirty workers on their own connections claim the same approved request at once; one wins."""
    request_id = _approved(service)
    barrier = threading.Barrier(30)
    tokens: list[str] = []
    losers: list[ApprovalError] = []
    lock = threading.Lock()

    def claim(worker: str) -> None:
        client = redis_lib.Redis.from_url(redis_server)
        try:
            mine = ApprovalService(RedisApprovalStore(client), service.policy, service.now_ms)
            barrier.wait()
            try:
                token, _claimed = mine.claim(request_id, worker)
            except AlreadyClaimedError as exc:
                with lock:
                    losers.append(exc)
            else:
                with lock:
                    tokens.append(token)
        finally:
            client.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 1
    assert len(losers) == 29
    after = service.get(request_id)
    assert (after.state, after.lease_owner) == (Status.EXECUTING, tokens[0])
    claims = [e for e in _trail(service, request_id) if e.event == "claimed"]
    assert [e.detail for e in claims] == [tokens[0].split(":")[0]]  # the worker, not its token


def test_complete_with_a_wrong_token_is_refused(
    service: ApprovalService, redis: redis_lib.Redis
) -> None:
    """Only the lease holder's token completes a request; another token changes nothing."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1")
    with pytest.raises(LeaseLostError):
        service.complete(request_id, "w2:forged", ok=True, result="done", tx_hashes=[])
    with pytest.raises(LeaseLostError):
        service.submitting(request_id, "w2:forged", "0xsender", _sub(7))
    after = service.get(request_id)
    assert (after.state, after.result, after.submit_seq) == (Status.EXECUTING, None, None)
    assert after.submissions == ()
    assert service.complete(request_id, token, ok=False, result="x", tx_hashes=[]).state == (
        Status.FAILED
    )


def test_stale_lease_cannot_complete_after_reconciliation_was_flagged(
    service: ApprovalService, clock: ManualClock
) -> None:
    """A worker whose lease ran out and was swept cannot record an outcome any more."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1", lease_ms=5_000)
    clock.advance(5_000)
    assert service.sweep() == ([], [request_id])
    with pytest.raises(LeaseLostError):
        service.complete(request_id, token, ok=True, result="late", tx_hashes=["0x1"])
    with pytest.raises(LeaseLostError):
        service.renew(request_id, token)
    after = service.get(request_id)
    assert (after.state, after.tx_hashes) == (Status.NEEDS_RECONCILIATION, ())


def test_renewed_lease_is_not_flagged(service: ApprovalService, clock: ManualClock) -> None:
    """A worker that renews its lease in time is not taken for dead by the sweeper."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1", lease_ms=5_000)
    clock.advance(4_000)
    service.renew(request_id, token, lease_ms=5_000)
    clock.advance(4_000)
    assert service.sweep() == ([], [])
    assert service.get(request_id).state == Status.EXECUTING


def test_submitting_records_each_transaction_and_renews_the_lease_in_one_step(
    service: ApprovalService, clock: ManualClock, redis: redis_lib.Redis
) -> None:
    """Each fence records its submission (numbers kept as given, read back in sequence order, the
    hash kept for the retention) and extends the lease; only the first stores sender and
    sequence number on the request; each is an audit entry."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1", lease_ms=5_000)
    clock.advance(4_000)
    service.submitting(request_id, token, "0xsender", _sub(9, 1_800_000_300), lease_ms=5_000)
    clock.advance(4_000)
    assert service.sweep() == ([], [])  # the first fence renewed the lease
    service.submitting(request_id, token, "0xother", _sub(10, 1_800_000_305), lease_ms=5_000)
    clock.advance(4_000)
    assert service.sweep() == ([], [])  # and so did the second

    assert service.submissions(service.get(request_id)) == [
        _sub(9, 1_800_000_300),
        _sub(10, 1_800_000_305),
    ]
    after = service.get(request_id)
    assert (after.state, after.sender, after.submit_seq) == (Status.EXECUTING, "0xsender", 9)
    fences = [(e.event, e.actor, e.detail) for e in _trail(service, request_id)][-2:]
    assert fences == [
        ("submitting", token, "0xsender#9 expires_s=1800000300"),
        ("submitting", token, "0xother#10 expires_s=1800000305"),
    ]
    clock.advance(1_000)
    assert service.sweep() == ([], [request_id])


def test_a_worker_that_lost_its_lease_records_nothing(
    service: ApprovalService, clock: ManualClock, redis: redis_lib.Redis
) -> None:
    """Once the lease is lost, submitting refuses and writes nothing: no submission, no sender, no
    audit entry, and the lease stays lost (the fence is checked before anything is recorded)."""
    request_id = _approved(service)
    token, _claimed = service.claim(request_id, "w1", lease_ms=5_000)
    service.submitting(request_id, token, "0xsender", _sub(3), lease_ms=5_000)
    clock.advance(5_000)
    assert service.sweep() == ([], [request_id])
    recorded = service.get(request_id).submissions
    audit = _trail(service, request_id)

    with pytest.raises(LeaseLostError):
        service.submitting(request_id, token, "0xsender", _sub(4), lease_ms=5_000)
    assert service.get(request_id).submissions == recorded == (_sub(3),)
    assert _trail(service, request_id) == audit
    assert service.get(request_id).state == Status.NEEDS_RECONCILIATION


def test_sweep_expires_due_requests_and_flags_lost_leases(
    service: ApprovalService, clock: ManualClock
) -> None:
    """The sweeper expires only requests past their TTL and flags only executions past their lease."""
    early = service.create(new_request())
    clock.advance(1_000)
    late = service.create(new_request())
    running = _approved(service)
    service.claim(running, "w1", lease_ms=TTL_S * 1000)
    assert service.sweep() == ([], [])
    clock.advance(TTL_S * 1000 - 1_000)
    assert service.sweep() == ([early.id], [])
    assert [r.id for r in service.pending()[1]] == [late.id]
    clock.advance(1_000)
    assert service.sweep() == ([late.id], [running])
    states = [service.get(i).state for i in (early.id, late.id, running)]
    assert states == [Status.EXPIRED, Status.EXPIRED, Status.NEEDS_RECONCILIATION]
    assert service.sweep() == ([], [])


def test_reconciliation_verdict_only_for_flagged_requests(
    service: ApprovalService, clock: ManualClock
) -> None:
    """resolve settles a needs-reconciliation request once and refuses any other state."""
    request_id = _approved(service)
    with pytest.raises(InvalidStateError):
        service.resolve(request_id, "bob", ok=True, result="found", tx_hashes=["0x1"])
    service.claim(request_id, "w1", lease_ms=1_000)
    clock.advance(1_000)
    service.sweep()
    done = service.resolve(request_id, "bob", ok=True, result="found", tx_hashes=["0x1"])
    assert (done.state, done.tx_hashes) == (Status.SUCCEEDED, ("0x1",))
    with pytest.raises(InvalidStateError):
        service.resolve(request_id, "bob", ok=False, result="again", tx_hashes=[])


def test_break_glass_is_refused_when_the_policy_does_not_enable_it(
    service: ApprovalService,
) -> None:
    """With break-glass off, even a step on the break-glass list needs a second person."""
    with pytest.raises(BreakGlassNotAllowedError):
        service.create(new_request(policy_key="refund.stop"), break_glass=True)
    assert service.pending() == (0, [])


def test_break_glass_is_refused_for_a_step_the_policy_does_not_list(
    redis: redis_lib.Redis, clock: ManualClock
) -> None:
    """Enabled break-glass covers only the steps the policy lists."""
    service = _break_glass_service(redis, clock)
    with pytest.raises(BreakGlassNotAllowedError):
        service.create(new_request(policy_key="feed.fallback"), break_glass=True)
    assert service.store.client.keys("chatops:*") == []


def test_break_glass_runs_alone_then_needs_a_second_persons_sign_off(
    redis: redis_lib.Redis, clock: ManualClock
) -> None:
    """A listed step runs at once under break-glass, and only someone else can sign it off."""
    service = _break_glass_service(redis, clock)
    request = service.create(
        new_request(requester="bob", policy_key="refund.stop"), break_glass=True
    )
    assert (request.state, request.break_glass, request.retro_approved_by) == (
        Status.APPROVED,
        True,
        None,
    )
    token, _claimed = service.claim(request.id, "w1")
    service.complete(request.id, token, ok=True, result="stopped", tx_hashes=["0xa"])
    with pytest.raises(SelfApprovalError):
        service.approve(request.id, "bob")
    with pytest.raises(NotAnApproverError):
        service.approve(request.id, "dave")
    signed, counted, _token = service.approve(request.id, "carol")
    assert counted
    assert (signed.state, signed.retro_approved_by) == (Status.SUCCEEDED, "carol")
    again, counted_again, _token = service.approve(request.id, "erin")
    assert not counted_again
    assert again.retro_approved_by == "carol"
    assert [e.event for e in _trail(service, request.id)] == [
        "created-break-glass",
        "claimed",
        "succeeded",
        "approve-refused",
        "retro-approved",
    ]


def test_audit_records_every_transition_with_actor_state_and_digest(
    service: ApprovalService,
) -> None:
    """Each transition of a request lands in its own stream and in the global one, in order."""
    request = service.create(new_request())
    service.approve(request.id, "bob")
    token, _claimed = service.claim(request.id, "w1")
    service.submitting(request.id, token, "0xsender", _sub(12, expires_s=1_800_000_300))
    service.complete(request.id, token, ok=True, result="done", tx_hashes=["0xabc"])
    other = service.create(new_request(requester="carol"))
    service.cancel(other.id, "carol")

    trail = [(e.event, e.actor, e.state) for e in _trail(service, request.id)]
    assert trail == [
        ("created", "alice", "pending"),
        ("approved", "bob", "approved"),
        ("claimed", "w1", "executing"),
        ("submitting", token, "executing"),
        ("succeeded", token, "succeeded"),
    ]
    entries = _trail(service, request.id)
    assert {e.digest for e in entries} == {request.digest}
    assert {e.request_id for e in entries} == {request.id}
    assert entries[3].detail == "0xsender#12 expires_s=1800000300"
    assert all(a.at_ms <= b.at_ms for a, b in itertools.pairwise(entries))
    everything = [(e.request_id, e.event) for e in service.audit()]
    assert everything == [(request.id, e.event) for e in entries] + [
        (other.id, "created"),
        (other.id, "cancelled"),
    ]


def test_requests_and_audit_survive_a_restart(
    service: ApprovalService, clock: ManualClock, other_client: redis_lib.Redis
) -> None:
    """A new service on a new connection sees the same request, approvals and trail, and carries on."""
    request = service.create(new_request())
    service.approve(request.id, "bob")
    before = _trail(service, request.id)

    restarted = ApprovalService(RedisApprovalStore(other_client), approval_policy(), clock)
    assert _trail(restarted, request.id) == before
    seen = restarted.get(request.id)
    assert (seen.state, seen.approvers, seen.digest) == (Status.APPROVED, ("bob",), request.digest)
    token, _claimed = restarted.claim(request.id, "w-new")
    restarted.complete(request.id, token, ok=True, result="done", tx_hashes=[])
    assert [e.event for e in _trail(service, request.id)] == [
        "created",
        "approved",
        "claimed",
        "succeeded",
    ]
    assert restarted.create(new_request()).id.startswith(
        f"{parse_request_id(request.id).number + 1}-"
    )


def test_ids_stay_unique_and_gapless_when_replicas_and_incr_interleave(
    redis: redis_lib.Redis, other_client: redis_lib.Redis, clock: ManualClock
) -> None:
    """create takes its id from the sequence inside the script, only if it is still the next one:
    a replica whose guess went stale (another created meanwhile) is told ``taken`` and retries, and
    an id taken with INCR is never reused; every create still writes its audit entry."""
    first = ApprovalService(RedisApprovalStore(redis), approval_policy(), clock)
    second = ApprovalService(RedisApprovalStore(other_client), approval_policy(), clock)
    ids = []
    for _ in range(4):
        ids.append(first.create(new_request()).id)
        ids.append(second.create(new_request()).id)
    assert [parse_request_id(i).number for i in ids] == list(range(1, 9))
    assert redis.incr(keys.SEQUENCE) == 9  # INCR elsewhere (as an older replica would)
    tenth = second.create(new_request()).id
    eleventh = first.create(new_request()).id
    assert [parse_request_id(i).number for i in (tenth, eleventh)] == [10, 11]
    stored = first.get("11")
    assert (stored.id, stored.state) == (eleventh, Status.PENDING)
    assert [e.request_id for e in first.audit() if e.event == "created"] == [*ids, tenth, eleventh]


def test_threads_creating_at_once_get_distinct_ids(
    redis: redis_lib.Redis, clock: ManualClock
) -> None:
    """Eight threads sharing one store (so one guess of the next id) create 20 requests each."""
    service = ApprovalService(RedisApprovalStore(redis), approval_policy(), clock)
    service.create(new_request())  # the store now knows the last id and guesses from it
    made: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def create_many() -> None:
        barrier.wait()
        for _ in range(20):
            request = service.create(new_request())
            with lock:
                made.append(request.id)

    threads = [threading.Thread(target=create_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(parse_request_id(i).number for i in made) == list(range(2, 162))
    assert service.pending()[0] == 161
