"""Emulates ``lottery_support::history_bridge``: the legacy mirror of archived summaries.

It lives at the package address too; ``legacy_bridge`` writes to it while the mirror is enabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, Specs, World, hexb, opt, u64

__all__ = ["SPECS", "LegacyArchive", "LegacySummary", "record_summary"]

SPECS = Specs("history_bridge")
MODULE = "history_bridge"

# history_bridge declares its own constant: 257, not a lottery_multi::errors code.
E_NOT_AUTHORIZED = 0x101


@dataclass
class LegacySummary:
    summary_bcs: bytes
    archive_hash: bytes
    finalized_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "summary_bcs": hexb(self.summary_bcs),
            "archive_hash": hexb(self.archive_hash),
            "finalized_at": u64(self.finalized_at),
        }


@dataclass
class LegacyArchive:
    summaries: dict[int, LegacySummary] = field(default_factory=dict)


def _archive(world: World) -> LegacyArchive | None:
    return world.state(MODULE, LegacyArchive)


@SPECS.entry("init_bridge")
def init_bridge(world: World, call: Call) -> None:
    """Publish the archive; a second call is a silent no-op."""
    call.require_admin(MODULE, E_NOT_AUTHORIZED)
    if _archive(world) is not None:
        return
    world.modules[MODULE] = LegacyArchive()


@SPECS.read(
    "get_summary",
    ("u64",),
    returns=(f"0x1::option::Option<{SPECS.struct('LegacySummary')}>",),
)
def get_summary(world: World, lottery_id: int) -> list[Any]:
    archive = _archive(world)
    entry = None if archive is None else archive.summaries.get(lottery_id)
    return [opt(None if entry is None else entry.to_json())]


@SPECS.read("is_initialized", returns=("bool",))
def is_initialized(world: World) -> list[Any]:
    return [_archive(world) is not None]


def initialized(world: World) -> bool:
    """``history_bridge::is_initialized()`` as a Python bool, for ``legacy_bridge``."""
    return _archive(world) is not None


def record_summary(
    world: World,
    call: Call,
    lottery_id: int,
    summary_bcs: bytes,
    archive_hash: bytes,
    finalized_at: int,
) -> None:
    """Upsert the mirrored copy and emit ``LegacySummaryEvent``; nothing if not initialised."""
    archive = _archive(world)
    if archive is None:
        return
    archive.summaries[lottery_id] = LegacySummary(summary_bcs, archive_hash, finalized_at)
    call.emit(
        "history_bridge::LegacySummaryEvent",
        {
            "lottery_id": u64(lottery_id),
            "archive_hash": hexb(archive_hash),
            "finalized_at": u64(finalized_at),
        },
    )
