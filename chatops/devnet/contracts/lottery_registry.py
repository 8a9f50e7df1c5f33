"""Emulation of ``lottery_multi::lottery_registry``: lottery configs, statuses and cancellation
records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aptos_sdk.bcs import Deserializer, Serializer

from chatops.devnet.framework import (
    Call,
    MoveAbortError,
    Specs,
    World,
    addr,
    hexb,
    opt,
    sha3,
    u64,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "SPECS",
    "AutoClosePolicy",
    "CancellationRecord",
    "Config",
    "Lottery",
    "PrizeSlot",
    "Registry",
    "RetryPolicy",
    "RewardBackend",
    "SalesDistribution",
    "SalesWindow",
    "TicketLimits",
    "get_lottery",
    "registry_state",
    "status",
    "validate_config_rules",
]

SPECS = Specs("lottery_registry")
MODULE = "lottery_registry"

STATUS_DRAFT, STATUS_ACTIVE, STATUS_CLOSING, STATUS_DRAW_REQUESTED = 0, 1, 2, 3
STATUS_DRAWN, STATUS_PAYOUT, STATUS_FINALIZED, STATUS_CANCELED = 4, 5, 6, 7

# spec §3: the only transitions advance_status accepts.
ALLOWED_TRANSITIONS: dict[int, frozenset[int]] = {
    0: frozenset({1, 7}),
    1: frozenset({2, 7}),
    2: frozenset({3, 6, 7}),
    3: frozenset({4, 7}),
    4: frozenset({5, 7}),
    5: frozenset({6, 7}),
    6: frozenset(),
    7: frozenset(),
}

TAG_EXPERIMENTAL = 1 << 63
KNOWN_TAGS_MASK = 0x800000000000001F
MAX_ACTIVE_TAGS = 16
BASIS_POINTS_MAX = 10_000
U64_MAX = (1 << 64) - 1


@dataclass
class SalesWindow:
    sales_start: int
    sales_end: int


@dataclass
class TicketLimits:
    max_tickets_total: int
    max_tickets_per_address: int


@dataclass
class SalesDistribution:
    prize_bps: int
    jackpot_bps: int
    operations_bps: int
    reserve_bps: int

    def bcs(self) -> bytes:
        ser = Serializer()
        for value in (self.prize_bps, self.jackpot_bps, self.operations_bps, self.reserve_bps):
            ser.u16(value)
        return ser.output()

    def to_json(self) -> dict[str, Any]:
        return {
            "prize_bps": self.prize_bps,
            "jackpot_bps": self.jackpot_bps,
            "operations_bps": self.operations_bps,
            "reserve_bps": self.reserve_bps,
        }


@dataclass
class PrizeSlot:
    slot_id: int
    winners_per_slot: int
    reward_type: int
    reward_payload: bytes = b""


@dataclass
class AutoClosePolicy:
    enabled: bool
    grace_period_secs: int


@dataclass
class RewardBackend:
    backend_type: int
    config_blob: bytes = b""


@dataclass
class RetryPolicy:
    strategy: int
    base_delay_secs: int
    max_delay_secs: int


def _decode_error() -> MoveAbortError:
    return MoveAbortError(MODULE, 0x1A01)


@dataclass
class Config:
    """``lottery_registry::Config`` in BCS field order (spec §6.4).

    Also holds the ``Config`` value (strict BCS decode, spec §12.2) and the config rules of
    ``types``, ``tags`` and ``economics`` (spec §4.1), which the real package spreads over those
    helper modules.
    """

    event_slug: bytes
    series_code: bytes
    run_id: int
    config_version: int
    primary_type: int
    tags_mask: int
    sales_window: SalesWindow
    ticket_price: int
    ticket_limits: TicketLimits
    sales_distribution: SalesDistribution
    prize_plan: list[PrizeSlot]
    winners_dedup: bool
    draw_algo: int
    auto_close_policy: AutoClosePolicy
    reward_backend: RewardBackend
    vrf_retry_policy: RetryPolicy

    def bcs(self) -> bytes:
        ser = Serializer()
        ser.to_bytes(self.event_slug)
        ser.to_bytes(self.series_code)
        ser.u64(self.run_id)
        ser.u64(self.config_version)
        ser.u8(self.primary_type)
        ser.u64(self.tags_mask)
        ser.u64(self.sales_window.sales_start)
        ser.u64(self.sales_window.sales_end)
        ser.u64(self.ticket_price)
        ser.u64(self.ticket_limits.max_tickets_total)
        ser.u64(self.ticket_limits.max_tickets_per_address)
        ser.fixed_bytes(self.sales_distribution.bcs())
        ser.fixed_bytes(prize_plan_bcs(self.prize_plan))
        ser.bool(self.winners_dedup)
        ser.u8(self.draw_algo)
        ser.bool(self.auto_close_policy.enabled)
        ser.u64(self.auto_close_policy.grace_period_secs)
        ser.u8(self.reward_backend.backend_type)
        ser.to_bytes(self.reward_backend.config_blob)
        ser.u8(self.vrf_retry_policy.strategy)
        ser.u64(self.vrf_retry_policy.base_delay_secs)
        ser.u64(self.vrf_retry_policy.max_delay_secs)
        return ser.output()

    @classmethod
    def from_bcs(cls, data: bytes) -> Config:
        """Strict decode: truncation, trailing bytes or a bad bool abort 0x1A01; bps checked in-line (0x1301)."""
        des = Deserializer(data)
        try:
            slug = des.to_bytes()
            series = des.to_bytes()
            run_id, version = des.u64(), des.u64()
            primary, tags = des.u8(), des.u64()
            window = SalesWindow(des.u64(), des.u64())
            price = des.u64()
            limits = TicketLimits(des.u64(), des.u64())
            dist = SalesDistribution(des.u16(), des.u16(), des.u16(), des.u16())
        except Exception as exc:
            raise _decode_error() from exc
        # economics::new_distribution validates while the value is being built.
        assert_distribution(dist)
        try:
            slots = [
                PrizeSlot(des.u64(), des.u16(), des.u8(), des.to_bytes())
                for _ in range(des.uleb128())
            ]
            dedup = des.bool()
            algo = des.u8()
            auto_close = AutoClosePolicy(des.bool(), des.u64())
            backend = RewardBackend(des.u8(), des.to_bytes())
            retry = RetryPolicy(des.u8(), des.u64(), des.u64())
        except Exception as exc:
            raise _decode_error() from exc
        if des.remaining():
            raise _decode_error()
        return cls(
            slug, series, run_id, version, primary, tags, window, price, limits, dist, slots,
            dedup, algo, auto_close, backend, retry,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """Chain JSON of the struct (u64 as strings)."""
        return {
            "event_slug": hexb(self.event_slug),
            "series_code": hexb(self.series_code),
            "run_id": u64(self.run_id),
            "config_version": u64(self.config_version),
            "primary_type": self.primary_type,
            "tags_mask": u64(self.tags_mask),
            "sales_window": {
                "sales_start": u64(self.sales_window.sales_start),
                "sales_end": u64(self.sales_window.sales_end),
            },
            "ticket_price": u64(self.ticket_price),
            "ticket_limits": {
                "max_tickets_total": u64(self.ticket_limits.max_tickets_total),
                "max_tickets_per_address": u64(self.ticket_limits.max_tickets_per_address),
            },
            "sales_distribution": self.sales_distribution.to_json(),
            "prize_plan": [
                {
                    "slot_id": u64(s.slot_id),
                    "winners_per_slot": s.winners_per_slot,
                    "reward_type": s.reward_type,
                    "reward_payload": hexb(s.reward_payload),
                }
                for s in self.prize_plan
            ],
            "winners_dedup": self.winners_dedup,
            "draw_algo": self.draw_algo,
            "auto_close_policy": {
                "enabled": self.auto_close_policy.enabled,
                "grace_period_secs": u64(self.auto_close_policy.grace_period_secs),
            },
            "reward_backend": {
                "backend_type": self.reward_backend.backend_type,
                "config_blob": hexb(self.reward_backend.config_blob),
            },
            "vrf_retry_policy": {
                "strategy": self.vrf_retry_policy.strategy,
                "base_delay_secs": u64(self.vrf_retry_policy.base_delay_secs),
                "max_delay_secs": u64(self.vrf_retry_policy.max_delay_secs),
            },
        }


def prize_plan_bcs(plan: list[PrizeSlot]) -> bytes:
    """BCS of ``vector<PrizeSlot>``; its sha3 is the lottery's ``slots_checksum``."""
    ser = Serializer()
    ser.uleb128(len(plan))
    for slot in plan:
        ser.u64(slot.slot_id)
        ser.u16(slot.winners_per_slot)
        ser.u8(slot.reward_type)
        ser.to_bytes(slot.reward_payload)
    return ser.output()


