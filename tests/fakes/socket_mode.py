"""A Slack Socket Mode server double on 127.0.0.1:0 (websockets' sync server), for slow tests."""

# It speaks the protocol as slack_sdk's clients expect: ``hello`` on connect, envelopes the test
# sends, acks (``{"envelope_id", "payload"?}``) recorded with the time they took, and ``disconnect``
# messages or dropped connections to drive reconnects. Pair it with
# ``SlackWebApiDouble(socket_mode_url=server.issue_url)`` so ``apps.connections.open`` hands out a
# fresh ticket each time, like Slack.

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["Ack", "EnvelopeType", "SocketConnection", "SocketModeServerDouble"]

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]


@dataclass(frozen=True)
class Ack:
    """What the client sent back for one envelope, and how long after the envelope it came."""

    envelope_id: str
    payload: dict[str, Any] | None
    elapsed_s: float
    connection_index: int
    raw: dict[str, Any]


@dataclass
class SocketConnection:
    """One accepted WebSocket connection (index counts from 0 in accept order)."""

    index: int
    path: str
    query: dict[str, str]
    opened_at: float
    closed_at: float | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    ws: ServerConnection | None = field(default=None, repr=False)

    @property
    def ticket(self) -> str | None:
        return self.query.get("ticket")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class SocketModeServerDouble:
    """Start with ``with SocketModeServerDouble() as sm:``; give ``sm.issue_url`` to the Web API double.

    ``ping_interval_s`` is the server's keepalive ping (Slack pings too); ``None`` turns it off.
    """

    def __init__(
        self,
        *,
        app_id: str = "A0TEST0001",
        ping_interval_s: float | None = 20.0,
        close_timeout_s: float = 1.0,
    ) -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._connections: list[SocketConnection] = []
        self._sent_at: dict[str, float] = {}
        self._acks: dict[str, Ack] = {}
        self._tickets: list[str] = []
        self._ticket_counter = itertools.count(1)
        self._server: Server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            compression=None,  # Slack does not negotiate permessage-deflate
            ping_interval=ping_interval_s,
            ping_timeout=ping_interval_s,
            close_timeout=close_timeout_s,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def issue_url(self) -> str:
        """A new connection URL, shaped like Slack's ``wss://…/link/?ticket=…&app_id=…``."""
        ticket = f"{next(self._ticket_counter):04d}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._tickets.append(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def tickets(self) -> list[str]:
        """Tickets handed out by ``issue_url``, oldest first."""
        with self._lock:
            return list(self._tickets)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- reading -------------------------------------------------------------------------------

    def connections(self) -> list[SocketConnection]:
        with self._lock:
            return list(self._connections)

    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections() if c.is_open]

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks.values())

    def wait_for_connections(self, count: int, timeout_s: float = 5.0) -> list[SocketConnection]:
        """Poll until ``count`` connections were accepted in total (open or closed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.connections()
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{len(found)} connection(s), wanted {count} within {timeout_s} s"
                )
            time.sleep(0.01)

    def wait_for_ack(self, envelope_id: str, timeout_s: float = 3.0) -> Ack:
        """Poll until the client acked ``envelope_id``; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                ack = self._acks.get(envelope_id)
            if ack is not None:
                return ack
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no ack for envelope {envelope_id} within {timeout_s} s")
            time.sleep(0.005)

    # -- driving -------------------------------------------------------------------------------

    def send_envelope(
        self,
        kind: EnvelopeType,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: SocketConnection | None = None,
    ) -> str:
        """Send one envelope on ``connection`` (default: the newest open one); returns its id.

        ``accepts_response_payload`` defaults to Slack's: true for slash commands and
        view_submission, false otherwise.
        """
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") == "view_submission"
            )
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        target = self._target(connection)
        with self._lock:
            self._sent_at[envelope_id] = time.monotonic()
        self._send(target, envelope)
        return envelope_id

    def request(
        self,
        kind: EnvelopeType,
        payload: dict[str, Any],
        *,
        timeout_s: float = 3.0,
        **kwargs: Any,
    ) -> Ack:
        """Send an envelope and wait for its ack (``send_envelope`` keywords pass through)."""
        return self.wait_for_ack(self.send_envelope(kind, payload, **kwargs), timeout_s)

    def send_raw(self, message: dict[str, Any], connection: SocketConnection | None = None) -> None:
        """Send any JSON message (e.g. an unknown type) on the newest open connection."""
        self._send(self._target(connection), message)

    def send_disconnect(
        self,
        reason: str = "refresh_requested",
        *,
        drop: bool = True,
        grace_s: float = 3.0,
        connection: SocketConnection | None = None,
    ) -> SocketConnection:
        """Send Slack's ``disconnect`` message; with ``drop``, close that connection afterwards.

        Like Slack, it closes only once the client has opened a newer connection, or after
        ``grace_s``. Returns the connection told to go.
        """
        target = self._target(connection)
        self._send(target, {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        if drop:
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and not any(
                c.index > target.index for c in self.connections()
            ):
                time.sleep(0.01)
            self.drop(target)
        return target

    def drop(self, connection: SocketConnection | None = None, *, code: int = 1001) -> None:
        """Close a connection from the server side (close frame ``code``, then TCP close)."""
        target = self._target(connection)
        if target.ws is not None:
            target.ws.close(code=code, reason="going away")

    def drop_all(self) -> None:
        """Close every open connection (e.g. before closing a client, so its reader wakes at once)."""
        for connection in self.open_connections():
            self.drop(connection)

    # -- server side ---------------------------------------------------------------------------

    def _target(self, connection: SocketConnection | None) -> SocketConnection:
        if connection is not None:
            return connection
        open_now = self.open_connections()
        if not open_now:
            raise RuntimeError("no open Socket Mode connection")
        return open_now[-1]

    @staticmethod
    def _send(connection: SocketConnection, message: dict[str, Any]) -> None:
        if connection.ws is None:
            raise RuntimeError("connection has no socket yet")
        connection.ws.send(json.dumps(message))

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path != "/link/":
            return ws.respond(404, "Not Found\n")
        return None

    def _handle(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path if ws.request else "")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            entry = SocketConnection(
                index=len(self._connections),
                path=parts.path,
                query=query,
                opened_at=time.monotonic(),
                ws=ws,
            )
            self._connections.append(entry)
            open_count = sum(1 for c in self._connections if c.is_open)
        try:
            ws.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": open_count,
                        "debug_info": {
                            "host": "applink-fake",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            for raw in ws:
                self._record(entry, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                entry.closed_at = time.monotonic()

    def _record(self, entry: SocketConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsed": raw if isinstance(raw, str) else raw.decode(errors="replace")}
        if not isinstance(message, dict):
            message = {"unparsed": message}
        now = time.monotonic()
        with self._lock:
            entry.received.append(message)
            envelope_id = message.get("envelope_id")
            if isinstance(envelope_id, str) and envelope_id not in self._acks:
                sent_at = self._sent_at.get(envelope_id, now)
                payload = message.get("payload")
                self._acks[envelope_id] = Ack(
                    envelope_id=envelope_id,
                    payload=payload if isinstance(payload, dict) else None,
                    elapsed_s=now - sent_at,
                    connection_index=entry.index,
                    raw=message,
                )
