"""A Slack Web API double on 127.0.0.1:0 for the Slack adapter's tests (Slack's outer edge)."""

# It answers the methods the bot uses the way Slack does (``ok:false`` + ``error``, 429 +
# ``Retry-After``, 5xx), keeps posted messages so ``chat.update`` edits them, and records every
# call. Failures are scripted through an explicit queue (``fail_next``), never through magic tokens.
# It also serves ``response_url`` webhooks (``response_url()``) so a Bolt ``respond()`` never leaves
# the machine.

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "ApiCall",
    "SlackChannel",
    "SlackUser",
    "SlackWebApiDouble",
]

DEFAULT_BOT_TOKEN = "xoxb-test-bot-token"
DEFAULT_APP_TOKEN = "xapp-1-test-app-token"

# Parameters Slack accepts either as JSON values or as JSON strings inside a form body.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
# ts of the first posted message; each later one is 100 µs further on, like Slack's own.
_FIRST_TS_US = 1_700_000_000_000_100
_TS_STEP_US = 100


@dataclass(frozen=True)
class ApiCall:
    """One recorded request: Web API method (or ``"response_url"``), merged params, lowercase headers;
    ``at_s`` is ``time.monotonic()`` when the answer was decided (rate tests)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    at_s: float = 0.0


@dataclass(frozen=True)
class SlackUser:
    """A ``users.info`` entry; ``to_api()`` gives Slack's shape."""

    id: str
    team_id: str = "T0TEST0001"
    name: str = ""
    real_name: str = ""
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_stranger: bool = False
    is_admin: bool = False

    def to_api(self) -> dict[str, Any]:
        name = self.name or self.id.lower()
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": name,
            "real_name": self.real_name or name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "tz": "Etc/UTC",
            "profile": {"real_name": self.real_name or name, "display_name": name},
        }
        if self.is_stranger:  # Slack only sends the field for users of another workspace
            user["is_stranger"] = True
        return user


@dataclass(frozen=True)
class SlackChannel:
    """A ``conversations.info`` entry; ``is_member=False`` makes posts fail with ``not_in_channel``."""

    id: str
    name: str = ""
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name or self.id.lower(),
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": self.id.startswith("D"),
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "created": 1_690_000_000,
        }


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str | None
    retry_after_s: int | None
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    double: SlackWebApiDouble


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature; keep tests quiet
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.double.handle(parts.path, parts.query, headers, body)
        payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout tests)