@dataclass
class CancellationRecord:
    reason_code: int
    canceled_ts: int
    previous_status: int
    tickets_sold: int
    proceeds_accum: int

    def to_json(self) -> dict[str, Any]:
        return {
            "reason_code": self.reason_code,
            "canceled_ts": u64(self.canceled_ts),
            "previous_status": self.previous_status,
            "tickets_sold": u64(self.tickets_sold),
            "proceeds_accum": u64(self.proceeds_accum),
        }


@dataclass
class Lottery:
    id: int
    config: Config
    status: int
    snapshot_frozen: bool
    slots_checksum: bytes


@dataclass
class Registry:
    """The ``Registry`` resource: lotteries by id, creation order and cancellation records."""

    lotteries: dict[int, Lottery] = field(default_factory=dict)
    ordered_ids: list[int] = field(default_factory=list)
    cancellations: dict[int, CancellationRecord] = field(default_factory=dict)


# --- tags / economics / types rules (raised from those modules, spec §8.1) ---


def validate_tags(primary_type: int, tags_mask: int) -> None:
    """``tags::validate``: known primary type (0x1001), known bits only (0x1002)."""
    if primary_type > 3:
        raise MoveAbortError("tags", 0x1001)
    if tags_mask & ~KNOWN_TAGS_MASK:
        raise MoveAbortError("tags", 0x1002)


