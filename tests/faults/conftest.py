"""Fixtures for the fault tests: a durable redis-server that can be stopped and restarted on the same
port and data, and the whole bot on a devnet with a chain client tuned to fail (and retry) quickly."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from approvals.policy import Policy, demo_policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.state_reader import ResourceStateReader
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.flow import ApprovalFlow
from chatops.redis_process import RedisServerError, start_redis_server, stop_redis_server
from chatops.runner import Runner
from chatops.wiring import DEVNET_CHAIN_ID, build_notify, embedded_devnet
from commands.registry import build_registry
from tests.conftest import free_port, redis_server_binary
from tests.fakes.bot import Harness


class DurableRedis:
    """A redis-server with the AOF fsynced on every write, so a stop and a start keep every key."""

    def __init__(self, workdir: Path) -> None:
        self.binary = redis_server_binary()
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        try:
            self.proc = start_redis_server(
                self.binary, str(self.workdir), port=self.port, appendfsync="always"
            )
        except RedisServerError:
            pytest.fail("the durable redis-server did not start")

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops a container; Redis flushes the AOF and exits."""
        if self.proc is not None:
            stop_redis_server(self.proc)
        self.proc = None

    def client(self) -> redis_lib.Redis:
        """A client that fails fast while the server is down and reconnects once it is back."""
        return redis_lib.Redis.from_url(
            self.url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 1)
        )


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    server = DurableRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(durable_redis: DurableRedis) -> Iterator[redis_lib.Redis]:
    """The bot's client on the durable server (fails fast while it is stopped)."""
    c = durable_redis.client()
    yield c
    c.close()


@contextmanager
def bot(
    redis_client: redis_lib.Redis,
    *,
    policy: Policy | None = None,
    read_timeout_s: float = 5.0,
    max_attempts: int = 3,
    clock_ms: Callable[[], int] | None = None,
) -> Iterator[Harness]:
    """The runner with approvals, incidents and the journal as ``chatops.wiring.build_runner`` builds
    it, on a seeded devnet; the chain client retries reads ``max_attempts`` times with tiny back-off,
    and ``clock_ms`` (if given) replaces the Redis server's clock for approval expiry and leases."""
    policy = policy or demo_policy()
    with embedded_devnet() as (server, admin):
        client = ChainClient(
            server.url,
            chain_id=DEVNET_CHAIN_ID,
            max_attempts=max_attempts,
            backoff_s=0.01,
            timeout=httpx.Timeout(read_timeout_s, connect=1.0),
        )
        gateway = Gateway(
            client,
            admin,
            PACKAGE_ADDRESS,
            state_reader=ResourceStateReader(client, PACKAGE_ADDRESS),
        )
        notify = build_notify(gateway, redis_client)
        service = ApprovalService(RedisApprovalStore(redis_client), policy, clock_ms)
        registry = build_registry()
        flow = ApprovalFlow(service, gateway, registry)
        runner = Runner(
            registry,
            policy,
            gateway,
            approvals=flow,
            incidents=notify.desk,
            journal=notify.journal,
        )
        try:
            yield Harness(server, gateway, runner)
        finally:
            client.close()


def flow_of(ops: Harness) -> ApprovalFlow:
    flow = ops.runner.approvals
    assert isinstance(flow, ApprovalFlow)
    return flow


def fallbacks_sent(ops: Harness) -> int:
    """Committed set_fallback transactions on the devnet (the privileged step these tests use)."""
    return sum(
        1
        for tx in ops.server.ledger.transactions.values()
        if tx.function is not None and tx.function.endswith("::price_feed::set_fallback")
    )


def fault(ops: Harness, **knob: object) -> None:
    """POST /devnet/faults: the next ``count`` requests under ``path_prefix`` are delayed or fail."""
    httpx.post(f"{ops.server.url}/devnet/faults", json=knob, timeout=5).raise_for_status()
