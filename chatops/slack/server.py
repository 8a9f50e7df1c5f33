"""Serving the Bolt app: HTTP mode (Bolt's WSGI adapter on waitress) or Socket Mode, both with
``/healthz``, ``/readyz`` and ``/metrics`` on the same port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from chatops.slack.gate import MAX_BODY_BYTES, SlackRequestGate
from chatops.slack.metrics import Metrics

__all__ = ["BackgroundChecks", "HealthServer", "make_wsgi", "start_socket_mode"]

logger = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
Readiness = Callable[[], dict[str, bool]]


class BackgroundChecks:
    """Readiness checks that may be slow (a chain that answers in seconds), each run again and
    again on a thread of its own; ``results`` answers at once from the last results.

    A check counts as failed until it first succeeds, and again once its last answer is older
    than ``stale_after_s``: a check stuck in a slow call turns not-ready, without /readyz waiting
    for it. A check that raises counts as failed.
    """

    def __init__(
        self,
        checks: Mapping[str, Callable[[], bool]],
        *,
        interval_s: float = 1.0,
        stale_after_s: float = 5.0,
    ) -> None:
        self._checks = dict(checks)
        self._interval_s = interval_s
        self._stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._last: dict[str, tuple[bool, float]] = {}
        self._stop = threading.Event()

    def start(self) -> None:
        for name, check in self._checks.items():
            threading.Thread(
                target=self._run, args=(name, check), name=f"chatops-check-{name}", daemon=True
            ).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, name: str, check: Callable[[], bool]) -> None:
        while not self._stop.is_set():
            try:
                ok = bool(check())
            except Exception:  # a check's own bug is a failed check, never a dead thread
                logger.exception("readiness check %s failed", name)
                ok = False
            with self._lock:
                self._last[name] = (ok, time.monotonic())
            self._stop.wait(self._interval_s)

    def results(self) -> dict[str, bool]:
        """Each check's last answer, if it is recent enough; constant work, never a check itself."""
        now_s = time.monotonic()
        with self._lock:
            last = dict(self._last)
        return {
            name: name in last and last[name][0] and now_s - last[name][1] <= self._stale_after_s
            for name in self._checks
        }


def make_wsgi(
    app: App | None,
    readiness: Readiness,
    metrics: Metrics,
    *,
    signing_secret: str | None = None,
    rehearsal: bool = False,
) -> WsgiApp:
    """Route ``/slack/events`` to Bolt (HTTP mode only: ``app`` and its ``signing_secret``) behind
    the gate that checks size and signature first, and serve the health and metrics endpoints
    (``/readyz`` says so when the bot serves a ``rehearsal``: the embedded devnet, no real chain)."""
    notes = {"rehearsal": True, "chain": "embedded devnet (rehearsal)"} if rehearsal else {}
    bolt: WsgiApp | None = None
    if app is not None:
        if signing_secret is None:
            raise ValueError("HTTP mode needs the signing secret: there is no other key")
        bolt = SlackRequestGate(SlackRequestHandler(app), signing_secret)

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            checks = readiness()
            ready = all(checks.values())
            start_response(
                "200 OK" if ready else "503 Service Unavailable",
                [("Content-Type", "application/json")],
            )
            return [json.dumps({"ready": ready, "checks": checks, **notes}).encode()]
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
            return [metrics.render()]
        if path == "/slack/events" and bolt is not None:
            result: Iterable[bytes] = bolt(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return wsgi


class HealthServer:
    """waitress on ``host:port`` in a thread (``port=0`` picks a free one; see ``port``)."""

    def __init__(self, wsgi: WsgiApp, host: str, port: int, *, threads: int = 8) -> None:
        # waitress buffers a body whole before the app runs: past the cap it answers 413 and stops
        # reading (it refuses a body of exactly its limit, hence the one byte more).
        self._server: Any = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="chatops",
            max_request_body_size=MAX_BODY_BYTES + 1,
        )
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name="chatops-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def is_serving(self) -> bool:
        """Whether ``start()``'s thread is still running."""
        return self._thread.is_alive()

    def serve_forever(self) -> None:
        self._server.run()

    def stop(self) -> None:
        """Finish the requests in flight, then close the listener and every connection.

        While ``start()``'s thread is in ``select()``, the sockets are closed by that thread itself
        (a thunk on waitress's trigger): closing them from here fails its ``select()`` with EBADF.
        """
        server = self._server
        # First the workers: each one pulls the trigger when it finishes, so it must still be open.
        server.task_dispatcher.shutdown()
        if self._thread.is_alive():
            # OSError: the loop woke up on its own, already ran the thunk and closed the trigger.
            with contextlib.suppress(OSError):
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            self._thread.join(timeout=5)
        else:
            server.close()


def start_socket_mode(
    app: App, app_token: str, *, ping_interval_s: float = 10.0
) -> SocketModeHandler:
    """Connect Socket Mode (reconnects on its own); the caller keeps the returned handler.

    ``ping_interval_s`` is also the period of the client's connection monitor, so it bounds how long
    a silently dropped connection goes unnoticed.
    """
    handler = SocketModeHandler(app, app_token, ping_interval=ping_interval_s)
    handler.connect()
    return handler
