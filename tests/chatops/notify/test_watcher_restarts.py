"""Watcher restarts at random points, including SIGKILL of a watcher process, over 10,000 devnet events."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from typing import cast

import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify import keys
from chatops.notify.router import DEFAULT_CHANNEL, event_dedupe_key
from tests.chatops.notify.conftest import Chain
from tests.chatops.notify.watcher_main import EMITTED_KEY
from tests.conftest import REPO_ROOT, wait_until

A = PACKAGE_ADDRESS
STRUCTS = ("RefundBatchEvent", "VrfFulfilledEvent", "PayoutBatchEvent")
TYPES = [f"{A}::history::{s}" for s in STRUCTS]
TOTAL = 10_000


def expected_ids(chain: Chain, start_height: int) -> list[str]:
    """The notice id of every event of the watched types from ``start_height`` on, in commit order."""
    wanted = dict(zip(TYPES, STRUCTS, strict=True))
    with chain.server.ledger.lock:
        return [
            f"event:{wanted[e.type]}:"
            + event_dedupe_key(e.creation_number, e.account_address, e.sequence_number)
            for e in chain.server.ledger.events
            if e.type in wanted and e.block_height >= start_height
        ]


def queued_ids(redis: redis_lib.Redis) -> list[str]:
    """Notice ids of every item in the channel's outbox stream (one stream entry per new item)."""
    entries = cast(
        "list[tuple[bytes, dict[bytes, bytes]]]",
        redis.xrange(keys.outbox_stream_key(DEFAULT_CHANNEL)),
    )
    out = []
    for _entry, fields in entries:
        raw = cast("bytes", redis.hget(keys.outbox_item_key(fields[b"item"].decode()), "notice"))
        out.append(raw.decode().split('"id":"', 1)[1].split('"', 1)[0])
    return out


@pytest.mark.slow
def test_sigkilled_watchers_lose_no_event_and_duplicate_none(
    chain: Chain, redis: redis_lib.Redis, redis_server: str
) -> None:
    """10,000 events read by a watcher process killed (two replicas, the leader killed with SIGKILL at random points) reach the outbox once each."""
    rng = random.Random(6_000)  # noqa: S311 - test randomness, seeded for replay
    ledger = chain.server.ledger
    start_height = ledger.latest_block.height + 1

    injected = 0

    def inject_up_to(count: int) -> None:
        nonlocal injected
        for n in range(injected, count):
            ledger.inject_event(TYPES[n % 3], {"lottery_id": str(n % 7), "refund_round": str(n)})
        injected = count

    def start(owner: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "tests.chatops.notify.watcher_main",
            redis_server,
            chain.server.url,
            str(start_height),
            ",".join(TYPES),
            owner,
        ]
        return subprocess.Popen(command, cwd=REPO_ROOT)

    def queued() -> int:
        return cast("int", redis.xlen(keys.outbox_stream_key(DEFAULT_CHANNEL)))

    def leader() -> str:
        held = redis.get(keys.WATCHER_LEASE)
        return cast("bytes", held).decode().split("|")[0] if held else ""

    # Two replicas run at a time, as in production; the leader is killed at points spread over
    # the run (by progress, plus jitter) and the standby takes over once the dead lease expires.
    # Events keep arriving in chunks while replicas come and go.
    thresholds = sorted(rng.sample(range(200, TOTAL - 500), 6))
    kills = 0
    leaders_killed = 0  # kills that hit the lease holder (a kill between leases hits a standby)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for number, threshold in enumerate(thresholds):
            inject_up_to(min(TOTAL, max(injected, threshold + 2000)))
            while len(procs) < 2:
                owner = f"w{number}-{len(procs)}"
                procs[owner] = start(owner)
            wait_until(lambda t=threshold: queued() >= t, timeout_s=20)  # type: ignore[misc]
            time.sleep(rng.uniform(0, 0.05))
            holder = leader()
            victim = procs.pop(holder, None)
            if victim is None:  # no lease held this instant: kill a replica all the same
                victim = procs.pop(next(iter(procs)))
            else:
                leaders_killed += 1
            victim.kill()
            victim.wait(timeout=10)
            kills += 1
        inject_up_to(TOTAL)
        wait_until(lambda: queued() >= TOTAL, timeout_s=25)
        wanted = expected_ids(chain, start_height)
        # whatever the survivor still had to read is read too: the cursors reach the tip
        tip = ledger.latest_block.height
        wait_until(
            lambda: all(
                int(cast("bytes", redis.get(keys.watcher_cursor_key(t)) or b"0")) > tip
                for t in TYPES
            ),
            timeout_s=10,
        )
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=10)
    assert kills == len(thresholds)
    assert len(wanted) == TOTAL
    queued_now = queued_ids(redis)
    duplicates = [i for i, count in Counter(queued_now).items() if count > 1]
    assert duplicates == []
    assert sorted(queued_now) == sorted(wanted)  # none missing, none extra
    # Per event type the outbox holds them in chain order.
    for struct in STRUCTS:
        prefix = f"event:{struct}:"
        assert [i for i in queued_now if i.startswith(prefix)] == [
            i for i in wanted if i.startswith(prefix)
        ]
    # A re-emission only comes from the one event in doubt when a leader dies or loses its lease,
    # and every such handover takes a new fence.
    emitted = [raw.decode() for raw in cast("list[bytes]", redis.lrange(EMITTED_KEY, 0, -1))]
    leaderships = int(cast("bytes", redis.get(keys.WATCHER_FENCE)))
    assert leaderships > leaders_killed  # each dead leader was replaced under a new fence
    assert len(emitted) - len(set(emitted)) <= leaderships - 1
