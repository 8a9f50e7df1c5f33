"""``history::LotterySummary`` off chain: from its view JSON or BCS bytes, to BCS and the archive
hash, which dual-write compares (spec §12.8). Decoding is as strict as the contract's."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aptos_sdk.bcs import Serializer

__all__ = ["SUMMARY_FIELDS", "LotterySummary", "SummaryDecodeError", "archive_hash"]

U64_MAX = (1 << 64) - 1

# The 21 fields of history::LotterySummary in declaration (= BCS) order, spec §6.4.
SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "u64"),
    ("status", "u8"),
    ("event_slug", "bytes"),
    ("series_code", "bytes"),
    ("run_id", "u64"),
    ("tickets_sold", "u64"),
    ("proceeds_accum", "u64"),
    ("total_allocated", "u64"),
    ("total_prize_paid", "u64"),
    ("total_operations_paid", "u64"),
    ("vrf_status", "u8"),
    ("primary_type", "u8"),
    ("tags_mask", "u64"),
    ("snapshot_hash", "bytes"),
    ("slots_checksum", "bytes"),
    ("winners_batch_hash", "bytes"),
    ("checksum_after_batch", "bytes"),
    ("payout_round", "u64"),
    ("created_at", "u64"),
    ("closed_at", "u64"),
    ("finalized_at", "u64"),
)


class SummaryDecodeError(ValueError):
    """The bytes are not a strict BCS ``LotterySummary`` (the contract would abort 0x1B0B)."""


def archive_hash(summary_bytes: bytes) -> bytes:
    """sha3-256 of the summary bytes, as the contracts compute it.

    It is what dual-write compares, so the bot can tell before sending whether a summary write would
    pass.
    """
    return hashlib.sha3_256(summary_bytes).digest()


@dataclass(frozen=True)
class LotterySummary:
    """One archived lottery (spec §6.4); ``bcs()`` reproduces the contract's encoding byte for byte."""

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

    @classmethod
    def from_json(cls, view: Mapping[str, Any]) -> LotterySummary:
        """From ``history::get_summary`` chain JSON (u64 as strings, u8 as numbers, bytes as 0x hex).

        Raises:
            SummaryDecodeError: a field is missing or of the wrong shape.
        """
        values: dict[str, Any] = {}
        for name, kind in SUMMARY_FIELDS:
            if name not in view:
                raise SummaryDecodeError(f"summary JSON lacks {name}")
            values[name] = _json_value(name, kind, view[name])
        return cls(**values)

    @classmethod
    def from_bcs(cls, data: bytes) -> LotterySummary:
        """Decode like ``history::decode_summary``: every field present, no trailing bytes.

        Like the Move reader, a non-canonical ULEB128 length is accepted.

        Raises:
            SummaryDecodeError: the bytes end early, a length overruns them, or bytes are left over.
        """
        reader = _Reader(data)
        values: dict[str, Any] = {}
        for name, kind in SUMMARY_FIELDS:
            if kind == "u64":
                values[name] = reader.uint(8, name)
            elif kind == "u8":
                values[name] = reader.uint(1, name)
            else:
                values[name] = reader.bytes(name)
        if reader.cursor != len(data):
            raise SummaryDecodeError(
                f"{len(data) - reader.cursor} trailing bytes after the 21 summary fields"
            )
        return cls(**values)

    def bcs(self) -> bytes:
        ser = Serializer()
        for name, kind in SUMMARY_FIELDS:
            value = getattr(self, name)
            if kind == "u64":
                ser.u64(value)
            elif kind == "u8":
                ser.u8(value)
            else:
                ser.to_bytes(value)
        return ser.output()

    def archive_hash(self) -> bytes:
        """``sha3_256(bcs(self))``: LotteryFinalizedEvent.archive_slot_hash and the dual-write value."""
        return archive_hash(self.bcs())

    def to_json(self) -> dict[str, Any]:
        """Chain-style JSON (u64 as decimal strings, bytes as 0x hex), as ``get_summary`` returns it."""
        out: dict[str, Any] = {}
        for name, kind in SUMMARY_FIELDS:
            value = getattr(self, name)
            out[name] = (
                str(value) if kind == "u64" else value if kind == "u8" else "0x" + value.hex()
            )
        return out


def _json_value(name: str, kind: str, raw: Any) -> Any:
    if kind == "bytes":
        if not isinstance(raw, str) or not raw.startswith("0x"):
            raise SummaryDecodeError(f"summary field {name} is not 0x hex")
        try:
            return bytes.fromhex(raw[2:])
        except ValueError as exc:
            raise SummaryDecodeError(f"summary field {name} is not 0x hex") from exc
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise SummaryDecodeError(f"summary field {name} is not a whole number")
    return int(raw)


class _Reader:
    """A cursor over the bytes that reports where a malformed summary fails."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.cursor = 0

    def uint(self, size: int, name: str) -> int:
        end = self.cursor + size
        if end > len(self.data):
            raise SummaryDecodeError(f"the bytes end inside {name}")
        value = int.from_bytes(self.data[self.cursor : end], "little")
        self.cursor = end
        return value

    def _uleb128(self, name: str) -> int:
        result = 0
        shift = 0
        while True:
            byte = self.uint(1, name)
            result = (result | ((byte & 0x7F) << shift)) & U64_MAX
            if byte & 0x80 == 0:
                return result
            shift += 7
            if shift >= 64:
                raise SummaryDecodeError(f"the length of {name} is not a valid ULEB128")

    def bytes(self, name: str) -> bytes:
        length = self._uleb128(name)
        if length > len(self.data) - self.cursor:
            raise SummaryDecodeError(f"the length of {name} overruns the bytes")
        chunk = self.data[self.cursor : self.cursor + length]
        self.cursor += length
        return chunk
