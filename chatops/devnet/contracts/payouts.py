"""Emulation of ``lottery_multi::payouts``: winner selection, payout/refund bookkeeping, finalize and archive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import draw, history, lottery_registry, roles, sales
from chatops.devnet.framework import Call, MoveAbortError, Specs, World, hexb, sha3, u64

__all__ = ["SPECS", "PayoutLedger", "WinnerRecord", "WinnerState", "winner_state"]

SPECS = Specs("payouts")
MODULE = "payouts"

WINNER_CHUNK_CAPACITY = 64
MAX_REHASH_ATTEMPTS = 16
WINNER_SEED = sha3(b"lottery_multi::winner_seed")
WINNER_BATCH_SEED = sha3(b"lottery_multi::winner_batch_seed")


@dataclass
class WinnerRecord:
    slot_id: int
    ticket_index: int
    winner: str
    winner_hash: bytes


@dataclass
class WinnerState:
    """``payouts::WinnerState``; winner chunks are kept as one flat list (64 per chunk on chain)."""

    initialized: bool = False
    total_required: int = 0
    total_assigned: int = 0
    total_tickets: int = 0
    snapshot_hash: bytes = b""
    payload_hash: bytes = b""
    schema_version: int = 1
    attempt: int = 0
    random_numbers: list[int] = field(default_factory=list)
    winners_batch_hash: bytes = WINNER_BATCH_SEED
    last_processed_index: int = 0
    checksum_after_batch: bytes = WINNER_SEED
    winners: list[WinnerRecord] = field(default_factory=list)
    assigned_indices: set[int] = field(default_factory=set)
    payout_round: int = 0
    last_payout_ts: int = 0
    next_winner_batch_no: int = 0

    @property
    def next_chunk_seq(self) -> int:
        return -(-len(self.winners) // WINNER_CHUNK_CAPACITY)


@dataclass
class PayoutLedger:
    states: dict[int, WinnerState] = field(default_factory=dict)


def _ledger(world: World) -> PayoutLedger:
    return world.require_state(MODULE, PayoutLedger, 0x1202)


def winner_state(world: World, lottery_id: int) -> WinnerState | None:
    ledger = world.state(MODULE, PayoutLedger)
    return ledger.states.get(lottery_id) if ledger is not None else None


def _require_winner_state(world: World, lottery_id: int) -> WinnerState:
    state = _ledger(world).states.get(lottery_id)
    if state is None:
        raise MoveAbortError(MODULE, 0x1805)
    return state


def _require_payout_status(world: World, lottery_id: int) -> lottery_registry.Lottery:
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status != lottery_registry.STATUS_PAYOUT:
        raise MoveAbortError(MODULE, 0x1210)
    return lottery


def _u64s(*values: int) -> bytes:
    ser = Serializer()
    for value in values:
        ser.u64(value)
    return ser.output()


@SPECS.entry("init_payouts")
def init_payouts(world: World, call: Call) -> None:
    world.publish(call, MODULE, PayoutLedger(), not_admin=0x1202, again=0x1201)


@SPECS.entry("compute_winners_admin", ("u64", "u64"))
def compute_winners_admin(world: World, call: Call, lottery_id: int, batch_limit: int) -> None:
    """Assign up to ``batch_limit`` winners with the §12.7 digest; the last one moves Drawn → Payout."""
    call.require_admin(MODULE, 0x1202)
    if batch_limit == 0:
        raise MoveAbortError(MODULE, 0x1501)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status not in (lottery_registry.STATUS_DRAWN, lottery_registry.STATUS_PAYOUT):
        raise MoveAbortError(MODULE, 0x1210)
    ledger = _ledger(world)
    state = ledger.states.get(lottery_id)
    plan = lottery.config.prize_plan
    if state is None:
        drawn = draw.consume_for_winners(world, lottery_id)
        state = WinnerState(
            initialized=True,
            total_required=sum(slot.winners_per_slot for slot in plan),
            total_tickets=drawn.total_tickets,
            snapshot_hash=drawn.snapshot_hash,
            payload_hash=drawn.vrf_state.payload_hash,
            schema_version=drawn.vrf_state.schema_version,
            attempt=drawn.vrf_state.attempt,
            random_numbers=list(drawn.verified_numbers),
        )
        ledger.states[lottery_id] = state
    if state.total_assigned >= state.total_required:
        raise MoveAbortError(MODULE, 0x1802)
    # ordinal -> (slot position, local index)
    positions = [
        (pos, local) for pos, slot in enumerate(plan) for local in range(slot.winners_per_slot)
    ]
    count = min(batch_limit, state.total_required - state.total_assigned)
    for ordinal in range(state.total_assigned, state.total_assigned + count):
        pos, local = positions[ordinal]
        if pos >= len(state.random_numbers) or state.total_tickets == 0:
            raise MoveAbortError(MODULE, 0x1803)
        ser = Serializer()
        ser.u256(state.random_numbers[pos])
        digest = sha3(
            ser.output()
            + state.snapshot_hash
            + state.payload_hash
            + _u64s(lottery_id, ordinal, local, state.schema_version, state.attempt)
        )
        for _ in range(MAX_REHASH_ATTEMPTS):
            candidate = int.from_bytes(digest[:8], "little") % state.total_tickets
            if not (lottery.config.winners_dedup and candidate in state.assigned_indices):
                break
            digest = sha3(digest)
        else:
            raise MoveAbortError(MODULE, 0x1804)
        owner = sales.ticket_owner_addr(world, lottery_id, candidate)
        slot_id = plan[pos].slot_id
        state.assigned_indices.add(candidate)
        state.winners.append(WinnerRecord(slot_id, candidate, owner, digest))
        state.checksum_after_batch = sha3(state.checksum_after_batch + _u64s(candidate) + digest)
        state.winners_batch_hash = sha3(
            state.winners_batch_hash + _u64s(slot_id, candidate) + digest
        )
        state.last_processed_index = candidate
    state.total_assigned += count
    batch_no = state.next_winner_batch_no
    state.next_winner_batch_no += 1
    drawn_state = draw.draw_state(world, lottery_id)
    if drawn_state is not None:
        drawn_state.winners_batch_hash = state.winners_batch_hash
        drawn_state.checksum_after_batch = state.checksum_after_batch
    if (
        state.total_assigned == state.total_required
        and lottery.status == lottery_registry.STATUS_DRAWN
    ):
        lottery.status = lottery_registry.STATUS_PAYOUT
    call.emit(
        "history::WinnersComputedEvent",
        {
            "event_version": 1,
            "event_category": 5,
            "lottery_id": u64(lottery_id),
            "batch_no": u64(batch_no),
            "assigned_in_batch": u64(count),
            "total_assigned": u64(state.total_assigned),
            "winners_batch_hash": hexb(state.winners_batch_hash),
            "checksum_after_batch": hexb(state.checksum_after_batch),
        },
    )


@SPECS.entry("record_payout_batch_admin", ("u64", "u64", "u64", "u64", "u64", "u64"))
def record_payout_batch_admin(
    world: World,
    call: Call,
    lottery_id: int,
    payout_round: int,
    winners_paid: int,
    prize_paid: int,
    operations_paid: int,
    timestamp: int,
) -> None:
    """Book a prize batch against the global PayoutBatchCap and the lottery's Accounting (spec §4.5)."""
    call.require_admin(MODULE, 0x1202)
    _require_payout_status(world, lottery_id)
    roles.consume_payout_batch(world, winners_paid, operations_paid, payout_round, timestamp)
    state = _require_winner_state(world, lottery_id)
    if payout_round != state.payout_round + 1:
        raise MoveAbortError(MODULE, 0x1806)
    if state.last_payout_ts > 0 and timestamp < state.last_payout_ts:
        raise MoveAbortError(MODULE, 0x1807)
    acc = sales.require_state(world, lottery_id).accounting
    if acc.total_prize_paid + prize_paid > acc.total_allocated:
        raise MoveAbortError("economics", 0x1304)
    if acc.total_operations_paid + operations_paid > acc.total_operations_allocated:
        raise MoveAbortError("economics", 0x1305)
    acc.total_prize_paid += prize_paid
    acc.total_operations_paid += operations_paid
    state.payout_round = payout_round
    state.last_payout_ts = timestamp
    call.emit(
        "history::PayoutBatchEvent",
        {
            "event_version": 1,
            "event_category": 5,
            "lottery_id": u64(lottery_id),
            "payout_round": u64(payout_round),
            "winners_paid": u64(winners_paid),
            "prize_paid": u64(prize_paid),
            "operations_paid": u64(operations_paid),
            "timestamp": u64(timestamp),
        },
    )