def assert_tag_budget(tags_mask: int) -> None:
    """``tags::assert_tag_budget``: at most 16 tags (0x1003; unreachable with 6 known bits)."""
    if bin(tags_mask).count("1") > MAX_ACTIVE_TAGS:
        raise MoveAbortError("tags", 0x1003)


def assert_distribution(dist: SalesDistribution) -> None:
    """``economics::assert_distribution``: the four shares sum to exactly 10 000 bps (0x1301)."""
    total = dist.prize_bps + dist.jackpot_bps + dist.operations_bps + dist.reserve_bps
    if total != BASIS_POINTS_MAX:
        raise MoveAbortError("economics", 0x1301)


def validate_config_rules(config: Config, *, check_retry: bool = True) -> None:
    """The config checks of spec §4.1 in order; ``views::validate_config`` skips the retry policy."""
    validate_tags(config.primary_type, config.tags_mask)
    assert_tag_budget(config.tags_mask)
    if config.sales_window.sales_start >= config.sales_window.sales_end:
        raise MoveAbortError("types", 0x1208)
    if config.ticket_price == 0:
        raise MoveAbortError("types", 0x1209)
    limits = config.ticket_limits
    if limits.max_tickets_total == 0 or (
        limits.max_tickets_per_address != 0
        and limits.max_tickets_per_address > limits.max_tickets_total
    ):
        raise MoveAbortError("types", 0x120A)
    assert_distribution(config.sales_distribution)
    if not config.prize_plan:
        raise MoveAbortError("types", 0x120B)
    for slot in config.prize_plan:
        if slot.winners_per_slot == 0 or slot.reward_type > 3:
            raise MoveAbortError("types", 0x120C)
    if config.draw_algo > 2:
        raise MoveAbortError("types", 0x120D)
    if check_retry:
        retry = config.vrf_retry_policy
        if retry.strategy > 2 or (
            retry.strategy in (0, 1)
            and (retry.base_delay_secs == 0 or retry.max_delay_secs < retry.base_delay_secs)
        ):
            raise MoveAbortError("types", 0x170E)


# --- state access used by the other modules ---


def registry_state(world: World) -> Registry:
    """The Registry, or abort 0x1202 as the module does when it was never published."""
    return world.require_state(MODULE, Registry, 0x1202)


def get_lottery(world: World, lottery_id: int) -> Lottery:
    """A lottery by id: 0x1202 without a Registry, the table's 0x6507 for an unknown id."""
    reg = registry_state(world)
    lottery = reg.lotteries.get(lottery_id)
    if lottery is None:
        raise MoveAbortError("table", 0x6507, address="0x1")
    return lottery


def status(world: World, lottery_id: int) -> int:
    return get_lottery(world, lottery_id).status


def set_status(world: World, lottery_id: int, next_status: int) -> None:
    """Internal status change used by draw/payouts (they have already checked the source status)."""
    get_lottery(world, lottery_id).status = next_status


