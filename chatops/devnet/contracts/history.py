"""Emulates ``lottery_multi::history``: the archive of ``LotterySummary`` records and legacy imports.

Every write goes through the legacy mirror and the dual-write check first (spec §4.10, fact 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import legacy_bridge
from chatops.devnet.framework import Call, MoveAbortError, Specs, World, hexb, sha3, u64

__all__ = ["SPECS", "ArchiveLedger", "LotterySummary", "record_summary", "summary_json"]

SPECS = Specs("history")
MODULE = "history"

E_ALREADY_INITIALIZED = 0x1201
E_PAGINATION_LIMIT = 0x1501
E_HISTORY_MISSING = 0x1B01
E_HISTORY_MISMATCH = 0x1B02
E_HISTORY_NOT_AUTHORIZED = 0x1B04
E_HISTORY_IMPORT_HASH = 0x1B07
E_HISTORY_ID_MISMATCH = 0x1B08
E_HISTORY_NOT_LEGACY = 0x1B09
E_HISTORY_SUMMARY_MISSING = 0x1B0A
E_HISTORY_DECODE = 0x1B0B
E_TABLE_KEY_NOT_FOUND = 0x6507

MAX_PAGE = 1000
U64_MAX = (1 << 64) - 1
_EVENT_HEAD = {"event_version": 1, "event_category": 2}

# BCS kind of each LotterySummary field, in declaration (= BCS) order.
_KINDS = {
    "id": "u64",
    "status": "u8",
    "event_slug": "bytes",
    "series_code": "bytes",
    "run_id": "u64",
    "tickets_sold": "u64",
    "proceeds_accum": "u64",
    "total_allocated": "u64",
    "total_prize_paid": "u64",
    "total_operations_paid": "u64",
    "vrf_status": "u8",
    "primary_type": "u8",
    "tags_mask": "u64",
    "snapshot_hash": "bytes",
    "slots_checksum": "bytes",
    "winners_batch_hash": "bytes",
    "checksum_after_batch": "bytes",
    "payout_round": "u64",
    "created_at": "u64",
    "closed_at": "u64",
    "finalized_at": "u64",
}


@dataclass
class LotterySummary:
    """``history::LotterySummary`` (spec §6.4); its BCS hash is the archive hash."""

    id: int
    status: int
    event_slug: bytes
    series_code: bytes
    run_id: int
    tickets_sold: int
    proceeds_accum: int
    total_allocated: int
    total_prize_paid: int
    total_operations_paid: int
    vrf_status: int
    primary_type: int
    tags_mask: int
    snapshot_hash: bytes
    slots_checksum: bytes
    winners_batch_hash: bytes
    checksum_after_batch: bytes
    payout_round: int
    created_at: int
    closed_at: int
    finalized_at: int

    def bcs(self) -> bytes:
        ser = Serializer()
        for item in fields(self):
            value = getattr(self, item.name)
            kind = _KINDS[item.name]
            if kind == "u64":
                ser.u64(value)
            elif kind == "u8":
                ser.u8(value)
            else:
                ser.to_bytes(value)
        return ser.output()

    def archive_hash(self) -> bytes:
        return sha3(self.bcs())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            kind = _KINDS[item.name]
            out[item.name] = u64(value) if kind == "u64" else value if kind == "u8" else hexb(value)
        return out

    @classmethod
    def from_bcs(cls, data: bytes) -> LotterySummary:
        """Decode exactly as ``history::decode_summary``: any malformation aborts 0x1B0B.

        Like the Move reader, non-canonical ULEB128 lengths are accepted, but trailing bytes are not.
        """
        reader = _Reader(data)
        values: dict[str, Any] = {}
        for name, kind in _KINDS.items():
            if kind == "u64":
                values[name] = reader.u64()
            elif kind == "u8":
                values[name] = reader.u8()
            else:
                values[name] = reader.bytes()
        if reader.cursor != len(data):
            raise MoveAbortError(MODULE, E_HISTORY_DECODE)
        return cls(**values)


class _Reader:
    """The hand-written BCS reader of history.move."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.cursor = 0

    def u8(self) -> int:
        if self.cursor >= len(self.data):
            raise MoveAbortError(MODULE, E_HISTORY_DECODE)
        value = self.data[self.cursor]
        self.cursor += 1
        return value

    def u64(self) -> int:
        return int.from_bytes(bytes(self.u8() for _ in range(8)), "little")

    def uleb128(self) -> int:
        result = 0
        shift = 0
        while True:
            byte = self.u8()
            result = (result | ((byte & 0x7F) << shift)) & U64_MAX
            if byte & 0x80 == 0:
                return result
            shift += 7
            if shift >= 64:
                raise MoveAbortError(MODULE, E_HISTORY_DECODE)

    def bytes(self) -> bytes:
        length = self.uleb128()
        if length > len(self.data) - self.cursor:
            raise MoveAbortError(MODULE, E_HISTORY_DECODE)
        chunk = self.data[self.cursor : self.cursor + length]
        self.cursor += length
        return chunk


