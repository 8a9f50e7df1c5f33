"""The lifecycle of ``chatops serve``: the Slack adapter and the background loops started on the app
that ``chatops.wiring`` builds, readiness, signals, then drain and shutdown in order."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

import redis
from prometheus_client import CollectorRegistry, Gauge

from chatops.chain.errors import ChainError
from chatops.chain.gateway import Gateway
from chatops.config import ConfigError, Settings
from chatops.notify.digest import DEFAULT_DIGEST_ITEMS
from chatops.notify.metrics import ChainMetrics, OutboxMetrics
from chatops.notify.monitors import Monitors
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.ports import Poster
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.slack.app import build_bolt_app, refresh_requests, report_outcome
from chatops.slack.deps import SlackDeps
from chatops.slack.metrics import Metrics
from chatops.slack.server import HealthServer, make_wsgi, start_socket_mode
from chatops.slack.web.client import outbox_web_client, web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from chatops.slack.workspace import learn_workspace
from chatops.wiring import App, build_app
from commands.reply import Reply

__all__ = ["Loop", "background_loops", "serve", "supervise"]

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
        bolt = build_bolt_app(deps)
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
            OutboxPoster(outbox_web_client(token, str(settings.slack_api_url))),
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
