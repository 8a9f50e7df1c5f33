"""A watcher replica for the failover test: ``python -m tests.faults.watcher_main``."""

# argv: REDIS_URL DEVNET_URL OWNER LEASE_TTL_MS. Polls the devnet's RefundBatchEvent into the outbox
# (as ``chatops serve`` does, through the real Watcher and Outbox) until killed.

from __future__ import annotations

import sys
import threading

import redis

from chatops.chain.client import ChainClient
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify.alerts import AlertBook
from chatops.notify.outbox import Outbox
from chatops.notify.router import EventRouter
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.severity import Severity
from chatops.wiring import DEVNET_CHAIN_ID
from tests.fakes.notify import OutboxSink

REFUND = f"{PACKAGE_ADDRESS}::history::RefundBatchEvent"


def main(argv: list[str]) -> int:
    redis_url, devnet_url, owner, ttl_ms = argv
    client = redis.Redis.from_url(redis_url)
    router = EventRouter(PACKAGE_ADDRESS)
    sink = OutboxSink(Outbox(client))

    def route(name: str, severity: Severity) -> tuple[Severity, str, bool]:
        return severity, router.default_channel, False

    watcher = Watcher(
        ChainClient(devnet_url, chain_id=DEVNET_CHAIN_ID, max_attempts=2, backoff_s=0.01),
        client,
        router,
        sink,
        AlertBook(client, sink, route),
        owner=owner,
        event_types=[REFUND],
        config=WatcherConfig(
            window_blocks=1000,
            start_height=None,
            lease_ttl_ms=int(ttl_ms),
            poll_interval_s=0.02,
            backoff_s=0.05,
        ),
    )
    watcher.run(threading.Event())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
