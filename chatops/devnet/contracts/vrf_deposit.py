"""Emulates ``lottery_multi::vrf_deposit``: operator-reported dVRF deposit snapshots and the request pause.

Nothing here reads a real deposit; the balances are whatever the admin reports (spec §4.7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, MoveAbortError, Specs, World, u64

__all__ = ["SPECS", "VrfDepositLedger", "VrfDepositStatus", "requests_paused", "status_json"]

SPECS = Specs("vrf_deposit")
MODULE = "vrf_deposit"

E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_AMOUNT_OVERFLOW = 0x1605
E_VRF_DEPOSIT_NOT_INITIALIZED = 0x170B
E_VRF_DEPOSIT_CONFIG = 0x170C

MIN_MULTIPLIER_BPS = 10_000
U64_MAX = (1 << 64) - 1
_EVENT_HEAD = {"event_version": 1, "event_category": 7}


@dataclass
class VrfDepositStatus:
    total_balance: int = 0
    minimum_balance: int = 0
    effective_balance: int = 0
    required_minimum: int = 0
    last_update_ts: int = 0
    requests_paused: bool = False
    paused_since_ts: int = 0

    def to_json(self) -> dict[str, Any]:
        """``VrfDepositStatus`` / ``VrfDepositStatusView`` (same 7 fields) in chain JSON."""
        return {
            "total_balance": u64(self.total_balance),
            "minimum_balance": u64(self.minimum_balance),
            "effective_balance": u64(self.effective_balance),
            "required_minimum": u64(self.required_minimum),
            "last_update_ts": u64(self.last_update_ts),
            "requests_paused": self.requests_paused,
            "paused_since_ts": u64(self.paused_since_ts),
        }


@dataclass
class VrfDepositLedger:
    min_balance_multiplier_bps: int
    effective_floor: int
    status: VrfDepositStatus = field(default_factory=VrfDepositStatus)


def _ledger(world: World) -> VrfDepositLedger | None:
    return world.state(MODULE, VrfDepositLedger)


def _ledger_or_abort(world: World) -> VrfDepositLedger:
    return world.require_state(MODULE, VrfDepositLedger, E_VRF_DEPOSIT_NOT_INITIALIZED)


@SPECS.entry("init_vrf_deposit", ("u64", "u64"))
def init_vrf_deposit(
    world: World, call: Call, min_balance_multiplier_bps: int, effective_floor: int
) -> None:
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    if MODULE in world.modules:
        raise MoveAbortError(MODULE, E_ALREADY_INITIALIZED)
    if min_balance_multiplier_bps < MIN_MULTIPLIER_BPS:
        raise MoveAbortError(MODULE, E_VRF_DEPOSIT_CONFIG)
    world.modules[MODULE] = VrfDepositLedger(min_balance_multiplier_bps, effective_floor)


@SPECS.entry("update_config", ("u64", "u64"))
def update_config(
    world: World, call: Call, min_balance_multiplier_bps: int, effective_floor: int
) -> None:
    """Change the thresholds only: the status is not recomputed until the next snapshot."""
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    if min_balance_multiplier_bps < MIN_MULTIPLIER_BPS:
        raise MoveAbortError(MODULE, E_VRF_DEPOSIT_CONFIG)
    ledger = _ledger_or_abort(world)
    ledger.min_balance_multiplier_bps = min_balance_multiplier_bps
    ledger.effective_floor = effective_floor


@SPECS.entry("record_snapshot_admin", ("u64", "u64", "u64", "u64"))
def record_snapshot_admin(
    world: World,
    call: Call,
    total_balance: int,
    minimum_balance: int,
    effective_balance: int,
    timestamp: int,
) -> None:
    """Store a snapshot; a low balance pauses VRF requests and a healthy one resumes them."""
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    ledger = _ledger_or_abort(world)
    required_minimum = 0
    if minimum_balance != 0:
        required_minimum = minimum_balance * ledger.min_balance_multiplier_bps // 10_000
        if required_minimum > U64_MAX:
            raise MoveAbortError(MODULE, E_AMOUNT_OVERFLOW)
    should_pause = (
        effective_balance < ledger.effective_floor or effective_balance < required_minimum
    )
    status = ledger.status
    status.total_balance = total_balance
    status.minimum_balance = minimum_balance
    status.effective_balance = effective_balance
    status.required_minimum = required_minimum
    status.last_update_ts = timestamp
    snapshot = {
        **_EVENT_HEAD,
        "total_balance": u64(total_balance),
        "minimum_balance": u64(minimum_balance),
        "effective_balance": u64(effective_balance),
        "required_minimum": u64(required_minimum),
        "effective_floor": u64(ledger.effective_floor),
        "timestamp": u64(timestamp),
    }
    call.emit("history::VrfDepositSnapshotEvent", snapshot)
    if should_pause:
        call.emit("history::VrfDepositAlertEvent", dict(snapshot))
        if not status.requests_paused:
            status.requests_paused = True
            status.paused_since_ts = timestamp
            call.emit(
                "history::VrfRequestsPausedEvent",
                {**_EVENT_HEAD, "paused_since_ts": u64(timestamp)},
            )
    elif status.requests_paused:
        status.requests_paused = False
        status.paused_since_ts = 0
        call.emit("history::VrfRequestsResumedEvent", {**_EVENT_HEAD, "resumed_ts": u64(timestamp)})


@SPECS.entry("resume_requests", ("u64",))
def resume_requests(world: World, call: Call, timestamp: int) -> None:
    """Manual override: unpause without a balance check; silent no-op when not paused."""
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    status = _ledger_or_abort(world).status
    if not status.requests_paused:
        return
    status.requests_paused = False
    status.paused_since_ts = 0
    call.emit("history::VrfRequestsResumedEvent", {**_EVENT_HEAD, "resumed_ts": u64(timestamp)})


@SPECS.read("get_status", returns=(SPECS.struct("VrfDepositStatus"),))
def get_status(world: World) -> list[Any]:
    return [status_json(world)]


def requests_paused(world: World) -> bool:
    """What ``ensure_requests_allowed`` checks: False when the ledger was never published."""
    ledger = _ledger(world)
    return ledger is not None and ledger.status.requests_paused


def status_json(world: World) -> dict[str, Any]:
    """``VrfDepositStatusView`` JSON, all zero / false when the ledger is missing."""
    ledger = _ledger(world)
    return (VrfDepositStatus() if ledger is None else ledger.status).to_json()
