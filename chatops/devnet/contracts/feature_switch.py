"""Emulates ``lottery_multi::feature_switch``: per-feature modes consulted by purchases and draws.

Only consulted once initialised; ``set_mode`` emits no event (spec §4.12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, MoveAbortError, Specs, World

__all__ = ["SPECS", "FeatureSwitchRegistry", "ensure_enabled"]

SPECS = Specs("feature_switch")
MODULE = "feature_switch"

E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_FEATURE_UNKNOWN = 0x1401
E_FEATURE_MODE_INVALID = 0x1402
E_FEATURE_DISABLED = 0x1403

MODE_DISABLED = 0
MODE_ENABLED_ALL = 1
MODE_PREMIUM_ONLY = 2


@dataclass
class FeatureSwitchRegistry:
    force_enable_devnet: bool
    entries: dict[int, int] = field(default_factory=dict)


def _registry(world: World) -> FeatureSwitchRegistry | None:
    return world.state(MODULE, FeatureSwitchRegistry)


def _is_enabled(registry: FeatureSwitchRegistry, feature_id: int, has_premium: bool) -> bool:
    if registry.force_enable_devnet:
        return True
    mode = registry.entries.get(feature_id)
    if mode is None:
        raise MoveAbortError(MODULE, E_FEATURE_UNKNOWN)
    if mode == MODE_DISABLED:
        return False
    if mode == MODE_ENABLED_ALL:
        return True
    if mode == MODE_PREMIUM_ONLY:
        return has_premium
    raise MoveAbortError(MODULE, E_FEATURE_MODE_INVALID)


@SPECS.entry("init_feature_switch", ("bool",))
def init_feature_switch(world: World, call: Call, force_enable_devnet: bool) -> None:
    world.publish(
        call,
        MODULE,
        FeatureSwitchRegistry(force_enable_devnet),
        not_admin=E_REGISTRY_MISSING,
        again=E_ALREADY_INITIALIZED,
    )


@SPECS.entry("set_mode", ("u64", "u8"))
def set_mode(world: World, call: Call, feature_id: int, mode: int) -> None:
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    if mode not in (MODE_DISABLED, MODE_ENABLED_ALL, MODE_PREMIUM_ONLY):
        raise MoveAbortError(MODULE, E_FEATURE_MODE_INVALID)
    registry = _registry(world)
    if registry is None:
        raise MoveAbortError(MODULE, E_REGISTRY_MISSING)
    registry.entries[feature_id] = mode


@SPECS.read("is_enabled", ("u64", "bool"), returns=("bool",))
def is_enabled(world: World, feature_id: int, has_premium: bool) -> list[Any]:
    """Unlike the internal check, the read aborts 0x1202 when the switch is not initialised."""
    registry = _registry(world)
    if registry is None:
        raise MoveAbortError(MODULE, E_REGISTRY_MISSING)
    return [_is_enabled(registry, feature_id, has_premium)]


@SPECS.read("is_initialized", returns=("bool",))
def is_initialized(world: World) -> list[Any]:
    return [_registry(world) is not None]


def ensure_enabled(world: World, feature_id: int, has_premium: bool, module: str) -> None:
    """The purchase/draw gate: no-op before ``init_feature_switch``.

    Raises:
        MoveAbortError: 0x1401 from ``feature_switch`` (the abort runs inside ``is_enabled``),
            0x1403 from ``module`` (the caller asserts the result).
    """
    registry = _registry(world)
    if registry is None:
        return
    if not _is_enabled(registry, feature_id, has_premium):
        raise MoveAbortError(module, E_FEATURE_DISABLED)
