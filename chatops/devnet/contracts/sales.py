"""Emulation of ``lottery_multi::sales``: ticket purchases, anti-DoS limits, accounting and refund progress."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import feature_switch, lottery_registry, roles
from chatops.devnet.contracts.lottery_registry import SalesDistribution
from chatops.devnet.framework import (
    Call,
    MoveAbortError,
    Specs,
    World,
    addr,
    hexb,
    sha3,
    u64,
)

__all__ = [
    "SPECS",
    "Accounting",
    "SalesLedger",
    "SalesState",
    "begin_refund",
    "record_refund_batch",
    "sales_state",
    "snapshot",
    "ticket_owner_addr",
]

SPECS = Specs("sales")
MODULE = "sales"

CHUNK_CAPACITY = 256
MAX_TICKETS_PER_TX = 128
MAX_PURCHASES_PER_BLOCK = 64
RATE_LIMIT_WINDOW_SECS = 60
MAX_PURCHASES_PER_WINDOW = 10
GRACE_WINDOW_SECS = 15
U64_MAX = (1 << 64) - 1
FEATURE_PURCHASE = 1
EMPTY_SNAPSHOT = sha3(b"lottery_multi::snapshot_empty")


@dataclass
class Accounting:
    """``economics::Accounting`` (spec §6.4); ``jackpot_allowance_token`` is never set by the code."""

    total_sales: int = 0
    total_allocated: int = 0
    total_prize_paid: int = 0
    total_operations_paid: int = 0
    total_operations_allocated: int = 0
    jackpot_allowance_token: int = 0

    def _values(self) -> tuple[int, ...]:
        return (
            self.total_sales,
            self.total_allocated,
            self.total_prize_paid,
            self.total_operations_paid,
            self.total_operations_allocated,
            self.jackpot_allowance_token,
        )

    def bcs(self) -> bytes:
        ser = Serializer()
        for value in self._values():
            ser.u64(value)
        return ser.output()

    def to_json(self) -> dict[str, Any]:
        names = (
            "total_sales",
            "total_allocated",
            "total_prize_paid",
            "total_operations_paid",
            "total_operations_allocated",
            "jackpot_allowance_token",
        )
        return {name: u64(value) for name, value in zip(names, self._values(), strict=True)}


@dataclass
class TicketChunk:
    chunk_seq: int
    start_index: int
    buyers: list[str] = field(default_factory=list)


@dataclass
class RateTrack:
    window_start: int
    purchase_count: int


@dataclass
class SalesState:
    """Per-lottery sales state; created by the first successful purchase."""

    ticket_price: int
    distribution: SalesDistribution
    tickets_sold: int = 0
    proceeds_accum: int = 0
    last_purchase_ts: int = 0
    last_purchase_block: int = 0
    block_purchase_count: int = 0
    next_chunk_seq: int = 0
    tickets_per_address: dict[str, int] = field(default_factory=dict)
    ticket_chunks: dict[int, TicketChunk] = field(default_factory=dict)
    rate_track: dict[str, RateTrack] = field(default_factory=dict)
    accounting: Accounting = field(default_factory=Accounting)
    refund_active: bool = False
    refund_round: int = 0
    refund_tickets_processed: int = 0
    refund_prize_total: int = 0
    refund_operations_total: int = 0
    last_refund_ts: int = 0


@dataclass
class SalesLedger:
    states: dict[int, SalesState] = field(default_factory=dict)


def _ledger(world: World) -> SalesLedger | None:
    return world.state(MODULE, SalesLedger)


def _require_ledger(world: World) -> SalesLedger:
    return world.require_state(MODULE, SalesLedger, 0x1202)


def sales_state(world: World, lottery_id: int) -> SalesState | None:
    """The lottery's sales state, or None (no ledger or no ticket ever sold)."""
    ledger = _ledger(world)
    return None if ledger is None else ledger.states.get(lottery_id)


def require_state(world: World, lottery_id: int) -> SalesState:
    """Sales state or 0x1202 (module not initialised or no sale yet), as the accounting readers abort."""
    state = _require_ledger(world).states.get(lottery_id)
    if state is None:
        raise MoveAbortError(MODULE, 0x1202)
    return state


