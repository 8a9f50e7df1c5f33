"""The event watcher: polls ``GET /rpc/v3/events/{type}`` over block-height windows, one cursor per
type in Redis, and hands each event on to a ``Sink`` exactly once per dedupe key. Knows nothing
of Slack."""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.client import Pipeline

from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainError
from chatops.chain.models import EventRecord
from chatops.chain.movetypes import as_int
from chatops.notify import keys
from chatops.notify.alerts import AlertBook, AlertCondition
from chatops.notify.leader import LeaderLease, LeadershipLostError, check_fence
from chatops.notify.metrics import ChainMetrics, LoopMetrics
from chatops.notify.notice import Notice
from chatops.notify.ports import PageSink, Sink
from chatops.notify.router import EventRouter, event_dedupe_key
from chatops.notify.scripts import load_script

__all__ = ["Watcher", "WatcherConfig"]

logger = logging.getLogger(__name__)

PURCHASE = "TicketPurchaseEvent"
_FIRST_TALLY_KEY = 5  # KEYS[5] in watcher_commit.lua


@dataclass(frozen=True)
class _Handoff:
    """One new event of a page, routed: the notice to hand on (None for a tallied purchase or a
    muted type) and what its commit writes."""

    member: str
    height: int
    notice: Notice | None = None
    channel: str = ""
    tally: tuple[str, int, str] | None = None  # (bucket, quantity, lottery id)


@dataclass
class _Read:
    """What reading one window took: events in it, events committed now, RPC pages."""

    events: int = 0
    handed: int = 0
    pages: int = 0


def _run_length(handoffs: list[_Handoff], queued: int) -> int:
    """How many leading ``handoffs`` are covered once the first ``queued`` notices are handed on:
    up to (not including) the next one with a notice."""
    notices = 0
    for index, handoff in enumerate(handoffs):
        if handoff.notice is not None:
            if notices == queued:
                return index
            notices += 1
    return len(handoffs)


@dataclass(frozen=True)
class WatcherConfig:
    """Polling knobs. ``lag_blocks`` keeps off the tip; ``start_height`` is where a type with no
    cursor begins (None: at the tip, so a fresh install does not replay history). A type's window
    starts at ``window_blocks`` and adapts between that and ``max_window_blocks``."""

    window_blocks: int = 100
    max_window_blocks: int = 10_000
    lag_blocks: int = 0
    page_limit: int = 100
    max_windows_per_poll: int = 50
    lease_ttl_ms: int = 15_000
    poll_interval_s: float = 2.0
    backoff_s: float = 1.0
    backoff_cap_s: float = 60.0
    outage_alert_s: int = 300
    digest_interval_s: int = 300
    sigma_min_samples: int = 6
    sigma_history: int = 48
    sales_drop_ratio: float = 0.5
    start_height: int | None = 0


