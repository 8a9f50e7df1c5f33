"""A redis-server process of our own: the console's embedded store, and the private servers of the tests
and benchmarks. One way to start one (nothing saved unless asked, loopback or a unix socket only) and
to know it is up: it answers PING, within 10 s, or the start fails loudly.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["RedisServerError", "redis_server_process", "start_redis_server", "stop_redis_server"]

_START_TIMEOUT_S = 10.0


class RedisServerError(RuntimeError):
    """The redis-server exited or did not answer PING in time."""


def start_redis_server(
    binary: str,
    workdir: str,
    *,
    port: int | None = None,
    unix_socket: str | None = None,
    appendfsync: str | None = None,
    extra: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start ``binary`` on 127.0.0.1:``port`` or on ``unix_socket`` (no TCP port), with its files in
    ``workdir``, and return once it answers PING. No RDB snapshots; the AOF only with
    ``appendfsync`` (``always``, ``everysec``), for a server whose data must survive a restart.
    ``extra`` are more options (``--replicaof 127.0.0.1 6379``: a replica).

    Raises:
        RedisServerError: it exited, or did not answer within 10 s.
    """
    if (port is None) == (unix_socket is None):
        raise ValueError("a redis-server listens on a port or on a unix socket, one of them")
    listen = (
        ["--port", str(port), "--bind", "127.0.0.1"]
        if port is not None
        else ["--port", "0", "--unixsocket", str(unix_socket), "--unixsocketperm", "700"]
    )
    persist = ["--appendonly", "yes", "--appendfsync", appendfsync] if appendfsync else []
    proc = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
        [
            binary,
            *listen,
            "--save",
            "",
            *(persist or ["--appendonly", "no"]),
            "--dir",
            workdir,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    once = Retry(NoBackoff(), 0)  # a refused connection is the answer "not yet": ask again here
    probe = (
        redis.Redis(host="127.0.0.1", port=port, retry=once)
        if port is not None
        else redis.Redis(unix_socket_path=unix_socket, retry=once)
    )
    deadline = time.monotonic() + _START_TIMEOUT_S
    try:
        while True:
            try:
                if probe.ping():
                    return proc
            except (redis.ConnectionError, FileNotFoundError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    stop_redis_server(proc)
                    raise RedisServerError("redis-server did not start") from None
                time.sleep(0.01)
    finally:
        probe.close()


def stop_redis_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an orchestrator stops a container (an AOF is flushed), and wait for the exit."""
    if proc.poll() is None:
        proc.terminate()
    proc.wait(timeout=10)


@contextlib.contextmanager
def redis_server_process(
    binary: str,
    workdir: str,
    *,
    port: int | None = None,
    unix_socket: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``start_redis_server`` for the length of a ``with`` block."""
    proc = start_redis_server(binary, workdir, port=port, unix_socket=unix_socket)
    try:
        yield proc
    finally:
        stop_redis_server(proc)
