"""Emulates ``lottery_multi::automation``: the AutomationBot registry, dry-run timelock and reputation.

Bots are labels only: no action id is bound to a callable function (spec §2, §4.9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, MoveAbortError, Specs, World, addr, hexb, opt, sha3, u64

__all__ = [
    "SPECS",
    "AutomationCap",
    "AutomationRegistry",
    "AutomationState",
    "bot_json",
    "bots_json",
]

SPECS = Specs("automation")
MODULE = "automation"
CAP_RESOURCE = "automation::AutomationCap"

E_ALREADY_INITIALIZED = 0x1201
E_AUTOBOT_REGISTRY_MISSING = 0x1A01
E_AUTOBOT_ALREADY_REGISTERED = 0x1A02
E_AUTOBOT_NOT_REGISTERED = 0x1A03
E_AUTOBOT_EXPIRED = 0x1A04
E_AUTOBOT_FORBIDDEN_TARGET = 0x1A05
E_AUTOBOT_FAILURE_LIMIT = 0x1A06
E_AUTOBOT_TIMELOCK = 0x1A07
E_AUTOBOT_PENDING_EXISTS = 0x1A08
E_AUTOBOT_PENDING_MISMATCH = 0x1A09
E_AUTOBOT_PENDING_REQUIRED = 0x1A0A
E_AUTOBOT_ACTION_HASH_EMPTY = 0x1A0B

SENSITIVE_ACTIONS = frozenset({5, 6, 7})
MIN_SENSITIVE_TIMELOCK_SECS = 900
_EVENT_HEAD = {"event_version": 1, "event_category": 6}


@dataclass
class AutomationCap:
    """The resource moved to the operator's account at registration."""

    operator: str
    cron_spec: bytes


@dataclass
class AutomationState:
    allowed_actions: list[int]
    max_failures: int
    timelock_secs: int
    expires_at: int
    cron_spec: bytes
    failure_count: int = 0
    success_streak: int = 0
    reputation_score: int = 0
    pending_action_hash: bytes = b""
    pending_execute_after: int = 0
    last_action_ts: int = 0
    last_action_hash: bytes = b""


@dataclass
class AutomationRegistry:
    """``bots`` is a vrf_hub iterable table: insertion order, and bots are never removed."""

    bots: dict[str, AutomationState] = field(default_factory=dict)


def _registry(world: World) -> AutomationRegistry | None:
    return world.state(MODULE, AutomationRegistry)


def _registry_or_abort(world: World) -> AutomationRegistry:
    return world.require_state(MODULE, AutomationRegistry, E_AUTOBOT_REGISTRY_MISSING)


def _cap(world: World, operator: str) -> AutomationCap | None:
    cap = world.accounts.get(operator, {}).get(CAP_RESOURCE)
    return cap if isinstance(cap, AutomationCap) else None


def _validate_bot_params(
    call: Call, allowed_actions: list[int], timelock_secs: int, max_failures: int, expires_at: int
) -> None:
    call.require_admin(MODULE, E_AUTOBOT_REGISTRY_MISSING)
    if not allowed_actions:
        raise MoveAbortError(MODULE, E_AUTOBOT_FORBIDDEN_TARGET)
    if max_failures == 0:
        raise MoveAbortError(MODULE, E_AUTOBOT_FAILURE_LIMIT)
    if expires_at == 0:
        raise MoveAbortError(MODULE, E_AUTOBOT_EXPIRED)
    if (
        SENSITIVE_ACTIONS.intersection(allowed_actions)
        and timelock_secs < MIN_SENSITIVE_TIMELOCK_SECS
    ):
        raise MoveAbortError(MODULE, E_AUTOBOT_TIMELOCK)


def _key_rotated(call: Call, operator: str, cron_spec: bytes, expires_at: int) -> None:
    call.emit(
        "history::AutomationKeyRotatedEvent",
        {
            **_EVENT_HEAD,
            "operator": operator,
            "schedule_hash": hexb(sha3(cron_spec)),
            "expires_at": u64(expires_at),
        },
    )


