"""The outbox's queue: notices kept in Redis per channel, each once per (notice id, target), for the
worker (``outbox_worker.py``) to send. Knows nothing of Slack."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import redis
from redis.client import Pipeline

from chatops.clock import wall_clock_ms
from chatops.notify import keys
from chatops.notify.notice import Notice
from chatops.notify.scripts import load_script

__all__ = ["GROUP", "Op", "Outbox", "OutboxItem", "Send", "State", "as_text", "item_id"]

GROUP = "outbox"  # the consumer group of every channel stream

Op = Literal["post", "parent", "update"]
State = Literal["queued", "posting", "sent", "failed"]
Send = tuple[Notice, str, str | None]  # (notice, channel, thread_of: an incident id or None)


def as_text(value: object) -> str:
    """A Redis reply (bytes) or a value as text."""
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
        data = {as_text(k): as_text(v) for k, v in raw.items()}
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


def _identity(
    notice_id: str,
    channel: str,
    thread_of: str | None,
    parent_of: str | None,
    update_of: str | None,
) -> tuple[Op, str]:
    """A send's op and item id: what ``enqueue`` stores it under and ``item`` finds it by."""
    op: Op = "parent" if parent_of else "update" if update_of else "post"
    return op, item_id(op, channel, notice_id, thread_of or parent_of or update_of or "")


class Outbox:
    """The producer side: queue notices (idempotently) and read back what became of them.

    Items are queued by one script call, alone (``enqueue``) or a page at a time on the caller's
    transaction (``enqueue_into``: the watcher commits the events in the same MULTI); each is deduped
    by its (notice id, target) either way.
    """

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
        op, new_id = _identity(notice.id, channel, thread_of, parent_of, update_of)
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
        _op, found = _identity(notice_id, channel, thread_of, parent_of, update_of)
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.outbox_item_key(found)))
        return OutboxItem.from_redis(found, raw) if raw else None

    def oldest_age_ms(self) -> int:
        """How long the oldest item still queued has waited, over every channel (0 when none): the
        outbox age metric. One read per channel with a backlog."""
        channels = cast(list[bytes], self.client.zrange(keys.OUTBOX_CHANNELS, 0, -1))
        if not channels:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for channel in channels:
            pipe.xrange(keys.outbox_stream_key(as_text(channel)), count=1)
        heads = [int(as_text(found[0][0]).partition("-")[0]) for found in pipe.execute() if found]
        return max(0, self.now_ms() - min(heads)) if heads else 0

    def depth(self) -> int:
        """Items queued and not yet sent or failed, over every channel (the outbox depth metric)."""
        channels = cast(list[bytes], self.client.zrange(keys.OUTBOX_CHANNELS, 0, -1))
        if not channels:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for channel in channels:
            pipe.xlen(keys.outbox_stream_key(as_text(channel)))
        return sum(int(n) for n in pipe.execute())
