"""Clock skew between replicas on approval expiry and execution leases."""

# First what happens when each replica decides on its own clock (an explicit ``now_ms``, which is
# how the bot was wired before): a replica ahead expires requests early, one behind accepts
# approvals late and claims leases that a correct sweeper already sees as lost. Then the fix: with
# no local clock the scripts decide on the Redis server's TIME, which every replica shares, and the
# bot is wired that way.

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import cast

import pytest
import redis as redis_lib

from approvals import keys
from approvals.errors import ApprovalExpiredError, InvalidStateError, LeaseLostError
from approvals.ids import parse_request_id
from approvals.models import Status
from approvals.policy import demo_policy
from approvals.service import DEFAULT_LEASE_MS, ApprovalService, NewRequest
from approvals.store import RedisApprovalStore
from tests.approvals.clock import ManualClock
from tests.fakes.bot import harness
from tests.faults.conftest import flow_of

MINUTE_MS = 60_000
SKEW_MS = 5 * MINUTE_MS
TTL_MS = demo_policy().ttl_s * 1000
_DIGESTS = itertools.count(1)


def _new() -> NewRequest:
    return NewRequest(
        command="/feed",
        text='fallback 1 on 3 "spike"',
        policy_key="feed.fallback",
        calls=[{"function": "price_feed::set_fallback", "args": [["u64", "1"], ["bool", True]]}],
        digest=f"{next(_DIGESTS):064x}",  # calls of its own: identical open requests are refused
        summary="Fallback on for asset 1",
        requester="alice",
        reason="price spike",
        channel="C-ops",
        thread=None,
        plan_time_s=1_800_000_000,
    )


def _service(redis: redis_lib.Redis, now_ms: Callable[[], int] | None) -> ApprovalService:
    return ApprovalService(RedisApprovalStore(redis), demo_policy(), now_ms)


def _lease_expires_ms(redis: redis_lib.Redis, request_id: str) -> int:
    return int(
        cast(
            bytes,
            redis.hget(keys.request_key(parse_request_id(request_id).number), "lease_expires_ms"),
        )
    )


@pytest.fixture
def true_time() -> ManualClock:
    return ManualClock()


def _skewed(clock: ManualClock, skew_ms: int) -> Callable[[], int]:
    return lambda: clock() + skew_ms


# -- the hazard: each replica deciding on its own clock ------------------------------------------


def test_a_replica_clock_ahead_expires_requests_early(
    redis: redis_lib.Redis, true_time: ManualClock
) -> None:
    """A replica 5 minutes ahead sweeps a request as expired 4 minutes before its real expiry."""
    exact = _service(redis, true_time)
    ahead = _service(redis, _skewed(true_time, SKEW_MS))
    request = exact.create(_new())
    assert request.expires_ms == true_time() + TTL_MS
    true_time.advance(TTL_MS - 4 * MINUTE_MS)
    expired, _lost = ahead.sweep()
    assert expired == [request.id]
    assert exact.get(request.id).state == Status.EXPIRED
    with pytest.raises(InvalidStateError):
        exact.approve(request.id, "bob")


def test_a_replica_clock_behind_accepts_a_late_approval(
    redis: redis_lib.Redis, true_time: ManualClock
) -> None:
    """A replica 5 minutes behind accepts bob's approval 4 minutes after the request expired."""
    exact = _service(redis, true_time)
    behind = _service(redis, _skewed(true_time, -SKEW_MS))
    request = exact.create(_new())
    true_time.advance(TTL_MS + 4 * MINUTE_MS)
    approved, counted, _token = behind.approve(request.id, "bob")
    assert counted
    assert approved.state == Status.APPROVED  # a correct clock would have refused it