def _parse_params(query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    content_type = headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body:
        form = parse_qs(body.decode(), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    for name in _JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            params[name] = json.loads(value)
    return params


class SlackWebApiDouble:
    """Start with ``with SlackWebApiDouble() as api:``; use ``WebClient(base_url=api.url, token=...)``.

    ``bot_tokens``/``app_tokens``: the accepted tokens; ``None`` accepts any ``xoxb-``/``xapp-`` token.
    ``channels``: ``None`` accepts any channel id; otherwise only these (ids or ``SlackChannel``), and
    the others get ``channel_not_found``. ``socket_mode_url``: what ``apps.connections.open`` returns,
    a string or a callable (e.g. ``SocketModeServerDouble.issue_url``) asked once per call.
    ``enterprise_id``: the Enterprise Grid organisation of the workspace (``None``: not in one).
    """

    def __init__(
        self,
        *,
        bot_tokens: Iterable[str] | None = None,
        app_tokens: Iterable[str] | None = None,
        users: Iterable[SlackUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        channels: Iterable[str | SlackChannel] | None = None,
        socket_mode_url: str | Callable[[], str] = "ws://127.0.0.1:9/link/?ticket=unset",
        team_id: str = "T0TEST0001",
        bot_user_id: str = "U0BOT00001",
        bot_id: str = "B0BOT00001",
        app_id: str = "A0TEST0001",
        enterprise_id: str | None = None,
    ) -> None:
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.socket_mode_url = socket_mode_url
        self._bot_tokens = None if bot_tokens is None else frozenset(bot_tokens)
        self._app_tokens = None if app_tokens is None else frozenset(app_tokens)
        self._lock = threading.Lock()
        self._calls: list[ApiCall] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._latency_s: dict[str, float] = {}
        self._users: dict[str, SlackUser] = {u.id: u for u in users}
        self._usergroups: dict[str, list[str]] = {
            gid: list(members) for gid, members in (usergroups or {}).items()
        }
        self.restrict_channels = channels is not None
        self._channels: dict[str, SlackChannel] = {}
        for channel in channels or ():
            self.add_channel(channel)
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._ts_counter = itertools.count()
        self._id_counter = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.double = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "apps.connections.open": self._apps_connections_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
        }

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``: ``http://127.0.0.1:PORT/api/``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def response_url(self, name: str = "1") -> str:
        """A loopback ``response_url`` whose POSTs are recorded as ``"response_url"`` calls."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/commands/{self.team_id}/{name}/response"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        body: bytes | None = None,
        times: int = 1,
    ) -> None:
        """Queue failures for the next ``times`` calls of ``method``, answered in order.

        ``status=429`` answers ``ratelimited`` with ``Retry-After: retry_after`` (default 1);
        ``status>=500`` answers a 5xx (``body`` replaces the JSON); ``status=200`` with ``error``
        answers ``ok:false`` like any Slack error.
        """
        if status == 200 and error is None:
            raise ValueError("a status-200 failure needs an error string")
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = str(1 if retry_after is None else retry_after)
        failure = _Failure(status, error, retry_after, body, headers)
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    def set_latency(self, method: str, seconds: float) -> None:
        """Delay every answer to ``method`` by ``seconds`` (0 removes the delay)."""
        with self._lock:
            self._latency_s[method] = seconds

    def add_user(self, user: SlackUser) -> None:
        with self._lock:
            self._users[user.id] = user

    def set_usergroup(self, group_id: str, user_ids: Iterable[str]) -> None:
        with self._lock:
            self._usergroups[group_id] = list(user_ids)

    def add_channel(self, channel: str | SlackChannel) -> None:
        """Make a channel known (and, when channels are restricted, allowed)."""
        entry = SlackChannel(id=channel) if isinstance(channel, str) else channel
        with self._lock:
            self._channels[entry.id] = entry

    # -- reading -------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every recorded call, or those of one method, oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout_s: float = 5.0) -> list[ApiCall]:
        """Poll until ``method`` was called ``count`` times; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = [c.method for c in self.calls()]
                raise TimeoutError(
                    f"{method} called {len(found)} time(s), wanted {count} within {timeout_s} s; calls: {seen}"
                )
            time.sleep(0.01)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages the bot posted in ``channel`` (as edited by ``chat.update``), oldest first."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._messages.get(channel, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages(channel) if m["ts"] == ts), None)

    def ephemerals(self, channel: str) -> list[dict[str, Any]]:
        """Ephemeral messages sent in ``channel``; each carries the ``user`` who sees it."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._ephemerals.get(channel, [])]

    def views(self) -> dict[str, dict[str, Any]]:
        """Modals opened or updated, by view id."""
        with self._lock:
            return json.loads(json.dumps(self._views))  # type: ignore[no-any-return]

    # -- request handling (server threads) ----------------------------------------------------

    def handle(self, path: str, query: str, headers: dict[str, str], body: bytes) -> _Answer:
        """Answer one HTTP request; public so the handler stays a thin transport."""
        if path.startswith("/hooks/"):
            method = "response_url"
        elif path.startswith("/api/"):
            method = path.removeprefix("/api/")
        else:
            method = path
        try:
            params = _parse_params(query, headers, body)
        except (ValueError, UnicodeDecodeError):
            params = {}
            answer = _Answer(200, {"ok": False, "error": "invalid_json"})
        else:
            if method == "response_url":
                answer = _Answer(200, {"ok": True})
            elif path.startswith("/api/"):
                answer = self._answer_api(method, params, headers)
            else:
                answer = _Answer(404, {"ok": False, "error": "not_found"})
        with self._lock:
            self._calls.append(
                ApiCall(method, params, headers, answer.status, answer.body, time.monotonic())
            )
        return answer

    def _answer_api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        with self._lock:
            latency_s = self._latency_s.get(method, 0.0)
        if latency_s:
            time.sleep(latency_s)
        handler = self._methods.get(method)
        if handler is None:
            return _Answer(200, {"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._check_auth(method, headers)
        if auth_error is not None:
            return _Answer(200, {"ok": False, "error": auth_error})
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
        if failure is not None:
            return self._failure_answer(failure)
        with self._lock:
            body = handler(params)
        return _Answer(200, body)

    def _check_auth(self, method: str, headers: Mapping[str, str]) -> str | None:
        value = headers.get("authorization", "")
        if not value:
            return "not_authed"
        scheme, _, token = value.partition(" ")
        if scheme != "Bearer" or not token:
            return "invalid_auth"
        wants_app = method == "apps.connections.open"
        accepted = self._app_tokens if wants_app else self._bot_tokens
        prefix = "xapp-" if wants_app else "xoxb-"
        if token.startswith(("xoxb-", "xapp-")) and not token.startswith(prefix):
            return "not_allowed_token_type"
        if not token.startswith(prefix) or (accepted is not None and token not in accepted):
            return "invalid_auth"
        return None

    @staticmethod
    def _failure_answer(failure: _Failure) -> _Answer:
        if failure.status == 429:
            body: dict[str, Any] = {"ok": False, "error": failure.error or "ratelimited"}
        elif failure.status >= 500:
            default = "service_unavailable" if failure.status == 503 else "fatal_error"
            body = {"ok": False, "error": failure.error or default}
        else:
            body = {"ok": False, "error": failure.error or "invalid_request"}
        return _Answer(failure.status, body, failure.headers, failure.body)

    # -- methods (called with the lock held) ---------------------------------------------------

    def _next_ts(self) -> str:
        micros = _FIRST_TS_US + next(self._ts_counter) * _TS_STEP_US
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08d}"

    def _channel_error(self, channel: Any, *, posting: bool) -> str | None:
        if not isinstance(channel, str) or not channel:
            return "channel_not_found"
        known = self._channels.get(channel)
        if known is None:
            return "channel_not_found" if self.restrict_channels else None
        if known.is_archived and posting:
            return "is_archived"
        if not known.is_member and posting:
            return "not_in_channel"
        return None

    def _resolve_channel(self, channel: str) -> str:
        # Posting to a user id opens (or reuses) the DM with that user, as Slack does.
        if channel[:1] in ("U", "W"):
            return "D" + channel[1:]
        return channel

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        """Slack's answer for a bot token (a bad token never gets here: ``invalid_auth``)."""
        answer: dict[str, Any] = {
            "ok": True,
            "url": "https://chatops-test.slack.com/",
            "team": "chatops test",
            "user": "chatops",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
        if self.enterprise_id is not None:  # Slack sends the field only inside a Grid
            answer["enterprise_id"] = self.enterprise_id
        return answer

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        raw_channel = params.get("channel")
        is_dm = isinstance(raw_channel, str) and raw_channel[:1] in ("U", "W")
        error = None if is_dm else self._channel_error(raw_channel, posting=True)
        if error:
            return {"ok": False, "error": error}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        channel = self._resolve_channel(str(raw_channel))
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": params.get("text", ""),
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(name):
                message[name] = params[name]
        self._messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(params.get("channel"), posting=True)
        if error:
            return {"ok": False, "error": error}
        user = params.get("user")
        if not isinstance(user, str) or not user:
            return {"ok": False, "error": "user_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        entry: dict[str, Any] = {
            "type": "message",
            "user": user,
            "ts": ts,
            "text": params.get("text", ""),
        }
        for name in ("blocks", "attachments", "thread_ts"):
            if params.get(name):
                entry[name] = params[name]
        self._ephemerals.setdefault(str(params["channel"]), []).append(entry)
        return {"ok": True, "message_ts": ts}

    def _find_message(self, channel: Any, ts: Any) -> dict[str, Any] | None:
        if not isinstance(channel, str):
            return None
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel, posting=False)
        if error:
            return {"ok": False, "error": error}
        message = self._find_message(channel, params.get("ts"))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" not in params and "blocks" not in params and "attachments" not in params:
            return {"ok": False, "error": "no_text"}
        # Slack keeps the fields a call leaves out; an empty blocks list removes the blocks.
        if "text" in params:
            message["text"] = params["text"]
        for name in ("blocks", "attachments"):
            if name in params:
                if params[name]:
                    message[name] = params[name]
                else:
                    message.pop(name, None)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": dict(message),
        }

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel, posting=False)
        if error:
            return {"ok": False, "error": error}
        ts = params.get("message_ts")
        if self._find_message(channel, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://chatops-test.slack.com/archives/{channel}/p{str(ts).replace('.', '')}",
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.to_api()}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self._usergroups.get(str(params.get("usergroup", "")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _build_view(
        self, view: Any, view_id: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        spec = view if isinstance(view, dict) else {}
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec.get("type", "modal"),
            "title": spec.get("title"),
            "submit": spec.get("submit"),
            "close": spec.get("close"),
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "external_id": spec.get("external_id", ""),
            "state": {"values": {}},
            "hash": self._next_ts(),
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(params.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        view = self._build_view(params["view"], self._next_id("V"), None)
        self._views[view["id"]] = view
        return {"ok": True, "view": view}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        current: dict[str, Any] | None = None
        if params.get("view_id"):
            current = self._views.get(str(params["view_id"]))
        elif params.get("external_id"):
            current = next(
                (v for v in self._views.values() if v["external_id"] == params["external_id"]), None
            )
        if current is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = self._build_view(params["view"], current["id"], current)
        self._views[view["id"]] = view
        return {"ok": True, "view": view}

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        source = self.socket_mode_url
        url = source() if callable(source) else source
        return {"ok": True, "url": url}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel, posting=False)
        if error:
            return {"ok": False, "error": error}
        entry = self._channels.get(str(channel)) or SlackChannel(id=str(channel))
        return {"ok": True, "channel": entry.to_api()}

    @staticmethod
    def _visible(message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        # Slack returns message metadata only when asked with include_all_metadata.
        shown = dict(message)
        if str(params.get("include_all_metadata", "")).lower() not in ("true", "1"):
            shown.pop("metadata", None)
        return shown

    @staticmethod
    def _limit(params: dict[str, Any]) -> int:
        try:
            return max(1, min(1000, int(params.get("limit") or 100)))
        except ValueError:
            return 100

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages (thread replies are not in history, as in Slack), newest first."""
        channel = params.get("channel")
        error = self._channel_error(channel, posting=False)
        if error:
            return {"ok": False, "error": error}
        top = [
            m for m in self._messages.get(str(channel), []) if m.get("thread_ts") in (None, m["ts"])
        ]
        newest = list(reversed(top))[: self._limit(params)]
        return {
            "ok": True,
            "messages": [self._visible(m, params) for m in newest],
            "has_more": len(top) > len(newest),
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent then its replies, oldest first."""
        channel = params.get("channel")
        error = self._channel_error(channel, posting=False)
        if error:
            return {"ok": False, "error": error}
        ts = params.get("ts")
        box = self._messages.get(str(channel), [])
        if not any(m["ts"] == ts for m in box):
            return {"ok": False, "error": "thread_not_found"}
        thread = [m for m in box if m["ts"] == ts or m.get("thread_ts") == ts]
        shown = thread[: self._limit(params)]
        return {
            "ok": True,
            "messages": [self._visible(m, params) for m in shown],
            "has_more": len(thread) > len(shown),
        }
