"""The outbox worker: sends each channel's queued notices through a ``Poster``, in order, at most one
message a second per channel, several notices to a message when a channel has a backlog."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import redis
from redis.typing import StreamIdT

from chatops.clock import wall_clock_ms
from chatops.notify import keys
from chatops.notify.digest import (
    DEFAULT_DIGEST_ITEMS,
    MAX_DIGEST_ITEMS,
    Digest,
    digest_id,
    is_foldable,
)
from chatops.notify.metrics import OutboxMetrics
from chatops.notify.outbox import GROUP, OutboxItem, as_text
from chatops.notify.outbox_ledger import OutboxLedger, Queued
from chatops.notify.ports import (
    Poster,
    PosterError,
    PosterRateLimitedError,
    PosterUnavailableError,
    PostFinder,
    ThreadLookup,
)
from chatops.notify.scripts import load_script

__all__ = ["DEFAULT_INTERVAL_MS", "DEFAULT_LOOKAHEAD", "OutboxWorker"]

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 1000  # Slack: about one message per second per channel
DEFAULT_LEASE_MS = 30_000  # longer than a post can take (the WebClient times out first)
DEFAULT_RETAIN_MS = 7 * 24 * 3600 * 1000  # how long a sent item still dedupes a new enqueue
DEFAULT_THREAD_WAIT_MS = 120_000  # a reply waits this long for its parent, then goes unthreaded
# Entries of a channel looked at for a digest: enough to gather a full digest for one thread while
# a few other threads' items are interleaved with it (they stay pending, in order, for later rounds).
DEFAULT_LOOKAHEAD = 100


@dataclass(frozen=True)
class _Entry:
    """A stream entry of a channel's queue: which item it carries."""

    entry_id: str
    item_id: str


@dataclass(frozen=True)
class _Frozen:
    """A digest marked "posting": its id, where it goes and its items (lead first, queue order)."""

    id: str
    channel: str  # the queue's
    post_channel: str
    thread_ts: str | None
    members: tuple[Queued, ...]

    @property
    def digest(self) -> Digest:
        return Digest(self.id, tuple(m.item.notice for m in self.members))


def _place(item: OutboxItem) -> str | None:
    """Where in its channel an item shows: its incident's thread, or the top level ("", parents
    included); None for an in-place update, which shows nowhere new and keeps no order with posts."""
    return None if item.op == "update" else item.thread_of