@SPECS.entry("record_partner_payout_admin", ("u64", "address", "u64", "u64", "u64"))
def record_partner_payout_admin(
    world: World,
    call: Call,
    lottery_id: int,
    partner: str,
    amount: int,
    payout_round: int,
    timestamp: int,
) -> None:
    """Partner money is booked as operations; ``payout_round`` is the partner cap's nonce."""
    call.require_admin(MODULE, 0x1202)
    _require_payout_status(world, lottery_id)
    roles.consume_partner_payout(world, partner, amount, payout_round, timestamp)
    state = _require_winner_state(world, lottery_id)
    if payout_round < state.payout_round:
        raise MoveAbortError(MODULE, 0x1806)
    acc = sales.require_state(world, lottery_id).accounting
    if acc.total_operations_paid + amount > acc.total_operations_allocated:
        raise MoveAbortError("economics", 0x1305)
    acc.total_operations_paid += amount
    call.emit(
        "history::PartnerPayoutEvent",
        {
            "event_version": 1,
            "event_category": 5,
            "lottery_id": u64(lottery_id),
            "partner": partner,
            "amount": u64(amount),
            "payout_round": u64(payout_round),
            "timestamp": u64(timestamp),
        },
    )


@SPECS.entry("force_refund_batch_admin", ("u64", "u64", "u64", "u64", "u64", "u64"))
def force_refund_batch_admin(
    world: World,
    call: Call,
    lottery_id: int,
    refund_round: int,
    tickets_refunded: int,
    prize_refund: int,
    operations_refund: int,
    timestamp: int,
) -> None:
    """Refund bookkeeping for a canceled lottery; consumes the same global PayoutBatchCap nonce."""
    call.require_admin(MODULE, 0x1202)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status != lottery_registry.STATUS_CANCELED:
        raise MoveAbortError(MODULE, 0x1815)
    roles.consume_payout_batch(world, tickets_refunded, operations_refund, refund_round, timestamp)
    state = sales.record_refund_batch(
        world,
        lottery_id,
        refund_round,
        tickets_refunded,
        prize_refund,
        operations_refund,
        timestamp,
    )
    _ledger(world)
    call.emit(
        "history::RefundBatchEvent",
        {
            "event_version": 1,
            "event_category": 8,
            "lottery_id": u64(lottery_id),
            "refund_round": u64(refund_round),
            "tickets_refunded": u64(tickets_refunded),
            "prize_refunded": u64(prize_refund),
            "operations_refunded": u64(operations_refund),
            "total_tickets_refunded": u64(state.refund_tickets_processed),
            "total_amount_refunded": u64(state.refund_prize_total + state.refund_operations_total),
            "timestamp": u64(timestamp),
        },
    )


