"""Emulates ``lottery_multi::roles``: the payout-batch, partner-payout and premium-access capabilities.

Only the package account may change them (spec §4.6); payouts consume them through the internal API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.devnet.framework import Call, MoveAbortError, Specs, World, addr, opt, u64

__all__ = [
    "SPECS",
    "PartnerPayoutCap",
    "PayoutBatchCap",
    "PremiumAccessCap",
    "RoleStore",
    "consume_partner_payout",
    "consume_payout_batch",
    "premium_status",
]

SPECS = Specs("roles")
MODULE = "roles"

E_ROLES_NOT_INITIALIZED = 0x1103
E_PAYOUT_BATCH_CAP_MISSING = 0x1104
E_PARTNER_PAYOUT_CAP_MISSING = 0x1105
E_PREMIUM_CAP_MISSING = 0x1106
E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_PAYOUT_BATCH_TOO_LARGE = 0x1808
E_PAYOUT_BATCH_COOLDOWN = 0x1809
E_PAYOUT_BATCH_NONCE = 0x180A
E_PAYOUT_OPERATIONS_BUDGET = 0x180B
E_PARTNER_PAYOUT_BUDGET_EXCEEDED = 0x180C
E_PARTNER_PAYOUT_COOLDOWN = 0x180D
E_PARTNER_PAYOUT_NONCE = 0x180E
E_PARTNER_PAYOUT_EXPIRED = 0x1810


@dataclass
class PayoutBatchCap:
    """The single global capability that every payout and refund batch consumes (fact 12)."""

    holder: str
    max_batch_size: int
    operations_budget_total: int
    operations_budget_used: int
    cooldown_secs: int
    last_batch_at: int
    last_nonce: int
    nonce_stride: int

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "max_batch_size": u64(self.max_batch_size),
            "operations_budget_total": u64(self.operations_budget_total),
            "operations_budget_used": u64(self.operations_budget_used),
            "cooldown_secs": u64(self.cooldown_secs),
            "last_batch_at": u64(self.last_batch_at),
            "last_nonce": u64(self.last_nonce),
            "nonce_stride": u64(self.nonce_stride),
        }


@dataclass
class PartnerPayoutCap:
    """A partner's payout budget; also the JSON shape of ``PartnerCapInfo`` (same 8 fields)."""

    partner: str
    max_total_payout: int
    remaining_payout: int
    payout_cooldown_secs: int
    last_payout_at: int
    next_nonce: int
    nonce_stride: int
    expires_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "max_total_payout": u64(self.max_total_payout),
            "remaining_payout": u64(self.remaining_payout),
            "payout_cooldown_secs": u64(self.payout_cooldown_secs),
            "last_payout_at": u64(self.last_payout_at),
            "next_nonce": u64(self.next_nonce),
            "nonce_stride": u64(self.nonce_stride),
            "expires_at": u64(self.expires_at),
        }


@dataclass
class PremiumAccessCap:
    """Premium access of one holder; also the JSON shape of ``PremiumCapInfo``."""

    holder: str
    expires_at: int
    auto_renew: bool
    referrer: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "expires_at": u64(self.expires_at),
            "auto_renew": self.auto_renew,
            "referrer": opt(self.referrer),
        }


@dataclass
class RoleStore:
    """``roles::RoleStore``: the tables keep insertion order; the indexes are swap-removed."""

    payout_batch: PayoutBatchCap | None = None
    partner_caps: dict[str, PartnerPayoutCap] = field(default_factory=dict)
    partner_index: list[str] = field(default_factory=list)
    premium_caps: dict[str, PremiumAccessCap] = field(default_factory=dict)
    premium_index: list[str] = field(default_factory=list)


def _store(world: World) -> RoleStore:
    return world.require_state(MODULE, RoleStore, E_ROLES_NOT_INITIALIZED)


def _admin_store(world: World, call: Call) -> RoleStore:
    call.require_admin(MODULE, E_REGISTRY_MISSING)
    return _store(world)


