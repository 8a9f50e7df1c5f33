"""The event pipeline: chain events from the devnet to the local Slack double, through the real parts
(``Watcher`` -> ``EventRouter`` -> ``IncidentTracker`` -> ``Outbox`` -> ``OutboxWorker`` -> ``OutboxPoster``).

The devnet runs in its own process with a backlog of ``--events`` events (``PayoutBatchEvent``, one
block each, six lotteries, routed as info notices to the default channel) plus its seed history. Three
figures:

1. routing: the watcher reads the whole backlog and routes it into the outbox (nothing posted yet);
2. end to end with rate limits off (outbox interval 0): notices posted to the Slack double per second,
   the watcher and the outbox worker running together as in ``chatops serve``;
3. draining the backlog with Slack's 1 message/s per channel on: the limiter is measured for a few
   seconds with coalescing off (one notice per message, as before digests) and then on (up to
   ``--digest-items`` notices per message, the default), and each full drain time is computed from
   the notices per second it measured (a real drain takes minutes to hours, see the note).

    .venv/bin/python -m bench.events [--events 10000] [--e2e-s 8] [--limited-s 5] [--digest-items 20]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import redis

from bench._support import BOT_TOKEN, Doubles, Row, doubles, print_table, redis_server
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.signer import LocalKeySigner
from chatops.chain.state_reader import ResourceStateReader
from chatops.notify.digest import DEFAULT_DIGEST_ITEMS, MAX_DIGEST_ITEMS, Digest
from chatops.notify.notice import Notice
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.watcher import Watcher, WatcherConfig
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from chatops.wiring import Notify, build_notify

ROUTING_TARGET_PER_S = 5000.0


@dataclass
class CountingPoster:
    """The real ``OutboxPoster``, counting what went through (and when), per channel: notices
    (``posted``) and the messages that carried them (``messages``; a digest is one message)."""

    inner: OutboxPoster
    posted: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    last_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _count(self, channel: str, notices: int) -> None:
        with self.lock:
            self.posted[channel] += notices
            self.messages[channel] += 1
            self.last_at = time.perf_counter()

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        ts = self.inner.post(channel, notice, thread_ts)
        self._count(channel, 1)
        return ts

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        ts = self.inner.post_digest(channel, digest, thread_ts)
        self._count(channel, len(digest.notices))
        return ts

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        self.inner.update(channel, ts, notice)

    def find_posted(self, channel: str, notice: Notice, thread_ts: str | None) -> str | None:
        return self.inner.find_posted(channel, notice, thread_ts)

    def find_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str | None:
        return self.inner.find_digest(channel, digest, thread_ts)

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.posted.values())

    @property
    def total_messages(self) -> int:
        with self.lock:
            return sum(self.messages.values())


@dataclass(frozen=True)
class Limited:
    """One run of the outbox with Slack's 1 message/s per channel on, on the queued backlog."""

    seconds: float
    notices: int
    messages: int
    channels: int

    @property
    def notices_per_s_per_channel(self) -> float:
        return self.notices / self.seconds / self.channels

    @property
    def messages_per_s_per_channel(self) -> float:
        return self.messages / self.seconds / self.channels

    @property
    def per_message(self) -> float:
        return self.notices / max(self.messages, 1)


def _limited_run(
    world: Doubles, client: redis.Redis, notify: Notify, seconds: float, digest_items: int
) -> Limited:
    """The outbox worker at the default interval (1 s per channel) for ``seconds``."""
    poster = CountingPoster(OutboxPoster(outbox_web_client(BOT_TOKEN, world.slack_url)))
    worker = OutboxWorker(client, poster, threads=notify.store, digest_items=digest_items)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=10)
    elapsed = time.perf_counter() - started
    return Limited(elapsed, poster.total, poster.total_messages, max(len(poster.posted), 1))


