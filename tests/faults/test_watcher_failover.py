"""A watcher replica killed (SIGKILL) while it holds the lease: the other replica takes over once the
lease's TTL has run out, with a higher fencing token, and every chain event reaches the outbox, and
then Slack's side, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import cast

import httpx
import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from chatops.notify import keys
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.wiring import embedded_devnet
from tests.chatops.notify.devnet_events import inject
from tests.conftest import REPO_ROOT, wait_until
from tests.fakes.notify import RecordingPoster

pytestmark = pytest.mark.slow

TTL_MS = 1500
EVENTS = 30
REFUND = f"{PACKAGE_ADDRESS}::history::RefundBatchEvent"


@pytest.fixture
def devnet() -> Iterator[tuple[DevnetServer, httpx.Client]]:
    with (
        embedded_devnet() as (server, _admin),
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield server, http


@pytest.fixture
def replicas(
    redis_server: str, devnet: tuple[DevnetServer, httpx.Client]
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Starts watcher replicas (``python -m tests.faults.watcher_main``); all are stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(owner: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults.watcher_main",
                redis_server,
                devnet[0].url,
                owner,
                str(TTL_MS),
            ],
            cwd=REPO_ROOT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _holder(redis: redis_lib.Redis) -> tuple[str, int] | None:
    raw = cast(bytes | None, redis.get(keys.WATCHER_LEASE))
    if raw is None:
        return None
    owner, _, fence = raw.decode().partition("|")
    return owner, int(fence)


def test_a_killed_leader_is_replaced_after_the_ttl_and_no_event_is_lost_or_doubled(
    redis: redis_lib.Redis,
    devnet: tuple[DevnetServer, httpx.Client],
    replicas: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    """Events keep coming while the leader is SIGKILLed mid-stream: the standby takes the lease no
    sooner than the TTL allows, and the outbox then Slack's side see each event exactly once."""
    _server, http = devnet
    procs = {owner: replicas(owner) for owner in ("w1", "w2")}
    wait_until(lambda: redis.exists(keys.watcher_cursor_key(REFUND)) == 1, timeout_s=20)
    first = _holder(redis)
    assert first is not None
    leader, fence = first
    standby = "w2" if leader == "w1" else "w1"

    for n in range(EVENTS // 2):
        inject(http, "history::RefundBatchEvent", {"lottery_id": "7", "refund_round": str(n)})
    wait_until(lambda: Outbox(redis).depth() >= 3, timeout_s=10)  # the leader is at work
    os.kill(procs[leader].pid, signal.SIGKILL)
    killed_at = time.monotonic()
    assert procs[leader].wait(timeout=10) == -signal.SIGKILL
    for n in range(EVENTS // 2, EVENTS):
        inject(http, "history::RefundBatchEvent", {"lottery_id": "7", "refund_round": str(n)})

    wait_until(lambda: (_holder(redis) or ("", 0))[0] == standby, timeout_s=TTL_MS / 1000 + 10)
    took_over_s = time.monotonic() - killed_at
    second = _holder(redis)
    assert second is not None
    assert second[1] > fence
    # The dead leader renewed at most one poll before it died: the lease outlived it by about the TTL.
    assert took_over_s >= TTL_MS / 1000 - 0.3

    outbox = Outbox(redis)
    wait_until(lambda: outbox.depth() == EVENTS, timeout_s=15)
    assert procs[standby].poll() is None

    poster = RecordingPoster()
    worker = OutboxWorker(redis, poster, interval_ms=1)
    wait_until(lambda: worker.run_once() >= 0 and outbox.depth() == 0, timeout_s=20)
    rounds = [dict(n.fields)["refund_round"] for n in poster.notices()]
    assert [r for r, count in Counter(rounds).items() if count > 1] == []
    assert sorted(rounds, key=int) == [str(n) for n in range(EVENTS)]
    assert rounds == sorted(rounds, key=int)  # one channel, posted in chain order