@dataclass
class ArchiveLedger:
    summaries: dict[int, LotterySummary] = field(default_factory=dict)
    imported_flags: dict[int, bool] = field(default_factory=dict)
    ordered_ids: list[int] = field(default_factory=list)


def _ledger(world: World) -> ArchiveLedger:
    return world.require_state(MODULE, ArchiveLedger, E_HISTORY_MISSING)


def _summary(world: World, lottery_id: int) -> LotterySummary:
    summary = _ledger(world).summaries.get(lottery_id)
    if summary is None:
        raise MoveAbortError("table", E_TABLE_KEY_NOT_FOUND, address="0x1")
    return summary


def _legacy_summary(
    world: World, call: Call, lottery_id: int
) -> tuple[ArchiveLedger, LotterySummary]:
    """Checks shared by rollback and reclassification: admin, ledger, exists, legacy."""
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    ledger = _ledger(world)
    summary = ledger.summaries.get(lottery_id)
    if summary is None:
        raise MoveAbortError(MODULE, E_HISTORY_SUMMARY_MISSING)
    if not ledger.imported_flags[lottery_id]:
        raise MoveAbortError(MODULE, E_HISTORY_NOT_LEGACY)
    return ledger, summary


def _store_summary(
    world: World,
    call: Call,
    lottery_id: int,
    summary: LotterySummary,
    archive_hash: bytes,
    is_legacy: bool,
) -> None:
    ledger = _ledger(world)
    existing = ledger.summaries.get(lottery_id)
    if existing is not None:
        if ledger.imported_flags[lottery_id]:
            if not is_legacy:
                raise MoveAbortError(MODULE, E_HISTORY_NOT_LEGACY)
        else:
            if is_legacy:
                raise MoveAbortError(MODULE, E_HISTORY_NOT_LEGACY)
            if existing.archive_hash() != archive_hash:
                raise MoveAbortError(MODULE, E_HISTORY_MISMATCH)
        ledger.summaries[lottery_id] = summary
    else:
        ledger.summaries[lottery_id] = summary
        ledger.imported_flags[lottery_id] = is_legacy
        ledger.ordered_ids.append(lottery_id)
    call.emit(
        "history::LotteryFinalizedEvent",
        {
            **_EVENT_HEAD,
            "id": u64(lottery_id),
            "archive_slot_hash": hexb(archive_hash),
            "primary_type": summary.primary_type,
            "tags_mask": u64(summary.tags_mask),
        },
    )


def record_summary(world: World, call: Call, lottery_id: int, summary: LotterySummary) -> None:
    """Archive a finalized or canceled lottery (``history::record_summary``, not an entry).

    Order as in the contract: mirror, dual-write check, store; so the events come out as
    LegacySummaryEvent?, ArchiveDualWriteCompletedEvent?, LotteryFinalizedEvent.

    Raises:
        MoveAbortError: 0x1B05/0x1B02 from ``legacy_bridge``; 0x1B01, 0x1B09, 0x1B02 from ``history``.
    """
    summary_bytes = summary.bcs()
    archive_hash = sha3(summary_bytes)
    _mirror(world, call, lottery_id, summary_bytes, archive_hash, summary.finalized_at)
    _store_summary(world, call, lottery_id, summary, archive_hash, is_legacy=False)


def _mirror(
    world: World,
    call: Call,
    lottery_id: int,
    summary_bytes: bytes,
    archive_hash: bytes,
    finalized_at: int,
) -> None:
    """Mirror the summary to history_bridge, then let legacy_bridge see it written (dual-write)."""
    legacy_bridge.mirror_summary_to_legacy(
        world, call, lottery_id, summary_bytes, archive_hash, finalized_at
    )
    legacy_bridge.notify_summary_written(world, call, lottery_id, archive_hash, finalized_at)


def summary_json(world: World, lottery_id: int) -> dict[str, Any]:
    """``get_summary`` JSON for views: 0x1B01 without a ledger, table 0x6507 without a summary."""
    return _summary(world, lottery_id).to_json()


@SPECS.entry("init_history")
def init_history(world: World, call: Call) -> None:
    world.publish(
        call, MODULE, ArchiveLedger(), not_admin=E_HISTORY_MISSING, again=E_ALREADY_INITIALIZED
    )


