"""Emulates ``lottery_multi::price_feed``: admin-reported prices with fallback and clamp flags.

A clamp is a successful no-op update (fact 17); only ``latest_price`` refuses unusable prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, MissingDataError, MoveAbortError, Specs, World, u64

__all__ = ["SPECS", "PriceFeedArithmeticError", "PriceFeedRecord", "PriceFeedRegistry"]

SPECS = Specs("price_feed")
MODULE = "price_feed"
RESOURCE = SPECS.struct("PriceFeedRegistry")

E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_PRICE_FEED_EXISTS = 0x1901
E_PRICE_FEED_NOT_FOUND = 0x1902
E_PRICE_DECIMALS_INVALID = 0x1903
E_PRICE_STALE = 0x1904
E_PRICE_FALLBACK_ACTIVE = 0x1905
E_PRICE_CLAMP_ACTIVE = 0x1907
E_PRICE_CLAMP_NOT_ACTIVE = 0x1908

DEFAULT_STALENESS_WINDOW = 300
DEFAULT_CLAMP_THRESHOLD_BPS = 2_000
MAX_DECIMALS = 18
_EVENT_HEAD = {"event_version": 1, "event_category": 6}


class PriceFeedArithmeticError(ArithmeticError):
    """The VM's ARITHMETIC_ERROR (u64 underflow), not a Move abort: ``latest_price`` with a past ``now_ts``."""


@dataclass
class PriceFeedRecord:
    asset_id: int
    price: int
    decimals: int
    last_updated_ts: int
    staleness_window: int
    clamp_threshold_bps: int
    fallback_active: bool = False
    fallback_reason: int = 0
    clamp_active: bool = False

    def to_json(self) -> dict[str, Any]:
        """``PriceFeedView`` in chain JSON."""
        return {
            "asset_id": u64(self.asset_id),
            "price": u64(self.price),
            "decimals": self.decimals,
            "last_updated_ts": u64(self.last_updated_ts),
            "staleness_window": u64(self.staleness_window),
            "clamp_threshold_bps": u64(self.clamp_threshold_bps),
            "fallback_active": self.fallback_active,
            "fallback_reason": self.fallback_reason,
            "clamp_active": self.clamp_active,
        }


@dataclass
class PriceFeedRegistry:
    version: int
    feeds: dict[int, PriceFeedRecord] = field(default_factory=dict)


def _registry(world: World) -> PriceFeedRegistry | None:
    return world.state(MODULE, PriceFeedRegistry)


def _admin_registry(world: World, call: Call) -> PriceFeedRegistry:
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    registry = _registry(world)
    if registry is None:
        raise MoveAbortError(MODULE, E_REGISTRY_MISSING)
    return registry


def _feed(registry: PriceFeedRegistry, asset_id: int) -> PriceFeedRecord:
    record = registry.feeds.get(asset_id)
    if record is None:
        raise MoveAbortError(MODULE, E_PRICE_FEED_NOT_FOUND)
    return record


def _updated_event(call: Call, record: PriceFeedRecord, updated_ts: int) -> None:
    call.emit(
        "price_feed::PriceFeedUpdatedEvent",
        {
            **_EVENT_HEAD,
            "asset_id": u64(record.asset_id),
            "price": u64(record.price),
            "decimals": record.decimals,
            "updated_ts": u64(updated_ts),
        },
    )


@SPECS.entry("init_price_feed", ("u16",))
def init_price_feed(world: World, call: Call, version: int) -> None:
    world.publish(
        call,
        MODULE,
        PriceFeedRegistry(version),
        not_admin=E_REGISTRY_MISSING,
        again=E_ALREADY_INITIALIZED,
    )


@SPECS.entry(
    "register_feed",
    (
        "u64",
        "u64",
        "u8",
        "0x1::option::Option<u64>",
        "0x1::option::Option<u64>",
        "u64",
    ),
)
def register_feed(
    world: World,
    call: Call,
    asset_id: int,
    price: int,
    decimals: int,
    staleness_window: int | None,
    clamp_threshold_bps: int | None,
    updated_ts: int,
) -> None:
    registry = _admin_registry(world, call)
    if decimals > MAX_DECIMALS:
        raise MoveAbortError(MODULE, E_PRICE_DECIMALS_INVALID)
    if asset_id in registry.feeds:
        raise MoveAbortError(MODULE, E_PRICE_FEED_EXISTS)
    record = PriceFeedRecord(
        asset_id,
        price,
        decimals,
        updated_ts,
        DEFAULT_STALENESS_WINDOW if staleness_window is None else staleness_window,
        DEFAULT_CLAMP_THRESHOLD_BPS if clamp_threshold_bps is None else clamp_threshold_bps,
    )
    registry.feeds[asset_id] = record
    _updated_event(call, record, updated_ts)