class OutboxWorker:
    """The consumer side: sends due channels' head items through a ``Poster``.

    Each channel has a FIFO stream read through the consumer group ``outbox``; a worker holds a short
    lease on a channel while it sends that channel's head item, so a channel is sent in order by one
    worker at a time. An item is XACKed only after its outcome is recorded, and an item recorded as
    sent is never sent again. An item whose post may have happened before a crash ("posting") is
    looked up in the chat first when the poster can (``PostFinder``), so a restart neither loses
    nor duplicates it.

    Coalescing (``chatops.notify.digest``): when the head item is a foldable post and more items for
    the same place (the channel's top level, or one incident's thread) are ready behind it, up to
    ``digest_items`` of them go out as ONE message, a ``Digest``. The guarantees hold per item,
    because every step covers the digest's items together, atomically: ``outbox_coalesce`` marks
    them all "posting" under one digest id before the post; ``outbox_finish`` records and XACKs
    them all; ``outbox_defer`` returns them all to the queue on a 429 or keeps them all in doubt on
    an outage. An in-doubt digest stays the channel's head and is settled as a whole: found in the
    chat (``PostFinder.find_digest``) -> all recorded sent; not found -> the same digest is posted
    again. Items of another place are skipped over, not overtaken within their own place.

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
        self.ledger = OutboxLedger(
            client, now_ms=now_ms, interval_ms=interval_ms, retain_ms=retain_ms
        )
        self._reserve = load_script(client, "outbox_reserve")
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
            settled += self._channel(as_text(raw))
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
                found = {as_text(entry): fields for entry, fields in claimed}
                for entry in wanted:
                    fields = found.get(as_text(entry))
                    if not fields:  # deleted from the stream while pending: nothing to send
                        self.client.xack(stream, GROUP, entry)
                        continue
                    entries.append(_Entry(as_text(entry), as_text(fields[b"item"])))
            if len(pending) < count:
                read = cast(
                    list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                    self.client.xreadgroup(
                        GROUP, self.consumer, {stream: ">"}, count=count - len(pending)
                    ),
                )
                for entry, fields in read[0][1] if read else []:
                    entries.append(_Entry(as_text(entry), as_text(fields[b"item"])))
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
            self.ledger.settle(
                item.channel,
                [Queued(first.entry_id, item)],
                "sent" if item.state == "sent" else "failed",
                called=False,
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
        head = Queued(first.entry_id, item)
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

    def _gather(self, head: Queued, rest: Sequence[_Entry]) -> list[Queued]:
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
                members.append(Queued(entry.entry_id, item))
                if len(members) == self.digest_items:
                    return members
        return members

    def _deliver_digest(self, channel: str, members: Sequence[Queued]) -> int:
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

    def _redeliver(self, channel: str, lead: Queued) -> int:
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
                members.append(Queued(entry_id, loaded))
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
                self.ledger.retry(
                    channel,
                    [m.item for m in members],
                    f"could not check for an earlier post: {exc}",
                    posting=True,
                )
                return 0
            if found_ts:
                logger.info("outbox: %s was posted before a restart; recorded", frozen.id)
                self.ledger.settle(
                    channel, members, "sent", ts=found_ts, posted_channel=post_channel
                )
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
            self.ledger.rate_limited(frozen.channel, items, exc, dissolve=True)
            return 0
        except PosterUnavailableError as exc:
            self.ledger.retry(frozen.channel, items, str(exc), posting=True)
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
                self.ledger.split(frozen.channel, items, str(exc))
                return 0
            logger.warning(
                "outbox: %s (%d notices) refused for good: %s",
                frozen.id,
                len(members),
                exc,
                extra={"channel": frozen.channel},
            )
            self.ledger.settle(
                frozen.channel,
                members,
                "failed",
                error=str(exc),
                posted_channel=frozen.post_channel,
            )
            return len(members)
        except Exception as exc:
            logger.exception("outbox: posting %s failed", frozen.id)
            self.ledger.retry(frozen.channel, items, f"{type(exc).__name__}: {exc}", posting=True)
            return 0
        self.ledger.settle(
            frozen.channel, members, "sent", ts=ts, posted_channel=frozen.post_channel
        )
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
                self.ledger.retry(
                    item.channel,
                    [item],
                    f"could not check for an earlier post: {exc}",
                    posting=True,
                )
                return 0
            if found:
                logger.info("outbox: item %s was posted before a restart; recorded", item.id)
                self.ledger.settle(
                    item.channel,
                    [Queued(entry_id, item)],
                    "sent",
                    ts=found,
                    posted_channel=post_channel,
                )
                return 1
        self.client.hset(
            keys.outbox_item_key(item.id),
            mapping={"state": "posting", "thread_ts": thread_ts or "", "posting_ms": self.now_ms()},
        )
        sent = self._send_one(
            entry_id,
            item,
            post_channel,
            lambda: self.poster.post(post_channel, item.notice, thread_ts),
            posting=True,
        )
        if isinstance(sent, int):
            return sent
        if self.metrics is not None:
            self.metrics.posted_single()
        if item.op == "parent" and self.threads is not None:
            self.threads.set_thread(item.parent_of, post_channel, sent)
        return 1

    def _update(self, entry_id: str, item: OutboxItem, channel: str, ts: str) -> int:
        def update() -> str:
            self.poster.update(channel, ts, item.notice)
            return ts  # an update keeps the message's ts

        sent = self._send_one(entry_id, item, channel, update, posting=False)
        return 1 if isinstance(sent, str) else sent

    def _send_one(
        self,
        entry_id: str,
        item: OutboxItem,
        channel: str,
        send: Callable[[], str],
        *,
        posting: bool,
    ) -> str | int:
        """``send`` (one item's post, or its update; it returns the message's ts), the item settled
        by the outcome: the ts when it went out, else what the worker counts (0: queued again, 1:
        failed for good). One ladder for both, so a post and an update fail alike."""
        what = "posting" if posting else "updating"
        try:
            ts = send()
        except PosterRateLimitedError as exc:
            self.ledger.rate_limited(item.channel, [item], exc)
            return 0
        except PosterUnavailableError as exc:
            self.ledger.retry(item.channel, [item], str(exc), posting=posting)
            return 0
        except PosterError as exc:
            logger.warning(
                "outbox: %s %s refused for good: %s",
                what,
                item.notice.id,
                exc,
                extra={"channel": item.channel},
            )
            self.ledger.settle(
                item.channel,
                [Queued(entry_id, item)],
                "failed",
                error=str(exc),
                posted_channel=channel,
            )
            return 1
        except Exception as exc:
            logger.exception("outbox: %s %s failed", what, item.notice.id)
            self.ledger.retry(item.channel, [item], f"{type(exc).__name__}: {exc}", posting=posting)
            return 0
        self.ledger.settle(
            item.channel, [Queued(entry_id, item)], "sent", ts=ts, posted_channel=channel
        )
        return ts

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
            self.ledger.wait(item, f"waiting for the parent message of incident {incident}")
            return None
        if item.op == "update":
            # Nothing to update: the parent was never posted (failed or never queued).
            self.ledger.settle(
                item.channel,
                [Queued(entry_id, item)],
                "failed",
                error=f"incident {incident} has no message",
            )
            return None
        return item.channel, None

    def _thread(self, incident: str) -> tuple[str, str] | None:
        if self.threads is not None:
            found = self.threads.thread_ts(incident)
            if found is not None:
                return found
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.outbox_parent_key(incident)))
        data = {as_text(k): as_text(v) for k, v in raw.items()}
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