@SPECS.entry("import_legacy_summary_admin", ("u64", "vector<u8>", "vector<u8>"))
def import_legacy_summary_admin(
    world: World, call: Call, lottery_id: int, summary_bytes: bytes, expected_hash: bytes
) -> None:
    """Store a summary from the legacy system; it may overwrite only another legacy one."""
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    summary = LotterySummary.from_bcs(bytes(summary_bytes))
    if summary.id != lottery_id:
        raise MoveAbortError(MODULE, E_HISTORY_ID_MISMATCH)
    computed = sha3(bytes(summary_bytes))
    if computed != expected_hash:
        raise MoveAbortError(MODULE, E_HISTORY_IMPORT_HASH)
    _mirror(world, call, lottery_id, bytes(summary_bytes), computed, summary.finalized_at)
    _store_summary(world, call, lottery_id, summary, computed, is_legacy=True)
    call.emit(
        "history::LegacySummaryImportedEvent",
        {
            **_EVENT_HEAD,
            "lottery_id": u64(lottery_id),
            "archive_hash": hexb(computed),
            "finalized_at": u64(summary.finalized_at),
            "primary_type": summary.primary_type,
            "tags_mask": u64(summary.tags_mask),
        },
    )


@SPECS.entry("mirror_summary_admin", ("u64",))
def mirror_summary_admin(world: World, call: Call, lottery_id: int) -> None:
    """Re-mirror a stored summary; a silent no-op while the mirror is disabled."""
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    if not legacy_bridge.mirror_enabled(world):
        return
    summary = _summary(world, lottery_id)
    summary_bytes = summary.bcs()
    _mirror(world, call, lottery_id, summary_bytes, sha3(summary_bytes), summary.finalized_at)


@SPECS.entry("rollback_legacy_summary_admin", ("u64",))
def rollback_legacy_summary_admin(world: World, call: Call, lottery_id: int) -> None:
    """Delete an imported summary; the history_bridge copy and dual-write are untouched."""
    ledger, summary = _legacy_summary(world, call, lottery_id)
    archive_hash = summary.archive_hash()
    del ledger.summaries[lottery_id]
    del ledger.imported_flags[lottery_id]
    ledger.ordered_ids.remove(lottery_id)
    call.emit(
        "history::LegacySummaryRolledBackEvent",
        {
            **_EVENT_HEAD,
            "lottery_id": u64(lottery_id),
            "archive_hash": hexb(archive_hash),
            "finalized_at": u64(summary.finalized_at),
            "primary_type": summary.primary_type,
            "tags_mask": u64(summary.tags_mask),
        },
    )


@SPECS.entry("update_legacy_classification_admin", ("u64", "u8", "u64"))
def update_legacy_classification_admin(
    world: World, call: Call, lottery_id: int, primary_type: int, tags_mask: int
) -> None:
    """Rewrite type and mask of an imported summary (unvalidated) and re-mirror it."""
    _, summary = _legacy_summary(world, call, lottery_id)
    summary.primary_type = primary_type
    summary.tags_mask = tags_mask
    summary_bytes = summary.bcs()
    archive_hash = sha3(summary_bytes)
    legacy_bridge.mirror_summary_to_legacy(
        world, call, lottery_id, summary_bytes, archive_hash, summary.finalized_at
    )
    call.emit(
        "history::LegacySummaryClassificationUpdatedEvent",
        {
            **_EVENT_HEAD,
            "lottery_id": u64(lottery_id),
            "archive_hash": hexb(archive_hash),
            "primary_type": primary_type,
            "tags_mask": u64(tags_mask),
        },
    )


@SPECS.read("get_summary", ("u64",), returns=(SPECS.struct("LotterySummary"),))
def get_summary(world: World, id: int) -> list[Any]:
    return [summary_json(world, id)]


@SPECS.read("list_finalized", ("u64", "u64"), returns=("vector<u64>",))
def list_finalized(world: World, from_: int, limit: int) -> list[Any]:
    """Archived ids newest first, skipping ``from_`` of them, at most ``limit``."""
    if limit > MAX_PAGE:
        raise MoveAbortError(MODULE, E_PAGINATION_LIMIT)
    newest_first = list(reversed(_ledger(world).ordered_ids))
    return [[u64(i) for i in newest_first[from_ : from_ + limit]]]


@SPECS.read("is_legacy_summary", ("u64",), returns=("bool",), is_view=True)
def is_legacy_summary(world: World, lottery_id: int) -> list[Any]:
    """The package's only ``#[view]`` function."""
    return [_ledger(world).imported_flags.get(lottery_id, False)]
