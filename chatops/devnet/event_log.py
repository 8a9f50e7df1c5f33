"""The chain's event log: every committed event in order, each on its handle with its sequence number,
indexed by type for ``GET /rpc/v3/events/{type}``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from chatops.devnet.event_handles import next_free_creation_number, static_creation_number
from chatops.devnet.framework import PACKAGE_ADDRESS, addr
from chatops.devnet.records import EventRecord, normalize_type

__all__ = ["EventLog", "LogMark"]


@dataclass(frozen=True)
class LogMark:
    """The log as it was before a simulation, to roll back to."""

    length: int
    handles: dict[tuple[str, str], int]
    handle_counters: dict[tuple[str, int], int]
    next_creation: dict[str, int]


class EventLog:
    """Events in commit order; a handle (creation number) per (account, event type), counted.

    It has no lock of its own: the ledger's lock guards it, so read it holding ``Ledger.lock``.
    """

    def __init__(self) -> None:
        self.events: list[EventRecord] = []
        self._positions_by_type: dict[str, list[int]] = {}  # a node indexes events by type too
        self.handles: dict[tuple[str, str], int] = {}  # (account, event type) -> creation number
        self.handle_counters: dict[tuple[str, int], int] = {}
        self._next_creation: dict[str, int] = {}

    def emit(
        self,
        struct: str,
        data: dict[str, Any],
        block_height: int,
        tx_hash: str,
        *,
        handle_account: str | None = None,
        module_event: bool = False,
    ) -> EventRecord:
        """Append an event; ``struct`` is ``module::Struct`` of the package or a full type.

        A handle event goes on the handle for its type at ``handle_account`` (by default the
        type's own address); a module event (``#[event]``) has the null GUID and sequence number 0.
        """
        event_type = normalize_type(
            struct if struct.count("::") >= 2 else f"{PACKAGE_ADDRESS}::{struct}"
        )
        if module_event:
            record = EventRecord(event_type, data, 0, "0x0", 0, block_height, tx_hash)
        else:
            account = addr(handle_account) if handle_account else event_type.split("::")[0]
            key = (account, event_type)
            creation = self.handles.get(key)
            if creation is None:
                creation = static_creation_number(event_type)
                if creation is None:
                    creation = self._next_creation.get(account, next_free_creation_number())
                    self._next_creation[account] = creation + 1
                self.handles[key] = creation
            seq = self.handle_counters.get((account, creation), 0)
            self.handle_counters[(account, creation)] = seq + 1
            record = EventRecord(event_type, data, creation, account, seq, block_height, tx_hash)
        self._positions_by_type.setdefault(event_type, []).append(len(self.events))
        self.events.append(record)
        return record

    def mark(self) -> LogMark:
        return LogMark(
            len(self.events),
            dict(self.handles),
            dict(self.handle_counters),
            dict(self._next_creation),
        )

    def rollback(self, mark: LogMark) -> None:
        """Drop the events emitted since ``mark`` (and their index entries and handle counts)."""
        for record in self.events[mark.length :]:
            positions = self._positions_by_type[record.type]
            while positions and positions[-1] >= mark.length:
                positions.pop()
        del self.events[mark.length :]
        self.handles = mark.handles
        self.handle_counters = mark.handle_counters
        self._next_creation = mark.next_creation

    def by_type(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        after: int = -1,
        limit: int = 20,
    ) -> tuple[list[tuple[int, EventRecord]], bool]:
        """Events of ``event_type`` in ``[start_height, end_height)`` after log position ``after``.

        Returns ``(position, event)`` pairs in commit order and whether more match past the page.
        """
        wanted = normalize_type(event_type)
        found: list[tuple[int, EventRecord]] = []
        positions = self._positions_by_type.get(wanted, [])
        for position in positions[bisect.bisect_right(positions, after) :]:
            event = self.events[position]
            if start_height is not None and event.block_height < start_height:
                continue
            if end_height is not None and event.block_height >= end_height:
                continue
            if len(found) == limit:
                return found, True
            found.append((position, event))
        return found, False
