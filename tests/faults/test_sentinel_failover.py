"""Redis Sentinel with real processes (one primary, one replica, three Sentinels): the primary is
killed with SIGKILL while requests are created, approved and executed; after the failover nothing a
person was told is lost and nothing executes twice."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import redis as redis_lib

from approvals.errors import ApprovalError, NotReplicatedError, StoreUnavailableError
from approvals.policy import demo_policy
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore
from chatops.redis_client import redis_client
from chatops.redis_process import start_redis_server, stop_redis_server
from tests.conftest import free_port, quick_shutdown, redis_server_binary, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SERVICE = "chatops"
FINAL_OR_CLAIMED = {"approved", "executing", "succeeded", "failed", "needs-reconciliation"}


@dataclass
class Cluster:
    """The processes, and the URL the bot is given."""

    primary: subprocess.Popen[bytes]
    replica: subprocess.Popen[bytes]
    sentinels: list[subprocess.Popen[bytes]]
    primary_port: int
    replica_port: int
    url: str


def _sentinel(binary: str, workdir: Path, port: int, primary_port: int) -> subprocess.Popen[bytes]:
    """One Sentinel watching the primary, quick to call it down (1 s) and to fail over."""
    config = workdir / f"sentinel-{port}.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 10000\n"
        f"sentinel parallel-syncs {SERVICE} 1\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    probe = redis_lib.Redis(port=port, socket_connect_timeout=0.5)

    def up() -> bool:
        try:
            return bool(probe.ping())
        except redis_lib.ConnectionError:
            return False

    wait_until(up, timeout_s=10)
    probe.close()
    return proc


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    binary = redis_server_binary()
    primary_port, replica_port = free_port(), free_port()
    quick = ["--repl-diskless-sync-delay", "0", *quick_shutdown(binary)]
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    primary = start_redis_server(binary, str(tmp_path / "primary"), port=primary_port, extra=quick)
    replica = start_redis_server(
        binary,
        str(tmp_path / "replica"),
        port=replica_port,
        extra=[*quick, "--replicaof", "127.0.0.1", str(primary_port)],
    )
    probe = redis_lib.Redis(port=primary_port)

    def replica_online() -> bool:
        info = cast("dict[str, Any]", probe.info("replication"))
        return bool(info.get("slave0", {}).get("state") == "online")

    wait_until(replica_online, timeout_s=10)
    probe.set("chatops:test:warm", "1")  # the replica answers WAIT once it has loaded
    wait_until(lambda: cast(int, probe.wait(1, 100)) >= 1, timeout_s=10)
    probe.close()
    sentinel_ports = [free_port() for _ in range(3)]
    sentinels: list[subprocess.Popen[bytes]] = []
    try:
        for port in sentinel_ports:
            sentinels.append(_sentinel(binary, tmp_path, port, primary_port))
        hosts = ",".join(f"127.0.0.1:{port}" for port in sentinel_ports)
        yield Cluster(
            primary,
            replica,
            sentinels,
            primary_port,
            replica_port,
            f"redis+sentinel://{hosts}/{SERVICE}/0",
        )
    finally:
        replica.send_signal(signal.SIGCONT)
        for proc in [*sentinels, replica, primary]:
            if proc.poll() is None:
                stop_redis_server(proc)


@dataclass
class Record:
    """What the people were told, and what the stand-in chain ran."""

    created: set[str] = field(default_factory=set)
    approved: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    executions: list[str] = field(default_factory=list)
    unconfirmed: int = 0
    unavailable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _new(n: str) -> NewRequest:
    return NewRequest(
        command="/feed",
        text=f"fallback {n}",
        policy_key="feed.fallback",
        calls=[{"function": "price_feed::set_fallback", "args": [n]}],
        digest=f"digest-{n}",
        summary=f"Fallback {n}",
        requester="alice",
        reason="failover drill",
        channel="C1",
        thread=None,
        plan_time_s=0,
    )


def _execute(service: ApprovalService, record: Record, request_id: str, token: str) -> None:
    """What the flow does once a claim is won: run it on the chain (here: noted), then complete."""
    with record.lock:
        record.executions.append(request_id)
    service.complete(request_id, token, ok=True, result="done", tx_hashes=[])
    with record.lock:
        record.completed.add(request_id)


def _worker(service: ApprovalService, record: Record, name: str, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            request = service.create(_new(f"{name}-{n}"))
            with record.lock:
                record.created.add(request.id)
            approval = service.approve(request.id, "bob", claim_for=name)
            with record.lock:
                record.approved.add(request.id)
            if approval.token is not None:
                _execute(service, record, request.id, approval.token)
        except NotReplicatedError:
            with record.lock:
                record.unconfirmed += 1
        except StoreUnavailableError:
            with record.lock:
                record.unavailable += 1
            time.sleep(0.05)


def _state(client: redis_lib.Redis, request_id: str) -> str:
    """The request's state; '' when its number is free, and "held by <id> (<state>)" when another
    request has the number (numbers repeat after a loss; ids never do)."""
    key = f"chatops:approval:{request_id.split('-')[0]}"
    held, state = cast("list[bytes | None]", client.hmget(key, ["id", "state"]))
    if held is None:
        return ""
    if held.decode() != request_id:
        return f"held by {held.decode()} ({(state or b'').decode()})"
    return (state or b"").decode()


def test_sigkill_of_the_primary_loses_nothing_acknowledged_and_runs_nothing_twice(
    cluster: Cluster,
) -> None:
    """Four callers create, approve and execute requests through redis+sentinel://; the primary is
    SIGKILLed mid-stream, while its replica lags, and the Sentinels promote the replica. Every request whose create, approval
    or completion returned is on the new primary in that state or later; a second approver then
    tries every request again, and no request is executed twice."""
    client = redis_client(cluster.url)
    service = ApprovalService(RedisApprovalStore(client, wait_timeout_ms=200), demo_policy())
    record = Record()
    stop = threading.Event()
    workers = [
        threading.Thread(target=_worker, args=(service, record, f"w{i}", stop), daemon=True)
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: len(record.completed) >= 40, timeout_s=20)
        # The replica is cut off (stalled, its link dropped), the primary takes writes meanwhile,
        # then dies: what it had not replicated is gone, so none of it may have been acknowledged.
        cluster.replica.send_signal(signal.SIGSTOP)
        primary = redis_lib.Redis(port=cluster.primary_port)
        primary.client_kill_filter(_type="slave")  # the link drops: nothing more reaches it
        primary.close()
        time.sleep(0.5)  # scenario timing: writes arrive while the replica is cut off
        before = len(record.completed)
        cluster.primary.send_signal(signal.SIGKILL)
        cluster.primary.wait(timeout=5)
        cluster.replica.send_signal(signal.SIGCONT)
        # The replica is promoted, and work goes on on it.
        probe = redis_lib.Redis(port=cluster.replica_port)

        def promoted() -> bool:
            info = cast("dict[str, Any]", probe.info("replication"))
            return info.get("role") == "master"

        wait_until(promoted, timeout_s=30, interval_s=0.1)
        wait_until(lambda: len(record.completed) >= before + 40, timeout_s=30)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)

    assert record.unavailable > 0  # the kill did land while requests were in flight
    new_primary = redis_lib.Redis(port=cluster.replica_port)
    for request_id in record.created:
        assert _state(new_primary, request_id) != "", request_id
    for request_id in record.approved:
        assert _state(new_primary, request_id) in FINAL_OR_CLAIMED, request_id
    for request_id in record.completed:
        assert _state(new_primary, request_id) == "succeeded", request_id

    # A second approver tries every request again: a claim lost in the failover would run twice.
    for request_id in sorted(record.created):
        try:
            approval = service.approve(request_id, "carol", claim_for="retry")
        except ApprovalError:
            continue
        if approval.token is not None:
            _execute(service, record, request_id, approval.token)
    assert len(record.executions) == len(set(record.executions))
    # the writes the lagging replica lacked were not acknowledged: they were said to be unconfirmed
    assert record.unconfirmed > 0
    client.close()
    new_primary.close()
