"""A scripted Supra RPC node on 127.0.0.1:0 for the gateway's error paths (the chain's outer edge)."""

# Answers are queued per (method, path) with ``reply()`` (used once each, in order) or set as the
# standing answer with ``always()``; anything else gets 404. Every request is recorded.

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeSupraNode", "RecordedRequest", "Reply"]

_UNSET: Any = object()


@dataclass(frozen=True)
class Reply:
    """One canned answer; ``chain_id=None`` omits the x-supra-chain-id header."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chain_id: int | str | None = _UNSET


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSupraNode


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature; keep tests quiet
        return

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = unquote(parts.path)
        fake.record(
            RecordedRequest(
                method=method,
                path=path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        reply = fake.next_reply(method, path)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            chain_id = fake.chain_id if reply.chain_id is _UNSET else reply.chain_id
            if chain_id is not None:
                self.send_header("x-supra-chain-id", str(chain_id))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout tests)


class FakeSupraNode:
    """Start with ``with FakeSupraNode(chain_id=6) as node:``; point a ChainClient at ``node.url``."""

    def __init__(self, chain_id: int = 6) -> None:
        self.chain_id = chain_id
        self._lock = threading.Lock()
        self._queued: dict[tuple[str, str], deque[Reply]] = {}
        self._standing: dict[tuple[str, str], Reply] = {}
        self.requests: list[RecordedRequest] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, method: str, path: str, reply: Reply | None = None, **kwargs: Any) -> None:
        """Queue one answer for the next matching request (``Reply`` fields as keywords)."""
        with self._lock:
            self._queued.setdefault((method, path), deque()).append(reply or Reply(**kwargs))

    def always(self, method: str, path: str, reply: Reply | None = None, **kwargs: Any) -> None:
        """The answer for every matching request once the queue is empty."""
        with self._lock:
            self._standing[(method, path)] = reply or Reply(**kwargs)

    def next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            queue = self._queued.get((method, path))
            if queue:
                return queue.popleft()
            standing = self._standing.get((method, path))
        if standing is not None:
            return standing
        return Reply(status=404, body={"message": f"no route for {method} {path}"})

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
