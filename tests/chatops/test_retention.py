"""Retention: what is finished and older than the retention period leaves Redis, nothing else."""

from __future__ import annotations

import itertools
from typing import cast

import redis as redis_lib

from approvals import keys as approval_keys
from approvals.policy import Policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.notify import keys
from chatops.notify.incident_store import IncidentStore
from chatops.notify.journal import Journal, JournalEntry
from chatops.retention import DAY_MS, Retention
from tests.approvals.clock import START_MS, ManualClock
from tests.approvals.requests import USERS, fallback_request

_DIGESTS = itertools.count(1)


def _service(redis: redis_lib.Redis, clock: ManualClock) -> ApprovalService:
    policy = Policy.model_validate({"users": USERS, "ttl_s": 600})
    return ApprovalService(RedisApprovalStore(redis), policy, clock)


def _retention(redis: redis_lib.Redis, days: int, forgotten: list[str]) -> Retention:
    return Retention(
        RedisApprovalStore(redis),
        IncidentStore(redis),
        Journal(redis),
        days=days,
        forget=forgotten.extend,
        batch=2,  # several batches per round: the loop is exercised
    )


def test_final_requests_older_than_the_period_go_open_and_recent_ones_stay(
    redis: redis_lib.Redis,
) -> None:
    """Requests that ended more than 90 days ago are deleted (hash and approvers), their Slack
    records forgotten; a pending one of the same age and one that ended recently stay."""
    clock = ManualClock()
    service = _service(redis, clock)
    old = [service.create(fallback_request("alice", f"{next(_DIGESTS):064x}")) for _ in range(5)]
    for request in old:
        service.cancel(request.id, "alice")
    pending = service.create(fallback_request("alice", f"{next(_DIGESTS):064x}"))
    clock.advance(80 * DAY_MS)
    recent = service.create(fallback_request("alice", f"{next(_DIGESTS):064x}"))
    service.deny(recent.id, "bob", "not now")

    forgotten: list[str] = []
    done = _retention(redis, 90, forgotten).run_once(START_MS + 91 * DAY_MS)

    assert done.requests == 5
    assert sorted(forgotten) == sorted(r.id for r in old)
    for request in old:
        assert not redis.exists(approval_keys.request_key(request.id.split("-")[0]))
    assert service.get(pending.id).state == "pending"
    assert service.get(recent.id).state == "denied"
    assert cast(int, redis.zcard(approval_keys.FINISHED)) == 1  # the recent one, for later


def test_nothing_goes_with_a_period_of_zero(redis: redis_lib.Redis) -> None:
    """CHATOPS_RETENTION_DAYS=0 keeps everything, however old."""
    clock = ManualClock()
    service = _service(redis, clock)
    request = service.create(fallback_request("alice", f"{next(_DIGESTS):064x}"))
    service.cancel(request.id, "alice")
    done = _retention(redis, 0, []).run_once(START_MS + 1000 * DAY_MS)
    assert done.total == 0
    assert service.get(request.id).state == "cancelled"


def test_resolved_incidents_go_with_their_timelines_and_open_ones_stay(
    redis: redis_lib.Redis,
) -> None:
    """An incident resolved before the cutoff is deleted with its timeline, thread records and
    the outbox's parent record; an open incident and one resolved later stay, and the list of
    open incidents is unchanged."""
    store = IncidentStore(redis)
    day_s = DAY_MS // 1000
    at = START_MS // 1000
    gone, _ = store.open_or_join("a", channel="C1", title="A", severity="warning", at_s=at, by="x")
    store.set_thread(gone.id, "C1", "111.222")
    redis.hset(keys.outbox_parent_key(gone.id), "item", "i1")
    store.set_state(gone.id, "resolved", at_s=at + 1, by="x")
    kept, _ = store.open_or_join("b", channel="C1", title="B", severity="warning", at_s=at, by="x")
    late, _ = store.open_or_join("c", channel="C1", title="C", severity="info", at_s=at, by="x")
    store.set_state(late.id, "resolved", at_s=at + 50 * day_s, by="x")

    done = _retention(redis, 30, []).run_once(START_MS + 40 * DAY_MS)

    assert done.incidents == 1
    assert store.get(gone.id) is None
    for key in (
        keys.incident_timeline_key(gone.id),
        keys.incident_thread_key(gone.id),
        keys.incident_by_thread_key("C1", "111.222"),
        keys.outbox_parent_key(gone.id),
    ):
        assert not redis.exists(key), key
    assert store.get(late.id) is not None
    assert [i.id for i in store.recent()] == [kept.id]
    assert [i.id for i in store.recent(include_resolved=True)] == [late.id, kept.id]


def test_journal_entries_and_their_dedupe_keys_before_the_cutoff_go(
    redis: redis_lib.Redis,
) -> None:
    """Journal entries written before the cutoff are trimmed and their dedupe keys dropped, so
    neither the stream nor the dedupe hash grows without end."""
    journal = Journal(redis)
    for n in range(5):
        entry = JournalEntry(at_s=1, type="Alert", description=f"e{n}", responsible="x")
        assert journal.append(entry, dedupe=f"k{n}")
    now_ms = int(cast(list[int], redis.time())[0]) * 1000
    done = _retention(redis, 1, []).run_once(now_ms + 2 * DAY_MS)
    assert done.journal_entries >= 5  # the keys at least; whole stream nodes may stay
    assert cast(int, redis.hlen(keys.JOURNAL_SEEN)) == 0
    assert journal.append(
        JournalEntry(at_s=2, type="Alert", description="new", responsible="x"), dedupe="k9"
    )
