"""The outbox: notices queued in Redis and sent to the chat by workers, at most 1 message per second
per channel, several notices to a message when a channel has a backlog.

Each channel has a FIFO stream read through the consumer group ``outbox``; a worker holds a short lease on
a channel while it sends that channel's head item, so a channel is sent in order by one worker at a
time. An item is XACKed only after its outcome is recorded, and an item recorded as sent is never sent
again. An item whose post may have happened before a crash ("posting") is looked up in the chat
first when the poster can (``PostFinder``), so a restart neither loses nor duplicates it.
Items are queued by one script call, alone (``enqueue``) or a page at a time on the caller's
transaction (``enqueue_into``: the watcher commits the events in the same MULTI); each is deduped by
its (notice id, target) either way.

Coalescing (``chatops.notify.digest``): when the head item is a foldable post and more items for the
same place (the channel's top level, or one incident's thread) are ready behind it, up to
``digest_items`` of them go out as ONE message, a ``Digest``. The guarantees hold per item, because
every step covers the digest's items together, atomically: ``outbox_coalesce`` marks them all
"posting" under one digest id (a hash of their ids) before the post; ``outbox_finish`` records them
all and XACKs them all in one script; ``outbox_defer`` returns them all to the queue on a 429 or keeps
them all in doubt on an outage. An in-doubt digest stays the channel's head (its lead is the oldest
pending entry) and is settled as a whole: found in the chat (``PostFinder.find_digest``) -> all
recorded sent; not found -> the same digest (same id, same items) is posted again. Items of another
place are skipped over, not overtaken within their own place: the scan stops at an item of the same
place that cannot join (a parent, an alert, an in-doubt item), so each place keeps its order.
Knows nothing of Slack: it speaks ``Poster``; the Redis keys are built by ``chatops.notify.keys``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import redis
from redis.client import Pipeline
from redis.typing import StreamIdT

from chatops.notify import keys
from chatops.notify.digest import (
    DEFAULT_DIGEST_ITEMS,
    MAX_DIGEST_ITEMS,
    Digest,
    digest_id,
    is_foldable,
)
from chatops.notify.metrics import OutboxMetrics
from chatops.notify.notice import Notice
from chatops.notify.ports import (
    Poster,
    PosterError,
    PosterRateLimitedError,
    PosterUnavailableError,
    PostFinder,
    ThreadLookup,
)
from chatops.notify.scripts import load_script

__all__ = [
    "DEFAULT_INTERVAL_MS",
    "DEFAULT_LOOKAHEAD",
    "GROUP",
    "Outbox",
    "OutboxItem",
    "OutboxSink",
    "OutboxWorker",
    "Send",
    "item_id",
    "wall_clock_ms",
]

logger = logging.getLogger(__name__)

GROUP = "outbox"  # the consumer group of every channel stream
DEFAULT_INTERVAL_MS = 1000  # Slack: about one message per second per channel
DEFAULT_LEASE_MS = 30_000  # longer than a post can take (the WebClient times out first)
DEFAULT_RETAIN_MS = 7 * 24 * 3600 * 1000  # how long a sent item still dedupes a new enqueue
DEFAULT_THREAD_WAIT_MS = 120_000  # a reply waits this long for its parent, then goes unthreaded
# Entries of a channel looked at for a digest: enough to gather a full digest for one thread while
# a few other threads' items are interleaved with it (they stay pending, in order, for later rounds).
DEFAULT_LOOKAHEAD = 100
_MAX_BACKOFF_MS = 60_000

Op = Literal["post", "parent", "update"]
State = Literal["queued", "posting", "sent", "failed"]
Send = tuple[Notice, str, str | None]  # (notice, channel, thread_of: an incident id or None)


def wall_clock_ms() -> int:
    """Rate limits are about real time, whatever clock the chain keeps."""
    return int(time.time() * 1000)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _split(joined: str) -> tuple[str, ...]:
    return tuple(joined.split(",")) if joined else ()


@dataclass(frozen=True)
class OutboxItem:
    """One queued send, as stored: the notice, where it goes and what became of it."""

    id: str
    op: Op
    channel: str
    notice: Notice
    state: State
    thread_of: str = ""
    parent_of: str = ""
    update_of: str = ""
    ts: str = ""
    posted_channel: str = ""
    thread_ts: str = ""
    error: str = ""
    attempts: int = 0
    enqueued_ms: int = 0
    digest: str = ""  # the digest it was posted in (or is in doubt with); "" when alone
    # On a digest's lead only: its members (lead first) and their stream entries, and its channel.
    digest_items: tuple[str, ...] = ()
    digest_entries: tuple[str, ...] = ()
    digest_channel: str = ""
    # Refused once inside a digest: posted alone from then on, so a digest's form never loses it.
    alone: bool = False

    @classmethod
    def from_redis(cls, item_id: str, raw: dict[bytes, bytes]) -> OutboxItem:
        data = {_text(k): _text(v) for k, v in raw.items()}
        return cls(
            id=item_id,
            op=cast(Op, data.get("op", "post")),
            channel=data["channel"],
            notice=Notice.model_validate_json(data["notice"]),
            state=cast(State, data.get("state", "queued")),
            thread_of=data.get("thread_of", ""),
            parent_of=data.get("parent_of", ""),
            update_of=data.get("update_of", ""),
            ts=data.get("ts", ""),
            posted_channel=data.get("posted_channel", ""),
            thread_ts=data.get("thread_ts", ""),
            error=data.get("error", ""),
            attempts=int(data.get("attempts") or 0),
            enqueued_ms=int(data.get("enqueued_ms") or 0),
            digest=data.get("digest", ""),
            digest_items=_split(data.get("digest_items", "")),
            digest_entries=_split(data.get("digest_entries", "")),
            digest_channel=data.get("digest_channel", ""),
            alone=data.get("alone") == "1",
        )


def item_id(op: Op, channel: str, notice_id: str, target: str = "") -> str:
    """The dedupe identity of a send: the same notice to the same place is one item."""
    raw = "\x1f".join((op, channel, notice_id, target)).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


class Outbox:
    """The producer side: queue notices (idempotently) and read back what became of them."""

    def __init__(self, client: redis.Redis, *, now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.client = client
        self.now_ms = now_ms
        self._enqueue = load_script(client, "outbox_enqueue")

    def enqueue(
        self,
        notice: Notice,
        *,
        channel: str,
        thread_of: str | None = None,
        parent_of: str | None = None,
        update_of: str | None = None,
    ) -> bool:
        """Queue ``notice`` for ``channel``; False (and nothing queued) if this send is already known.

        ``thread_of``: an incident id, post in its thread. ``parent_of``: this notice is the parent
        message of that incident (its ts goes back through ``ThreadLookup.set_thread``).
        ``update_of``: replace that incident's parent message in place (give each state its own
        notice id: the id is what dedupes). At most one of the three.
        """
        item_keys, item_args = self._item(notice, channel, thread_of, parent_of, update_of)
        queued = self._enqueue(
            keys=[keys.OUTBOX_CHANNELS, *item_keys], args=[self.now_ms(), *item_args]
        )
        return bool(queued)

    def enqueue_into(self, tx: Pipeline, sends: Sequence[Send]) -> None:
        """Queue ``sends`` (in order, each as ``enqueue`` would) with one script call on ``tx``, a
        pipeline or transaction the caller executes; its result is how many were new."""
        if not sends:
            return
        script_keys: list[str] = [keys.OUTBOX_CHANNELS]
        args: list[str | int] = [self.now_ms()]
        for notice, channel, thread_of in sends:
            item_keys, item_args = self._item(notice, channel, thread_of, None, None)
            script_keys += item_keys
            args += item_args
        self._enqueue(keys=script_keys, args=args, client=tx)

    @staticmethod
    def _item(
        notice: Notice,
        channel: str,
        thread_of: str | None,
        parent_of: str | None,
        update_of: str | None,
    ) -> tuple[list[str], list[str | int]]:
        """The KEYS and ARGV of one item in ``outbox_enqueue.lua``."""
        targets = [t for t in (thread_of, parent_of, update_of) if t]
        if len(targets) > 1:
            raise ValueError("give at most one of thread_of, parent_of and update_of")
        op: Op = "parent" if parent_of else "update" if update_of else "post"
        new_id = item_id(op, channel, notice.id, targets[0] if targets else "")
        item_keys = [
            keys.outbox_item_key(new_id),
            keys.outbox_stream_key(channel),
            keys.outbox_next_key(channel),
            keys.outbox_parent_key(parent_of or ""),
        ]
        item_args: list[str | int] = [
            new_id,
            channel,
            op,
            notice.model_dump_json(),
            thread_of or "",
            parent_of or "",
            update_of or "",
        ]
        return item_keys, item_args

    def item(
        self,
        notice_id: str,
        *,
        channel: str,
        thread_of: str | None = None,
        parent_of: str | None = None,
        update_of: str | None = None,
    ) -> OutboxItem | None:
        """The stored item of a send (same arguments as ``enqueue``), or None if unknown."""
        op: Op = "parent" if parent_of else "update" if update_of else "post"
        found = item_id(op, channel, notice_id, thread_of or parent_of or update_of or "")
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.outbox_item_key(found)))
        return OutboxItem.from_redis(found, raw) if raw else None

    def depth(self) -> int:
        """Items queued and not yet sent or failed, over every channel (the outbox depth metric)."""
        channels = cast(list[bytes], self.client.zrange(keys.OUTBOX_CHANNELS, 0, -1))
        if not channels:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for channel in channels:
            pipe.xlen(keys.outbox_stream_key(_text(channel)))
        return sum(int(n) for n in pipe.execute())


class OutboxSink:
    """A ``Sink`` that posts every notice to the channel it is given (no incident threads)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def emit(self, notice: Notice, *, channel: str) -> None:
        self.outbox.enqueue(notice, channel=channel)

    def emit_page(self, notices: Sequence[tuple[Notice, str]], tx: Pipeline) -> int:
        """``PageSink``: every notice of the page is queued on ``tx``."""
        self.outbox.enqueue_into(tx, [(notice, channel, None) for notice, channel in notices])
        return len(notices)


