"""Prometheus metrics of the chain RPC: each request to the node timed, and its failures counted, by
route (``POST rpc/v3/view``, ``GET rpc/v3/accounts/{}``): never by raw path, whose ids are unbounded."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["RpcMetrics", "route_of"]

_WORD = re.compile(r"^[a-z_]+$")


def route_of(method: str, path: str) -> str:
    """``GET rpc/v3/transactions/{}`` for ``GET /rpc/v3/transactions/0xab…``: the words of the path
    kept, every id (address, hash, type, number) replaced by ``{}``."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    kept = [
        p if _WORD.match(p) or (i == 1 and p.startswith("v")) else "{}" for i, p in enumerate(parts)
    ]
    return f"{method} {'/'.join(kept)}"


class RpcMetrics:
    """``chatops_chain_rpc_seconds{method}`` and ``chatops_chain_rpc_errors_total{method, error}``;
    one per registry (tests build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.seconds = Histogram(
            "chatops_chain_rpc_seconds",
            "Requests to the Supra node, each attempt, by route",
            ["method"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.errors = Counter(
            "chatops_chain_rpc_errors",
            "Requests to the Supra node that failed, by route and error (status or transport)",
            ["method", "error"],
            registry=self.registry,
        )

    def observe(self, method: str, path: str, seconds: float, error: str | None) -> None:
        route = route_of(method, path)
        self.seconds.labels(method=route).observe(seconds)
        if error is not None:
            self.errors.labels(method=route, error=error).inc()