def snapshot(world: World, lottery_id: int) -> tuple[bytes, int, int]:
    """``snapshot_for_draw``: (hash over the full ticket chunks and totals, tickets_sold, proceeds)."""
    state = sales_state(world, lottery_id)
    if state is None:
        return EMPTY_SNAPSHOT, 0, 0
    digest = sha3(b"lottery_multi::snapshot_seed")
    for seq in range(state.next_chunk_seq):
        chunk = state.ticket_chunks.get(seq)
        if chunk is None:
            continue
        ser = Serializer()
        ser.u64(chunk.chunk_seq)
        ser.u64(chunk.start_index)
        ser.uleb128(len(chunk.buyers))
        for buyer in chunk.buyers:
            ser.fixed_bytes(bytes.fromhex(buyer[2:]))
        digest = sha3(digest + ser.output())
    totals = Serializer()
    totals.u64(state.tickets_sold)
    totals.u64(state.proceeds_accum)
    tail = totals.output() + state.distribution.bcs() + state.accounting.bcs()
    return sha3(digest + tail), state.tickets_sold, state.proceeds_accum


def ticket_owner_addr(world: World, lottery_id: int, index: int) -> str:
    """Owner of ticket ``index`` (purchase order); 0x1803 when out of range."""
    state = _require_ledger(world).states.get(lottery_id)
    if state is None or index >= state.tickets_sold:
        raise MoveAbortError(MODULE, 0x1803)
    chunk = state.ticket_chunks.get(index // CHUNK_CAPACITY)
    offset = index % CHUNK_CAPACITY
    if chunk is None or offset >= len(chunk.buyers):
        raise MoveAbortError(MODULE, 0x1803)
    return chunk.buyers[offset]


def begin_refund(world: World, lottery_id: int) -> tuple[int, int]:
    """Called by cancellation: start refund tracking once; returns (tickets_sold, proceeds_accum)."""
    state = sales_state(world, lottery_id)
    if state is None:
        return 0, 0
    if not state.refund_active:
        state.refund_active = True
        state.refund_round = 0
        state.refund_tickets_processed = 0
        state.refund_prize_total = 0
        state.refund_operations_total = 0
        state.last_refund_ts = 0
    return state.tickets_sold, state.proceeds_accum


def record_refund_batch(
    world: World,
    lottery_id: int,
    refund_round: int,
    tickets_refunded: int,
    prize_refund: int,
    operations_refund: int,
    timestamp: int,
) -> SalesState:
    """``sales::record_refund_batch`` (spec §4.5 order); accounting is not touched."""
    if tickets_refunded == 0 and prize_refund == 0 and operations_refund == 0:
        raise MoveAbortError(MODULE, 0x1816)
    state = _require_ledger(world).states.get(lottery_id)
    if state is None:
        raise MoveAbortError(MODULE, 0x1815)
    if not state.refund_active:
        raise MoveAbortError(MODULE, 0x1811)
    if refund_round != state.refund_round + 1:
        raise MoveAbortError(MODULE, 0x1812)
    if state.last_refund_ts > 0 and timestamp < state.last_refund_ts:
        raise MoveAbortError(MODULE, 0x1817)
    tickets_total = state.refund_tickets_processed + tickets_refunded
    if tickets_total > state.tickets_sold:
        raise MoveAbortError(MODULE, 0x1813)
    prize_total = state.refund_prize_total + prize_refund
    ops_total = state.refund_operations_total + operations_refund
    if prize_total + ops_total > state.proceeds_accum:
        raise MoveAbortError(MODULE, 0x1814)
    state.refund_round = refund_round
    state.refund_tickets_processed = tickets_total
    state.refund_prize_total = prize_total
    state.refund_operations_total = ops_total
    state.last_refund_ts = timestamp
    return state


# --- entry functions ---


@SPECS.entry("init_sales")
def init_sales(world: World, call: Call) -> None:
    world.publish(call, MODULE, SalesLedger(), not_admin=0x1202, again=0x1201)


def _rate_limit_hit(call: Call, lottery_id: int, buyer: str, now_ts: int, block: int, reason: int, code: int) -> None:  # fmt: skip
    # Emitted and then aborted: the executor discards it, exactly like the chain (spec fact 14).
    call.emit(
        "history::PurchaseRateLimitHitEvent",
        {
            "event_version": 1,
            "event_category": 3,
            "lottery_id": u64(lottery_id),
            "buyer": buyer,
            "timestamp": u64(now_ts),
            "current_block": u64(block),
            "reason_code": reason,
        },
    )
    raise MoveAbortError(MODULE, code)


def _purchase(
    world: World,
    call: Call,
    lottery_id: int,
    quantity: int,
    now_ts: int,
    current_block: int,
    premium: bool,
) -> None:
    buyer = addr(call.sender)
    if quantity == 0:
        raise MoveAbortError(MODULE, 0x1601)
    if quantity > MAX_TICKETS_PER_TX:
        raise MoveAbortError(MODULE, 0x1602)
    feature_switch.ensure_enabled(world, FEATURE_PURCHASE, premium, MODULE)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status != lottery_registry.STATUS_ACTIVE:
        raise MoveAbortError(MODULE, 0x120F)
    config = lottery.config
    window = config.sales_window
    if not window.sales_start <= now_ts <= window.sales_end:
        raise MoveAbortError(MODULE, 0x120E)
    ledger = _require_ledger(world)
    state = ledger.states.get(lottery_id)
    if state is None:
        state = SalesState(
            ticket_price=config.ticket_price, distribution=replace(config.sales_distribution)
        )
    owned = state.tickets_per_address.get(buyer, 0)
    if (
        not premium
        and owned == 0
        and window.sales_end > GRACE_WINDOW_SECS
        and now_ts + GRACE_WINDOW_SECS >= window.sales_end
    ):
        _rate_limit_hit(call, lottery_id, buyer, now_ts, current_block, 3, 0x160A)
    same_block = state.block_purchase_count > 0 and state.last_purchase_block == current_block
    if same_block and state.block_purchase_count >= MAX_PURCHASES_PER_BLOCK:
        _rate_limit_hit(call, lottery_id, buyer, now_ts, current_block, 1, 0x1608)
    track = state.rate_track.get(buyer)
    if track is None or now_ts >= track.window_start + RATE_LIMIT_WINDOW_SECS:
        track = RateTrack(now_ts, 0)
    if track.purchase_count >= MAX_PURCHASES_PER_WINDOW:
        _rate_limit_hit(call, lottery_id, buyer, now_ts, current_block, 2, 0x1609)
    limits = config.ticket_limits
    if state.tickets_sold + quantity > limits.max_tickets_total:
        raise MoveAbortError(MODULE, 0x1603)
    if limits.max_tickets_per_address > 0 and owned + quantity > limits.max_tickets_per_address:
        raise MoveAbortError(MODULE, 0x1604)
    amount = quantity * config.ticket_price
    if amount > U64_MAX:
        raise MoveAbortError(MODULE, 0x1605)

    ledger.states[lottery_id] = state
    track.purchase_count += 1
    state.rate_track[buyer] = track
    if same_block:
        state.block_purchase_count += 1
    else:
        state.last_purchase_block = current_block
        state.block_purchase_count = 1
    state.tickets_per_address[buyer] = owned + quantity
    remaining = quantity
    while remaining > 0:
        chunk = state.ticket_chunks.get(state.next_chunk_seq)
        if chunk is None:
            chunk = TicketChunk(state.next_chunk_seq, state.tickets_sold + quantity - remaining)
            state.ticket_chunks[state.next_chunk_seq] = chunk
        take = min(remaining, CHUNK_CAPACITY - len(chunk.buyers))
        chunk.buyers.extend([buyer] * take)
        remaining -= take
        if len(chunk.buyers) == CHUNK_CAPACITY:
            state.next_chunk_seq += 1
    state.tickets_sold += quantity
    state.proceeds_accum += amount
    state.last_purchase_ts = now_ts

    # spec §12.3: floor each share; the rounding remainder goes to the prize share.
    dist = state.distribution
    prize = amount * dist.prize_bps // 10_000
    jackpot = amount * dist.jackpot_bps // 10_000
    operations = amount * dist.operations_bps // 10_000
    reserve = amount * dist.reserve_bps // 10_000
    prize += amount - (prize + jackpot + operations + reserve)
    acc = state.accounting
    acc.total_sales += amount
    acc.total_allocated += prize + reserve
    acc.total_operations_allocated += operations

    call.emit(
        "sales::TicketPurchaseEvent",
        {
            "event_version": 1,
            "event_category": 3,
            "lottery_id": u64(lottery_id),
            "buyer": buyer,
            "quantity": u64(quantity),
            "sale_amount": u64(amount),
            "prize_allocation": u64(prize),
            "jackpot_allocation": u64(jackpot),
            "operations_allocation": u64(operations),
            "reserve_allocation": u64(reserve),
            "tickets_sold": u64(state.tickets_sold),
            "proceeds_accum": u64(state.proceeds_accum),
        },
    )


@SPECS.entry("purchase_tickets_public", ("u64", "u64", "u64", "u64"))
def purchase_tickets_public(
    world: World, call: Call, lottery_id: int, quantity: int, now_ts: int, current_block: int
) -> None:
    _purchase(world, call, lottery_id, quantity, now_ts, current_block, premium=False)


@SPECS.entry("purchase_tickets_premium", ("u64", "u64", "u64", "u64"))
def purchase_tickets_premium(
    world: World, call: Call, lottery_id: int, quantity: int, now_ts: int, current_block: int
) -> None:
    """Premium buyers skip the grace rule; the cap is checked first (spec §4.3)."""
    found = roles.premium_status(world, addr(call.sender))
    if found is None:
        raise MoveAbortError(MODULE, 0x1103)
    has_cap, expires_at = found
    if not has_cap:
        raise MoveAbortError(MODULE, 0x1106)
    if expires_at != 0 and expires_at < now_ts:
        raise MoveAbortError("roles", 0x1107)
    _purchase(world, call, lottery_id, quantity, now_ts, current_block, premium=True)


# --- read functions ---


@SPECS.read("sales_totals", ("u64",), returns=("u64", "u64", "u64"))
def sales_totals(world: World, lottery_id: int) -> list[Any]:
    state = require_state(world, lottery_id)
    return [u64(state.tickets_sold), u64(state.proceeds_accum), u64(state.last_purchase_ts)]


@SPECS.read("snapshot_for_draw", ("u64",), returns=("vector<u8>", "u64", "u64"))
def snapshot_for_draw(world: World, lottery_id: int) -> list[Any]:
    digest, tickets, proceeds = snapshot(world, lottery_id)
    return [hexb(digest), u64(tickets), u64(proceeds)]


def refund_progress_json(world: World, lottery_id: int) -> dict[str, Any]:
    """``RefundProgressView``; all zero/false without sales state."""
    state = sales_state(world, lottery_id)
    if state is None:
        state = SalesState(0, SalesDistribution(0, 0, 0, 0))
    return {
        "active": state.refund_active,
        "refund_round": u64(state.refund_round),
        "tickets_refunded": u64(state.refund_tickets_processed),
        "prize_refunded": u64(state.refund_prize_total),
        "operations_refunded": u64(state.refund_operations_total),
        "last_refund_ts": u64(state.last_refund_ts),
        "tickets_sold": u64(state.tickets_sold),
        "proceeds_accum": u64(state.proceeds_accum),
    }


@SPECS.read("refund_progress", ("u64",), returns=("sales::RefundProgressView",))
def refund_progress(world: World, lottery_id: int) -> list[Any]:
    return [refund_progress_json(world, lottery_id)]


@SPECS.read("has_state", ("u64",), returns=("bool",))
def has_state(world: World, lottery_id: int) -> list[Any]:
    return [sales_state(world, lottery_id) is not None]


@SPECS.read("ticket_owner", ("u64", "u64"), returns=("address",))
def ticket_owner(world: World, lottery_id: int, index: int) -> list[Any]:
    return [ticket_owner_addr(world, lottery_id, index)]


@SPECS.read("accounting_snapshot", ("u64",), returns=("economics::Accounting",))
def accounting_snapshot(world: World, lottery_id: int) -> list[Any]:
    return [require_state(world, lottery_id).accounting.to_json()]