def _summary(
    lottery: lottery_registry.Lottery,
    status: int,
    sales_state: sales.SalesState | None,
    snapshot_hash: bytes,
    drawn: draw.DrawState | None,
    payout_round: int,
    closed_at: int,
    finalized_at: int,
) -> history.LotterySummary:
    cfg = lottery.config
    acc = sales_state.accounting if sales_state is not None else sales.Accounting()
    return history.LotterySummary(
        id=lottery.id,
        status=status,
        event_slug=cfg.event_slug,
        series_code=cfg.series_code,
        run_id=cfg.run_id,
        tickets_sold=sales_state.tickets_sold if sales_state else 0,
        proceeds_accum=sales_state.proceeds_accum if sales_state else 0,
        total_allocated=acc.total_allocated,
        total_prize_paid=acc.total_prize_paid,
        total_operations_paid=acc.total_operations_paid,
        vrf_status=drawn.vrf_state.status if drawn else 0,
        primary_type=cfg.primary_type,
        tags_mask=cfg.tags_mask,
        snapshot_hash=drawn.snapshot_hash if drawn else snapshot_hash,
        slots_checksum=lottery.slots_checksum,
        winners_batch_hash=drawn.winners_batch_hash if drawn else b"",
        checksum_after_batch=drawn.checksum_after_batch if drawn else b"",
        payout_round=payout_round,
        created_at=cfg.sales_window.sales_start,
        closed_at=closed_at,
        finalized_at=finalized_at,
    )


