"""Singleton loops among replicas (one leased runner), and the monitors' per-lottery pass costing
reads per live lottery, not per lottery ever created."""

from __future__ import annotations

import threading

import redis as redis_lib
from prometheus_client import CollectorRegistry

from chatops.chain.metrics import RpcMetrics
from chatops.notify.alerts import AlertBook
from chatops.notify.leader import LeaderLease
from chatops.notify.metrics import ChainMetrics, LoopMetrics
from chatops.notify.monitors import Monitors
from chatops.serve import leased
from tests.conftest import wait_until
from tests.fakes.bot import harness
from tests.fakes.notify import RecordingSink


def _leader(metrics: LoopMetrics) -> float | None:
    return metrics.registry.get_sample_value("chatops_loop_leader", {"loop": "sweeper"})


def test_one_replica_runs_a_leased_loop_and_another_takes_over_when_it_stops(
    redis: redis_lib.Redis,
) -> None:
    """Two replicas run the sweeper loop on one Redis: only the lease holder works; once it stops
    (releasing its lease), the other one runs it, and each replica's leader gauge says which."""
    runs = {"a": 0, "b": 0}
    metrics = {name: LoopMetrics(CollectorRegistry()) for name in runs}
    stops = {name: threading.Event() for name in runs}

    def work(name: str) -> None:
        runs[name] += 1

    threads = {
        name: threading.Thread(
            target=leased(
                LeaderLease(redis, name, 1000, loop="sweeper"),
                0.01,
                lambda n=name: work(n),  # type: ignore[misc]
                metrics[name],
            ),
            args=(stops[name],),
        )
        for name in runs
    }
    for thread in threads.values():
        thread.start()
    wait_until(lambda: runs["a"] + runs["b"] >= 20)
    first = "a" if runs["a"] else "b"
    second = "b" if first == "a" else "a"
    assert runs[second] == 0
    assert _leader(metrics[first]) == 1
    stops[first].set()
    threads[first].join(timeout=5)
    wait_until(lambda: runs[second] >= 5)
    stops[second].set()
    threads[second].join(timeout=5)
    assert _leader(metrics[first]) == 0


def test_a_finalized_lottery_is_read_once_then_skipped(redis: redis_lib.Redis) -> None:
    """The first pass reads every lottery; the next ones skip those seen finalized, so the view
    reads per pass fall (RPC counted by chatops_chain_rpc_seconds)."""
    with harness() as ops:
        registry = CollectorRegistry()
        ops.gateway.client.metrics = RpcMetrics(registry)
        book = AlertBook(redis, RecordingSink(), lambda name, sev: (sev, "#lottery-ops", False))
        monitors = Monitors(ops.gateway, book, metrics=ChainMetrics(registry))

        def reads() -> float:
            value = registry.get_sample_value(
                "chatops_chain_rpc_seconds_count", {"method": "POST rpc/v3/view"}
            )
            return value or 0.0

        now = ops.gateway.now_s()
        before = reads()
        monitors.lotteries(now)
        first = reads() - before
        monitors.lotteries(now)
        second = reads() - first - before
        monitors.lotteries(now)
        third = reads() - first - second - before
    assert second < first
    assert third == second
