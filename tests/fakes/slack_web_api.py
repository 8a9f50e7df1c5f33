"""A Slack Web API double on 127.0.0.1:0 for the Slack adapter's tests (Slack's outer edge)."""

# It answers the methods the bot uses the way Slack does (``ok:false`` + ``error``, 429 +
# ``Retry-After``, 5xx), keeps posted messages so ``chat.update`` edits them, and records every
# call. Failures are scripted through an explicit queue (``fail_next``), never through magic tokens.
# Like Slack it can also take its time (``latency_s``), rate-limit each method by its tier
# (``rate_limits``), fail now and then (``server_error_rate``), refuse a method whose scope the app
# was not granted (``scopes``), and refuse a message over Slack's size limits. It serves
# ``response_url`` webhooks (``response_url()``), five posts each, so a reply sent there never
# leaves the machine.

from __future__ import annotations

import itertools
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "BLOCK_TEXT_MAX",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "METHOD_SCOPES",
    "RESPONSE_URL_USES",
    "ApiCall",
    "SlackChannel",
    "SlackUser",
    "SlackWebApiDouble",
]

DEFAULT_BOT_TOKEN = "xoxb-test-bot-token"
DEFAULT_APP_TOKEN = "xapp-1-test-app-token"

# Parameters Slack accepts either as JSON values or as JSON strings inside a form body.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
# The bot scopes each method needs on public and private channels (Slack's method reference);
# conversations.* also need the im:/mpim: ones in direct messages, which the bot never reads.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "users.info": frozenset({"users:read"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "conversations.open": frozenset({"im:write"}),
}
# Which of a method's scopes one channel needs: by its kind (public, private, DM).
_SCOPE_BY_KIND = {
    "conversations.info": {"public": "channels:read", "private": "groups:read", "im": "im:read"},
    "conversations.history": {
        "public": "channels:history",
        "private": "groups:history",
        "im": "im:history",
    },
    "conversations.replies": {
        "public": "channels:history",
        "private": "groups:history",
        "im": "im:history",
    },
}
# Slack's rate-limit tiers, calls per minute per method and workspace (Tier 2: 20, Tier 3: 50,
# Tier 4: 100); chat.postMessage is special: about one message a second per channel, short bursts.
_PER_MINUTE = {
    "auth.test": 100,
    "chat.postEphemeral": 100,
    "chat.update": 50,
    "chat.getPermalink": 100,
    "users.info": 100,
    "usergroups.users.list": 20,
    "views.open": 100,
    "views.update": 100,
    "views.publish": 100,
    "conversations.info": 100,
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.open": 100,
}
_POSTS_PER_S, _POST_BURST = 1.0, 3
# A message Slack refuses: its text (msg_too_long), more than 50 blocks (invalid_blocks), or
# more block text than about 12,000 characters in all (msg_blocks_too_long).
TEXT_MAX = 40_000
BLOCKS_MAX = 50
BLOCK_TEXT_MAX = 12_000
BLOCK_TEXT_OBJECT_MAX = 3000
# A response_url takes five posts within thirty minutes.
RESPONSE_URL_USES = 5
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
    content_type: str = "application/json; charset=utf-8"


class _Bucket:
    """A token bucket: ``capacity`` calls at once, refilled at ``per_s`` a second."""

    def __init__(self, capacity: float, per_s: float) -> None:
        self.capacity = capacity
        self.per_s = per_s
        self.tokens = capacity
        self.at_s = time.monotonic()

    def take(self) -> float:
        """0 when a call may go now (and counts it), else the seconds until one may."""
        now_s = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now_s - self.at_s) * self.per_s)
        self.at_s = now_s
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_s


def _block_texts(node: Any) -> list[str]:
    """Every ``text`` string in a block payload."""
    if isinstance(node, dict):
        out: list[str] = []
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_block_texts(value))
        return out
    if isinstance(node, list):
        return [text for item in node for text in _block_texts(item)]
    return []