def apply_cancellation(
    world: World,
    call: Call,
    lottery_id: int,
    reason_code: int,
    now_ts: int,
    tickets_sold: int,
    proceeds_accum: int,
) -> None:
    """``lottery_registry::apply_cancellation``: the checks and effects of a cancel (spec §4.2)."""
    call.require_admin(MODULE, 0x1202)
    if reason_code == 0:
        raise MoveAbortError(MODULE, 0x1211)
    reg = registry_state(world)
    lottery = get_lottery(world, lottery_id)
    if 7 not in ALLOWED_TRANSITIONS[lottery.status]:
        raise MoveAbortError(MODULE, 0x1204)
    previous = lottery.status
    lottery.status = STATUS_CANCELED
    lottery.snapshot_frozen = True
    reg.cancellations[lottery_id] = CancellationRecord(
        reason_code, now_ts, previous, tickets_sold, proceeds_accum
    )
    call.emit(
        "history::LotteryCanceledEvent",
        {
            "event_version": 1,
            "event_category": 1,
            "lottery_id": u64(lottery_id),
            "previous_status": previous,
            "reason_code": reason_code,
            "tickets_sold": u64(tickets_sold),
            "proceeds_accum": u64(proceeds_accum),
            "timestamp": u64(now_ts),
        },
    )


# --- entry functions ---


@SPECS.entry("init_registry")
def init_registry(world: World, call: Call) -> None:
    world.publish(call, MODULE, Registry(), not_admin=0x1202, again=0x1201)


def _create(world: World, call: Call, lottery_id: int, config: Config) -> None:
    reg = registry_state(world)
    if lottery_id in reg.lotteries:
        raise MoveAbortError(MODULE, 0x1203)
    checksum = sha3(prize_plan_bcs(config.prize_plan))
    reg.lotteries[lottery_id] = Lottery(lottery_id, config, STATUS_DRAFT, False, checksum)
    reg.ordered_ids.append(lottery_id)
    call.emit(
        "history::LotteryCreatedEvent",
        {
            "event_version": 1,
            "event_category": 1,
            "id": u64(lottery_id),
            "cfg_hash": hexb(sha3(config.bcs())),
            "config_version": u64(config.config_version),
            "creator": addr(call.sender),
            "event_slug": hexb(config.event_slug),
            "series_code": hexb(config.series_code),
            "run_id": u64(config.run_id),
            "primary_type": config.primary_type,
            "tags_mask": u64(config.tags_mask),
            "slots_checksum": hexb(checksum),
        },
    )


@SPECS.entry("create_draft_admin", ("u64", "vector<u8>"))
def create_draft_admin(world: World, call: Call, lottery_id: int, config_bytes: bytes) -> None:
    """No caller check in the code (spec §4.1): any signer may create a draft."""
    config = Config.from_bcs(config_bytes)
    validate_config_rules(config)
    _create(world, call, lottery_id, config)


@dataclass
class PartnerCreateCap:
    allowed_event_slug: bytes
    allowed_series_codes: list[bytes]
    allowed_primary_types: bytes
    allowed_tags_mask: int
    max_parallel: int
    expires_at: int
    payout_cooldown_secs: int

    def bcs(self) -> bytes:
        ser = Serializer()
        ser.to_bytes(self.allowed_event_slug)
        ser.uleb128(len(self.allowed_series_codes))
        for code in self.allowed_series_codes:
            ser.to_bytes(code)
        ser.to_bytes(self.allowed_primary_types)
        for value in (
            self.allowed_tags_mask,
            self.max_parallel,
            self.expires_at,
            self.payout_cooldown_secs,
        ):
            ser.u64(value)
        return ser.output()

    @classmethod
    def from_bcs(cls, data: bytes) -> PartnerCreateCap:
        des = Deserializer(data)
        try:
            cap = cls(
                des.to_bytes(),
                [des.to_bytes() for _ in range(des.uleb128())],
                des.to_bytes(),
                des.u64(),
                des.u64(),
                des.u64(),
                des.u64(),
            )
        except Exception as exc:
            raise _decode_error() from exc
        if des.remaining():
            raise _decode_error()
        return cap