def _swap_remove(index: list[str], position: int) -> None:
    """Move's ``vector::swap_remove``: the last item fills the gap, so the order changes."""
    index[position] = index[-1]
    index.pop()


def _remove_from_index(index: list[str], target: str) -> None:
    for position, item in enumerate(index):
        if item == target:
            _swap_remove(index, position)
            return


@SPECS.entry("init_roles")
def init_roles(world: World, call: Call) -> None:
    world.publish(
        call, MODULE, RoleStore(), not_admin=E_REGISTRY_MISSING, again=E_ALREADY_INITIALIZED
    )


@SPECS.entry("set_payout_batch_cap_admin", ("address", "u64", "u64", "u64", "u64"))
def set_payout_batch_cap_admin(
    world: World,
    call: Call,
    holder: str,
    max_batch_size: int,
    operations_budget_total: int,
    cooldown_secs: int,
    nonce_stride: int,
) -> None:
    """Replace the global cap; re-issuing it is how the nonce is reset to 0 (fact 12)."""
    store = _admin_store(world, call)
    holder = addr(holder)
    if store.payout_batch is not None:
        call.emit("roles::PayoutBatchCapRevokedEvent", {"holder": store.payout_batch.holder})
    store.payout_batch = PayoutBatchCap(
        holder, max_batch_size, operations_budget_total, 0, cooldown_secs, 0, 0, nonce_stride
    )
    call.emit(
        "roles::PayoutBatchCapGrantedEvent",
        {
            "holder": holder,
            "max_batch_size": u64(max_batch_size),
            "operations_budget_total": u64(operations_budget_total),
            "cooldown_secs": u64(cooldown_secs),
            "nonce_stride": u64(nonce_stride),
        },
    )


@SPECS.entry("revoke_payout_batch_cap_admin")
def revoke_payout_batch_cap_admin(world: World, call: Call) -> None:
    store = _admin_store(world, call)
    if store.payout_batch is None:
        raise MoveAbortError(MODULE, E_PAYOUT_BATCH_CAP_MISSING)
    holder = store.payout_batch.holder
    store.payout_batch = None
    call.emit("roles::PayoutBatchCapRevokedEvent", {"holder": holder})


@SPECS.entry("upsert_partner_payout_cap_admin", ("address", "u64", "u64", "u64", "u64"))
def upsert_partner_payout_cap_admin(
    world: World,
    call: Call,
    partner: str,
    max_total_payout: int,
    payout_cooldown_secs: int,
    nonce_stride: int,
    expires_at: int,
) -> None:
    store = _admin_store(world, call)
    partner = addr(partner)
    if partner in store.partner_caps:
        del store.partner_caps[partner]
        call.emit("roles::PartnerPayoutCapRevokedEvent", {"partner": partner})
    else:
        store.partner_index.append(partner)
    store.partner_caps[partner] = PartnerPayoutCap(
        partner,
        max_total_payout,
        max_total_payout,
        payout_cooldown_secs,
        0,
        nonce_stride,
        nonce_stride,
        expires_at,
    )
    call.emit(
        "roles::PartnerPayoutCapGrantedEvent",
        {
            "partner": partner,
            "max_total_payout": u64(max_total_payout),
            "payout_cooldown_secs": u64(payout_cooldown_secs),
            "nonce_stride": u64(nonce_stride),
            "expires_at": u64(expires_at),
        },
    )


@SPECS.entry("revoke_partner_payout_cap_admin", ("address",))
def revoke_partner_payout_cap_admin(world: World, call: Call, partner: str) -> None:
    store = _admin_store(world, call)
    partner = addr(partner)
    if partner not in store.partner_caps:
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_CAP_MISSING)
    del store.partner_caps[partner]
    _remove_from_index(store.partner_index, partner)
    call.emit("roles::PartnerPayoutCapRevokedEvent", {"partner": partner})


