"""What became of outbox items, recorded in Redis by one script call each: sent or failed (and XACKed
with it), or queued again to be tried later. The worker decides; this only writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import redis

from chatops.notify import keys
from chatops.notify.outbox import OutboxItem
from chatops.notify.ports import PosterRateLimitedError
from chatops.notify.scripts import load_script

__all__ = ["OutboxLedger", "Queued"]

logger = logging.getLogger(__name__)

_MAX_BACKOFF_MS = 60_000


@dataclass(frozen=True)
class Queued:
    """An item with the stream entry that queues it (what ``outbox_finish`` XACKs)."""

    entry_id: str
    item: OutboxItem


class OutboxLedger:
    """The outcome writes of the outbox worker (``outbox_finish`` and ``outbox_defer``)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        now_ms: Callable[[], int],
        interval_ms: int,
        retain_ms: int,
    ) -> None:
        self.now_ms = now_ms
        self.interval_ms = interval_ms
        self.retain_ms = retain_ms
        self._finish = load_script(client, "outbox_finish")
        self._defer = load_script(client, "outbox_defer")

    def settle(
        self,
        channel: str,
        members: Sequence[Queued],
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

    def rate_limited(
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

    def retry(
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

    def wait(self, item: OutboxItem, why: str) -> None:
        self._defer(
            keys=[
                keys.outbox_next_key(item.channel),
                keys.OUTBOX_CHANNELS,
                keys.outbox_item_key(item.id),
            ],
            args=[item.channel, self.now_ms() + self.interval_ms, "0", item.state, why, "0"],
        )

    def split(self, channel: str, items: Sequence[OutboxItem], error: str) -> None:
        """A digest refused for good, maybe for its form: nothing was posted, so its items are
        queued again, each to be posted alone from now on."""
        self._defer(
            keys=[
                keys.outbox_next_key(channel),
                keys.OUTBOX_CHANNELS,
                *(keys.outbox_item_key(i.id) for i in items),
            ],
            args=[channel, self.now_ms(), "0", "queued", error, "1", "1"],
        )