class Watcher:
    """Polls every routed event type; call ``poll_once`` (tests) or ``run`` (a thread).

    One leader among replicas holds a Redis lease with a fencing token (``LeaderLease``); every
    cursor write is a Lua script that refuses a stale fence. Ticket purchases are tallied (in the
    same script) into a per-lottery digest, and the 3-sigma rule of monitoring.md raises a
    ``SalesRate`` alert.

    Windows adapt per type: one with no event widens to ``max_window_blocks`` (a quiet type catches
    up in one request), one that fit in a page doubles, one that took more pages halves back towards
    ``window_blocks``. Work is done per page: one ``ZMSCORE`` finds the events already committed,
    and the rest are routed, handed on and committed together.

    Delivery contract: an event is handed to the sink, then committed (seen-key + cursor), never the
    other way round. A ``PageSink`` (the incident tracker) queues its writes on a Redis transaction
    that also commits those events and runs under a ``WATCH`` of the fence: a page's hand-off and
    commit happen together, and not at all once another replica holds the lease. A notice that needs
    round trips of its own (one that opens an incident) and every notice of a plain ``Sink`` are
    handed on alone, then committed; a crash in between hands it on again after the restart with the
    same notice id, which the outbox dedupes. An event once committed is never handed on again.
    """

    def __init__(
        self,
        client: ChainClient,
        redis_client: redis.Redis,
        router: EventRouter,
        sink: Sink,
        alerts: AlertBook,
        *,
        config: WatcherConfig | None = None,
        owner: str | None = None,
        event_types: list[str] | None = None,
        metrics: ChainMetrics | None = None,
        loop_metrics: LoopMetrics | None = None,
        wall_s: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.router = router
        self.sink = sink
        self.alerts = alerts
        self.config = config or WatcherConfig()
        self.metrics = metrics
        self.loop_metrics = loop_metrics
        self.event_types = event_types or router.event_types()
        self.lease = LeaderLease(
            redis_client, owner or uuid.uuid4().hex[:12], self.config.lease_ttl_ms
        )
        self._r = redis_client
        self._commit_script = load_script(redis_client, "watcher_commit")
        self._digested = load_script(redis_client, "sales_digested")
        self._wall_s = wall_s
        self._widths: dict[str, int] = {}  # the next window of each type, in blocks
        self.handed_on = 0

    # --- one pass --------------------------------------------------------------------------

    def poll_once(self) -> int:
        """One pass over every type while holding the lease; the number of events handed on.

        Raises:
            ChainError: the node failed (``run`` backs off and alerts on a long outage).
            LeadershipLostError: another replica became leader mid-pass.
        """
        if not self.lease.acquire():
            return 0
        tip = self.client.latest_block()
        now_s = tip.timestamp.seconds
        safe = tip.height - self.config.lag_blocks
        handed = 0
        lag = 0
        for event_type in self.event_types:
            handed += self._poll_type(event_type, safe, now_s)
            lag = max(lag, safe + 1 - self.cursor(event_type))
        self._digest(now_s)
        if self.metrics is not None:
            self.metrics.watcher_lag_blocks.set(max(lag, 0))
        return handed

    def cursor(self, event_type: str) -> int:
        raw = self._r.get(keys.watcher_cursor_key(event_type))
        return int(cast("bytes", raw)) if raw is not None else 0

    def _start(self, event_type: str, safe: int) -> int:
        raw = self._r.get(keys.watcher_cursor_key(event_type))
        if raw is not None:
            return int(cast("bytes", raw))
        start = self.config.start_height if self.config.start_height is not None else safe + 1
        self._commit(event_type, [], cursor=start)
        return start

    def _poll_type(self, event_type: str, safe: int, now_s: int) -> int:
        start = self._start(event_type, safe)
        handed = 0
        for _ in range(self.config.max_windows_per_poll):
            if start > safe:
                break
            width = self._widths.get(event_type, self.config.window_blocks)
            end = min(start + width, safe + 1)
            read = self._window(event_type, start, end, now_s)
            handed += read.handed
            self._commit(event_type, [], cursor=end)
            self._widths[event_type] = self._next_width(width, read)
            start = end
        return handed

    def _next_width(self, width: int, read: _Read) -> int:
        """Adaptive windows: a quiet window (no event) widens to the cap, one that fit in a page
        doubles, one that took more pages halves (never under ``window_blocks``)."""
        narrowest = self.config.window_blocks
        widest = max(self.config.max_window_blocks, narrowest)
        if read.events == 0:
            return widest
        if read.pages == 1:
            return min(width * 2, widest)
        return max(width // 2, narrowest)

    def _window(self, event_type: str, start: int, end: int, now_s: int) -> _Read:
        read = _Read()
        cursor: str | None = None
        while True:
            page = self.client.events(
                event_type,
                start_height=start,
                end_height=end,
                limit=self.config.page_limit,
                cursor=cursor,
            )
            read.pages += 1
            inside = [
                (event, height)
                for event in page.events
                # pages can overrun the window (supra_rpc.md §5c)
                if (height := event.block_height if event.block_height is not None else start) < end
            ]
            read.events += len(inside)
            read.handed += self._page(event_type, inside, now_s)
            cursor = page.next_cursor
            if not cursor or not page.events:
                return read

    # --- one page: dedupe, route, hand on, commit --------------------------------------------

    def _page(self, event_type: str, events: list[tuple[EventRecord, int]], now_s: int) -> int:
        """Hand on the page's events not committed yet; the number committed now."""
        if not events:
            return 0
        members = [_dedupe(event) for event, _height in events]
        scores = cast(
            "list[float | None]", self._r.zmscore(keys.watcher_seen_key(event_type), members)
        )
        handoffs: list[_Handoff] = []
        fresh: set[str] = set()
        for (event, height), member, score in zip(events, members, scores, strict=True):
            if score is None and member not in fresh:
                fresh.add(member)
                handoffs.append(self._route(event_type, event, member, height, now_s))
        handed = 0
        while handoffs:
            taken, committed = self._hand_on_run(event_type, handoffs)
            handed += committed
            if taken < len(handoffs):
                # The next one needs the sink's own round trips (it opens an incident): alone.
                head = handoffs[taken]
                if head.notice is not None:
                    self.sink.emit(head.notice, channel=head.channel)
                handed += self._commit(event_type, [head])
                taken += 1
            handoffs = handoffs[taken:]
        self.handed_on += handed
        return handed

    def _route(
        self, event_type: str, event: EventRecord, member: str, height: int, now_s: int
    ) -> _Handoff:
        data: dict[str, Any] = dict(event.data or {})
        routed = self.router.route(
            event_type, data, dedupe_key=member, at_s=now_s, tx_hash=event.transaction_hash
        )
        if self.metrics is not None:
            self.metrics.observe_event(event_type.rsplit("::", 1)[-1], data)
        if routed is None or routed.rule.muted:
            return _Handoff(member, height)
        if routed.rule.aggregate:
            lottery = str(data.get("lottery_id", "?"))
            bucket = now_s // self.config.digest_interval_s
            return _Handoff(
                member, height, tally=(str(bucket), as_int(data.get("quantity", 1), 1), lottery)
            )
        return _Handoff(member, height, notice=routed.notice, channel=routed.channel)

    def _hand_on_run(self, event_type: str, handoffs: list[_Handoff]) -> tuple[int, int]:
        """Hand on and commit the longest leading run of ``handoffs`` that one Redis transaction
        can take: (how many it took, how many it committed).

        A ``PageSink`` queues its writes on the transaction, which commits the run too, under a
        WATCH of the fence: the run's hand-off and commit happen together, and not at all once
        another replica holds the lease. With a plain ``Sink`` only the events with nothing to
        emit (tallied, muted) are batched.
        """
        sink = self.sink if isinstance(self.sink, PageSink) else None
        if sink is None:
            run = _run_length(handoffs, 0)
            return run, self._commit(event_type, handoffs[:run]) if run else 0
        with self._r.pipeline(transaction=True) as tx:
            tx.watch(keys.WATCHER_FENCE)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            if int(cast("bytes", tx.get(keys.WATCHER_FENCE) or b"0")) != self.lease.fence:
                raise LeadershipLostError(
                    "Another watcher holds the lease; this one stops writing."
                )
            tx.multi()
            notices = [(h.notice, h.channel) for h in handoffs if h.notice is not None]
            run = _run_length(handoffs, sink.emit_page(notices, tx))
            if run == 0:
                return 0, 0
            self._commit(event_type, handoffs[:run], client=tx)
            try:
                results = tx.execute()
            except redis.WatchError as exc:
                raise LeadershipLostError("The lease changed hands during a hand-off.") from exc
        return run, check_fence(results[-1])

    def _commit(
        self,
        event_type: str,
        handoffs: list[_Handoff],
        *,
        cursor: int | None = None,
        client: Pipeline | None = None,
    ) -> int:
        """Commit ``handoffs`` (seen members, tallies) and ``cursor`` under the fence in one script
        call; the number of members committed now. On a pipeline it is only queued (returns 0)."""
        tally_keys: list[str] = []
        args: list[str | int] = [self.lease.fence, "" if cursor is None else cursor]
        for handoff in handoffs:
            if handoff.tally is None:
                args += [handoff.member, handoff.height, 0, "", 0, ""]
                continue
            bucket, quantity, lottery = handoff.tally
            key = keys.sales_tally_key(lottery)
            if key not in tally_keys:
                tally_keys.append(key)
            index = _FIRST_TALLY_KEY + tally_keys.index(key)
            args += [handoff.member, handoff.height, index, bucket, quantity, lottery]
        script_keys = [
            keys.WATCHER_FENCE,
            keys.watcher_seen_key(event_type),
            keys.watcher_cursor_key(event_type),
            keys.SALES_LOTTERIES,
            *tally_keys,
        ]
        if client is not None:
            self._commit_script(keys=script_keys, args=args, client=client)
            return 0
        return check_fence(self._commit_script(keys=script_keys, args=args))

    # --- sales digest and the 3-sigma rule -------------------------------------------------

    def _digest(self, now_s: int) -> None:
        interval = self.config.digest_interval_s
        current = now_s // interval
        for raw in cast("set[bytes]", self._r.smembers(keys.SALES_LOTTERIES)):
            lottery = raw.decode()
            tally = {
                int(k): int(v)
                for k, v in cast(
                    "dict[bytes, bytes]", self._r.hgetall(keys.sales_tally_key(lottery))
                ).items()
            }
            done = self._r.get(keys.sales_digested_key(lottery))
            first = (
                int(cast("bytes", done)) + 1 if done is not None else min(tally, default=current)
            )
            for bucket in range(max(first, current - self.config.sigma_history), current):
                self._digest_bucket(lottery, bucket, tally.get(bucket, 0), now_s)

    def _digest_bucket(self, lottery: str, bucket: int, tickets: int, now_s: int) -> None:
        interval = self.config.digest_interval_s
        per_min = tickets * 60 / interval
        subject = f"lottery:{lottery}"
        if tickets:
            self.sink.emit(
                Notice(
                    id=f"digest:sales:{lottery}:{bucket}",
                    kind="digest",
                    subject=subject,
                    severity="info",
                    title=f"Ticket sales ({subject}): {per_min:.1f} tickets/min",
                    text=f"{tickets} tickets in {interval // 60} min.",
                    fields=(("tickets", str(tickets)), ("tickets_per_min", f"{per_min:.2f}")),
                    at_s=now_s,
                    event_type="TicketPurchase",
                ),
                channel=self.router.default_channel,
            )
        history = [
            int(v)
            for v in cast("list[bytes]", self._r.lrange(keys.sales_history_key(lottery), 0, -1))
        ]
        self.alerts.observe(_sigma_rule(subject, history, tickets, self.config), at_s=now_s)
        self.alerts.observe(_drop_rule(subject, history, tickets, self.config), at_s=now_s)
        result = self._digested(
            keys=[
                keys.WATCHER_FENCE,
                keys.sales_tally_key(lottery),
                keys.sales_history_key(lottery),
                keys.sales_digested_key(lottery),
            ],
            args=[self.lease.fence, bucket, tickets, self.config.sigma_history],
        )
        check_fence(result)

    # --- the loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set: back off on RPC failure, alert after a long outage."""
        failures = 0
        outage_since: float | None = None
        while not stop.is_set():
            try:
                self.poll_once()
            except ChainError as exc:
                failures += 1
                outage_since = outage_since or self._wall_s()
                delay = min(self.config.backoff_s * 2 ** (failures - 1), self.config.backoff_cap_s)
                logger.warning("event poll failed (%s); retrying in %.1f s", exc, delay)
                self._outage(outage_since, active=True)
                stop.wait(delay)
                continue
            except LeadershipLostError:
                logger.warning("watcher lease lost; standing by")
                self.lease.fence = 0
                if self.loop_metrics is not None:
                    self.loop_metrics.lease_lost.labels(loop="watcher").inc()
            if self.loop_metrics is not None:
                self.loop_metrics.leader.labels(loop="watcher").set(1 if self.lease.fence else 0)
            if outage_since is not None:
                self._outage(outage_since, active=False)
            failures, outage_since = 0, None
            stop.wait(self.config.poll_interval_s)
        self.lease.release()

    def _outage(self, since_s: float, *, active: bool) -> None:
        now = int(self._wall_s())
        try:
            self.alerts.observe(
                AlertCondition(
                    name="WatcherOutage",
                    subject="global",
                    active=active,
                    severity="critical",
                    title="Chain events are not being read",
                    text=f"The Supra node has been failing since {int(since_s)} (unix s).",
                    hold_s=self.config.outage_alert_s,
                ),
                at_s=now,
            )
        except redis.RedisError:
            logger.exception("could not record the watcher outage")


def _dedupe(event: EventRecord) -> str:
    guid = event.guid
    if guid is None:
        return f"0:0x0:{event.sequence_number}:{event.transaction_hash}"
    return event_dedupe_key(guid.creation_number, guid.account_address, event.sequence_number)


def _sigma_rule(
    subject: str, history: list[int], tickets: int, config: WatcherConfig
) -> AlertCondition:
    """monitoring.md ``sales_rate``: a period more than 3 sigma away from the recent mean."""
    per_min = 60 / config.digest_interval_s
    if len(history) < config.sigma_min_samples:
        return AlertCondition("SalesRate", subject, active=False)
    mean = sum(history) / len(history)
    sigma = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history))
    # a flat history has sigma 0; one ticket of slack keeps a single extra sale from alerting
    deviates = abs(tickets - mean) > 3 * max(sigma, 1.0)
    direction = "drop" if tickets < mean else "spike"
    return AlertCondition(
        "SalesRate",
        subject,
        active=deviates,
        severity="warning",
        title=f"Sales rate {direction} ({subject})",
        text=(
            f"{tickets * per_min:.1f} tickets/min against a mean of {mean * per_min:.1f} "
            f"(3 sigma = {3 * sigma * per_min:.1f})."
        ),
        fields=(("tickets", str(tickets)), ("mean", f"{mean:.1f}"), ("sigma", f"{sigma:.1f}")),
    )


def _drop_rule(
    subject: str, history: list[int], tickets: int, config: WatcherConfig
) -> AlertCondition:
    """monitoring.md ``SalesDrop``: a period selling less than half the usual rate.

    The usual rate is the median of the recent periods, so one spike does not make the next normal
    period look like a drop.
    """
    if len(history) < config.sigma_min_samples:
        return AlertCondition("SalesDrop", subject, active=False)
    usual = statistics.median(history)
    per_min = 60 / config.digest_interval_s
    return AlertCondition(
        "SalesDrop",
        subject,
        active=usual > 0 and tickets < usual * config.sales_drop_ratio,
        severity="warning",
        title=f"Sales dropped by more than half ({subject})",
        text=(
            f"{tickets * per_min:.1f} tickets/min against a usual {usual * per_min:.1f}: "
            "check for planned changes, then investigate with marketing and support."
        ),
        fields=(("tickets", str(tickets)), ("usual", f"{usual:g}")),
    )