@SPECS.entry(
    "grant_premium_access_admin",
    ("address", "u64", "bool", "0x1::option::Option<address>"),
)
def grant_premium_access_admin(
    world: World,
    call: Call,
    holder: str,
    expires_at: int,
    auto_renew: bool,
    referrer: str | None,
) -> None:
    store = _admin_store(world, call)
    holder = addr(holder)
    if holder in store.premium_caps:
        del store.premium_caps[holder]
        call.emit("roles::PremiumAccessRevokedEvent", {"holder": holder})
    else:
        store.premium_index.append(holder)
    store.premium_caps[holder] = PremiumAccessCap(
        holder, expires_at, auto_renew, None if referrer is None else addr(referrer)
    )
    call.emit(
        "roles::PremiumAccessGrantedEvent",
        {"holder": holder, "expires_at": u64(expires_at), "auto_renew": auto_renew},
    )


@SPECS.entry("revoke_premium_access_admin", ("address",))
def revoke_premium_access_admin(world: World, call: Call, holder: str) -> None:
    store = _admin_store(world, call)
    holder = addr(holder)
    if holder not in store.premium_caps:
        raise MoveAbortError(MODULE, E_PREMIUM_CAP_MISSING)
    del store.premium_caps[holder]
    _remove_from_index(store.premium_index, holder)
    call.emit("roles::PremiumAccessRevokedEvent", {"holder": holder})


@SPECS.entry("cleanup_expired_admin", ("u64",))
def cleanup_expired_admin(world: World, call: Call, now_sec: int) -> None:
    """Drop expired (or spent partner) caps, walking the index exactly as the Move loop does."""
    store = _admin_store(world, call)
    i = 0
    while i < len(store.partner_index):
        partner = store.partner_index[i]
        cap = store.partner_caps.get(partner)
        if cap is None:
            _swap_remove(store.partner_index, i)
            continue
        if (cap.expires_at > 0 and now_sec > cap.expires_at) or cap.remaining_payout == 0:
            del store.partner_caps[partner]
            _swap_remove(store.partner_index, i)
            call.emit("roles::PartnerPayoutCapRevokedEvent", {"partner": partner})
        else:
            i += 1
    i = 0
    while i < len(store.premium_index):
        holder = store.premium_index[i]
        premium = store.premium_caps.get(holder)
        if premium is None:
            _swap_remove(store.premium_index, i)
            continue
        if premium.expires_at > 0 and now_sec > premium.expires_at:
            del store.premium_caps[holder]
            _swap_remove(store.premium_index, i)
            call.emit("roles::PremiumAccessRevokedEvent", {"holder": holder})
        else:
            i += 1


@SPECS.read("has_payout_batch_cap", returns=("bool",))
def has_payout_batch_cap(world: World) -> list[Any]:
    return [_store(world).payout_batch is not None]


@SPECS.read(
    "payout_batch_cap_view", returns=(f"0x1::option::Option<{SPECS.struct('PayoutBatchCap')}>",)
)
def payout_batch_cap_view(world: World) -> list[Any]:
    cap = _store(world).payout_batch
    return [opt(None if cap is None else cap.to_json())]


@SPECS.read("has_partner_payout_cap", ("address",), returns=("bool",))
def has_partner_payout_cap(world: World, partner: str) -> list[Any]:
    return [addr(partner) in _store(world).partner_caps]


@SPECS.read(
    "partner_payout_cap_view",
    ("address",),
    returns=(f"0x1::option::Option<{SPECS.struct('PartnerPayoutCap')}>",),
)
def partner_payout_cap_view(world: World, partner: str) -> list[Any]:
    cap = _store(world).partner_caps.get(addr(partner))
    return [opt(None if cap is None else cap.to_json())]


@SPECS.read("list_partner_caps", returns=(f"vector<{SPECS.struct('PartnerCapInfo')}>",))
def list_partner_caps(world: World) -> list[Any]:
    """Caps in ``partner_index`` order (which swap-removes reshuffle)."""
    store = _store(world)
    return [
        [store.partner_caps[p].to_json() for p in store.partner_index if p in store.partner_caps]
    ]


