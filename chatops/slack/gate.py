"""The door of ``POST /slack/events``: only a bounded, Slack-signed, well-formed body reaches Bolt.

Nothing from the internet is parsed or logged before its signature and timestamp check out.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

__all__ = ["MAX_BODY_BYTES", "SlackRequestGate", "keep_bodies_out_of_bolt_logs"]

logger = logging.getLogger(__name__)

# Slack's payloads are a few KiB (a modal's state is the largest); nothing it sends comes near this.
MAX_BODY_BYTES = 1 << 20
_READ_CHUNK = 64 * 1024

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class SlackRequestGate:
    """WSGI middleware in front of Bolt's adapter: 413 past ``max_body_bytes`` (read no further),
    401 unless Slack signed the body within five minutes, 400 for a signed body Bolt could not parse.

    Bolt parses the body before its own signature check, so a non-JSON body got a 500 and a traceback;
    and its verification logged every rejected body whole.
    """

    def __init__(
        self, app: WsgiApp, signing_secret: str, *, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        if not signing_secret.strip():
            raise ValueError("a blank signing secret verifies nothing")
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._max = max_body_bytes

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _refuse(start_response, "405 Method Not Allowed", "POST only")
        try:
            length = _content_length(environ)
        except ValueError:
            return _refuse(start_response, "400 Bad Request", "bad Content-Length")
        body = None if length > self._max else _read(environ.get("wsgi.input"), length, self._max)
        if body is None:
            return _refuse(start_response, "413 Content Too Large", "body over the size limit")
        if not self._signed(environ, body):
            return _refuse(start_response, "401 Unauthorized", "invalid request signature")
        if not _parses(body, str(environ.get("CONTENT_TYPE") or "")):
            return _refuse(start_response, "400 Bad Request", "malformed body")
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(body)
        inner["CONTENT_LENGTH"] = str(len(body))
        return self._app(inner, start_response)

    def _signed(self, environ: Environ, body: bytes) -> bool:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        try:
            return self._verifier.is_valid(body, timestamp, signature)
        except ValueError:  # a timestamp that is no number, a body that is no UTF-8
            return False


def _content_length(environ: Environ) -> int:
    """The declared length; -1 when none was declared (a chunked body)."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return -1
    if not (text.isascii() and text.isdigit()):
        raise ValueError("not a length")
    return int(text)


def _read(stream: Any, length: int, limit: int) -> bytes | None:
    """The body, or None once more than ``limit`` bytes came in (``length`` -1: not declared)."""
    if stream is None:
        return b""
    if length >= 0:
        return bytes(stream.read(length))
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    return None


def _parses(body: bytes, content_type: str) -> bool:
    """Whether Bolt's own parser turns the body into an object (its ``payload=`` JSON included)."""
    try:
        parsed = parse_body(body.decode("utf-8"), content_type.split(";")[0].strip() or None)
    except ValueError:
        return False
    return isinstance(parsed, dict)


def _refuse(start_response: StartResponse, status: str, why: str) -> list[bytes]:
    logger.info("refused a request to /slack/events: %s", why)
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [why.encode() + b"\n"]


class _NoBody(logging.Filter):
    """Bolt's request verification logs the whole body of a request whose signature failed, at
    INFO; the line stays, the body goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "Invalid request signature detected (body not logged)"
        record.args = None
        return True


def keep_bodies_out_of_bolt_logs() -> None:
    """Strip the body from every line of Bolt's verification logger (it logs nothing else)."""
    target = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, _NoBody) for f in target.filters):
        target.addFilter(_NoBody())