@SPECS.entry("update_price", ("u64", "u64", "u64"))
def update_price(world: World, call: Call, asset_id: int, price: int, updated_ts: int) -> None:
    """Accept a price, or flag a clamp and keep the old one; the transaction succeeds either way."""
    record = _feed(_admin_registry(world, call), asset_id)
    old_price = record.price
    if old_price != 0 and abs(price - old_price) * 10_000 > old_price * record.clamp_threshold_bps:
        record.clamp_active = True
        call.emit(
            "price_feed::PriceFeedClampEvent",
            {
                **_EVENT_HEAD,
                "asset_id": u64(asset_id),
                "old_price": u64(old_price),
                "new_price": u64(price),
                "threshold_bps": u64(record.clamp_threshold_bps),
            },
        )
        return
    record.price = price
    record.last_updated_ts = updated_ts
    record.fallback_active = False
    record.fallback_reason = 0
    _updated_event(call, record, updated_ts)


@SPECS.entry("set_fallback", ("u64", "bool", "u8"))
def set_fallback(world: World, call: Call, asset_id: int, active: bool, reason: int) -> None:
    """Switch the fallback flag; switching it off also clears a clamp."""
    record = _feed(_admin_registry(world, call), asset_id)
    record.fallback_active = active
    record.fallback_reason = reason
    if not active:
        record.clamp_active = False
    call.emit(
        "price_feed::PriceFeedFallbackEvent",
        {**_EVENT_HEAD, "asset_id": u64(asset_id), "fallback_active": active, "reason": reason},
    )


@SPECS.entry("clear_clamp", ("u64", "u64"))
def clear_clamp(world: World, call: Call, asset_id: int, cleared_ts: int) -> None:
    """Clear a clamp; the old price becomes fresh again as of ``cleared_ts``."""
    record = _feed(_admin_registry(world, call), asset_id)
    if not record.clamp_active:
        raise MoveAbortError(MODULE, E_PRICE_CLAMP_NOT_ACTIVE)
    record.clamp_active = False
    record.last_updated_ts = cleared_ts
    call.emit(
        "price_feed::PriceFeedClampClearedEvent",
        {**_EVENT_HEAD, "asset_id": u64(asset_id), "cleared_ts": u64(cleared_ts)},
    )


def _borrow(world: World) -> PriceFeedRegistry:
    registry = _registry(world)
    if registry is None:
        raise MissingDataError(RESOURCE)
    return registry


@SPECS.read("get_price_view", ("u64",), returns=(SPECS.struct("PriceFeedView"),))
def get_price_view(world: World, asset_id: int) -> list[Any]:
    """The raw record: no fallback, clamp or staleness check (spec §13 #18)."""
    return [_feed(_borrow(world), asset_id).to_json()]


@SPECS.read("latest_price", ("u64", "u64"), returns=("u64", "u8"))
def latest_price(world: World, asset_id: int, now_ts: int) -> list[Any]:
    """The only read that refuses unusable prices: fallback, clamp, then staleness.

    Raises:
        PriceFeedArithmeticError: ``now_ts < last_updated_ts`` (u64 underflow in Move).
    """
    record = _feed(_borrow(world), asset_id)
    if record.fallback_active:
        raise MoveAbortError(MODULE, E_PRICE_FALLBACK_ACTIVE)
    if record.clamp_active:
        raise MoveAbortError(MODULE, E_PRICE_CLAMP_ACTIVE)
    if now_ts < record.last_updated_ts:
        raise PriceFeedArithmeticError("ARITHMETIC_ERROR: now_ts is before last_updated_ts")
    if now_ts - record.last_updated_ts > record.staleness_window:
        raise MoveAbortError(MODULE, E_PRICE_STALE)
    return [u64(record.price), record.decimals]


@SPECS.read("is_initialized", returns=("bool",))
def is_initialized(world: World) -> list[Any]:
    return [_registry(world) is not None]
