"""slack_sdk's built-in SocketModeClient works against the Socket Mode double and the Web API double."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.sync.client import connect

from tests.conftest import wait_until
from tests.fakes.slack_requests import slash_command_payload
from tests.fakes.slack_web_api import DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, SlackWebApiDouble
from tests.fakes.socket_mode import SocketModeServerDouble

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


@pytest.fixture
def socket_server() -> Iterator[SocketModeServerDouble]:
    with SocketModeServerDouble() as server:
        yield server


@pytest.fixture
def api(socket_server: SocketModeServerDouble) -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        app_tokens=[DEFAULT_APP_TOKEN],
        socket_mode_url=socket_server.issue_url,
    ) as double:
        yield double


@pytest.fixture
def received() -> list[SocketModeRequest]:
    return []


@pytest.fixture
def client(
    api: SlackWebApiDouble,
    socket_server: SocketModeServerDouble,
    received: list[SocketModeRequest],
) -> Iterator[SocketModeClient]:
    lock = threading.Lock()

    def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
        with lock:
            received.append(request)
        payload = {"text": "ack:" + request.payload.get("command", "")}
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    socket_client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN,
        web_client=WebClient(base_url=api.url, token=DEFAULT_BOT_TOKEN),
        ping_interval=0.5,  # also the reconnect monitor's period: keeps reconnect tests short
    )
    socket_client.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    try:
        yield socket_client
    finally:
        # The client's reader holds its socket lock through a 3 s recv timeout; a server-side close
        # wakes it at once, so close() does not wait that long.
        socket_client.auto_reconnect_enabled = False
        socket_server.drop_all()
        socket_client.close()


@pytest.fixture
def connected(client: SocketModeClient, socket_server: SocketModeServerDouble) -> SocketModeClient:
    """The client once its first connection is open."""
    client.connect()
    socket_server.wait_for_connections(1)
    return client


def test_client_connects_through_apps_connections_open_and_acks(
    api: SlackWebApiDouble,
    socket_server: SocketModeServerDouble,
    client: SocketModeClient,
    received: list[SocketModeRequest],
) -> None:
    """The client opens the issued URL, gets hello, and acks a slash command envelope with a payload."""
    client.connect()
    (conn,) = socket_server.wait_for_connections(1)
    assert (
        api.calls("apps.connections.open")[0].headers["authorization"]
        == f"Bearer {DEFAULT_APP_TOKEN}"
    )
    assert conn.ticket == socket_server.tickets()[0]
    assert conn.query["app_id"] == socket_server.app_id

    ack = socket_server.request("slash_commands", slash_command_payload("/lottery", "status"))

    assert ack.payload == {"text": "ack:/lottery"}
    assert ack.connection_index == 0
    assert 0 <= ack.elapsed_s < 3
    (request,) = received
    assert (request.type, request.accepts_response_payload) == ("slash_commands", True)
    assert request.payload["text"] == "status"


def test_client_reconnects_after_a_disconnect_message(
    api: SlackWebApiDouble, socket_server: SocketModeServerDouble, connected: SocketModeClient
) -> None:
    """After Slack's disconnect message the client asks for a new URL, reconnects, and acks there."""
    old = socket_server.send_disconnect("refresh_requested")

    api.wait_for("apps.connections.open", count=2, timeout_s=5)
    connections = socket_server.wait_for_connections(2, timeout_s=5)
    wait_until(lambda: not old.is_open, timeout_s=5)
    assert connections[1].ticket == socket_server.tickets()[1]
    ack = socket_server.request("interactive", {"type": "block_actions", "actions": []})
    assert ack.connection_index > old.index
    assert ack.payload == {"text": "ack:"}


def test_client_reconnects_after_the_server_drops_the_connection(
    api: SlackWebApiDouble, socket_server: SocketModeServerDouble, connected: SocketModeClient
) -> None:
    """A connection closed without warning is replaced by the client's monitor, via a new URL."""
    socket_server.drop()

    socket_server.wait_for_connections(2, timeout_s=8)
    assert len(api.calls("apps.connections.open")) >= 2
    wait_until(lambda: len(socket_server.open_connections()) == 1, timeout_s=5)
    assert socket_server.request("events_api", {"type": "event_callback"}).connection_index >= 1


def test_envelopes_without_an_ack_time_out() -> None:
    """wait_for_ack fails with TimeoutError when nobody answers, and hello is the first message sent."""
    with SocketModeServerDouble() as server, connect(server.issue_url(), compression=None) as ws:
        hello = json.loads(ws.recv(timeout=3))
        envelope_id = server.send_envelope("events_api", {"type": "event_callback"})
        envelope = json.loads(ws.recv(timeout=3))
        with pytest.raises(TimeoutError):
            server.wait_for_ack(envelope_id, timeout_s=0.1)
        ws.send(json.dumps({"envelope_id": envelope_id}))
        ack = server.wait_for_ack(envelope_id)
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": server.app_id}
    assert envelope["accepts_response_payload"] is False
    assert ack.payload is None
