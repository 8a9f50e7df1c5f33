"""A watcher process for the restart tests: ``python -m tests.chatops.notify.watcher_main``."""

# argv: REDIS_URL DEVNET_URL START_HEIGHT EVENT_TYPES (comma-separated, fully qualified) OWNER.
# Polls the devnet as lease owner OWNER (a standby while another replica leads) and hands every
# notice to the real outbox until killed (the tests send SIGKILL at random points). Every hand-off
# is also appended to the test-only list ``EMITTED_KEY``, so the test can count re-emissions; that
# list is not a chatops key.

from __future__ import annotations

import sys
import threading

import redis

from chatops.chain.client import ChainClient
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify.alerts import AlertBook
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.router import EventRouter
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.wiring import DEVNET_CHAIN_ID

EMITTED_KEY = "test:watcher-main:emitted"


class CountingOutboxSink:
    """Queues each notice in the outbox, then records that it was handed on (test bookkeeping)."""

    def __init__(self, client: redis.Redis) -> None:
        self.outbox = Outbox(client)
        self.client = client

    def emit(self, notice: Notice, *, channel: str) -> None:
        self.outbox.enqueue(notice, channel=channel)
        self.client.rpush(EMITTED_KEY, notice.id)


def main(argv: list[str]) -> int:
    redis_url, devnet_url, start_height, event_types, owner = argv
    client = redis.Redis.from_url(redis_url)
    chain = ChainClient(devnet_url, chain_id=DEVNET_CHAIN_ID, max_attempts=1)
    router = EventRouter(PACKAGE_ADDRESS)
    sink = CountingOutboxSink(client)
    watcher = Watcher(
        chain,
        client,
        router,
        sink,
        AlertBook(client, sink, lambda name, sev: (sev, router.default_channel, False)),
        owner=owner,
        event_types=event_types.split(","),
        config=WatcherConfig(
            window_blocks=500,
            page_limit=100,
            max_windows_per_poll=4,
            lease_ttl_ms=400,
            poll_interval_s=0.01,
            backoff_s=0.05,
            backoff_cap_s=0.2,
            start_height=int(start_height),
        ),
    )
    watcher.run(threading.Event())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
