"""Emulates ``lottery_multi::legacy_bridge``: dual-write expectations and the legacy-mirror switch.

Every summary write calls ``notify_summary_written``, which can abort it (fact 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.contracts import history_bridge
from chatops.devnet.framework import (
    PACKAGE_ADDRESS,
    Call,
    MoveAbortError,
    Specs,
    World,
    hexb,
    opt,
    u64,
)

__all__ = [
    "SPECS",
    "DualWriteControl",
    "mirror_enabled",
    "mirror_summary_to_legacy",
    "notify_summary_written",
]

SPECS = Specs("legacy_bridge")
MODULE = "legacy_bridge"
MIRROR_RESOURCE = "legacy_bridge::MirrorConfig"

E_ALREADY_INITIALIZED = 0x1201
E_HISTORY_MISMATCH = 0x1B02
E_HISTORY_NOT_AUTHORIZED = 0x1B04
E_HISTORY_EXPECTED_MISSING = 0x1B05
E_HISTORY_CONTROL_MISSING = 0x1B06

_EVENT_HEAD = {"event_version": 1, "event_category": 8}


@dataclass
class DualWriteControl:
    """``expected_*`` form a vrf_hub iterable table: parallel vectors, swap-remove on delete."""

    enabled: bool
    abort_on_mismatch: bool
    abort_on_missing: bool
    expected_ids: list[int] = field(default_factory=list)
    expected_hashes: list[bytes] = field(default_factory=list)

    def expected(self, lottery_id: int) -> bytes | None:
        try:
            return self.expected_hashes[self.expected_ids.index(lottery_id)]
        except ValueError:
            return None

    def remove(self, lottery_id: int) -> None:
        if lottery_id not in self.expected_ids:
            return
        position = self.expected_ids.index(lottery_id)
        self.expected_ids[position] = self.expected_ids[-1]
        self.expected_ids.pop()
        self.expected_hashes[position] = self.expected_hashes[-1]
        self.expected_hashes.pop()

    def add(self, lottery_id: int, expected_hash: bytes) -> None:
        self.expected_ids.append(lottery_id)
        self.expected_hashes.append(expected_hash)


def _control(world: World) -> DualWriteControl | None:
    return world.state(MODULE, DualWriteControl)


def _admin_control(world: World, call: Call) -> DualWriteControl:
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    control = _control(world)
    if control is None:
        raise MoveAbortError(MODULE, E_HISTORY_CONTROL_MISSING)
    return control


def mirror_enabled(world: World) -> bool:
    """Whether ``MirrorConfig`` is published at the package account."""
    return MIRROR_RESOURCE in world.accounts.get(PACKAGE_ADDRESS, {})


@SPECS.entry("init_dual_write", ("bool", "bool"))
def init_dual_write(
    world: World, call: Call, abort_on_mismatch: bool, abort_on_missing: bool
) -> None:
    """Publish the control, enabled; no event (spec §13 #15)."""
    world.publish(
        call,
        MODULE,
        DualWriteControl(True, abort_on_mismatch, abort_on_missing),
        not_admin=E_HISTORY_NOT_AUTHORIZED,
        again=E_ALREADY_INITIALIZED,
    )


@SPECS.entry("update_flags", ("bool", "bool", "bool"))
def update_flags(
    world: World, call: Call, enabled: bool, abort_on_mismatch: bool, abort_on_missing: bool
) -> None:
    control = _admin_control(world, call)
    control.enabled = enabled
    control.abort_on_mismatch = abort_on_mismatch
    control.abort_on_missing = abort_on_missing


@SPECS.entry("set_expected_hash", ("u64", "vector<u8>"))
def set_expected_hash(world: World, call: Call, lottery_id: int, expected_hash: bytes) -> None:
    """Replace any expectation for the lottery (re-appended at the end of the pending list)."""
    control = _admin_control(world, call)
    control.remove(lottery_id)
    control.add(lottery_id, bytes(expected_hash))
    call.emit(
        "legacy_bridge::ArchiveDualWriteStartedEvent",
        {**_EVENT_HEAD, "lottery_id": u64(lottery_id), "expected_hash": hexb(expected_hash)},
    )


@SPECS.entry("clear_expected_hash", ("u64",))
def clear_expected_hash(world: World, call: Call, lottery_id: int) -> None:
    _admin_control(world, call).remove(lottery_id)


@SPECS.entry("enable_legacy_mirror")
def enable_legacy_mirror(world: World, call: Call) -> None:
    """Publish MirrorConfig; idempotent and independent of the dual-write control."""
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    world.accounts.setdefault(PACKAGE_ADDRESS, {})[MIRROR_RESOURCE] = True


@SPECS.entry("disable_legacy_mirror")
def disable_legacy_mirror(world: World, call: Call) -> None:
    call.require_admin(MODULE, E_HISTORY_NOT_AUTHORIZED)
    world.accounts.get(PACKAGE_ADDRESS, {}).pop(MIRROR_RESOURCE, None)


def _status(control: DualWriteControl | None, expected: bytes | None) -> dict[str, Any]:
    if control is None:
        return {
            "enabled": False,
            "abort_on_mismatch": False,
            "abort_on_missing": False,
            "expected_hash": opt(None),
        }
    return {
        "enabled": control.enabled,
        "abort_on_mismatch": control.abort_on_mismatch,
        "abort_on_missing": control.abort_on_missing,
        "expected_hash": opt(None if expected is None else hexb(expected)),
    }


_STATUS_TYPE = SPECS.struct("DualWriteStatus")


@SPECS.read("dual_write_status", ("u64",), returns=(_STATUS_TYPE,))
def dual_write_status(world: World, lottery_id: int) -> list[Any]:
    control = _control(world)
    return [_status(control, None if control is None else control.expected(lottery_id))]


@SPECS.read("dual_write_flags", returns=(_STATUS_TYPE,))
def dual_write_flags(world: World) -> list[Any]:
    return [_status(_control(world), None)]


@SPECS.read("pending_expected_hashes", returns=("vector<u64>",))
def pending_expected_hashes(world: World) -> list[Any]:
    """Ids in table order: insertion order, with removals filled by the last id."""
    control = _control(world)
    return [[] if control is None else [u64(i) for i in control.expected_ids]]


@SPECS.read("has_expected_hash", ("u64",), returns=("bool",))
def has_expected_hash(world: World, lottery_id: int) -> list[Any]:
    control = _control(world)
    return [control is not None and lottery_id in control.expected_ids]


@SPECS.read("is_enabled", returns=("bool",))
def is_enabled(world: World) -> list[Any]:
    control = _control(world)
    return [control is not None and control.enabled]


@SPECS.read("is_mirror_enabled", returns=("bool",))
def is_mirror_enabled(world: World) -> list[Any]:
    return [mirror_enabled(world)]


def notify_summary_written(
    world: World, call: Call, lottery_id: int, archive_hash: bytes, finalized_at: int
) -> None:
    """The dual-write check run on every summary write.

    Raises:
        MoveAbortError: from ``legacy_bridge``: 0x1B05 (no expectation, abort_on_missing),
            0x1B02 (different hash, abort_on_mismatch). Otherwise a mismatch is silent and the
            expectation stays; a match removes it and emits ArchiveDualWriteCompletedEvent.
    """
    control = _control(world)
    if control is None or not control.enabled:
        return
    expected = control.expected(lottery_id)
    if expected is None:
        if control.abort_on_missing:
            raise MoveAbortError(MODULE, E_HISTORY_EXPECTED_MISSING)
        return
    if expected != archive_hash:
        if control.abort_on_mismatch:
            raise MoveAbortError(MODULE, E_HISTORY_MISMATCH)
        return
    control.remove(lottery_id)
    call.emit(
        "legacy_bridge::ArchiveDualWriteCompletedEvent",
        {
            **_EVENT_HEAD,
            "lottery_id": u64(lottery_id),
            "archive_hash": hexb(archive_hash),
            "finalized_at": u64(finalized_at),
        },
    )


def mirror_summary_to_legacy(
    world: World,
    call: Call,
    lottery_id: int,
    summary_bytes: bytes,
    archive_hash: bytes,
    finalized_at: int,
) -> None:
    """Copy a summary to history_bridge when the mirror is on and the bridge initialised."""
    if not mirror_enabled(world) or not history_bridge.initialized(world):
        return
    history_bridge.record_summary(
        world, call, lottery_id, summary_bytes, archive_hash, finalized_at
    )