@dataclass(frozen=True)
class _Entry:
    """A stream entry of a channel's queue: which item it carries."""

    entry_id: str
    item_id: str


@dataclass(frozen=True)
class _Queued:
    """An item with the stream entry that queues it (what ``outbox_finish`` XACKs)."""

    entry_id: str
    item: OutboxItem


@dataclass(frozen=True)
class _Frozen:
    """A digest marked "posting": its id, where it goes and its items (lead first, queue order)."""

    id: str
    channel: str  # the queue's
    post_channel: str
    thread_ts: str | None
    members: tuple[_Queued, ...]

    @property
    def digest(self) -> Digest:
        return Digest(self.id, tuple(m.item.notice for m in self.members))


def _place(item: OutboxItem) -> str | None:
    """Where in its channel an item shows: its incident's thread, or the top level ("", parents
    included); None for an in-place update, which shows nowhere new and keeps no order with posts."""
    return None if item.op == "update" else item.thread_of


class OutboxWorker:
    """The consumer side: sends due channels' head items through a ``Poster``.

    Any number of workers (threads or processes) may run on one Redis: a channel lease makes one of
    them send a given channel at a time, in order; the per-channel next-allowed time (``interval_ms``)
    is shared, so the rate holds across workers. ``digest_items`` (1 to ``MAX_DIGEST_ITEMS``) is how
    many notices one message may carry; 1 turns coalescing off. ``lookahead`` bounds the entries of a
    channel scanned for one digest.
    """

    def __init__(
        self,
        client: redis.Redis,
        poster: Poster,
        *,
        threads: ThreadLookup | None = None,
        consumer: str | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        lease_ms: int = DEFAULT_LEASE_MS,
        retain_ms: int = DEFAULT_RETAIN_MS,
        thread_wait_ms: int = DEFAULT_THREAD_WAIT_MS,
        digest_items: int = DEFAULT_DIGEST_ITEMS,
        lookahead: int = DEFAULT_LOOKAHEAD,
        metrics: OutboxMetrics | None = None,
    ) -> None:
        if not 1 <= digest_items <= MAX_DIGEST_ITEMS:
            raise ValueError(f"digest_items must be 1 to {MAX_DIGEST_ITEMS}")
        self.client = client
        self.poster = poster
        self.threads = threads
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.now_ms = now_ms
        self.interval_ms = interval_ms
        self.lease_ms = lease_ms
        self.retain_ms = retain_ms
        self.thread_wait_ms = thread_wait_ms
        self.digest_items = digest_items
        self.lookahead = max(lookahead, digest_items)
        self.metrics = metrics
        self._reserve = load_script(client, "outbox_reserve")
        self._defer = load_script(client, "outbox_defer")
        self._finish = load_script(client, "outbox_finish")
        self._idle = load_script(client, "outbox_idle")
        self._release = load_script(client, "outbox_release")
        self._coalesce = load_script(client, "outbox_coalesce")

    # --- loop ------------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, poll_s: float = 0.05) -> None:
        """Send until ``stop`` is set; sleeps at most ``poll_s`` between rounds when idle."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except redis.RedisError:
                logger.warning("outbox: Redis unavailable; retrying", exc_info=True)
                handled = 0
            if not handled:
                stop.wait(self._idle_wait_s(poll_s))

    def _idle_wait_s(self, poll_s: float) -> float:
        first = cast(
            list[tuple[bytes, float]],
            self.client.zrange(keys.OUTBOX_CHANNELS, 0, 0, withscores=True),
        )
        if not first:
            return poll_s
        return max(0.0, min(poll_s, (first[0][1] - self.now_ms()) / 1000))

    def run_once(self, *, limit: int = 50) -> int:
        """One round: one message to each due channel; returns how many items were settled."""
        due = cast(
            list[bytes],
            self.client.zrangebyscore(keys.OUTBOX_CHANNELS, "-inf", self.now_ms(), 0, limit),
        )
        settled = 0
        for raw in due:
            settled += self._channel(_text(raw))
        return settled

    # --- one channel -----------------------------------------------------------------------------

    def _channel(self, channel: str) -> int:
        token = secrets.token_hex(8)
        lease = keys.outbox_lease_key(channel)
        if not self.client.set(lease, token, nx=True, px=self.lease_ms):
            return 0
        try:
            return self._send_head(channel)
        finally:
            self._release(keys=[lease], args=[token])

    def _queue(self, channel: str, count: int) -> list[_Entry]:
        """The first ``count`` entries of the channel's queue, in order, now claimed by us: first
        the pending ones (read by a worker that died or by an earlier round's look-ahead; we hold
        the lease now), then new ones."""
        stream = keys.outbox_stream_key(channel)
        entries: list[_Entry] = []
        try:
            pending = cast(
                list[dict[str, bytes]],
                self.client.xpending_range(stream, GROUP, min="-", max="+", count=count),
            )
            if pending:
                wanted: list[StreamIdT] = [p["message_id"] for p in pending]
                claimed = cast(
                    list[tuple[bytes, dict[bytes, bytes] | None]],
                    self.client.xclaim(stream, GROUP, self.consumer, 0, wanted),
                )
                found = {_text(entry): fields for entry, fields in claimed}
                for entry in wanted:
                    fields = found.get(_text(entry))
                    if not fields:  # deleted from the stream while pending: nothing to send
                        self.client.xack(stream, GROUP, entry)
                        continue
                    entries.append(_Entry(_text(entry), _text(fields[b"item"])))
            if len(pending) < count:
                read = cast(
                    list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                    self.client.xreadgroup(
                        GROUP, self.consumer, {stream: ">"}, count=count - len(pending)
                    ),
                )
                for entry, fields in read[0][1] if read else []:
                    entries.append(_Entry(_text(entry), _text(fields[b"item"])))
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            return []
        return entries

    def _load(self, item_ids: Sequence[str]) -> list[OutboxItem | None]:
        """The items, in one round trip (None for one that expired or was never stored)."""
        pipe = self.client.pipeline(transaction=False)
        for found in item_ids:
            pipe.hgetall(keys.outbox_item_key(found))
        raws = cast(list[dict[bytes, bytes]], pipe.execute())
        return [
            OutboxItem.from_redis(found, raw) if raw else None
            for found, raw in zip(item_ids, raws, strict=True)
        ]

    def _send_head(self, channel: str) -> int:
        stream = keys.outbox_stream_key(channel)
        entries = self._queue(channel, self.lookahead if self.digest_items > 1 else 1)
        if not entries:
            self._idle(keys=[stream, keys.OUTBOX_CHANNELS], args=[channel])
            return 0
        first = entries[0]
        (item,) = self._load([first.item_id])
        if item is None:  # expired or lost: nothing to send, drop the entry
            logger.warning("outbox: entry %s has no item; dropped", first.entry_id)
            self.client.xack(stream, GROUP, first.entry_id)
            self.client.xdel(stream, first.entry_id)
            self._idle(keys=[stream, keys.OUTBOX_CHANNELS], args=[channel])
            return 1
        if item.state in ("sent", "failed"):
            # Recorded by a worker that died before XACK: never send it again.
            self._record(
                first.entry_id, item, "sent" if item.state == "sent" else "failed", called=False
            )
            return 1
        wait = int(
            self._reserve(
                keys=[keys.outbox_next_key(channel), keys.OUTBOX_CHANNELS],
                args=[self.now_ms(), self.interval_ms, channel],
            )
        )
        if wait:
            return 0
        head = _Queued(first.entry_id, item)
        if item.digest:  # a digest in doubt since an earlier try: settle it as it was frozen
            return self._redeliver(channel, head)
        foldable = (
            item.op == "post"
            and item.state == "queued"
            and not item.alone
            and is_foldable(item.notice)
        )
        if foldable and self.digest_items > 1:
            members = self._gather(head, entries[1:])
            if len(members) > 1:
                return self._deliver_digest(channel, members)
        return self._deliver(first.entry_id, item)

    # --- digests ---------------------------------------------------------------------------------

    def _gather(self, head: _Queued, rest: Sequence[_Entry]) -> list[_Queued]:
        """The head and the ready items behind it that may share its message, in queue order.

        Items of another place are skipped (they keep their order among themselves and go out in a
        later round); an item of the head's place that cannot join ends the scan, so nothing
        overtakes it in the place it shows.
        """
        members = [head]
        place = _place(head.item)
        for start in range(0, len(rest), self.digest_items):
            chunk = rest[start : start + self.digest_items]
            for entry, item in zip(chunk, self._load([e.item_id for e in chunk]), strict=True):
                if item is None or _place(item) != place:
                    continue  # a lost item is dropped when it reaches the head
                if (
                    item.op != "post"
                    or item.state != "queued"
                    or item.alone
                    or not is_foldable(item.notice)
                ):
                    return members
                members.append(_Queued(entry.entry_id, item))
                if len(members) == self.digest_items:
                    return members
        return members

    def _deliver_digest(self, channel: str, members: Sequence[_Queued]) -> int:
        head = members[0]
        where = self._target(head.entry_id, head.item)
        if where is None:
            return 0
        post_channel, thread_ts = where
        ids = [m.item.id for m in members]
        frozen = _Frozen(digest_id(ids), channel, post_channel, thread_ts, tuple(members))
        marked = self._coalesce(
            keys=[keys.outbox_item_key(found) for found in ids],
            args=[
                frozen.id,
                post_channel,
                thread_ts or "",
                self.now_ms(),
                ",".join(ids),
                ",".join(m.entry_id for m in members),
            ],
        )
        if not marked:
            # Only a second sender (our lease expired mid-round) changes a queued item: let it be.
            logger.warning("outbox: digest %s not frozen, an item changed meanwhile", frozen.id)
            return 0
        return self._post_digest(frozen)

    def _redeliver(self, channel: str, lead: _Queued) -> int:
        """Settle a digest frozen by an earlier try: found in the chat -> every item sent; not found
        -> the same digest again (same id, same items: a later lookup must find what we post)."""
        item = lead.item
        members = [lead]
        if item.digest_items and len(item.digest_items) == len(item.digest_entries):
            rest = item.digest_items[1:]
            for entry_id, found, loaded in zip(
                item.digest_entries[1:], rest, self._load(rest), strict=True
            ):
                if loaded is None:  # members live until they are settled together
                    logger.error("outbox: item %s of %s is gone", found, item.digest)
                    continue
                members.append(_Queued(entry_id, loaded))
        else:
            # Not a lead (or a damaged one): its lead was settled without it, which outbox_finish
            # never does. Settle what is left as it stands rather than guess.
            logger.error("outbox: item %s is in %s but not its lead; alone", item.id, item.digest)
        post_channel = item.digest_channel or item.channel
        thread_ts = item.thread_ts or None
        frozen = _Frozen(item.digest, channel, post_channel, thread_ts, tuple(members))
        if isinstance(self.poster, PostFinder):
            try:
                found_ts = self.poster.find_digest(post_channel, frozen.digest, thread_ts)
            except (PosterError, PosterRateLimitedError, PosterUnavailableError) as exc:
                self._retry(
                    channel,
                    [m.item for m in members],
                    f"could not check for an earlier post: {exc}",
                    posting=True,
                )
                return 0
            if found_ts:
                logger.info("outbox: %s was posted before a restart; recorded", frozen.id)
                self._settle(channel, members, "sent", ts=found_ts, posted_channel=post_channel)
                if self.metrics is not None:
                    self.metrics.posted_digest(len(members))
                return len(members)
        return self._post_digest(frozen)

    def _post_digest(self, frozen: _Frozen) -> int:
        members = frozen.members
        items = [m.item for m in members]
        try:
            ts = self.poster.post_digest(frozen.post_channel, frozen.digest, frozen.thread_ts)
        except PosterRateLimitedError as exc:
            # Nothing was posted: the items are queued again, free to form a new digest later.
            self._rate_limited(frozen.channel, items, exc, dissolve=True)
            return 0
        except PosterUnavailableError as exc:
            self._retry(frozen.channel, items, str(exc), posting=True)
            return 0
        except PosterError as exc:
            if len(members) > 1:
                # Refused for good, but maybe for its form (too long, a block the chat rejects):
                # nothing was posted, so each notice goes again alone and fails, if it must, alone.
                logger.warning(
                    "outbox: %s (%d notices) refused (%s); posting them one by one",
                    frozen.id,
                    len(members),
                    exc,
                    extra={"channel": frozen.channel},
                )
                self._defer(
                    keys=[
                        keys.outbox_next_key(frozen.channel),
                        keys.OUTBOX_CHANNELS,
                        *(keys.outbox_item_key(i.id) for i in items),
                    ],
                    args=[frozen.channel, self.now_ms(), "0", "queued", str(exc), "1", "1"],
                )
                return 0
            logger.warning(
                "outbox: %s (%d notices) refused for good: %s",
                frozen.id,
                len(members),
                exc,
                extra={"channel": frozen.channel},
            )
            self._settle(
                frozen.channel,
                members,
                "failed",
                error=str(exc),
                posted_channel=frozen.post_channel,
            )
            return len(members)
        except Exception as exc:
            logger.exception("outbox: posting %s failed", frozen.id)
            self._retry(frozen.channel, items, f"{type(exc).__name__}: {exc}", posting=True)
            return 0
        self._settle(frozen.channel, members, "sent", ts=ts, posted_channel=frozen.post_channel)
        if self.metrics is not None:
            self.metrics.posted_digest(len(members))
        return len(members)

    # --- one item --------------------------------------------------------------------------------

    def _deliver(self, entry_id: str, item: OutboxItem) -> int:
        where = self._target(entry_id, item)
        if where is None:
            return 0
        post_channel, ts_or_thread = where
        if item.op == "update":
            return self._update(entry_id, item, post_channel, ts_or_thread or "")
        thread_ts = ts_or_thread
        if item.state == "posting" and isinstance(self.poster, PostFinder):
            try:
                found = self.poster.find_posted(post_channel, item.notice, thread_ts)
            except (PosterError, PosterRateLimitedError, PosterUnavailableError) as exc:
                self._retry(
                    item.channel,
                    [item],
                    f"could not check for an earlier post: {exc}",
                    posting=True,
                )
                return 0
            if found:
                logger.info("outbox: item %s was posted before a restart; recorded", item.id)
                self._record(entry_id, item, "sent", ts=found, posted_channel=post_channel)
                return 1
        self.client.hset(
            keys.outbox_item_key(item.id),
            mapping={"state": "posting", "thread_ts": thread_ts or "", "posting_ms": self.now_ms()},
        )
        try:
            ts = self.poster.post(post_channel, item.notice, thread_ts)
        except PosterRateLimitedError as exc:
            self._rate_limited(item.channel, [item], exc)
            return 0
        except PosterUnavailableError as exc:
            self._retry(item.channel, [item], str(exc), posting=True)
            return 0
        except PosterError as exc:
            logger.warning(
                "outbox: %s refused for good: %s",
                item.notice.id,
                exc,
                extra={"channel": item.channel},
            )
            self._record(entry_id, item, "failed", error=str(exc), posted_channel=post_channel)
            return 1
        except Exception as exc:
            logger.exception("outbox: posting %s failed", item.notice.id)
            self._retry(item.channel, [item], f"{type(exc).__name__}: {exc}", posting=True)
            return 0
        self._record(entry_id, item, "sent", ts=ts, posted_channel=post_channel)
        if self.metrics is not None:
            self.metrics.posted_single()
        if item.op == "parent" and self.threads is not None:
            self.threads.set_thread(item.parent_of, post_channel, ts)
        return 1

    def _update(self, entry_id: str, item: OutboxItem, channel: str, ts: str) -> int:
        try:
            self.poster.update(channel, ts, item.notice)
        except PosterRateLimitedError as exc:
            self._rate_limited(item.channel, [item], exc)
            return 0
        except PosterUnavailableError as exc:
            self._retry(item.channel, [item], str(exc), posting=False)
            return 0
        except PosterError as exc:
            logger.warning("outbox: update %s refused for good: %s", item.notice.id, exc)
            self._record(entry_id, item, "failed", error=str(exc), posted_channel=channel)
            return 1
        except Exception as exc:
            logger.exception("outbox: updating %s failed", item.notice.id)
            self._retry(item.channel, [item], f"{type(exc).__name__}: {exc}", posting=False)
            return 0
        self._record(entry_id, item, "sent", ts=ts, posted_channel=channel)
        return 1

    # --- where an item goes ------------------------------------------------------------------------

    def _target(self, entry_id: str, item: OutboxItem) -> tuple[str, str | None] | None:
        """(channel, thread ts or ts to update); None when the item must wait (deferred here)."""
        incident = item.thread_of or item.update_of
        if not incident:
            return item.channel, None
        thread = self._thread(incident)
        if thread is not None:
            if thread[0] != item.channel:
                logger.warning(
                    "outbox: incident %s lives in %s, item queued for %s; posting in the thread",
                    incident,
                    thread[0],
                    item.channel,
                )
            return thread
        waited_ms = self.now_ms() - item.enqueued_ms
        if self._parent_pending(incident) and waited_ms < self.thread_wait_ms:
            self._wait(item, f"waiting for the parent message of incident {incident}")
            return None
        if item.op == "update":
            # Nothing to update: the parent was never posted (failed or never queued).
            self._record(entry_id, item, "failed", error=f"incident {incident} has no message")
            return None
        return item.channel, None

    def _thread(self, incident: str) -> tuple[str, str] | None:
        if self.threads is not None:
            found = self.threads.thread_ts(incident)
            if found is not None:
                return found
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.outbox_parent_key(incident)))
        data = {_text(k): _text(v) for k, v in raw.items()}
        if data.get("state") == "sent" and data.get("ts"):
            if self.threads is not None:  # heal a write-back lost to a crash
                self.threads.set_thread(incident, data["channel"], data["ts"])
            return data["channel"], data["ts"]
        return None

    def _parent_pending(self, incident: str) -> bool:
        raw = cast(
            list[bytes | None],
            self.client.hmget(keys.outbox_parent_key(incident), ["item", "state"]),
        )
        return raw[0] is not None and raw[1] is None

    # --- outcomes --------------------------------------------------------------------------------

    def _record(
        self,
        entry_id: str,
        item: OutboxItem,
        state: Literal["sent", "failed"],
        *,
        ts: str = "",
        posted_channel: str = "",
        error: str = "",
        called: bool = True,
    ) -> None:
        self._settle(
            item.channel,
            [_Queued(entry_id, item)],
            state,
            ts=ts,
            posted_channel=posted_channel,
            error=error,
            called=called,
        )

    def _settle(
        self,
        channel: str,
        members: Sequence[_Queued],
        state: Literal["sent", "failed"],
        *,
        ts: str = "",
        posted_channel: str = "",
        error: str = "",
        called: bool = True,
    ) -> None:
        """Record the outcome of the items of one message and XACK them, in one script call."""
        parent_of = members[0].item.parent_of if len(members) == 1 else ""
        recorded = int(
            self._finish(
                keys=[
                    keys.outbox_stream_key(channel),
                    keys.OUTBOX_CHANNELS,
                    keys.outbox_next_key(channel),
                    keys.outbox_parent_key(parent_of),
                    *(keys.outbox_item_key(m.item.id) for m in members),
                ],
                args=[
                    state,
                    ts,
                    posted_channel or channel,
                    error,
                    self.now_ms(),
                    self.retain_ms,
                    "1" if parent_of and members[0].item.op == "parent" else "0",
                    channel,
                    self.interval_ms if called else 0,
                    *(m.entry_id for m in members),
                ],
            )
        )
        open_before = sum(m.item.state not in ("sent", "failed") for m in members)
        if ts and recorded < open_before:
            logger.error(
                "outbox: %d item(s) of %s were sent by two workers",
                open_before - recorded,
                members[0].item.digest or members[0].item.id,
            )

    def _rate_limited(
        self,
        channel: str,
        items: Sequence[OutboxItem],
        exc: PosterRateLimitedError,
        *,
        dissolve: bool = False,
    ) -> None:
        until_ms = self.now_ms() + max(int(exc.retry_after_s * 1000), self.interval_ms)
        logger.info("outbox: rate limited on %s; retrying in %.1f s", channel, exc.retry_after_s)
        # Nothing was posted: back to queued, and the whole channel waits (Retry-After).
        self._defer(
            keys=[
                keys.outbox_next_key(channel),
                keys.OUTBOX_CHANNELS,
                *(keys.outbox_item_key(i.id) for i in items),
            ],
            args=[channel, until_ms, "1", "queued", str(exc), "1" if dissolve else "0"],
        )

    def _retry(
        self, channel: str, items: Sequence[OutboxItem], error: str, *, posting: bool
    ) -> None:
        attempts = max(i.attempts for i in items)
        backoff_ms = min(_MAX_BACKOFF_MS, self.interval_ms * 2 ** min(attempts, 8))
        logger.warning(
            "outbox: %s not sent (%s); retrying in %d ms",
            items[0].digest or items[0].notice.id,
            error,
            backoff_ms,
        )
        self._defer(
            keys=[
                keys.outbox_next_key(channel),
                keys.OUTBOX_CHANNELS,
                *(keys.outbox_item_key(i.id) for i in items),
            ],
            # "posting" keeps the items in doubt (and a digest whole): the next try looks for an
            # earlier post first.
            args=[
                channel,
                self.now_ms() + backoff_ms,
                "0",
                "posting" if posting else items[0].state,
                error,
                "0",
            ],
        )

    def _wait(self, item: OutboxItem, why: str) -> None:
        self._defer(
            keys=[
                keys.outbox_next_key(item.channel),
                keys.OUTBOX_CHANNELS,
                keys.outbox_item_key(item.id),
            ],
            args=[item.channel, self.now_ms() + self.interval_ms, "0", item.state, why, "0"],
        )
