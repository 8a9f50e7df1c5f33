"""Emulation of ``lottery_multi::draw``: VRF requests, the dVRF callback, and a stand-in for Supra
dVRF (``fulfill``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import (
    cancellation,
    feature_switch,
    lottery_registry,
    sales,
    vrf_deposit,
)
from chatops.devnet.framework import Call, MoveAbortError, Specs, World, hexb, sha3, u64

__all__ = [
    "SPECS",
    "DrawLedger",
    "DrawState",
    "VrfState",
    "consume_for_winners",
    "draw_state",
    "fulfill",
    "pending_requests",
]

SPECS = Specs("draw")
MODULE = "draw"

VRF_IDLE, VRF_REQUESTED, VRF_FULFILLED, VRF_FAILED = 0, 1, 2, 3
RETRY_FIXED, RETRY_EXPONENTIAL, RETRY_MANUAL = 0, 1, 2
MAX_VRF_ATTEMPTS = 5
MAX_RNG_COUNT = 255
SCHEMA_VERSION = 1
FEATURE_DRAW = 3
U64_MAX = (1 << 64) - 1
# spec §1.1: the Supra dVRF account that calls back.
SUPRA_VRF_ADDRESS = "0x186ba2ba88f4a14ca51f6ce42702c7ebdf6bfcf738d897cc98b986ded6f1219e"


@dataclass
class VrfState:
    status: int = VRF_IDLE
    attempt: int = 0
    consumed: bool = False
    retry_after_ts: int = 0
    retry_strategy: int = RETRY_FIXED
    request_id: int = 0
    payload_hash: bytes = b""
    schema_version: int = SCHEMA_VERSION
    closing_block_height: int = 0
    chain_id: int = 0


@dataclass
class DrawState:
    vrf_state: VrfState = field(default_factory=VrfState)
    rng_count: int = 0
    client_seed: int = 0
    last_request_ts: int = 0
    snapshot_hash: bytes = b""
    total_tickets: int = 0
    winners_batch_hash: bytes = b""
    checksum_after_batch: bytes = b""
    verified_numbers: list[int] = field(default_factory=list)
    payload: bytes = b""
    next_client_seed: int = 0


@dataclass
class DrawLedger:
    states: dict[int, DrawState] = field(default_factory=dict)
    nonce_to_lottery: dict[int, int] = field(default_factory=dict)
    # Stand-in for the dVRF module's own request counter (rng_request returns it as the nonce).
    next_nonce: int = 1


def _ledger(world: World) -> DrawLedger | None:
    return world.state(MODULE, DrawLedger)


def _require_ledger(world: World) -> DrawLedger:
    return world.require_state(MODULE, DrawLedger, 0x1202)


def draw_state(world: World, lottery_id: int) -> DrawState | None:
    ledger = _ledger(world)
    return None if ledger is None else ledger.states.get(lottery_id)


def consume_for_winners(world: World, lottery_id: int) -> DrawState:
    """First ``compute_winners_admin`` call: the result must be FULFILLED (0x1801) and unconsumed (0x1708)."""
    state = draw_state(world, lottery_id)
    if state is None or state.vrf_state.status != VRF_FULFILLED:
        raise MoveAbortError(MODULE, 0x1801)
    if state.vrf_state.consumed:
        raise MoveAbortError(MODULE, 0x1708)
    state.vrf_state.consumed = True
    return state


def _payload(
    lottery_id: int,
    config_version: int,
    snapshot_hash: bytes,
    slots_checksum: bytes,
    rng_count: int,
    client_seed: int,
    attempt: int,
    closing_block_height: int,
    chain_id: int,
) -> bytes:
    """BCS of ``PayloadV1`` (spec §12.5)."""
    ser = Serializer()
    ser.u64(lottery_id)
    ser.u64(config_version)
    ser.to_bytes(snapshot_hash)
    ser.to_bytes(slots_checksum)
    ser.u8(rng_count)
    ser.u64(client_seed)
    ser.u8(attempt)
    ser.u64(closing_block_height)
    ser.u8(chain_id)
    return ser.output()


def _retry_after(policy: lottery_registry.RetryPolicy, attempt: int, now_ts: int) -> int:
    """spec §12.6: fixed base delay, exponential doubling capped at max, manual 0."""
    if policy.strategy == RETRY_MANUAL:
        return 0
    if policy.strategy == RETRY_EXPONENTIAL:
        delay = policy.base_delay_secs
        for _ in range(attempt - 1):
            delay = min(delay * 2, policy.max_delay_secs)
            if delay == policy.max_delay_secs:
                break
        return now_ts + delay
    return now_ts + policy.base_delay_secs


@SPECS.entry("init_draw")
def init_draw(world: World, call: Call) -> None:
    world.publish(call, MODULE, DrawLedger(), not_admin=0x1202, again=0x1201)


@SPECS.entry("request_draw_admin", ("u64", "u64", "u64", "u8", "u64"))
def request_draw_admin(
    world: World,
    call: Call,
    lottery_id: int,
    now_ts: int,
    closing_block_height: int,
    chain_id: int,
    num_confirmations: int,
) -> None:
    """No explicit caller check (dVRF whitelisting is off-chain here); checks in spec §4.4 order."""
    del num_confirmations  # only forwarded to supra_vrf::rng_request
    feature_switch.ensure_enabled(world, FEATURE_DRAW, False, MODULE)
    if vrf_deposit.requests_paused(world):
        raise MoveAbortError("vrf_deposit", 0x170D)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status not in (
        lottery_registry.STATUS_CLOSING,
        lottery_registry.STATUS_DRAW_REQUESTED,
    ):
        raise MoveAbortError(MODULE, 0x1210)
    rng_count = len(lottery.config.prize_plan)
    if not 1 <= rng_count <= MAX_RNG_COUNT:
        raise MoveAbortError(MODULE, 0x1706)
    snapshot_hash, tickets_sold, _ = sales.snapshot(world, lottery_id)
    if tickets_sold == 0:
        raise MoveAbortError(MODULE, 0x1707)
    ledger = _require_ledger(world)
    state = ledger.states.setdefault(lottery_id, DrawState())
    vrf = state.vrf_state
    if vrf.attempt >= MAX_VRF_ATTEMPTS:
        # Auto-cancel (unreachable in production, spec fact 15).
        vrf.status = VRF_FAILED
        vrf.consumed = True
        vrf.retry_after_ts = 0
        vrf.request_id = 0
        state.payload = b""
        cancellation.cancel_lottery_admin(world, call, lottery_id, 1, now_ts)
        return
    if vrf.status == VRF_REQUESTED:
        raise MoveAbortError(MODULE, 0x1701)
    if vrf.attempt > 0 and vrf.retry_strategy == RETRY_MANUAL and vrf.retry_after_ts == 0:
        raise MoveAbortError(MODULE, 0x170F)
    if vrf.status == VRF_FULFILLED and not vrf.consumed:
        raise MoveAbortError(MODULE, 0x1701)
    if vrf.retry_after_ts > 0 and now_ts < vrf.retry_after_ts:
        raise MoveAbortError(MODULE, 0x1709)
    if vrf.attempt >= 255:
        raise MoveAbortError(MODULE, 0x1705)
    if state.next_client_seed >= U64_MAX:
        raise MoveAbortError(MODULE, 0x170A)

    attempt = vrf.attempt + 1
    client_seed = state.next_client_seed
    payload = _payload(
        lottery_id,
        lottery.config.config_version,
        snapshot_hash,
        lottery.slots_checksum,
        rng_count,
        client_seed,
        attempt,
        closing_block_height,
        chain_id,
    )
    payload_hash = sha3(payload)
    nonce = ledger.next_nonce
    if nonce in ledger.nonce_to_lottery:
        raise MoveAbortError(MODULE, 0x1703)
    ledger.next_nonce += 1
    policy = lottery.config.vrf_retry_policy
    state.vrf_state = VrfState(
        status=VRF_REQUESTED,
        attempt=attempt,
        consumed=False,
        retry_after_ts=_retry_after(policy, attempt, now_ts),
        retry_strategy=policy.strategy,
        request_id=nonce,
        payload_hash=payload_hash,
        schema_version=SCHEMA_VERSION,
        closing_block_height=closing_block_height,
        chain_id=chain_id,
    )
    state.rng_count = rng_count
    state.client_seed = client_seed
    state.next_client_seed = client_seed + 1
    state.payload = payload
    state.last_request_ts = now_ts
    state.snapshot_hash = snapshot_hash
    state.total_tickets = tickets_sold
    ledger.nonce_to_lottery[nonce] = lottery_id
    lottery.status = lottery_registry.STATUS_DRAW_REQUESTED
    call.emit(
        "history::VrfRequestedEvent",
        {
            "event_version": 1,
            "event_category": 4,
            "lottery_id": u64(lottery_id),
            "request_id": u64(nonce),
            "attempt": attempt,
            "rng_count": rng_count,
            "client_seed": u64(client_seed),
            "payload_hash": hexb(payload_hash),
            "snapshot_hash": hexb(snapshot_hash),
            "tickets_sold": u64(tickets_sold),
            "closing_block_height": u64(closing_block_height),
            "chain_id": chain_id,
            "request_ts": u64(now_ts),
        },
    )


@SPECS.entry("schedule_manual_retry_admin", ("u64", "u64", "u64"))
def schedule_manual_retry_admin(
    world: World, call: Call, lottery_id: int, now_ts: int, retry_after_ts: int
) -> None:
    call.require_admin(MODULE, 0x1202)
    feature_switch.ensure_enabled(world, FEATURE_DRAW, False, MODULE)
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status not in (
        lottery_registry.STATUS_CLOSING,
        lottery_registry.STATUS_DRAW_REQUESTED,
    ):
        raise MoveAbortError(MODULE, 0x1210)
    state = draw_state(world, lottery_id)
    if state is None:
        raise MoveAbortError(MODULE, 0x1702)
    if state.vrf_state.retry_strategy != RETRY_MANUAL:
        raise MoveAbortError(MODULE, 0x170E)
    if retry_after_ts == 0 or retry_after_ts < now_ts:
        raise MoveAbortError(MODULE, 0x1710)
    state.vrf_state.retry_after_ts = retry_after_ts


def _verified_numbers(signature: bytes, rng_count: int) -> list[int]:
    """Stand-in for ``supra_vrf::verify_callback``: u256 values derived from the signature."""
    numbers = []
    for i in range(rng_count):
        ser = Serializer()
        ser.u64(i)
        numbers.append(int.from_bytes(sha3(signature + ser.output()), "little"))
    return numbers


def _u256_vector_bcs(values: list[int]) -> bytes:
    ser = Serializer()
    ser.uleb128(len(values))
    for value in values:
        ser.u256(value)
    return ser.output()


@SPECS.entry("vrf_callback", ("u64", "vector<u8>", "vector<u8>", "address", "u8", "u64"), signers=0)
def vrf_callback(
    world: World,
    call: Call,
    nonce: int,
    message: bytes,
    signature: bytes,
    caller_address: str,
    rng_count: int,
    client_seed: int,
) -> None:
    """Called by Supra dVRF; stores the random numbers and moves the lottery to Drawn."""
    del caller_address  # checked by the native verify_callback only
    ledger = _require_ledger(world)
    lottery_id = ledger.nonce_to_lottery.get(nonce)
    if lottery_id is None:
        raise MoveAbortError(MODULE, 0x1703)
    state = ledger.states.get(lottery_id)
    if state is None:
        raise MoveAbortError("table", 0x6507, address="0x1")
    vrf = state.vrf_state
    if vrf.request_id != nonce:
        raise MoveAbortError(MODULE, 0x1703)
    if vrf.status != VRF_REQUESTED:
        raise MoveAbortError(MODULE, 0x1702)
    if vrf.consumed:
        raise MoveAbortError(MODULE, 0x1708)
    if rng_count != state.rng_count:
        raise MoveAbortError(MODULE, 0x1706)
    if client_seed != state.client_seed:
        raise MoveAbortError(MODULE, 0x1704)
    message_hash = sha3(message)
    if message_hash != vrf.payload_hash:
        raise MoveAbortError(MODULE, 0x1704)
    numbers = _verified_numbers(signature, rng_count)
    del ledger.nonce_to_lottery[nonce]
    state.verified_numbers = numbers
    vrf.status = VRF_FULFILLED
    vrf.consumed = False
    vrf.retry_after_ts = 0
    lottery = lottery_registry.get_lottery(world, lottery_id)
    if lottery.status != lottery_registry.STATUS_DRAW_REQUESTED:
        raise MoveAbortError(MODULE, 0x1210)
    lottery.status = lottery_registry.STATUS_DRAWN
    call.emit(
        "history::VrfFulfilledEvent",
        {
            "event_version": 1,
            "event_category": 4,
            "lottery_id": u64(lottery_id),
            "request_id": u64(nonce),
            "attempt": vrf.attempt,
            "payload_hash": hexb(vrf.payload_hash),
            "message_hash": hexb(message_hash),
            "rng_count": rng_count,
            "client_seed": u64(client_seed),
            "verified_seed_hash": hexb(sha3(_u256_vector_bcs(numbers))),
            "closing_block_height": u64(vrf.closing_block_height),
            "chain_id": vrf.chain_id,
            "fulfilled_ts": u64(state.last_request_ts),
        },
    )


def fulfill(world: World, call: Call, lottery_id: int) -> None:
    """Play Supra dVRF: answer the lottery's pending request with its stored payload (deterministic).

    ``fulfill`` plays the Supra dVRF node: it answers a pending request by running the callback with
    the stored payload, so the devnet can reach Drawn without a real oracle.
    """
    state = draw_state(world, lottery_id)
    if state is None or state.vrf_state.status != VRF_REQUESTED:
        raise MoveAbortError(MODULE, 0x1702)
    ser = Serializer()
    ser.u64(state.vrf_state.request_id)
    signature = sha3(state.payload + ser.output())
    vrf_callback(
        world,
        call,
        state.vrf_state.request_id,
        state.payload,
        signature,
        SUPRA_VRF_ADDRESS,
        state.rng_count,
        state.client_seed,
    )


def pending_requests(world: World) -> list[tuple[int, int]]:
    """(lottery_id, request_ts) of every request still awaiting its callback."""
    ledger = _ledger(world)
    if ledger is None:
        return []
    return [
        (lottery_id, state.last_request_ts)
        for lottery_id, state in ledger.states.items()
        if state.vrf_state.status == VRF_REQUESTED
    ]


# --- read functions ---


@SPECS.read("vrf_state_view", ("u64",), returns=("draw::VrfStateView",))
def vrf_state_view(world: World, lottery_id: int) -> list[Any]:
    state = draw_state(world, lottery_id)
    if state is None:
        return [
            {
                "status": 0,
                "attempt": 0,
                "consumed": True,
                "retry_after_ts": "0",
                "retry_strategy": 0,
                "last_request_ts": "0",
                "request_id": "0",
            }
        ]
    vrf = state.vrf_state
    return [
        {
            "status": vrf.status,
            "attempt": vrf.attempt,
            "consumed": vrf.consumed,
            "retry_after_ts": u64(vrf.retry_after_ts),
            "retry_strategy": vrf.retry_strategy,
            "last_request_ts": u64(state.last_request_ts),
            "request_id": u64(vrf.request_id),
        }
    ]


@SPECS.read("finalization_snapshot", ("u64",), returns=("draw::FinalizationSnapshot",))
def finalization_snapshot(world: World, lottery_id: int) -> list[Any]:
    state = _require_ledger(world).states.get(lottery_id)
    if state is None:
        raise MoveAbortError("table", 0x6507, address="0x1")
    vrf = state.vrf_state
    return [
        {
            "snapshot_hash": hexb(state.snapshot_hash),
            "payload_hash": hexb(vrf.payload_hash),
            "winners_batch_hash": hexb(state.winners_batch_hash),
            "checksum_after_batch": hexb(state.checksum_after_batch),
            "schema_version": vrf.schema_version,
            "attempt": vrf.attempt,
            "closing_block_height": u64(vrf.closing_block_height),
            "chain_id": vrf.chain_id,
            "request_ts": u64(state.last_request_ts),
            "vrf_status": vrf.status,
        }
    ]


@SPECS.read("has_state", ("u64",), returns=("bool",))
def has_state(world: World, lottery_id: int) -> list[Any]:
    return [draw_state(world, lottery_id) is not None]


@SPECS.read("max_vrf_attempts", returns=("u8",))
def max_vrf_attempts(world: World) -> list[Any]:
    return [MAX_VRF_ATTEMPTS]