@SPECS.entry("create_draft_partner", ("vector<u8>", "u64", "vector<u8>"))
def create_draft_partner(
    world: World, call: Call, cap_bytes: bytes, lottery_id: int, config_bytes: bytes
) -> None:
    """The partner cap is self-asserted bytes: only type and tag whitelists are enforced."""
    config = Config.from_bcs(config_bytes)
    cap = PartnerCreateCap.from_bcs(cap_bytes)
    if cap.allowed_tags_mask & ~KNOWN_TAGS_MASK:
        raise MoveAbortError("tags", 0x1002)
    assert_tag_budget(cap.allowed_tags_mask)
    validate_config_rules(config)
    if config.primary_type not in cap.allowed_primary_types:
        raise MoveAbortError("roles", 0x1101)
    if config.tags_mask & ~cap.allowed_tags_mask:
        raise MoveAbortError("roles", 0x1102)
    _create(world, call, lottery_id, config)


@SPECS.entry("set_primary_type", ("u64", "u8"))
def set_primary_type(world: World, call: Call, lottery_id: int, primary_type: int) -> None:
    call.require_admin(MODULE, 0x1202)
    lottery = get_lottery(world, lottery_id)
    if lottery.status != STATUS_DRAFT:
        raise MoveAbortError(MODULE, 0x1205)
    if primary_type != lottery.config.primary_type:
        validate_tags(primary_type, lottery.config.tags_mask)
        lottery.config.primary_type = primary_type


@SPECS.entry("set_tags_mask", ("u64", "u64"))
def set_tags_mask(world: World, call: Call, lottery_id: int, tags_mask: int) -> None:
    call.require_admin(MODULE, 0x1202)
    lottery = get_lottery(world, lottery_id)
    if lottery.status not in (STATUS_DRAFT, STATUS_ACTIVE) or lottery.snapshot_frozen:
        raise MoveAbortError(MODULE, 0x1206)
    validate_tags(lottery.config.primary_type, tags_mask)
    assert_tag_budget(tags_mask)
    lottery.config.tags_mask = tags_mask


@SPECS.entry("advance_status", ("u64", "u8"))
def advance_status(world: World, call: Call, lottery_id: int, next_status: int) -> None:
    """Raw status change; it bypasses VRF, winners, archive and refunds (spec §3)."""
    call.require_admin(MODULE, 0x1202)
    lottery = get_lottery(world, lottery_id)
    if next_status not in ALLOWED_TRANSITIONS.get(lottery.status, frozenset()):
        raise MoveAbortError(MODULE, 0x1204)
    if next_status == STATUS_CLOSING:
        if lottery.snapshot_frozen:
            raise MoveAbortError(MODULE, 0x1207)
        lottery.snapshot_frozen = True
    lottery.status = next_status


# --- read functions (spec §6.2) ---


@SPECS.read("get_status", ("u64",), returns=("u8",))
def get_status(world: World, lottery_id: int) -> list[Any]:
    return [status(world, lottery_id)]


@SPECS.read("is_snapshot_frozen", ("u64",), returns=("bool",))
def is_snapshot_frozen(world: World, lottery_id: int) -> list[Any]:
    return [get_lottery(world, lottery_id).snapshot_frozen]


@SPECS.read("config_view", ("u64",), returns=("lottery_registry::Config",))
def config_view(world: World, lottery_id: int) -> list[Any]:
    return [get_lottery(world, lottery_id).config.to_json()]


@SPECS.read(
    "get_cancellation_record",
    ("u64",),
    returns=("0x1::option::Option<lottery_registry::CancellationRecord>",),
)
def get_cancellation_record(world: World, lottery_id: int) -> list[Any]:
    record = registry_state(world).cancellations.get(lottery_id)
    return [opt(None if record is None else record.to_json())]


@SPECS.read("ordered_ids_snapshot", returns=("vector<u64>",))
def ordered_ids_snapshot(world: World) -> list[Any]:
    return [[u64(i) for i in registry_state(world).ordered_ids]]


@SPECS.read("slots_checksum", ("u64",), returns=("vector<u8>",))
def slots_checksum(world: World, lottery_id: int) -> list[Any]:
    return [hexb(get_lottery(world, lottery_id).slots_checksum)]


@SPECS.read("get_primary_type", ("u64",), returns=("u8",))
def get_primary_type(world: World, lottery_id: int) -> list[Any]:
    return [get_lottery(world, lottery_id).config.primary_type]


@SPECS.read("get_tags_mask", ("u64",), returns=("u64",))
def get_tags_mask(world: World, lottery_id: int) -> list[Any]:
    return [u64(get_lottery(world, lottery_id).config.tags_mask)]
