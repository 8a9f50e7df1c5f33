"""Shared plumbing of the benchmarks: free ports, a private redis-server, the doubles process, the
``chatops serve`` subprocess, percentiles and the result table. Loopback only; nothing here is product code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chatops.redis_process import RedisServerError, redis_server_process

__all__ = [
    "BENCH_USERS",
    "REPO_ROOT",
    "SLACK_LATENCY_MS",
    "Doubles",
    "Row",
    "doubles",
    "free_port",
    "percentile",
    "print_table",
    "redis_server",
    "serve_env",
    "serving",
    "spawn_serve",
    "stop_process",
    "wait_http_200",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
BOT_TOKEN = "xoxb-bench-bot-token"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
USER = "U0ALICE001"  # an operator in the bench policy, known to the Slack double
CHANNEL = "C0OPS00001"

# Operators the ack benchmark's commands come from, in turn: one person may only have a few
# commands in flight, and Slack's many users are what fills the executor.
BENCH_USERS = tuple(f"U0BENCH{n:03d}" for n in range(64))
# What the Slack double takes to answer unless a benchmark says otherwise: Slack's Web API answers
# in 30-300 ms, never at once.
SLACK_LATENCY_MS = 100.0

POLICY_YAML = (
    f"""\
users:
  {USER}: [operator]
  U0BOB00001: [operator, approver]
"""
    + "".join(f"  {user}: [operator]\n" for user in BENCH_USERS)
    + """\
groups: {}
approvals_needed: 1
ttl_s: 900
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Row:
    """One line of a result table; ``ok`` None means an informational figure with no target."""

    figure: str
    value: str
    target: str = ""
    ok: bool | None = None


def print_table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    widths = [
        max(len(h), *(len(c) for c in col))
        for h, col in zip(
            ("figure", "measured", "target", "result"),
            zip(
                *[(r.figure, r.value, r.target, "" if r.ok is None else "pass") for r in rows],
                strict=True,
            ),
            strict=True,
        )
    ]
    print(f"\n{title}\n")

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(("figure", "measured", "target", "result")))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        verdict = "" if r.ok is None else ("pass" if r.ok else "MISS")
        print(line((r.figure, r.value, r.target, verdict)))
    for note in notes:
        print(f"\n{note}")
    sys.stdout.flush()


def wait_http_200(url: str, timeout_s: float = 30.0, interval_s: float = 0.005) -> float:
    """Poll ``url`` until it answers 200; returns ``time.monotonic()`` at that answer."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while True:
            try:
                if client.get(url).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout_s} s")
            time.sleep(interval_s)


def spawn_serve(workdir: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``chatops serve --http`` in ``workdir`` with ``env``, its output (logs included) into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--http"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    """SIGINT (``chatops serve`` stops cleanly on it), then SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


@contextlib.contextmanager
def serving(workdir: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``spawn_serve`` once its /healthz answers 200 (on ``env``'s port); stopped on the way out."""
    proc = spawn_serve(workdir, env, log)
    try:
        wait_http_200(f"http://127.0.0.1:{env['CHATOPS_HTTP_PORT']}/healthz")
        yield proc
    finally:
        stop_process(proc)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """``REDIS_URL`` if set (it is flushed!), else a private redis-server on a free port."""
    given = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        try:
            with redis_server_process(binary, tmp, port=port):
                yield f"redis://127.0.0.1:{port}/0"
        except RedisServerError:
            raise SystemExit("redis-server did not start") from None


@dataclass(frozen=True)
class Doubles:
    """The doubles subprocess: the Slack Web API double and a seeded devnet (Supra RPC)."""

    slack_url: str
    devnet_url: str
    key_file: str
    chain_id: int
    package_address: str
    pid: int


@contextlib.contextmanager
def doubles(
    *,
    events: int = 0,
    event_struct: str = "history::LotteryCreatedEvent",
    slack_latency_ms: float = SLACK_LATENCY_MS,
    slack_like: bool = False,
) -> Iterator[Doubles]:
    """Start ``python -m bench._doubles`` (its own process, so its work does not share our GIL).

    The Slack double answers after ``slack_latency_ms``; ``slack_like`` also limits each method to
    its tier (429 + Retry-After) and answers 1 % of calls 503."""
    flags = ["--slack-latency-ms", str(slack_latency_ms)]
    if slack_like:
        flags += ["--slack-rate-limits", "--slack-error-rate", "0.01"]
    with tempfile.TemporaryDirectory(prefix="bench-doubles-") as tmp:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench._doubles",
                "--dir",
                tmp,
                "--events",
                str(events),
                "--event-struct",
                event_struct,
                *flags,
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # The devnet reports each request its client gave up on (bots stopping mid-call).
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if not first:
                raise SystemExit("the doubles process did not start")
            info = json.loads(first)
            yield Doubles(pid=proc.pid, **info)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()  # the doubles stop when their stdin closes
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def serve_env(
    tmp: Path, *, redis_url: str, slack_url: str, port: int, devnet: Doubles | None
) -> dict[str, str]:
    """The environment of ``chatops serve --http``; no ``devnet`` means the embedded devnet."""
    policy = tmp / "policy.yml"
    policy.write_text(POLICY_YAML, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not (
            k.startswith(("SLACK_", "SUPRA_", "CHATOPS_")) or k in ("REDIS_URL", "LOTTERY_ADDRESS")
        )
    }
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_url,
            "REDIS_URL": redis_url,
            "CHATOPS_POLICY_FILE": str(policy),
            "CHATOPS_HTTP_PORT": str(port),
            "CHATOPS_LOG_LEVEL": "WARNING",
        }
    )
    if devnet is None:
        env["CHATOPS_REHEARSAL"] = "1"  # the embedded devnet: serve only runs it when asked
    else:
        env.update(
            {
                "SUPRA_RPC_URL": devnet.devnet_url,
                "SUPRA_CHAIN_ID": str(devnet.chain_id),
                "CHATOPS_SIGNER_KEY_FILE": devnet.key_file,
                "LOTTERY_ADDRESS": devnet.package_address,
            }
        )
    return env