def _size_error(params: Mapping[str, Any]) -> str | None:
    """Slack's refusal of a message too big for it, or None."""
    if len(str(params.get("text") or "")) > TEXT_MAX:
        return "msg_too_long"
    blocks = params.get("blocks")
    if not isinstance(blocks, list):
        return None
    texts = _block_texts(blocks)
    if len(blocks) > BLOCKS_MAX or any(len(t) > BLOCK_TEXT_OBJECT_MAX for t in texts):
        return "invalid_blocks"
    if sum(len(t) for t in texts) > BLOCK_TEXT_MAX:
        return "msg_blocks_too_long"
    return None


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
            self.send_header("Content-Type", answer.content_type)
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

    Slack's behaviour, off unless asked for: ``latency_s`` delays every answer (a pair is a uniform
    range, e.g. ``(0.03, 0.3)``); ``rate_limits`` answers 429 + ``Retry-After`` past each method's
    tier (chat.postMessage: about one a second per channel); ``server_error_rate`` answers that
    share of calls 503; ``scopes`` (the app's bot scopes) answers ``missing_scope`` to a method
    needing another. ``seed`` makes the random parts repeatable.
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
        latency_s: float | tuple[float, float] = 0.0,
        rate_limits: bool = False,
        server_error_rate: float = 0.0,
        scopes: Iterable[str] | None = None,
        seed: int = 0,
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
        self._home: dict[str, dict[str, Any]] = {}
        self._response_uses: dict[str, int] = {}
        self._latency = latency_s
        self._rate_limits = rate_limits
        self._buckets: dict[str, _Bucket] = {}
        self._server_error_rate = server_error_rate
        self._scopes = None if scopes is None else frozenset(scopes)
        self._random = random.Random(seed)  # noqa: S311 - latency and failures, not secrets
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
            "views.publish": self._views_publish,
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

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user``, if any."""
        with self._lock:
            view = self._home.get(user)
            copied: dict[str, Any] | None = None if view is None else json.loads(json.dumps(view))
            return copied

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
                answer = self._answer_response_url(path, params)
            elif path.startswith("/api/"):
                answer = self._answer_api(method, params, headers)
            else:
                answer = _Answer(404, {"ok": False, "error": "not_found"})
        with self._lock:
            self._calls.append(
                ApiCall(method, params, headers, answer.status, answer.body, time.monotonic())
            )
        return answer

    def _wait(self, method: str) -> None:
        """Take Slack's time over an answer: the method's own latency, else the double's."""
        with self._lock:
            latency: float | tuple[float, float] = self._latency_s.get(method, self._latency)
            delay_s = self._random.uniform(*latency) if isinstance(latency, tuple) else latency
        if delay_s > 0:
            time.sleep(delay_s)

    def _answer_response_url(self, path: str, params: dict[str, Any]) -> _Answer:
        """Slack's answers to a response_url post: a plain ``ok``, or a plain error word."""
        self._wait("response_url")
        with self._lock:
            uses = self._response_uses.get(path, 0) + 1
            self._response_uses[path] = uses
        error = _size_error(params)
        if uses > RESPONSE_URL_USES:
            status, error = 404, "used_url"
        elif error is not None:
            status = 400
        elif not (params.get("text") or params.get("blocks")):
            status, error = 400, "no_text"
        else:
            status = 200
        word = error or "ok"
        body: dict[str, Any] = {"ok": error is None} | ({"error": error} if error else {})
        return _Answer(status, body, raw=word.encode(), content_type="text/plain; charset=utf-8")

    def _answer_api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        self._wait(method)
        handler = self._methods.get(method)
        if handler is None:
            return _Answer(200, {"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._check_auth(method, headers)
        if auth_error is not None:
            return _Answer(200, {"ok": False, "error": auth_error})
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
            if failure is None:
                failure = self._unscripted_failure(method, params)
        if failure is not None:
            return self._failure_answer(failure)
        with self._lock:
            scope_error = self._scope_error(method, params)
            if scope_error is not None:
                return _Answer(200, scope_error)
            body = handler(params)
        return _Answer(200, body)

    def _unscripted_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        """A 429 past the method's tier, or now and then a 503 (lock held)."""
        if self._server_error_rate and self._random.random() < self._server_error_rate:
            return _Failure(503, None, None, None)
        if not self._rate_limits or method not in (*_PER_MINUTE, "chat.postMessage"):
            return None
        if method == "chat.postMessage":
            key = f"{method}:{params.get('channel')}"
            bucket = self._buckets.setdefault(key, _Bucket(_POST_BURST, _POSTS_PER_S))
        else:
            per_minute = _PER_MINUTE[method]
            bucket = self._buckets.setdefault(method, _Bucket(per_minute, per_minute / 60))
        wait_s = bucket.take()
        if wait_s <= 0:
            return None
        retry_after = max(1, math.ceil(wait_s))
        return _Failure(429, None, retry_after, None, {"Retry-After": str(retry_after)})

    def _channel_kind(self, channel: Any) -> str:
        known = self._channels.get(str(channel))
        if str(channel)[:1] == "D":
            return "im"
        return "private" if known is not None and known.is_private else "public"

    def _scope_error(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's ``missing_scope`` when the app lacks the scope this call needs (lock held)."""
        if self._scopes is None:
            return None
        by_kind = _SCOPE_BY_KIND.get(method)
        if by_kind is not None:
            needed = {by_kind[self._channel_kind(params.get("channel"))]}
        else:
            needed = set(METHOD_SCOPES.get(method, frozenset()))
        missing = sorted(needed - self._scopes)
        if not missing:
            return None
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": ",".join(missing),
            "provided": ",".join(sorted(self._scopes)),
        }

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
        too_big = _size_error(params)
        if too_big:
            return {"ok": False, "error": too_big}
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
        too_big = _size_error(params)
        if too_big:
            return {"ok": False, "error": too_big}
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
        too_big = _size_error(params)
        if too_big:
            return {"ok": False, "error": too_big}
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

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        """A user's App Home tab: replaced whole by each publish."""
        user, view = params.get("user_id"), params.get("view")
        if not isinstance(user, str) or not user or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        published = self._build_view(view, self._next_id("V"), None)
        self._home[user] = published
        return {"ok": True, "view": published}

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
