"""The composition root: Settings -> chain gateway, Redis, policy, catalog, notify side and runner (and
the embedded devnet). Nothing else builds them; it runs nothing (``chatops.serve`` does)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis

from approvals.policy import Policy, demo_policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainError
from chatops.chain.gateway import Gateway
from chatops.chain.multisig import MultisigGateway
from chatops.chain.signer import LocalKeySigner
from chatops.chain.state_reader import ResourceStateReader
from chatops.config import ConfigError, Settings
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from chatops.flow import ApprovalFlow, MultisigMode
from chatops.flow.multisig.mode import ProposingGateway, setup_problems
from chatops.incident_port import IncidentDesk
from chatops.notify.alerts import AlertBook
from chatops.notify.incident_store import IncidentStore
from chatops.notify.incidents import IncidentTracker, OutboxDelivery
from chatops.notify.journal import Journal
from chatops.notify.outbox import Outbox
from chatops.notify.router import EventRouter
from chatops.notify.routing_policy import Routing
from chatops.policy_file import (
    DirectMessages,
    MultisigSection,
    PolicyFile,
    PolicyFileError,
    load_policy_file,
)
from chatops.redis_client import embedded_redis, redis_client
from chatops.runner import Runner
from chatops.severity import Severity
from commands.registry import Registry, build_registry

__all__ = [
    "App",
    "Notify",
    "build_app",
    "build_flow",
    "build_notify",
    "build_runner",
    "embedded_devnet",
]

DEVNET_CHAIN_ID = 255


@dataclass
class App:
    """What the adapters run on."""

    runner: Runner
    flow: ApprovalFlow
    gateway: Gateway
    policy: Policy
    embedded: bool
    redis: redis.Redis
    notify: Notify
    rehearsal: bool = False  # on the embedded devnet: no real chain
    direct_messages: DirectMessages = field(default_factory=DirectMessages)


@dataclass
class Notify:
    """The events side on one Redis: routing, incidents, the outbox and the ops journal."""

    router: EventRouter
    store: IncidentStore
    outbox: Outbox
    journal: Journal
    incidents: IncidentTracker
    desk: IncidentDesk
    alerts: AlertBook


def build_notify(
    gateway: Gateway,
    client: redis.Redis,
    routing: Routing | None = None,
    *,
    incident_channel: str | None = None,
) -> Notify:
    """The events side on ``client``'s Redis, routed as the policy file's ``routing`` says."""
    router = EventRouter(gateway.package_address(), routing)
    store = IncidentStore(client)
    outbox = Outbox(client)
    journal = Journal(client)
    incidents = IncidentTracker(
        store,
        OutboxDelivery(outbox),
        router.opens_incident,
        incident_channel=incident_channel,
        journal=journal,
    )
    desk = IncidentDesk(
        incidents,
        default_channel=incident_channel or router.default_channel,
        now_s=lambda: int(time.time()),
        journal=journal,
    )

    def route(name: str, severity: Severity) -> tuple[Severity, str, bool]:
        found = router.alert_route(name, severity)
        return found.severity, found.channel, found.muted

    return Notify(
        router, store, outbox, journal, incidents, desk, AlertBook(client, incidents, route)
    )


def build_flow(
    gateway: Gateway,
    policy: Policy,
    client: redis.Redis,
    registry: Registry,
    *,
    multisig: MultisigMode | None = None,
    wait_timeout_ms: int = 1000,
) -> ApprovalFlow:
    """The two-person flow on ``client``'s Redis, whole: it executes on the first click (or, in
    multisig mode, on the chain's word). With replicas, a transition a person is told about waits
    up to ``wait_timeout_ms`` for one."""
    # No local clock: expiry and leases run on the Redis server's TIME, shared by every replica.
    store = RedisApprovalStore(client, wait_timeout_ms=wait_timeout_ms)
    return ApprovalFlow(ApprovalService(store, policy), gateway, registry, multisig=multisig)


def build_runner(
    gateway: Gateway,
    policy: Policy,
    client: redis.Redis,
    notify: Notify | None = None,
    flow: ApprovalFlow | None = None,
    *,
    registry: Registry | None = None,
) -> Runner:
    """The runner with the two-person flow, incidents and the journal on ``client``'s Redis, over
    ``registry`` (the flow's, or the whole catalog unless given)."""
    notify = notify or build_notify(gateway, client)
    if registry is None:
        registry = flow.execution.registry if flow is not None else build_registry()
    return Runner(
        registry,
        policy,
        gateway,
        approvals=flow or build_flow(gateway, policy, client, registry),
        incidents=notify.desk,
        journal=notify.journal,
    )


@contextlib.contextmanager
def embedded_devnet(
    *, strict_views: bool = False, seed: bool = True
) -> Iterator[tuple[DevnetServer, LocalKeySigner]]:
    """A seeded devnet on a free 127.0.0.1 port whose package account is held by a fresh key."""
    admin = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    server = DevnetServer(
        admin_public_key=admin.public_key,
        chain_id=DEVNET_CHAIN_ID,
        strict_views=strict_views,
        seed=seed,
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


def _multisig_gateway(
    settings: Settings, checked: PolicyFile, section: MultisigSection
) -> tuple[Gateway, MultisigMode]:
    """Multisig mode: the bot signs with its own owner key (the package key is revoked) and the
    steps' gateway simulates as the account and sends nothing straight. The chain must agree with
    the policy before anything starts.

    Raises:
        ConfigError: no chain or no key configured.
        PolicyFileError: the account on chain does not match the policy's multisig section.
    """
    if settings.supra_rpc_url is None or settings.supra_chain_id is None:
        raise ConfigError(
            [("SUPRA_RPC_URL", "required in multisig mode (a chain whose account was converted)")]
        )
    if settings.signer_key_file is None:
        raise ConfigError([("CHATOPS_SIGNER_KEY_FILE", "required in multisig mode: the bot's key")])
    bot = LocalKeySigner.from_key_file(settings.signer_key_file)  # its own account: an owner
    address = settings.lottery_address
    client = ChainClient(str(settings.supra_rpc_url), chain_id=settings.supra_chain_id)
    chain = MultisigGateway(client, address, bot)
    mode = MultisigMode(chain, section.addresses, section.threshold, section.hash_only_from_bytes)
    try:
        problems = setup_problems(mode, humans_required=checked.policy.approvals_needed + 1)
    except ChainError as exc:
        client.close()
        raise ConfigError([("SUPRA_RPC_URL", f"cannot read the multisig account: {exc}")]) from exc
    if problems:
        client.close()
        raise PolicyFileError(str(settings.policy_file), problems)
    gateway = ProposingGateway(
        client, bot, address, chain, state_reader=ResourceStateReader(client, address)
    )
    return gateway, mode


@contextlib.contextmanager
def build_app(
    settings: Settings, *, for_slack: bool = False, http_mode: bool = False
) -> Iterator[App]:
    """Wire the runner for ``settings``.

    No ``SUPRA_RPC_URL``: an embedded devnet (the rehearsal chain). No ``REDIS_URL``: an embedded
    redis-server, for the console only; ``serve`` (``for_slack``) needs a real Redis and a policy.

    Raises:
        ConfigError: every variable that is missing for this mode, named (``Settings.problems``).
        PolicyFileError: every problem of ``CHATOPS_POLICY_FILE``, one line each.
    """
    settings.require(serve=for_slack, http_mode=http_mode)
    # Read and checked before anything starts: a bad file stops the bot with every problem named.
    registry = build_registry()
    checked = (
        load_policy_file(settings.policy_file, registry)
        if settings.policy_file
        else PolicyFile(demo_policy())
    )
    policy = checked.policy
    with contextlib.ExitStack() as stack:
        rpc_url = settings.supra_rpc_url
        multisig: MultisigMode | None = None
        if checked.multisig is not None:
            gateway, multisig = _multisig_gateway(settings, checked, checked.multisig)
        elif rpc_url is None:
            server, admin = stack.enter_context(embedded_devnet())
            gateway = _gateway(server.url, DEVNET_CHAIN_ID, admin, PACKAGE_ADDRESS)
        else:
            if settings.signer_key_file is None or settings.supra_chain_id is None:
                raise ConfigError([("CHATOPS_SIGNER_KEY_FILE", "required with SUPRA_RPC_URL")])
            signer = LocalKeySigner.from_key_file(
                settings.signer_key_file, account_address=settings.lottery_address
            )
            gateway = _gateway(
                str(rpc_url), settings.supra_chain_id, signer, settings.lottery_address
            )
        stack.callback(gateway.client.close)
        if settings.redis_url is None:
            client = stack.enter_context(embedded_redis())
        else:
            client = redis_client(settings.redis_url.get_secret_value())
            stack.callback(client.close)
        notify = build_notify(
            gateway, client, checked.routing, incident_channel=checked.incident_channel
        )
        flow = build_flow(
            gateway,
            policy,
            client,
            registry,
            multisig=multisig,
            wait_timeout_ms=settings.redis_wait_timeout_ms,
        )
        yield App(
            build_runner(gateway, policy, client, notify, flow),
            flow,
            gateway,
            policy,
            embedded=settings.is_embedded,
            redis=client,
            rehearsal=settings.is_rehearsal,
            notify=notify,
            direct_messages=checked.direct_messages,
        )