_BOT_PARAMS = ("vector<u8>", "vector<u64>", "u64", "u64", "u64")


@SPECS.entry("init_automation")
def init_automation(world: World, call: Call) -> None:
    world.publish(
        call,
        MODULE,
        AutomationRegistry(),
        not_admin=E_AUTOBOT_REGISTRY_MISSING,
        again=E_ALREADY_INITIALIZED,
    )


@SPECS.entry("register_bot", _BOT_PARAMS, signers=2)
def register_bot(
    world: World,
    call: Call,
    cron_spec: bytes,
    allowed_actions: list[int],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> None:
    """Register the second signer as a bot and move its AutomationCap to its account."""
    _validate_bot_params(call, allowed_actions, timelock_secs, max_failures, expires_at)
    operator = addr(call.signers[1])
    if _cap(world, operator) is not None:
        raise MoveAbortError(MODULE, E_AUTOBOT_ALREADY_REGISTERED)
    registry = _registry_or_abort(world)
    if operator in registry.bots:
        raise MoveAbortError(MODULE, E_AUTOBOT_ALREADY_REGISTERED)
    registry.bots[operator] = AutomationState(
        list(allowed_actions), max_failures, timelock_secs, expires_at, bytes(cron_spec)
    )
    world.accounts.setdefault(operator, {})[CAP_RESOURCE] = AutomationCap(
        operator, bytes(cron_spec)
    )
    _key_rotated(call, operator, cron_spec, expires_at)


@SPECS.entry("rotate_bot", _BOT_PARAMS, signers=2)
def rotate_bot(
    world: World,
    call: Call,
    cron_spec: bytes,
    allowed_actions: list[int],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> None:
    """Replace the bot's policy; pending and last hash are cleared, counters are kept."""
    _validate_bot_params(call, allowed_actions, timelock_secs, max_failures, expires_at)
    operator = addr(call.signers[1])
    registry = _registry_or_abort(world)
    state = registry.bots.get(operator)
    if state is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    state.allowed_actions = list(allowed_actions)
    state.timelock_secs = timelock_secs
    state.max_failures = max_failures
    state.expires_at = expires_at
    state.cron_spec = bytes(cron_spec)
    state.pending_action_hash = b""
    state.pending_execute_after = 0
    state.last_action_hash = b""
    cap = _cap(world, operator)
    if cap is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    cap.cron_spec = bytes(cron_spec)
    _key_rotated(call, operator, cron_spec, expires_at)


def _operator_state(
    world: World, call: Call, action_id: int, action_hash: bytes, now_ts: int
) -> tuple[str, AutomationState]:
    """The shared checks of dry-run, success and failure reports, in the Move order."""
    operator = addr(call.sender)
    if _cap(world, operator) is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    if not action_hash:
        raise MoveAbortError(MODULE, E_AUTOBOT_ACTION_HASH_EMPTY)
    state = _registry_or_abort(world).bots.get(operator)
    if state is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    if now_ts > state.expires_at:
        raise MoveAbortError(MODULE, E_AUTOBOT_EXPIRED)
    if state.failure_count >= state.max_failures:
        raise MoveAbortError(MODULE, E_AUTOBOT_FAILURE_LIMIT)
    if action_id not in state.allowed_actions:
        raise MoveAbortError(MODULE, E_AUTOBOT_FORBIDDEN_TARGET)
    return operator, state


def _ensure_timelock(state: AutomationState, action_hash: bytes, now_ts: int) -> None:
    if state.timelock_secs == 0:
        return
    if not state.pending_action_hash:
        raise MoveAbortError(MODULE, E_AUTOBOT_PENDING_REQUIRED)
    if action_hash != state.pending_action_hash:
        raise MoveAbortError(MODULE, E_AUTOBOT_PENDING_MISMATCH)
    if now_ts < state.pending_execute_after:
        raise MoveAbortError(MODULE, E_AUTOBOT_TIMELOCK)


def _tick(
    call: Call,
    operator: str,
    action_id: int,
    action_hash: bytes,
    now_ts: int,
    success: bool,
    state: AutomationState,
) -> None:
    call.emit(
        "history::AutomationTickEvent",
        {
            **_EVENT_HEAD,
            "operator": operator,
            "action_id": u64(action_id),
            "action_hash": hexb(action_hash),
            "executed_ts": u64(now_ts),
            "success": success,
            "reputation_score": u64(state.reputation_score),
            "success_streak": u64(state.success_streak),
            "failure_count": u64(state.failure_count),
        },
    )


@SPECS.entry("announce_dry_run", ("u64", "vector<u8>", "u64", "u64"))
def announce_dry_run(
    world: World,
    call: Call,
    action_id: int,
    action_hash: bytes,
    now_ts: int,
    executes_after_ts: int,
) -> None:
    """Announce an action hash; a bot without a timelock cannot dry-run (spec §13 #12)."""
    operator, state = _operator_state(world, call, action_id, action_hash, now_ts)
    if state.timelock_secs == 0:
        raise MoveAbortError(MODULE, E_AUTOBOT_TIMELOCK)
    if state.pending_action_hash:
        raise MoveAbortError(MODULE, E_AUTOBOT_PENDING_EXISTS)
    if executes_after_ts < now_ts + state.timelock_secs:
        raise MoveAbortError(MODULE, E_AUTOBOT_TIMELOCK)
    call.emit(
        "history::AutomationDryRunPlannedEvent",
        {
            **_EVENT_HEAD,
            "operator": operator,
            "action_id": u64(action_id),
            "action_hash": hexb(action_hash),
            "executes_after_ts": u64(executes_after_ts),
        },
    )
    state.pending_action_hash = bytes(action_hash)
    state.pending_execute_after = executes_after_ts


@SPECS.entry("record_success", ("u64", "vector<u8>", "u64"))
def record_success(
    world: World, call: Call, action_id: int, action_hash: bytes, now_ts: int
) -> None:
    operator, state = _operator_state(world, call, action_id, action_hash, now_ts)
    _ensure_timelock(state, action_hash, now_ts)
    state.failure_count = 0
    state.success_streak += 1
    state.reputation_score += 1
    state.last_action_ts = now_ts
    state.pending_action_hash = b""
    state.pending_execute_after = 0
    _tick(call, operator, action_id, action_hash, now_ts, True, state)
    state.last_action_hash = bytes(action_hash)


@SPECS.entry("record_failure", ("u64", "vector<u8>", "u64", "u64"))
def record_failure(
    world: World, call: Call, action_id: int, action_hash: bytes, now_ts: int, error_code: int
) -> None:
    """Count a failure; the AutomationErrorEvent carries the code bug of spec §13 #27."""
    operator, state = _operator_state(world, call, action_id, action_hash, now_ts)
    _ensure_timelock(state, action_hash, now_ts)
    state.last_action_ts = now_ts
    state.pending_action_hash = b""
    state.pending_execute_after = 0
    state.success_streak = 0
    state.reputation_score = max(0, state.reputation_score - 1)
    state.failure_count += 1
    if state.failure_count > state.max_failures:
        raise MoveAbortError(MODULE, E_AUTOBOT_FAILURE_LIMIT)
    _tick(call, operator, action_id, action_hash, now_ts, False, state)
    # Reproduces the contract: now_ts lands in error_code and the error code in timestamp.
    call.emit(
        "history::AutomationErrorEvent",
        {
            **_EVENT_HEAD,
            "operator": operator,
            "action_id": u64(action_id),
            "action_hash": hexb(action_hash),
            "error_code": u64(now_ts),
            "timestamp": u64(error_code),
        },
    )
    state.last_action_hash = bytes(action_hash)


@SPECS.entry("report_call_rejected", ("u64", "vector<u8>", "u64"))
def report_call_rejected(
    world: World, call: Call, action_id: int, action_hash: bytes, reason_code: int
) -> None:
    """Log a rejected call: no expiry, failure or hash checks, no state change."""
    operator = addr(call.sender)
    if _cap(world, operator) is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    _registry_or_abort(world)
    call.emit(
        "history::AutomationCallRejectedEvent",
        {
            **_EVENT_HEAD,
            "operator": operator,
            "action_id": u64(action_id),
            "action_hash": hexb(action_hash),
            "reason_code": u64(reason_code),
        },
    )


def _status_json(operator: str, state: AutomationState) -> dict[str, Any]:
    """``AutomationBotStatus`` (no ``has_pending``; pending hash before its deadline)."""
    return {
        "operator": operator,
        "allowed_actions": [u64(a) for a in state.allowed_actions],
        "timelock_secs": u64(state.timelock_secs),
        "max_failures": u64(state.max_failures),
        "failure_count": u64(state.failure_count),
        "success_streak": u64(state.success_streak),
        "reputation_score": u64(state.reputation_score),
        "pending_action_hash": hexb(state.pending_action_hash),
        "pending_execute_after": u64(state.pending_execute_after),
        "expires_at": u64(state.expires_at),
        "cron_spec": hexb(state.cron_spec),
        "last_action_ts": u64(state.last_action_ts),
        "last_action_hash": hexb(state.last_action_hash),
    }


def _view_json(operator: str, state: AutomationState) -> dict[str, Any]:
    """``views::AutomationBotView``: the status plus ``has_pending``, in the view's field order."""
    return {
        "operator": operator,
        "allowed_actions": [u64(a) for a in state.allowed_actions],
        "timelock_secs": u64(state.timelock_secs),
        "max_failures": u64(state.max_failures),
        "failure_count": u64(state.failure_count),
        "success_streak": u64(state.success_streak),
        "reputation_score": u64(state.reputation_score),
        "has_pending": bool(state.pending_action_hash),
        "pending_execute_after": u64(state.pending_execute_after),
        "pending_action_hash": hexb(state.pending_action_hash),
        "expires_at": u64(state.expires_at),
        "cron_spec": hexb(state.cron_spec),
        "last_action_ts": u64(state.last_action_ts),
        "last_action_hash": hexb(state.last_action_hash),
    }


@SPECS.read("automation_status", ("address",), returns=(SPECS.struct("AutomationBotStatus"),))
def automation_status(world: World, operator: str) -> list[Any]:
    operator = addr(operator)
    state = _registry_or_abort(world).bots.get(operator)
    if state is None:
        raise MoveAbortError(MODULE, E_AUTOBOT_NOT_REGISTERED)
    return [_status_json(operator, state)]


@SPECS.read(
    "automation_status_option",
    ("address",),
    returns=(f"0x1::option::Option<{SPECS.struct('AutomationBotStatus')}>",),
)
def automation_status_option(world: World, operator: str) -> list[Any]:
    operator = addr(operator)
    registry = _registry(world)
    state = None if registry is None else registry.bots.get(operator)
    return [opt(None if state is None else _status_json(operator, state))]


@SPECS.read("automation_operators", returns=("vector<address>",))
def automation_operators(world: World) -> list[Any]:
    registry = _registry(world)
    return [[] if registry is None else list(registry.bots)]


def bots_json(world: World) -> list[dict[str, Any]]:
    """``views::list_automation_bots``: AutomationBotView objects in registration order."""
    registry = _registry(world)
    if registry is None:
        return []
    return [_view_json(operator, state) for operator, state in registry.bots.items()]


def bot_json(world: World, operator: str) -> dict[str, Any] | None:
    """``views::get_automation_bot``: one AutomationBotView, or None if unknown."""
    operator = addr(operator)
    registry = _registry(world)
    state = None if registry is None else registry.bots.get(operator)
    return None if state is None else _view_json(operator, state)