@SPECS.entry("archive_canceled_lottery_admin", ("u64", "u64"))
def archive_canceled_lottery_admin(
    world: World, call: Call, lottery_id: int, finalized_at: int
) -> None:
    """Archive a canceled lottery once refunds equal proceeds exactly (spec §4.5); status stays 7."""
    call.require_admin(MODULE, 0x1202)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status != lottery_registry.STATUS_CANCELED:
        raise MoveAbortError(MODULE, 0x1210)
    record = lottery_registry.registry_state(world).cancellations.get(lottery_id)
    if record is None:
        raise MoveAbortError(MODULE, 0x1212)
    if finalized_at < record.canceled_ts:
        raise MoveAbortError(MODULE, 0x1817)
    state = sales.sales_state(world, lottery_id)
    if state is not None and state.tickets_sold > 0:
        if (
            state.refund_tickets_processed != state.tickets_sold
            or state.refund_round == 0
            or state.last_refund_ts == 0
        ):
            raise MoveAbortError(MODULE, 0x1818)
        if state.refund_prize_total + state.refund_operations_total < state.proceeds_accum:
            raise MoveAbortError(MODULE, 0x1819)
    snapshot_hash, _, _ = sales.snapshot(world, lottery_id)
    closed_at = state.last_purchase_ts if state and state.last_purchase_ts else record.canceled_ts
    summary = _summary(
        lottery,
        lottery_registry.STATUS_CANCELED,
        state,
        snapshot_hash,
        draw.draw_state(world, lottery_id),
        state.refund_round if state else 0,
        closed_at,
        finalized_at,
    )
    history.record_summary(world, call, lottery_id, summary)


@SPECS.entry("finalize_lottery_admin", ("u64", "u64"))
def finalize_lottery_admin(world: World, call: Call, lottery_id: int, finalized_at: int) -> None:
    """Archive and finalize once every winner is assigned; payouts themselves are not checked."""
    call.require_admin(MODULE, 0x1202)
    lottery = _require_payout_status(world, lottery_id)
    state = _require_winner_state(world, lottery_id)
    if state.total_required == 0 or state.total_assigned != state.total_required:
        raise MoveAbortError(MODULE, 0x1B03)
    sales_state = sales.require_state(world, lottery_id)
    drawn = draw.draw_state(world, lottery_id)
    if drawn is None:
        raise MoveAbortError("table", 0x6507, address="0x1")
    closed_at = sales_state.last_purchase_ts or drawn.last_request_ts
    summary = _summary(
        lottery,
        lottery_registry.STATUS_FINALIZED,
        sales_state,
        drawn.snapshot_hash,
        drawn,
        state.payout_round,
        closed_at,
        finalized_at,
    )
    history.record_summary(world, call, lottery_id, summary)
    lottery.status = lottery_registry.STATUS_FINALIZED


@SPECS.read("winner_progress", ("u64",), returns=("payouts::WinnerProgressView",))
def winner_progress(world: World, lottery_id: int) -> list[Any]:
    state = winner_state(world, lottery_id)
    if state is None:
        state = WinnerState()
    return [
        {
            "initialized": state.initialized,
            "total_required": u64(state.total_required),
            "total_assigned": u64(state.total_assigned),
            "payout_round": u64(state.payout_round),
            "next_winner_batch_no": u64(state.next_winner_batch_no),
            "last_payout_ts": u64(state.last_payout_ts),
        }
    ]
