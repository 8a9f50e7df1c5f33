"""In-process tests of the emulated ``lottery_registry`` module (spec §4.1, §6.2, §12.2)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import lottery_registry as reg
from chatops.devnet.contracts.lottery_registry import (
    Config,
    PartnerCreateCap,
    RetryPolicy,
    SalesDistribution,
    SalesWindow,
    TicketLimits,
)
from chatops.devnet.framework import PACKAGE_ADDRESS, Call, World, sha3
from chatops.devnet.seed import demo_config
from tests.chatops.devnet.ops_support import STRANGER, aborts, admin, published, validate

VECTOR = bytes.fromhex(
    "076c6f7474657279056461696c792a00000000000000030000000000000000020000000000000000013d670000000080523e670000000000e1f5050000000050c30000000000006400000000000000581bdc05e803f40101000000000000000001000000010001840300000000000000000058020000000000005802000000000000"
)


def vector_config() -> Config:
    return demo_config(1732051200, 1732137600, run_id=42, config_version=3, series_code=b"daily")


@pytest.fixture
def world() -> World:
    return published(reg.init_registry)


def create(world: World, lottery_id: int = 1, config: Config | None = None) -> Call:
    call = admin()
    reg.create_draft_admin(world, call, lottery_id, (config or vector_config()).bcs())
    return call


def test_config_bcs_matches_the_spec_test_vector() -> None:
    """Config encodes to the 130-byte vector of spec §12.2 and decodes back to the same value."""
    config = vector_config()
    assert config.bcs() == VECTOR
    assert Config.from_bcs(VECTOR) == config
    assert sha3(VECTOR).hex() == "cb36a8547c2f06f90dc60dce3354a1b6340061090a6e586b94398827e9eee13a"


@pytest.mark.parametrize(
    "data",
    [VECTOR[:-1], VECTOR + b"\x00", VECTOR[:100] + b"\x02" + VECTOR[101:]],
    ids=["truncated", "trailing", "bad-bool"],
)
def test_config_decode_is_strict(data: bytes) -> None:
    """Truncated bytes, trailing bytes and a bool byte other than 0/1 abort 0x1A01 in lottery_registry."""
    # byte 100 is winners_dedup in the vector (after the prize plan)
    assert VECTOR[100] == 1
    with aborts("lottery_registry", 0x1A01):
        Config.from_bcs(data)


def test_config_decode_checks_distribution_inline() -> None:
    """A bps sum other than 10 000 aborts 0x1301 from economics even if later bytes are truncated."""
    bad = replace(vector_config(), sales_distribution=SalesDistribution(7000, 1500, 1000, 499))
    with aborts("economics", 0x1301):
        Config.from_bcs(bad.bcs()[:90])


def test_create_draft_admin_stores_the_lottery_and_emits_created(world: World) -> None:
    """create_draft_admin stores a Draft lottery and emits LotteryCreatedEvent with cfg_hash and checksum."""
    call = Call(signers=[STRANGER], now_s=0)
    reg.create_draft_admin(world, call, 42, VECTOR)
    lottery = reg.get_lottery(world, 42)
    assert lottery.status == 0
    assert (
        lottery.slots_checksum.hex()
        == "b1462363aa1e60ef80560bebfbb69ac129c137ef97e3649e5f022d218475e457"
    )
    ((name, data),) = call.events
    assert name == "history::LotteryCreatedEvent"
    assert data["event_version"] == 1
    assert data["event_category"] == 1
    assert data["cfg_hash"] == "0xcb36a8547c2f06f90dc60dce3354a1b6340061090a6e586b94398827e9eee13a"
    assert data["creator"] == STRANGER
    assert data["id"] == "42"
    assert reg.ordered_ids_snapshot(world) == [["42"]]


def test_create_draft_admin_duplicate_id_aborts(world: World) -> None:
    """A second lottery with the same id aborts 0x1203."""
    create(world, 1)
    with aborts("lottery_registry", 0x1203):
        create(world, 1)


def test_create_draft_admin_validates_before_registry() -> None:
    """Config validation runs before the Registry check: a bad price aborts 0x1209 even without a Registry."""
    with aborts("types", 0x1209):
        create(World(), 1, replace(vector_config(), ticket_price=0))
    with aborts("lottery_registry", 0x1202):
        create(World(), 1)


@pytest.mark.parametrize(
    ("change", "module", "code"),
    [
        ({"primary_type": 4}, "tags", 0x1001),
        ({"tags_mask": 1 << 5}, "tags", 0x1002),
        ({"sales_window": SalesWindow(10, 10)}, "types", 0x1208),
        ({"ticket_limits": TicketLimits(0, 0)}, "types", 0x120A),
        ({"ticket_limits": TicketLimits(5, 6)}, "types", 0x120A),
        ({"prize_plan": []}, "types", 0x120B),
        ({"draw_algo": 3}, "types", 0x120D),
        ({"vrf_retry_policy": RetryPolicy(0, 0, 0)}, "types", 0x170E),
        ({"vrf_retry_policy": RetryPolicy(3, 1, 1)}, "types", 0x170E),
        ({"primary_type": 9, "ticket_price": 0}, "tags", 0x1001),
    ],
)
def test_config_validation_codes(
    world: World, change: dict[str, object], module: str, code: int
) -> None:
    """Each §4.1 rule aborts with its module and code, the earliest failing rule winning."""
    with aborts(module, code):
        create(world, 1, replace(vector_config(), **change))  # type: ignore[arg-type]


def test_prize_slot_with_zero_winners_aborts(world: World) -> None:
    """A slot with winners_per_slot 0 aborts 0x120C."""
    with aborts("types", 0x120C):
        create(world, 1, demo_config(1, 2, winners_per_slot=(1, 0)))


def test_init_registry_aborts_twice_and_for_strangers() -> None:
    """init_registry by a stranger aborts 0x1202; a second init aborts 0x1201."""
    w = World()
    with aborts("lottery_registry", 0x1202):
        reg.init_registry(w, Call(signers=[STRANGER], now_s=0))
    reg.init_registry(w, admin())
    with aborts("lottery_registry", 0x1201):
        reg.init_registry(w, admin())


def partner_cap(types: bytes = b"\x00\x01", mask: int = 2 | 4) -> bytes:
    return PartnerCreateCap(b"slug", [b"daily"], types, mask, 1, 0, 0).bcs()


def test_create_draft_partner_success(world: World) -> None:
    """A partner draft within its self-asserted cap is created with the partner as creator."""
    call = Call(signers=[STRANGER], now_s=0)
    reg.create_draft_partner(world, call, partner_cap(), 7, vector_config().bcs())
    assert call.events[0][1]["creator"] == STRANGER


@pytest.mark.parametrize(
    ("cap", "module", "code"),
    [
        (partner_cap(types=b"\x02"), "roles", 0x1101),
        (partner_cap(mask=4), "roles", 0x1102),
        (partner_cap(mask=1 << 6), "tags", 0x1002),
        (partner_cap()[:-1], "lottery_registry", 0x1A01),
    ],
)
def test_create_draft_partner_aborts(world: World, cap: bytes, module: str, code: int) -> None:
    """Type and tag whitelists, the cap's own mask and its BCS are enforced with the spec's codes."""
    with aborts(module, code):
        reg.create_draft_partner(world, admin(), cap, 7, vector_config().bcs())


def test_set_primary_type_only_in_draft(world: World) -> None:
    """set_primary_type changes a Draft lottery and aborts 0x1205 once Active."""
    create(world)
    reg.set_primary_type(world, admin(), 1, 2)
    assert reg.get_primary_type(world, 1) == [2]
    with aborts("tags", 0x1001):
        reg.set_primary_type(world, admin(), 1, 7)
    reg.advance_status(world, admin(), 1, 1)
    with aborts("lottery_registry", 0x1205):
        reg.set_primary_type(world, admin(), 1, 1)


def test_set_primary_type_unknown_id_and_stranger(world: World) -> None:
    """An unknown id aborts in 0x1::table 0x6507; a stranger gets 0x1202."""
    with aborts("table", 0x6507):
        reg.set_primary_type(world, admin(), 99, 1)
    create(world)
    with aborts("lottery_registry", 0x1202):
        reg.set_primary_type(world, Call(signers=[STRANGER], now_s=0), 1, 1)


def test_set_tags_mask_until_frozen(world: World) -> None:
    """Tags change in Draft and Active, reject unknown bits (0x1002), and lock at Closing (0x1206)."""
    create(world)
    reg.set_tags_mask(world, admin(), 1, 1 | 8)
    reg.advance_status(world, admin(), 1, 1)
    reg.set_tags_mask(world, admin(), 1, 16 | (1 << 63))
    assert reg.get_tags_mask(world, 1) == [str(16 | (1 << 63))]
    with aborts("tags", 0x1002):
        reg.set_tags_mask(world, admin(), 1, 32)
    reg.advance_status(world, admin(), 1, 2)
    with aborts("lottery_registry", 0x1206):
        reg.set_tags_mask(world, admin(), 1, 1)


def test_advance_status_follows_the_transition_table(world: World) -> None:
    """Draft->Active->Closing works and freezes the snapshot; Closing->Active aborts 0x1204."""
    create(world)
    with aborts("lottery_registry", 0x1204):
        reg.advance_status(world, admin(), 1, 2)
    reg.advance_status(world, admin(), 1, 1)
    reg.advance_status(world, admin(), 1, 2)
    assert reg.is_snapshot_frozen(world, 1) == [True]
    assert reg.get_status(world, 1) == [2]
    with aborts("lottery_registry", 0x1204):
        reg.advance_status(world, admin(), 1, 1)


def test_advance_status_to_closing_when_frozen_aborts(world: World) -> None:
    """Moving to Closing a lottery whose snapshot is already frozen aborts 0x1207."""
    create(world)
    reg.advance_status(world, admin(), 1, 1)
    reg.get_lottery(world, 1).snapshot_frozen = True
    with aborts("lottery_registry", 0x1207):
        reg.advance_status(world, admin(), 1, 2)


def test_read_functions(world: World) -> None:
    """config_view validates as LotteryConfig; get_cancellation_record is none for a live lottery."""
    create(world)
    (config,) = reg.config_view(world, 1)
    validate("LotteryConfig", config)
    assert reg.get_cancellation_record(world, 1) == [{"vec": []}]
    assert reg.slots_checksum(world, 1)[0].startswith("0xb146")


def test_partner_cap_roundtrip() -> None:
    """PartnerCreateCap BCS is the tuple layout of spec §12.2."""
    ser = Serializer()
    ser.to_bytes(b"slug")
    ser.uleb128(1)
    ser.to_bytes(b"daily")
    ser.to_bytes(b"\x00\x01")
    for v in (6, 1, 0, 0):
        ser.u64(v)
    assert partner_cap() == ser.output()
    assert PartnerCreateCap.from_bcs(ser.output()).allowed_tags_mask == 6
    assert PACKAGE_ADDRESS