def _duration(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{seconds:,.0f} s = {int(hours)} h {rest / 60:.0f} min"
    return f"{seconds:,.0f} s = {seconds / 60:.1f} min"


def _stack(
    world: Doubles, client: redis.Redis, window_blocks: int = 100
) -> tuple[Gateway, Notify, Watcher]:
    chain = ChainClient(world.devnet_url, chain_id=world.chain_id)
    signer = LocalKeySigner.from_key_file(world.key_file, account_address=world.package_address)
    gateway = Gateway(
        chain,
        signer,
        world.package_address,
        state_reader=ResourceStateReader(chain, world.package_address),
    )
    notify = build_notify(gateway, client)
    # A backlog: the cursor starts at genesis (as after an outage), not at the tip.
    watcher = Watcher(
        chain,
        client,
        notify.router,
        notify.incidents,
        notify.alerts,
        config=WatcherConfig(start_height=0, poll_interval_s=0.0, window_blocks=window_blocks),
    )
    return gateway, notify, watcher


def _drain_watcher(watcher: Watcher, stop: threading.Event | None = None) -> None:
    """Poll until a pass hands nothing on (the backlog is read)."""
    while stop is None or not stop.is_set():
        if watcher.poll_once() == 0:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="backlog size (10000)")
    parser.add_argument("--e2e-s", type=float, default=8.0, help="end-to-end run, seconds (8)")
    parser.add_argument("--limited-s", type=float, default=5.0, help="rate-limited run (5)")
    parser.add_argument(
        "--window-blocks", type=int, default=100, help="watcher window (100, the default)"
    )
    parser.add_argument(
        "--digest-items",
        type=int,
        default=DEFAULT_DIGEST_ITEMS,
        choices=range(2, MAX_DIGEST_ITEMS + 1),
        metavar=f"2..{MAX_DIGEST_ITEMS}",
        help=f"notices per message with coalescing on ({DEFAULT_DIGEST_ITEMS}, the default)",
    )
    args = parser.parse_args()

    rows: list[Row] = []
    with redis_server() as url, doubles(events=args.events) as world:
        client = redis.Redis.from_url(url)

        # 1. Routing: devnet -> watcher -> router -> incidents -> outbox (enqueued, not posted).
        client.flushdb()
        gateway, notify, watcher = _stack(world, client, args.window_blocks)
        started = time.perf_counter()
        _drain_watcher(watcher)
        routing_s = time.perf_counter() - started
        routed = watcher.handed_on
        queued = notify.outbox.depth()
        gateway.client.close()
        routing_rate = routed / routing_s
        rows.append(
            Row(
                "routing: devnet -> watcher -> router -> incidents -> outbox",
                f"{routing_rate:,.0f} events/s ({routed:,} in {routing_s:.1f} s)",
                f">= {ROUTING_TARGET_PER_S:,.0f} events/s",
                routing_rate >= ROUTING_TARGET_PER_S,
            )
        )

        # 3. The 1/s per channel limit on, on that queued backlog: measure the limiter, one notice
        # per message (as before coalescing) and then with digests (each run takes a few of the
        # backlog's notices; thousands are left for the next).
        single = _limited_run(world, client, notify, args.limited_s, digest_items=1)
        coalesced = _limited_run(world, client, notify, args.limited_s, args.digest_items)
        # Every channel drains in parallel at the limiter's rate: the longest queue decides.
        biggest = queued  # the default routing sends every one of these notices to one channel
        drain_single_s = routing_s + biggest / single.notices_per_s_per_channel
        drain_s = routing_s + biggest / coalesced.notices_per_s_per_channel

        # 2. End to end, rate limits off: a fresh Redis and watcher, the outbox worker at interval 0.
        client.flushdb()
        gateway, notify, watcher = _stack(world, client, args.window_blocks)
        poster = CountingPoster(OutboxPoster(outbox_web_client(BOT_TOKEN, world.slack_url)))
        worker = OutboxWorker(client, poster, threads=notify.store, interval_ms=0)
        stop = threading.Event()
        loops = [
            threading.Thread(target=_drain_watcher, args=(watcher, stop), daemon=True),
            threading.Thread(target=worker.run, args=(stop,), daemon=True),
        ]
        started = time.perf_counter()
        for loop in loops:
            loop.start()
        deadline = started + args.e2e_s
        while time.perf_counter() < deadline and poster.total < routed:
            time.sleep(0.05)
        stop.set()
        for loop in loops:
            loop.join(timeout=10)
        e2e_s = (poster.last_at or time.perf_counter()) - started
        e2e_rate = poster.total / e2e_s
        gateway.client.close()
        client.close()

    rows.append(
        Row(
            "end to end, rate limits off: devnet -> Slack double (chat.postMessage)",
            f"{e2e_rate:,.0f} events/s ({poster.total:,} posted in {e2e_s:.1f} s, "
            f"{poster.total_messages:,} messages)",
        )
    )
    for name, run in (("coalescing off", single), ("coalescing on", coalesced)):
        rows.append(
            Row(
                f"rate limit on, {name}: messages and notices per second per channel (measured)",
                f"{run.messages_per_s_per_channel:.2f} messages/s, "
                f"{run.notices_per_s_per_channel:.2f} notices/s per channel over "
                f"{run.seconds:.1f} s ({run.per_message:.1f} notices per message, "
                f"{run.channels} channel(s))",
            )
        )
    rows.append(
        Row(
            f"drain a {args.events:,}-event backlog, rate limit on, coalescing off (computed)",
            f"{_duration(drain_single_s)} ({queued:,} notices, one channel, 1 per message)",
        )
    )
    rows.append(
        Row(
            f"drain a {args.events:,}-event backlog, rate limit on, coalescing on (computed)",
            f"{_duration(drain_s)} ({queued:,} notices, one channel, "
            f"{coalesced.per_message:.1f} per message)",
        )
    )
    print_table(
        "Event pipeline: devnet -> watcher -> router -> incidents -> outbox -> Slack double",
        rows,
        notes=[
            f"watcher window: {args.window_blocks} blocks. "
            f"backlog: {args.events:,} injected PayoutBatchEvents (+ the devnet's seed history: "
            f"{routed:,} events in all), one block each; the watcher polls all "
            f"{len(notify.router.event_types())} routed event types per pass. Default routing "
            "puts every one of these notices in one channel (#lottery-ops), so Slack's "
            "1 message/s per channel makes the drain take as many seconds as there are messages: "
            "one per notice without coalescing, one per digest of up to "
            f"{args.digest_items} notices with it (the default). The drain time is routing time + "
            "queued notices / measured notices per second per channel.",
            "reproduce: .venv/bin/python -m bench.events",
        ],
    )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
