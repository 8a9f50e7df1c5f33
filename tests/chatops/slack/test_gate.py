"""The door of ``POST /slack/events`` over real HTTP (waitress + the gate + Bolt): bodies past 1 MiB get
413 without being read, unsigned ones 401 before anything parses them, signed garbage 400, never a 500,
and no unverified body ever reaches a log line.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from slack_bolt import App, BoltRequest

from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.gate import MAX_BODY_BYTES, SlackRequestGate
from chatops.slack.metrics import Metrics
from chatops.slack.server import HealthServer, make_wsgi
from tests.chatops.slack.conftest import ALICE, CHANNEL, Slack, all_text, settle
from tests.fakes.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    signed_request,
    signed_slash_command,
)
from tests.fakes.slack_web_api import SlackWebApiDouble

MARKER = "UNVERIFIED-BODY-MARKER"
Environ = dict[str, Any]


def post(server: HealthServer, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
        return http.post("/slack/events", content=body, headers=headers)


def raw_exchange(port: int, head: bytes, body_parts: Iterable[bytes]) -> bytes:
    """Send a request by hand (headers, then the body parts while the server keeps reading) and
    return the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body was all sent: the point
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_a_body_over_one_mebibyte_gets_413_before_it_is_sent(
    http_server: HealthServer, slack: Slack, deps: SlackDeps
) -> None:
    """A 50 MB Content-Length is answered 413 from the headers alone (no body byte sent), a chunked
    body is cut off at the cap with 413, and neither runs anything."""
    declared = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 52428800\r\n\r\n"
    )
    status_declared = raw_exchange(http_server.port, declared, [])

    chunk = b"x" * 65536
    chunked = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY_BYTES // len(chunk) + 2)
    status_chunked = raw_exchange(http_server.port, chunked, [*parts, b"0\r\n\r\n"])

    assert status_declared.split()[1] == b"413", status_declared
    assert status_chunked.split()[1] == b"413", status_chunked
    settle(slack, deps, expected_commands=1)


def test_a_signed_body_of_exactly_the_cap_still_passes(
    http_server: HealthServer, slack_api: SlackWebApiDouble
) -> None:
    """The cap is on size, not on Slack: a signed slash command padded to exactly 1 MiB is acked
    and answered."""
    command = signed_slash_command("/feed", "show 1", user_id=ALICE, channel_id=CHANNEL)
    padded = command.body + "&pad=" + "p" * (MAX_BODY_BYTES - len(command.body) - 5)
    signed = signed_request(padded)
    assert len(padded.encode()) == MAX_BODY_BYTES

    response = post(http_server, signed.body, signed.headers)

    assert response.status_code == 200
    (posted,) = slack_api.wait_for("chat.postMessage", timeout_s=10)
    assert "Asset 1" in all_text(posted)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("this is not json", "application/json"),
        ("{not json either", "application/x-www-form-urlencoded"),
        ("payload=%7Bnope", "application/x-www-form-urlencoded"),
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        ("[1, 2, 3]", "application/json"),
    ],
)
def test_garbage_is_401_unsigned_and_400_signed_never_500(
    http_server: HealthServer, slack: Slack, deps: SlackDeps, body: str, content_type: str
) -> None:
    """A body Bolt could not parse gets 401 unless Slack signed it, then 400; a forged or missing
    signature, a timestamp that is no number and a body that is no UTF-8 all get 401; nothing runs."""
    signed = signed_request(body, content_type=content_type)
    forged = signed_request(body, content_type=content_type, forged=True)
    unsigned = {"content-type": content_type}
    no_number = {**signed.headers, "x-slack-request-timestamp": "soon"}

    statuses = [
        post(http_server, signed.body, signed.headers).status_code,
        post(http_server, forged.body, forged.headers).status_code,
        post(http_server, body, unsigned).status_code,
        post(http_server, body, no_number).status_code,
        post(http_server, b"\xff\xfe" + body.encode(), signed.headers).status_code,
    ]

    assert statuses == [400, 401, 401, 401, 401]
    settle(slack, deps, expected_commands=1)


def test_no_unverified_body_reaches_any_log_line(
    deps: SlackDeps, slack_api: SlackWebApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, a large body with a bad signature, posted to the server and handed
    to Bolt directly, leaves no trace of its content in any log record (Bolt's own verification logs
    its line without the body)."""
    for name in (None, "slack_sdk", "slack_bolt", "chatops", "waitress"):
        caplog.set_level(logging.DEBUG, logger=name)
    app = build_bolt_app(deps)  # Bolt's loggers copy the root level when the app is built
    wsgi = make_wsgi(app, lambda: {"ok": True}, deps.metrics, signing_secret=deps.signing_secret)
    server = HealthServer(wsgi, "127.0.0.1", 0)
    server.start()
    body = json.dumps({"type": "event_callback", "text": MARKER * 20_000})
    forged = signed_request(body, content_type="application/json", forged=True)
    try:
        refused = post(server, forged.body, forged.headers)
        garbage = post(server, MARKER, {"content-type": "application/json"})
    finally:
        server.stop()
    direct = app.dispatch(BoltRequest(body=forged.body, headers=forged.bolt_headers))

    assert (refused.status_code, garbage.status_code, direct.status) == (401, 401, 401)
    logged = "\n".join(
        [caplog.text, *(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)]
    )
    assert MARKER not in logged
    assert any(r.name == "slack_bolt.RequestVerification" for r in caplog.records)
    assert any(r.name == "chatops.slack.gate" for r in caplog.records)


def test_http_mode_never_serves_bolt_without_a_signing_secret(app: App) -> None:
    """make_wsgi refuses a Bolt app with no signing secret or a blank one: HTTP mode has no other
    key to fall back on."""
    for secret in (None, "", "   "):
        with pytest.raises(ValueError, match="signing secret"):
            make_wsgi(app, lambda: {"ok": True}, Metrics(), signing_secret=secret)


def test_the_gate_reads_no_more_than_the_cap_of_an_undeclared_body() -> None:
    """Without a Content-Length (a chunked body under another WSGI server) the gate stops reading one
    byte past the cap and answers 413; the app behind it is never called."""
    called: list[Environ] = []

    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            view = memoryview(buffer)
            view[:] = b"a" * len(view)
            self.served += len(view)
            return len(view)

    def behind(environ: Environ, start_response: Any) -> list[bytes]:
        called.append(environ)
        return []

    stream = Endless()
    statuses: list[str] = []
    gate = SlackRequestGate(behind, DEFAULT_SIGNING_SECRET)
    gate(
        {"REQUEST_METHOD": "POST", "wsgi.input": stream, "CONTENT_TYPE": "application/json"},
        lambda status, headers: statuses.append(status),
    )

    assert statuses == ["413 Content Too Large"]
    assert stream.served == MAX_BODY_BYTES + 1
    assert called == []


def test_unknown_methods_get_405(http_server: HealthServer) -> None:
    """Slack only POSTs: a GET to /slack/events is 405, not a page from Bolt."""
    response = httpx.get(f"http://127.0.0.1:{http_server.port}/slack/events", timeout=5)
    assert response.status_code == 405
