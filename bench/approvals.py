"""Approval throughput: privileged requests created and approved per second by ``ApprovalService`` on a
real Redis, and the Redis round trips each one costs.

One approval = ``create`` (alice asks) + ``approve`` (bob, the second person; one approval needed), each
returning the stored request, exactly as the runner and the Slack buttons call them. The single-process
figure (against the target) is ``--threads`` callers (default 8, as many as the bot's executor runs
commands and clicks at once: concurrent scripts share pipelined round trips, see
approvals/scripts.py); one caller at a time is shown too, but it measures latency (two round trips
per approval), not throughput; a separate, labelled aggregate runs ``--processes`` processes with as many
threads each against the same Redis, as bot replicas would. Round trips are counted on the client's
connections (a pipeline is one); the commands Redis executed (script calls and the commands inside
them) come from ``INFO commandstats`` deltas. Redis: a private redis-server on a free port, or
``BENCH_REDIS_URL`` (a scratch database: it is flushed).

    .venv/bin/python -m bench.approvals [--seconds 5] [--threads 8] [--processes 2]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import multiprocessing
import os
import threading
import time
from typing import Any

import redis

from approvals.policy import demo_policy
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore
from bench._support import Row, print_table, redis_server

TARGET_PER_S = 2000.0
_UNIQUE = itertools.count()


class CountingConnection(redis.Connection):
    """A connection that counts what it sends: one ``send_packed_command`` is one round trip."""

    round_trips = 0
    _lock = threading.Lock()

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        with CountingConnection._lock:
            CountingConnection.round_trips += 1
        super().send_packed_command(command, check_health)


def _request(n: int) -> NewRequest:
    calls: list[dict[str, object]] = [
        {
            "function": "0xbc95::price_feed::set_fallback",
            "type_arguments": [],
            "arguments": [str(n % 8), True],
        }
    ]
    return NewRequest(
        command="/feed fallback",
        text=f"{n % 8} on price spike",
        policy_key="feed.fallback",
        calls=calls,
        # One open request per set of calls: each request here asks for calls of its own.
        digest=hashlib.sha256(f"{calls}:{os.getpid()}:{next(_UNIQUE)}".encode()).hexdigest(),
        summary="Switch asset to the fallback price",
        requester="alice",
        reason="price spike on the primary feed",
        channel="C0OPS00001",
        thread=None,
        plan_time_s=1_700_000_000,
    )


def _commandstats(client: redis.Redis) -> dict[str, int]:
    info: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def _redis_cpu_s(client: redis.Redis) -> float:
    info: dict[str, Any] = client.info("cpu")  # type: ignore[assignment]
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _worker(service: ApprovalService, stop_at: float, done: list[int], errors: list[str]) -> None:
    n = 0
    try:
        while time.perf_counter() < stop_at:
            request = service.create(_request(n))
            approved, counted, _token = service.approve(request.id, "bob", digest=request.digest)
            if not counted or approved.state != "approved":
                errors.append(f"request {request.id} ended {approved.state}")
                return
            n += 1
    finally:
        done.append(n)


def _warm(client: redis.Redis) -> ApprovalService:
    """A service as chatops.wiring builds it (expiry on the Redis server's clock), warmed up:
    scripts cached (EVALSHA hits), connection open."""
    service = ApprovalService(RedisApprovalStore(client), demo_policy())
    for n in range(50):
        request = service.create(_request(n))
        service.approve(request.id, "bob", digest=request.digest)
    return service


def _callers(service: ApprovalService, threads: int, seconds: float) -> tuple[int, list[str]]:
    """(approvals, errors) of ``threads`` callers running ``seconds`` from now."""
    done: list[int] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=_worker, args=(service, stop_at, done, errors))
        for _ in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done), errors


def _run(url: str, threads: int, seconds: float) -> tuple[float, int, dict[str, int], list[str]]:
    """(approvals/s, approvals, server command deltas, errors) of ``threads`` workers."""
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    service = _warm(client)
    admin = redis.Redis.from_url(url)
    before = _commandstats(admin)
    trips_before = CountingConnection.round_trips
    cpu_before = time.process_time(), _redis_cpu_s(admin)
    started = time.perf_counter()
    total, errors = _callers(service, threads, seconds)
    elapsed = time.perf_counter() - started
    deltas_cpu = time.process_time() - cpu_before[0], _redis_cpu_s(admin) - cpu_before[1]
    trips = CountingConnection.round_trips - trips_before
    after = _commandstats(admin)
    deltas = {
        k: v - before.get(k, 0)
        for k, v in after.items()
        if v - before.get(k, 0) > 0 and k != "info"  # our own INFO calls
    }
    deltas["_round_trips"] = trips
    deltas["_client_cpu_us"] = int(deltas_cpu[0] * 1e6)
    deltas["_redis_cpu_us"] = int(deltas_cpu[1] * 1e6)
    admin.close()
    client.close()
    return total / elapsed, total, deltas, errors


def _process(url: str, threads: int, start_at: float, seconds: float, out: Any) -> None:
    """One replica: its own client and service, ``threads`` caller threads, from ``start_at``
    (wall clock)."""
    client = redis.Redis.from_url(url)
    service = _warm(client)
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    total, errors = _callers(service, threads, seconds)
    out.put((total, time.process_time() - cpu, errors))
    client.close()


def _run_processes(
    url: str, processes: int, threads: int, seconds: float
) -> tuple[float, int, float, float]:
    """(aggregate approvals/s, approvals, client CPU us and redis-server CPU us per approval) of
    ``processes`` separate processes running at the same time against one Redis."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0  # after every process has imported and warmed up
    procs = [
        ctx.Process(target=_process, args=(url, threads, start_at, seconds, out))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    admin = redis.Redis.from_url(url)
    time.sleep(max(0.0, start_at - time.time()))
    redis_before = _redis_cpu_s(admin)
    results = [out.get(timeout=seconds + 60) for _ in procs]
    redis_cpu = _redis_cpu_s(admin) - redis_before
    for proc in procs:
        proc.join()
    admin.close()
    errors = [e for _n, _cpu, errs in results for e in errs]
    if errors:
        raise SystemExit(f"approvals failed: {errors[:3]}")
    total = sum(n for n, _cpu, _errs in results)
    client_cpu = sum(cpu for _n, cpu, _errs in results)
    return total / seconds, total, client_cpu * 1e6 / total, redis_cpu * 1e6 / total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per run (default 5)")
    parser.add_argument(
        "--threads",
        type=int,
        default=8,
        help="concurrent callers per process (default 8, the bot's executor workers)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="replicas for the aggregate figure (default 2)"
    )
    args = parser.parse_args()

    rows: list[Row] = []
    notes: list[str] = []
    with redis_server() as url:
        redis.Redis.from_url(url).flushdb()
        for threads in (1, args.threads):
            rate, total, deltas, errors = _run(url, threads, args.seconds)
            if errors:
                raise SystemExit(f"approvals failed: {errors[:3]}")
            measured = f"{rate:,.0f} /s ({total:,} in {args.seconds:.0f} s)"
            if threads == 1:
                # One caller waits for each answer: this is 1 / (two round trips), a latency.
                rows.append(Row("approvals/s, one caller at a time (latency-bound)", measured))
            else:
                rows.append(
                    Row(
                        f"approvals/s (create + approve), {threads} caller threads",
                        measured,
                        f">= {TARGET_PER_S:,.0f} /s",
                        rate >= TARGET_PER_S,
                    )
                )
            client_cpu = deltas.pop("_client_cpu_us") / total
            redis_cpu = deltas.pop("_redis_cpu_us") / total
            rows.append(
                Row(
                    f"CPU per approval, {threads} caller thread(s): client / redis-server",
                    f"{client_cpu:.0f} / {redis_cpu:.0f} us",
                )
            )
            trips = deltas.pop("_round_trips") / total
            rows.append(
                Row(f"Redis round trips per approval, {threads} caller thread(s)", f"{trips:.2f}")
            )
            if threads == 1:
                commands = sum(deltas.values()) / total
                scripts = deltas.get("evalsha", 0) / total
                rows.append(
                    Row(
                        "Redis commands per approval (server-side, scripts' inside included)",
                        f"{commands:.1f} ({scripts:.1f} script calls)",
                    )
                )
                per = ", ".join(f"{k} {v / total:.1f}" for k, v in sorted(deltas.items()))
                notes.append(f"commands per approval, by name: {per}")
        if args.processes > 1:
            rate, total, client_cpu, redis_cpu = _run_processes(
                url, args.processes, args.threads, args.seconds
            )
            rows.append(
                Row(
                    f"aggregate approvals/s of {args.processes} processes (replicas) x "
                    f"{args.threads} threads on one Redis",
                    f"{rate:,.0f} /s ({total:,} in {args.seconds:.0f} s)",
                    f">= {TARGET_PER_S:,.0f} /s",
                    rate >= TARGET_PER_S,
                )
            )
            rows.append(
                Row(
                    f"CPU per approval, {args.processes} processes: client (all) / redis-server",
                    f"{client_cpu:.0f} / {redis_cpu:.0f} us",
                )
            )
    print_table(
        "Approvals on Redis: throughput and round trips (ApprovalService, real redis-server)",
        rows,
        notes=[*notes, "reproduce: .venv/bin/python -m bench.approvals"],
    )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
