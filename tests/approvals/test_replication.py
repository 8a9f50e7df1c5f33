"""With a replica, a transition is answered only once the replica has it; when no replica confirms
in time, the person is told it ran on the primary and may not survive a failover."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis as redis_lib

from approvals.errors import NotReplicatedError, StoreUnavailableError
from approvals.policy import demo_policy
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore
from chatops.redis_process import start_redis_server, stop_redis_server
from tests.conftest import free_port, quick_shutdown, redis_server_binary, wait_until


def _new(digest: str) -> NewRequest:
    return NewRequest(
        command="/feed",
        text="fallback 1 on 3",
        policy_key="feed.fallback",
        calls=[{"function": "price_feed::set_fallback", "args": [1]}],
        digest=digest,
        summary="Fallback on asset 1",
        requester="alice",
        reason="price spike",
        channel="C1",
        thread=None,
        plan_time_s=0,
    )


def _online(primary: redis_lib.Redis) -> bool:
    info = cast(dict[str, Any], primary.info("replication"))
    return bool(info.get("slave0", {}).get("state") == "online")


def _state(client: redis_lib.Redis, number: str) -> str:
    raw = cast(bytes | None, client.hget(f"chatops:approval:{number}", "state"))
    return raw.decode() if raw is not None else ""


@pytest.fixture
def pair(
    tmp_path: Path,
) -> Iterator[tuple[redis_lib.Redis, redis_lib.Redis, subprocess.Popen[bytes]]]:
    """A primary and one replica of it, each a redis-server of its own: (primary, replica, the
    replica's process)."""
    binary = redis_server_binary()
    quick = quick_shutdown(binary)
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    port, replica_port = free_port(), free_port()
    primary_proc = start_redis_server(
        binary,
        str(tmp_path / "p"),
        port=port,
        extra=[*quick, "--repl-diskless-sync-delay", "0"],
    )
    replica_proc = start_redis_server(
        binary,
        str(tmp_path / "r"),
        port=replica_port,
        extra=["--replicaof", "127.0.0.1", str(port), *quick],
    )
    primary = redis_lib.Redis(port=port)
    replica = redis_lib.Redis(port=replica_port)
    try:
        wait_until(lambda: _online(primary), timeout_s=10)
        primary.set("chatops:test:warm", "1")  # the replica answers WAIT once it has loaded
        wait_until(lambda: cast(int, primary.wait(1, 100)) >= 1, timeout_s=10)
        yield primary, replica, replica_proc
    finally:
        replica_proc.send_signal(signal.SIGCONT)
        primary.close()
        replica.close()
        stop_redis_server(replica_proc)
        stop_redis_server(primary_proc)


def test_an_acknowledged_transition_is_already_on_the_replica(
    pair: tuple[redis_lib.Redis, redis_lib.Redis, subprocess.Popen[bytes]],
) -> None:
    """The moment create and approve return, the replica holds what they wrote (WAIT after each
    batch), so a failover right then loses nothing a person was told."""
    primary, replica, _proc = pair
    service = ApprovalService(RedisApprovalStore(primary, wait_timeout_ms=2000), demo_policy())
    request = service.create(_new("d1"))
    number = request.id.split("-")[0]
    assert _state(replica, number) == "pending"
    service.approve(request.id, "bob")
    assert _state(replica, number) == "approved"


def test_no_replica_confirming_in_time_is_a_clear_error_and_the_write_stays(
    pair: tuple[redis_lib.Redis, redis_lib.Redis, subprocess.Popen[bytes]],
) -> None:
    """With the replica stalled, create raises NotReplicatedError naming the request and saying it
    may not survive a failover; the request is on the primary all the same (the write happened)."""
    primary, _replica, proc = pair
    store = RedisApprovalStore(primary, wait_timeout_ms=200)
    service = ApprovalService(store, demo_policy())
    service.create(_new("warm"))  # the store has seen the replica before it stalls
    proc.send_signal(signal.SIGSTOP)
    with pytest.raises(NotReplicatedError) as info:
        service.create(_new("d2"))
    message = str(info.value)
    assert "no replica confirmed it" in message
    assert "may be lost" in message
    assert info.value.request is not None
    stored = service.get(info.value.request.id)
    assert stored.state == "pending"
    assert stored.digest == "d2"


def _drop_while_waiting(primary: redis_lib.Redis) -> tuple[threading.Thread, list[object]]:
    """A thread that drops every client connection of ``primary`` once one is blocked in WAIT (a
    primary killed mid-WAIT looks the same to the bot); the list gets the blocked clients."""
    admin = redis_lib.Redis(port=primary.connection_pool.connection_kwargs["port"])
    blocked: list[object] = []

    def waiting() -> list[dict[str, str]]:
        clients = cast("list[dict[str, str]]", admin.client_list(_type="normal"))
        return [c for c in clients if c.get("cmd") == "wait"]

    def drop() -> None:
        try:
            wait_until(lambda: bool(waiting()), timeout_s=5)
            blocked.extend(waiting())
            admin.client_kill_filter(_type="normal", skipme=True)
        finally:
            admin.close()

    return threading.Thread(target=drop), blocked


def test_a_primary_lost_while_waiting_for_the_replica_acknowledges_nothing(
    pair: tuple[redis_lib.Redis, redis_lib.Redis, subprocess.Popen[bytes]],
) -> None:
    """The replica stalls and the connection drops while WAIT waits for it: the approval ran (its
    reply came) but no replica confirmed it, so the person is told it is unconfirmed, never that
    it is done."""
    primary, _replica, proc = pair
    service = ApprovalService(RedisApprovalStore(primary, wait_timeout_ms=10_000), demo_policy())
    warm = service.create(_new("warm"))  # the scripts are loaded and the replica seen: no NOSCRIPT
    service.approve(warm.id, "bob")
    request = service.create(_new("d3"))
    proc.send_signal(signal.SIGSTOP)
    dropper, blocked = _drop_while_waiting(primary)
    dropper.start()
    try:
        with pytest.raises(NotReplicatedError) as info:
            service.approve(request.id, "bob")
    finally:
        dropper.join(timeout=10)
    assert blocked  # the connection was dropped while WAIT was waiting, not before
    assert "no replica confirmed it in time" in str(info.value)
    assert _state(primary, request.id.split("-")[0]) == "approved"  # it did run on the primary


def test_a_connection_lost_before_a_script_was_loaded_is_the_store_unavailable(
    pair: tuple[redis_lib.Redis, redis_lib.Redis, subprocess.Popen[bytes]],
) -> None:
    """The first approval on a fresh Redis meets NOSCRIPT (nothing ran) and the connection drops
    before the script is sent again: the person is told the store is unavailable, with nothing
    approved, not shown a NoScriptError."""
    primary, _replica, proc = pair
    service = ApprovalService(RedisApprovalStore(primary, wait_timeout_ms=10_000), demo_policy())
    request = service.create(_new("d4"))
    proc.send_signal(signal.SIGSTOP)
    primary.set("chatops:test:unconfirmed", "1")  # a write the stalled replica lacks: WAIT waits
    dropper, blocked = _drop_while_waiting(primary)
    dropper.start()
    try:
        with pytest.raises(StoreUnavailableError):
            service.approve(request.id, "bob")
    finally:
        dropper.join(timeout=10)
    assert blocked
    assert _state(primary, request.id.split("-")[0]) == "pending"
