"""The whole approval path: a privileged request asked for, approved by a second person and executed on
the devnet, through the runner exactly as the console and Slack drive it, and the Redis commands it
costs end to end (``INFO commandstats`` deltas: script calls and the commands inside them).

The store's own figures are ``bench.approvals``; this adds what the flow around it does (the preflight
reads are the chain's, not Redis's). Redis: a private redis-server on a free port, or
``BENCH_REDIS_URL`` (a scratch database: it is flushed).

    .venv/bin/python -m bench.approval_path [--approvals 60]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import redis

from approvals.policy import demo_policy
from bench._support import Row, percentile, print_table, redis_server
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.state_reader import ResourceStateReader
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.wiring import DEVNET_CHAIN_ID, build_runner, embedded_devnet
from commands.invocation import Invocation

TARGET_COMMANDS = 30.0  # Redis commands per approval, request to executed, end to end
# Each request switches the fallback on or off for one asset: alternate so that every one passes
# its preflight (the state changes) and asks for calls no open request has.
LINES = ('/feed fallback 1 on 3 "spike"', '/feed fallback 1 off 0 "recovered"')


def _commands(client: redis.Redis) -> dict[str, int]:
    info: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    names = set(before) | set(after)
    return {
        n: after.get(n, 0) - before.get(n, 0) for n in names if after.get(n, 0) != before.get(n, 0)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approvals", type=int, default=60)
    args = parser.parse_args()
    with redis_server() as url, embedded_devnet() as (server, admin):
        client = redis.Redis.from_url(url)
        admin_client = redis.Redis.from_url(url)
        client.flushdb()
        chain = ChainClient(server.url, chain_id=DEVNET_CHAIN_ID)
        gateway = Gateway(
            chain, admin, PACKAGE_ADDRESS, state_reader=ResourceStateReader(chain, PACKAGE_ADDRESS)
        )
        runner = build_runner(gateway, demo_policy(), client)
        asks: dict[str, int] = {}
        approves: dict[str, int] = {}
        seconds: list[float] = []
        errors: list[str] = []
        for n in range(args.approvals + 2):
            line = LINES[n % 2]
            started = time.perf_counter()
            before = _commands(admin_client)
            asked = runner.handle(Invocation.parse_line(line, user="alice"))
            middle = _commands(admin_client)
            if not asked.ok or asked.request_id is None:
                errors.append(f"{line}: {asked.title}")
                continue
            done = runner.handle(
                Invocation.parse_line(f"/ops approve {asked.request_id}", user="bob")
            )
            after = _commands(admin_client)
            if done.state != "succeeded":
                errors.append(f"{asked.request_id}: {done.title}")
                continue
            if n < 2:  # warm-up: scripts loaded, connections open
                continue
            seconds.append(time.perf_counter() - started)
            for name, count in _delta(before, middle).items():
                asks[name] = asks.get(name, 0) + count
            for name, count in _delta(middle, after).items():
                approves[name] = approves.get(name, 0) + count
        chain.close()
        client.close()
        admin_client.close()
    done_count = len(seconds)
    if not done_count:
        print("no approval completed:", *errors[:5], sep="\n  ")
        return 1
    # INFO itself is a command, counted in each delta it closes: one per delta.
    ask = (sum(asks.values()) - done_count) / done_count
    approve = (sum(approves.values()) - done_count) / done_count
    total = ask + approve
    rows = [
        Row("Redis commands per request (alice asks)", f"{ask:.1f}"),
        Row("Redis commands per approval + execution (bob)", f"{approve:.1f}"),
        Row(
            "Redis commands per approval, end to end",
            f"{total:.1f}",
            f"< {TARGET_COMMANDS:.0f}",
            total < TARGET_COMMANDS,
        ),
        Row(
            "request -> executed, p50 / p99 (devnet, loopback)",
            f"{percentile(seconds, 50) * 1000:.1f} / {percentile(seconds, 99) * 1000:.1f} ms",
        ),
        Row("errors", str(len(errors)), "0", not errors),
    ]

    def by_name(counts: dict[str, int]) -> str:
        return ", ".join(
            f"{name} {count / done_count:.1f}"
            for name, count in sorted(counts.items())
            if name != "info"
        )

    print_table(
        f"The approval path end to end ({done_count} approvals, one needed)",
        rows,
        notes=[
            f"asking, by command: {by_name(asks)}",
            f"approving and executing, by command: {by_name(approves)}",
            "reproduce: .venv/bin/python -m bench.approval_path",
        ],
    )
    return 0 if total < TARGET_COMMANDS and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