def test_a_replica_clock_behind_claims_a_lease_already_lost(
    redis: redis_lib.Redis, true_time: ManualClock
) -> None:
    """A replica 3 minutes behind claims a 2-minute lease that ends, on a correct clock, a minute
    ago: a correct sweeper flags the request for reconciliation while it executes, and the worker
    cannot record its outcome."""
    exact = _service(redis, true_time)
    behind = _service(redis, _skewed(true_time, -3 * MINUTE_MS))
    request = exact.create(_new())
    exact.approve(request.id, "bob")
    token, _claimed = behind.claim(request.id, "worker-behind")
    assert _lease_expires_ms(redis, request.id) < true_time()
    _expired, lost = exact.sweep()
    assert lost == [request.id]
    assert exact.get(request.id).state == Status.NEEDS_RECONCILIATION
    with pytest.raises(LeaseLostError):
        behind.complete(request.id, token, ok=True, result="sent", tx_hashes=["0x1"])


# -- the fix: the Redis server's clock decides --------------------------------------------------------


def _server_ms(redis: redis_lib.Redis) -> int:
    seconds, micros = cast(tuple[int, int], redis.time())
    return int(seconds) * 1000 + int(micros) // 1000


def test_expiry_runs_on_the_server_clock(redis: redis_lib.Redis) -> None:
    """With no local clock a request expires TTL after the server's TIME at creation, and any replica
    (whatever its own clock says) keeps it pending until then."""
    first, second = _service(redis, None), _service(redis, None)
    before = _server_ms(redis)
    request = first.create(_new())
    after = _server_ms(redis)
    assert before <= request.created_ms <= after
    assert request.expires_ms == request.created_ms + TTL_MS
    assert second.sweep() == ([], [])
    approved, counted, _token = second.approve(request.id, "bob")
    assert (approved.state, counted) == (Status.APPROVED, True)
    assert all(
        before <= e.at_ms <= _server_ms(redis) for e in second.history(second.get(request.id))
    )


def test_a_request_past_its_expiry_on_the_server_clock_is_refused_by_every_replica(
    redis: redis_lib.Redis,
) -> None:
    """A request whose expiry passed a minute ago by the server's TIME (stamped by a replica with a
    clock 16 minutes behind) is refused and swept by replicas with no local clock."""
    lagging = _service(redis, lambda: _server_ms(redis) - TTL_MS - MINUTE_MS)
    request = lagging.create(_new())
    replica = _service(redis, None)
    with pytest.raises(ApprovalExpiredError):
        replica.approve(request.id, "bob")
    assert replica.get(request.id).state == Status.EXPIRED
    late = lagging.create(_new())
    assert replica.sweep() == ([late.id], [])


def test_leases_on_the_server_clock_are_not_misjudged_by_another_replica(
    redis: redis_lib.Redis,
) -> None:
    """A lease claimed on the server's clock runs DEFAULT_LEASE_MS from the server's now; another
    replica's sweep leaves it executing and the worker records its outcome."""
    worker, sweeper = _service(redis, None), _service(redis, None)
    request = worker.create(_new())
    worker.approve(request.id, "bob")
    before = _server_ms(redis)
    token, _claimed = worker.claim(request.id, "worker-1")
    lease_ms = _lease_expires_ms(redis, request.id) - before
    assert DEFAULT_LEASE_MS - 1000 <= lease_ms <= DEFAULT_LEASE_MS + 1000
    assert sweeper.sweep() == ([], [])
    done = worker.complete(request.id, token, ok=True, result="sent", tx_hashes=["0x1"])
    assert done.state == Status.SUCCEEDED


def test_the_bot_decides_approval_expiry_on_the_server_clock(redis: redis_lib.Redis) -> None:
    """The runner chatops.wiring builds has no local approvals clock: its requests are stamped with
    the server's TIME."""
    with harness(redis_client=redis) as ops:
        service = flow_of(ops).service
        assert service.now_ms is None
        before = _server_ms(redis)
        reply = ops.run('/feed fallback 1 on 3 "spike"', "alice")
        after = _server_ms(redis)
        assert reply.request_id is not None
        request = service.get(reply.request_id)
        assert before <= request.created_ms <= after
        assert request.expires_ms == request.created_ms + TTL_MS
