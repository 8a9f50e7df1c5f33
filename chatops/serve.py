"""The lifecycle of ``chatops serve``: the Slack adapter and the background loops started on the app
that ``chatops.wiring`` builds, readiness, signals, then drain and shutdown in order."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable

import redis
from prometheus_client import Gauge, GCCollector, PlatformCollector, ProcessCollector

from chatops.chain.errors import ChainError
from chatops.chain.gateway import Gateway
from chatops.chain.metrics import RpcMetrics
from chatops.config import ConfigError, Settings
from chatops.notify.digest import DEFAULT_DIGEST_ITEMS
from chatops.notify.leader import LeaderLease
from chatops.notify.metrics import ChainMetrics, LoopMetrics, OutboxMetrics
from chatops.notify.monitors import Monitors
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.ports import Poster
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.retention import Retention
from chatops.slack.app import (
    build_bolt_app,
    forget_requests,
    home_refresher,
    refresh_requests,
    report_outcome,
)
from chatops.slack.deps import SlackDeps
from chatops.slack.metrics import Metrics
from chatops.slack.server import BackgroundChecks, HealthServer, make_wsgi, start_socket_mode
from chatops.slack.web.client import outbox_web_client, web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from chatops.slack.workspace import learn_workspace
from chatops.wiring import App, build_app
from commands.reply import Reply

__all__ = ["Loop", "background_loops", "exported_metrics", "leased", "serve", "supervise"]

logger = logging.getLogger(__name__)


def serve(settings: Settings, *, force_http: bool = False, host: str = "0.0.0.0") -> int:  # noqa: S104 - a container's port
    """``chatops serve``: Socket Mode when ``SLACK_APP_TOKEN`` is set (unless ``force_http``), else
    HTTP mode with ``POST /slack/events``; health, readiness and metrics on ``CHATOPS_HTTP_PORT``.

    SIGTERM (``docker stop``) or Ctrl-C stops it in order: new commands are answered "restarting"
    and ``/readyz`` turns 503, commands in flight get ``CHATOPS_SHUTDOWN_GRACE_S`` to finish (see
    ``Executor.drain``), then Slack, the HTTP server, the background loops, Redis and the chain
    client close, in that order. A second Ctrl-C skips the wait.
    """
    socket_mode = settings.slack_app_token is not None and not force_http
    with build_app(settings, for_slack=True, http_mode=not socket_mode) as app:
        if settings.slack_bot_token is None:
            raise ConfigError([("SLACK_BOT_TOKEN", "required by chatops serve")])
        metrics = Metrics()
        rehearsal = settings.is_rehearsal
        if rehearsal:
            logger.warning(
                "REHEARSAL: serving on the embedded devnet, not a real chain "
                "(CHATOPS_REHEARSAL); every Slack message and /readyz say so"
            )
        client = web_client(
            settings.slack_bot_token.get_secret_value(),
            str(settings.slack_api_url),
            metrics=metrics,
            rehearsal=rehearsal,
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
            dm_approvers=app.direct_messages.approvers,
            dm_requester=app.direct_messages.requester,
        )
        bolt = build_bolt_app(deps)
        executor = deps.executor
        handler = None
        if socket_mode and settings.slack_app_token is not None:
            handler = start_socket_mode(bolt, settings.slack_app_token.get_secret_value())

        # Redis and the chain are checked in the background: /readyz never waits on a slow chain.
        health = BackgroundChecks(
            {"redis": lambda: _ping(app.redis), "chain": lambda: _chain_up(app.gateway)}
        )
        health.start()

        def readiness() -> dict[str, bool]:
            # Not ready while shutting down, so a load balancer sends new work elsewhere.
            checks = {**health.results(), "accepting": not executor.is_closing}
            if handler is not None:
                checks["slack"] = bool(handler.client.is_connected())
            return checks

        stop = threading.Event()
        token = settings.slack_bot_token.get_secret_value()
        # One registry: the bot's own metrics and the chain metrics of monitoring.md on /metrics.
        chain_metrics = exported_metrics(app, metrics, lambda: len(executor.in_flight()))
        notices = outbox_web_client(
            token, str(settings.slack_api_url), metrics=metrics, rehearsal=rehearsal
        )
        loops = background_loops(
            app,
            # App Home lists the open incidents: an incident's message refreshes the tabs.
            OutboxPoster(notices, on_incident=home_refresher(deps)),
            chain_metrics,
            on_swept=lambda ids: refresh_requests(deps, ids),
            on_executed=lambda request_id, reply: report_outcome(deps, request_id, reply),
            digest_items=settings.outbox_digest_items,
            retention_days=settings.retention_days,
            forget=lambda ids: forget_requests(app.redis, ids),
        )
        threads = [supervise(name, loop, stop) for name, loop in loops.items()]
        server = HealthServer(
            make_wsgi(
                None if socket_mode else bolt,
                readiness,
                metrics,
                signing_secret=signing_secret,
                rehearsal=rehearsal,
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
            health.stop()
            deps.courier.drain(1.0)  # refusals already queued: a second to post them
            deadline_s = time.monotonic() + 2
            for thread in threads:
                thread.join(timeout=max(0.0, deadline_s - time.monotonic()))
            signal.signal(signal.SIGTERM, previous)
            logger.info("stopped")
    return 0


Loop = Callable[[threading.Event], None]

SWEEP_INTERVAL_S = 10.0
RETENTION_INTERVAL_S = 600.0


def exported_metrics(app: App, metrics: Metrics, in_flight: Callable[[], int]) -> ChainMetrics:
    """Put everything ``/metrics`` shows on ``metrics.registry``: the process and platform
    collectors, chain RPC latency by route, the queues read at scrape time (outbox depth and age,
    approvals pending: each a cheap read, whatever the history), work in flight; returns the
    chain metrics of monitoring.md, on the same registry, for the watcher and the monitors."""
    registry = metrics.registry
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    app.gateway.client.metrics = RpcMetrics(registry)
    outbox = app.notify.outbox
    Gauge("chatops_outbox_depth", "Messages waiting in the outbox", registry=registry).set_function(
        lambda: float(outbox.depth())
    )
    Gauge(
        "chatops_outbox_oldest_seconds",
        "How long the oldest message still in the outbox has waited",
        registry=registry,
    ).set_function(lambda: outbox.oldest_age_ms() / 1000)
    store = app.flow.service.store
    Gauge(
        "chatops_approvals_pending",
        "Approval requests waiting for a second person",
        registry=registry,
    ).set_function(lambda: float(store.pending_count()))
    Gauge(
        "chatops_work_in_flight",
        "Commands and clicks queued or running on the executor",
        registry=registry,
    ).set_function(lambda: float(in_flight()))
    Gauge(
        "chatops_rehearsal",
        "1 when the bot serves a rehearsal (the embedded devnet, no real chain)",
        registry=registry,
    ).set(1 if app.rehearsal else 0)
    return ChainMetrics(registry)


def leased(
    lease: LeaderLease, interval_s: float, work: Callable[[], object], metrics: LoopMetrics
) -> Loop:
    """A singleton loop: every ``interval_s`` whichever replica holds ``lease`` runs ``work`` once;
    the others stand by and take over when the holder stops renewing (its lease lapses)."""
    loop = lease.loop

    def run(stop: threading.Event) -> None:
        held = False
        try:
            while not stop.wait(interval_s):
                fence = lease.acquire()
                if held and not fence:
                    metrics.lease_lost.labels(loop=loop).inc()
                    logger.warning("%s lease lost to another replica; standing by", loop)
                held = bool(fence)
                metrics.leader.labels(loop=loop).set(1 if held else 0)
                if held:
                    work()
                    metrics.runs.labels(loop=loop).inc()
        finally:
            lease.release()
            metrics.leader.labels(loop=loop).set(0)

    return run


def background_loops(
    app: App,
    poster: Poster,
    metrics: ChainMetrics,
    on_swept: Callable[[list[str]], None] | None = None,
    *,
    on_executed: Callable[[str, Reply], None] | None = None,
    digest_items: int = DEFAULT_DIGEST_ITEMS,
    retention_days: int = 0,
    forget: Callable[[list[str]], None] | None = None,
    owner: str | None = None,
    sweep_interval_s: float = SWEEP_INTERVAL_S,
) -> dict[str, Loop]:
    """The supervised background work of ``serve``: events, monitors, the outbox, approval expiry,
    retention, and in multisig mode the execution of what the chain approved (``on_executed`` sees
    each result, ``on_swept`` the requests whose state or votes changed). Every loop but the outbox
    (whose channels are leased one at a time) is a singleton among replicas: one leader runs it,
    under a lease (``owner`` names this replica).

    Their metrics go on the same registry as ``metrics`` (one ``/metrics``)."""
    notify = app.notify
    owner = owner or uuid.uuid4().hex[:12]
    loops = LoopMetrics(metrics.registry)
    # A fresh install starts at the tip instead of replaying the chain's whole history.
    watcher = Watcher(
        app.gateway.client,
        app.redis,
        notify.router,
        notify.incidents,
        notify.alerts,
        config=WatcherConfig(start_height=None),
        metrics=metrics,
        loop_metrics=loops,
        owner=owner,
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
    retention = Retention(
        service.store, notify.store, notify.journal, days=retention_days, forget=forget
    )

    def sweep() -> None:
        expired, lost = service.sweep()
        if on_swept is not None and (expired or lost):
            on_swept([*expired, *lost])

    def lease(loop: str, interval_s: float) -> LeaderLease:
        # A lease outlives three rounds: one slow round does not hand the loop to another replica.
        return LeaderLease(app.redis, owner, int(interval_s * 3000), loop=loop)

    monitor_s = monitors.config.interval_s
    work: dict[str, Loop] = {
        "watcher": watcher.run,
        "monitors": leased(lease("monitors", monitor_s), monitor_s, monitors.check_once, loops),
        "outbox": outbox.run,
        "approval-sweeper": leased(
            lease("sweeper", sweep_interval_s), sweep_interval_s, sweep, loops
        ),
        "retention": leased(
            lease("retention", RETENTION_INTERVAL_S),
            RETENTION_INTERVAL_S,
            lambda: retention.run_once(service.store.server_time_ms()),
            loops,
        ),
    }
    if app.flow.executor is not None:
        work["multisig-executor"] = _executor_loop(app, on_executed, on_swept)
    return work


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
