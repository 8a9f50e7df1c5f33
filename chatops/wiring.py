"""The composition root: Settings -> chain gateway, policy, catalog and runner (and the embedded devnet).

Nothing else builds clients or reads configuration; adapters receive what they need from here.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from approvals.policy import Policy, demo_policy, load_policy
from chatops.chain.client import ChainClient
from chatops.chain.devnet.framework import PACKAGE_ADDRESS
from chatops.chain.devnet.server import DevnetServer
from chatops.chain.signer import LocalKeySigner
from chatops.config import ConfigError, Settings
from chatops.gateway import Gateway
from chatops.runner import Runner
from commands.registry import build_registry

__all__ = ["App", "build_app", "embedded_devnet"]

DEVNET_CHAIN_ID = 255


@dataclass
class App:
    """What the adapters run on."""

    runner: Runner
    gateway: Gateway
    policy: Policy
    embedded: bool


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
    return Gateway(client, signer, address)


@contextlib.contextmanager
def build_app(settings: Settings) -> Iterator[App]:
    """Wire the runner for ``settings``; embedded mode starts its own devnet for the app's lifetime.

    Raises:
        ConfigError: a variable needed outside embedded mode is missing (named).
    """
    registry = build_registry()
    if settings.is_embedded:
        with embedded_devnet() as (server, admin):
            gateway = _gateway(server.url, DEVNET_CHAIN_ID, admin, PACKAGE_ADDRESS)
            policy = load_policy(settings.policy_file) if settings.policy_file else demo_policy()
            try:
                yield App(Runner(registry, policy, gateway), gateway, policy, embedded=True)
            finally:
                gateway.client.close()
        return
    rpc_url, chain_id = settings.supra_rpc_url, settings.supra_chain_id
    key_file, policy_file = settings.signer_key_file, settings.policy_file
    if rpc_url is None or chain_id is None or key_file is None or policy_file is None:
        named = {
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
    try:
        yield App(Runner(registry, policy, gateway), gateway, policy, embedded=False)
    finally:
        gateway.client.close()
