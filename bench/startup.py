"""Start-up time and idle memory of ``chatops serve`` in HTTP mode, as a subprocess.

Ready = ``GET /healthz`` answers 200, timed from the moment the process is spawned. Idle RSS is read
from ``/proc/<pid>/status`` (VmRSS) after the bot has run idle for a few seconds (background loops
included). Two variants: the embedded devnet (no ``SUPRA_RPC_URL``: the devnet runs inside the bot's
process, so its memory counts) and an external devnet (the bot alone). Slack is the local Web API
double, Redis a private redis-server.

    .venv/bin/python -m bench.startup [--runs 3] [--idle-s 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._support import (
    Doubles,
    Row,
    doubles,
    free_port,
    print_table,
    redis_server,
    serve_env,
    stop_process,
    wait_http_200,
)

READY_TARGET_S = 2.0
RSS_TARGET_MB = 120.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_run(
    redis_url: str, slack_url: str, devnet: Doubles | None, idle_s: float
) -> tuple[float, float]:
    """(seconds until /healthz answered 200, idle RSS in MB) of one fresh ``chatops serve --http``."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        port = free_port()
        env = serve_env(
            Path(tmp), redis_url=redis_url, slack_url=slack_url, port=port, devnet=devnet
        )
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--http"], cwd=tmp, env=env
        )
        try:
            ready = wait_http_200(f"http://127.0.0.1:{port}/healthz") - started
            time.sleep(idle_s)
            if proc.poll() is not None:
                raise SystemExit(f"chatops serve exited with {proc.returncode}")
            return ready, rss_mb(proc.pid)
        finally:
            stop_process(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh starts per variant (default 2)")
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle time before reading RSS")
    args = parser.parse_args()

    rows: list[Row] = []
    with redis_server() as redis_url, doubles() as world:
        for label, devnet in (("embedded devnet", None), ("external devnet (bot alone)", world)):
            readies, rsses = [], []
            for _ in range(args.runs):
                ready, rss = one_run(redis_url, world.slack_url, devnet, args.idle_s)
                readies.append(ready)
                rsses.append(rss)
            ready_med, ready_max = statistics.median(readies), max(readies)
            rss_max = max(rsses)
            rows.append(
                Row(
                    f"ready (/healthz 200), {label}",
                    f"median {ready_med:.2f} s, max {ready_max:.2f} s",
                    f"< {READY_TARGET_S:.0f} s",
                    ready_max < READY_TARGET_S,
                )
            )
            rows.append(
                Row(
                    f"idle RSS after {args.idle_s:.0f} s, {label}",
                    f"{rss_max:.1f} MB",
                    f"< {RSS_TARGET_MB:.0f} MB",
                    rss_max < RSS_TARGET_MB,
                )
            )
    print_table(
        f"chatops serve --http: start-up and idle memory ({args.runs} fresh starts per variant)",
        rows,
        notes=[
            "embedded devnet: no SUPRA_RPC_URL, so the devnet emulator runs inside the bot's process "
            "and its memory counts; external devnet: SUPRA_RPC_URL points at a devnet in another "
            "process (the bot alone). Slack: local Web API double; Redis: a private redis-server.",
            "reproduce: .venv/bin/python -m bench.startup",
        ],
    )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