@SPECS.read("has_premium_cap", ("address",), returns=("bool",))
def has_premium_cap(world: World, holder: str) -> list[Any]:
    return [addr(holder) in _store(world).premium_caps]


@SPECS.read(
    "premium_cap_view",
    ("address",),
    returns=(f"0x1::option::Option<{SPECS.struct('PremiumAccessCap')}>",),
)
def premium_cap_view(world: World, holder: str) -> list[Any]:
    cap = _store(world).premium_caps.get(addr(holder))
    return [opt(None if cap is None else cap.to_json())]


@SPECS.read("list_premium_caps", returns=(f"vector<{SPECS.struct('PremiumCapInfo')}>",))
def list_premium_caps(world: World) -> list[Any]:
    store = _store(world)
    return [
        [store.premium_caps[h].to_json() for h in store.premium_index if h in store.premium_caps]
    ]


def consume_payout_batch(
    world: World, winners_paid: int, operations_paid: int, nonce: int, timestamp: int
) -> None:
    """``roles::consume_payout_batch_from_store``, run by payout and refund batches.

    Raises:
        MoveAbortError: from ``roles``: 0x1103, 0x1104, 0x1808, 0x1809, 0x180A, 0x180B.
    """
    store = _store(world)
    cap = store.payout_batch
    if cap is None:
        raise MoveAbortError(MODULE, E_PAYOUT_BATCH_CAP_MISSING)
    if cap.max_batch_size != 0 and winners_paid > cap.max_batch_size:
        raise MoveAbortError(MODULE, E_PAYOUT_BATCH_TOO_LARGE)
    if (
        cap.cooldown_secs > 0
        and cap.last_batch_at > 0
        and timestamp < cap.last_batch_at + cap.cooldown_secs
    ):
        raise MoveAbortError(MODULE, E_PAYOUT_BATCH_COOLDOWN)
    if cap.nonce_stride > 0 and nonce != cap.last_nonce + cap.nonce_stride:
        raise MoveAbortError(MODULE, E_PAYOUT_BATCH_NONCE)
    cap.last_nonce = nonce
    used = cap.operations_budget_used + operations_paid
    if used > cap.operations_budget_total:
        raise MoveAbortError(MODULE, E_PAYOUT_OPERATIONS_BUDGET)
    cap.operations_budget_used = used
    cap.last_batch_at = timestamp


def consume_partner_payout(
    world: World, partner: str, amount: int, payout_round: int, timestamp: int
) -> None:
    """``roles::consume_partner_payout_from_store``; ``payout_round`` is the cap nonce.

    Raises:
        MoveAbortError: from ``roles``: 0x1103, 0x1105, 0x180C, 0x1810, 0x180D, 0x180E.
    """
    store = _store(world)
    cap = store.partner_caps.get(addr(partner))
    if cap is None:
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_CAP_MISSING)
    if amount > cap.remaining_payout:
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_BUDGET_EXCEEDED)
    if cap.expires_at > 0 and timestamp > cap.expires_at:
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_EXPIRED)
    if (
        cap.payout_cooldown_secs > 0
        and cap.last_payout_at > 0
        and timestamp < cap.last_payout_at + cap.payout_cooldown_secs
    ):
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_COOLDOWN)
    if payout_round != cap.next_nonce:
        raise MoveAbortError(MODULE, E_PARTNER_PAYOUT_NONCE)
    cap.remaining_payout -= amount
    cap.last_payout_at = timestamp
    cap.next_nonce += cap.nonce_stride


def premium_status(world: World, holder: str) -> tuple[bool, int] | None:
    """``(has_cap, expires_at)`` for sales' premium checks; ``None`` when RoleStore is missing."""
    store = world.state(MODULE, RoleStore)
    if store is None:
        return None
    cap = store.premium_caps.get(addr(holder))
    if cap is None:
        return (False, 0)
    return (True, cap.expires_at)
