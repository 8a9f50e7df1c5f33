"""In-process tests of the emulated ``history`` archive (spec §4.10, §6.2, §7.2, §12.8)."""

from __future__ import annotations

import dataclasses

import pytest

from chatops.devnet.contracts import history, history_bridge, legacy_bridge
from chatops.devnet.framework import World
from tests.chatops.devnet.ops_support import (
    aborts,
    admin,
    names,
    published,
    stranger,
    summary,
    validate,
)

HEAD = {"event_version": 1, "event_category": 2}
# Spec §12.8 test vector: canceled lottery 42, no sales, canceled_ts = finalized_at = 1732100000.
VECTOR_BCS = bytes.fromhex(
    "2a0000000000000007076c6f7474657279056461696c792a000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000020000000000000020174a464c69ae5bfb"
    "e2bd04cb082187d11366e4985625e5c5594281a14a72260620b1462363aa1e60ef80560bebfbb69ac129c137ef"
    "97e3649e5f022d218475e4570000000000000000000000013d6700000000a0bf3d6700000000a0bf3d6700000000"
)
VECTOR_HASH = bytes.fromhex("3f74e9dc98696c4df24c518081ca530836de456c3eab8b0b6991a876ccfc3f5f")


@pytest.fixture
def world() -> World:
    return published(history.init_history)


def test_summary_bcs_matches_spec_vector() -> None:
    """LotterySummary round-trips the spec's 181-byte vector and hashes to its archive hash."""
    decoded = history.LotterySummary.from_bcs(VECTOR_BCS)
    assert (decoded.id, decoded.status, decoded.created_at) == (42, 7, 1732051200)
    assert decoded.bcs() == VECTOR_BCS
    assert decoded.archive_hash() == VECTOR_HASH
    validate("LotterySummary", decoded.to_json())


@pytest.mark.parametrize(
    "data", [VECTOR_BCS[:-1], VECTOR_BCS + b"\x00", b"", b"\x2a" * 9 + b"\xff"]
)
def test_from_bcs_is_strict(data: bytes) -> None:
    """Truncated, trailing or oversized-length bytes abort 0x1B0B in history."""
    with aborts("history", 0x1B0B):
        history.LotterySummary.from_bcs(data)


def test_init_history_aborts(world: World) -> None:
    """init_history: stranger 0x1B01 (not 0x1B04), twice 0x1201."""
    with aborts("history", 0x1B01):
        history.init_history(World(), stranger())
    with aborts("history", 0x1201):
        history.init_history(world, admin())


def test_record_summary_stores_and_emits_finalized(world: World) -> None:
    """record_summary stores the summary and emits LotteryFinalizedEvent with its hash."""
    s = summary(42)
    call = admin()
    history.record_summary(world, call, 42, s)
    assert call.events == [
        (
            "history::LotteryFinalizedEvent",
            {
                **HEAD,
                "id": "42",
                "archive_slot_hash": "0x" + s.archive_hash().hex(),
                "primary_type": 0,
                "tags_mask": "2",
            },
        )
    ]
    [stored] = history.get_summary(world, 42)
    assert stored == s.to_json() == history.summary_json(world, 42)
    validate("LotterySummary", stored)
    assert history.is_legacy_summary(world, 42) == [False]


def test_record_summary_rewrite_rules(world: World) -> None:
    """An identical rewrite succeeds; a different one aborts 0x1B02; missing ledger 0x1B01."""
    history.record_summary(world, admin(), 42, summary(42))
    history.record_summary(world, admin(), 42, summary(42))
    assert history.list_finalized(world, 0, 10) == [["42"]]
    with aborts("history", 0x1B02):
        history.record_summary(world, admin(), 42, summary(42, finalized_at=1))
    with aborts("history", 0x1B01):
        history.record_summary(World(), admin(), 42, summary(42))


def test_events_in_spec_order_with_mirror_and_dual_write(world: World) -> None:
    """Mirror event, then dual-write completion, then LotteryFinalizedEvent."""
    history_bridge.init_bridge(world, admin())
    legacy_bridge.enable_legacy_mirror(world, admin())
    legacy_bridge.init_dual_write(world, admin(), True, True)
    s = summary(7)
    legacy_bridge.set_expected_hash(world, admin(), 7, s.archive_hash())
    call = admin()
    history.record_summary(world, call, 7, s)
    assert names(call) == [
        "history_bridge::LegacySummaryEvent",
        "legacy_bridge::ArchiveDualWriteCompletedEvent",
        "history::LotteryFinalizedEvent",
    ]


def test_import_legacy_summary(world: World) -> None:
    """Import stores a legacy summary and emits Finalized then LegacySummaryImportedEvent."""
    call = admin()
    history.import_legacy_summary_admin(world, call, 42, VECTOR_BCS, VECTOR_HASH)
    assert names(call) == ["history::LotteryFinalizedEvent", "history::LegacySummaryImportedEvent"]
    assert call.events[1][1] == {
        **HEAD,
        "lottery_id": "42",
        "archive_hash": "0x" + VECTOR_HASH.hex(),
        "finalized_at": "1732100000",
        "primary_type": 0,
        "tags_mask": "2",
    }
    assert history.is_legacy_summary(world, 42) == [True]
    history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, VECTOR_HASH)
    assert history.list_finalized(world, 0, 10) == [["42"]]


def test_import_legacy_summary_aborts(world: World) -> None:
    """Import: stranger 0x1B04, bad bytes 0x1B0B, id 0x1B08, hash 0x1B07, over non-legacy 0x1B09."""
    with aborts("history", 0x1B04):
        history.import_legacy_summary_admin(world, stranger(), 42, VECTOR_BCS, VECTOR_HASH)
    with aborts("history", 0x1B0B):
        history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS[:-1], VECTOR_HASH)
    with aborts("history", 0x1B08):
        history.import_legacy_summary_admin(world, admin(), 43, VECTOR_BCS, VECTOR_HASH)
    with aborts("history", 0x1B07):
        history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, b"\x00" * 32)
    history.record_summary(world, admin(), 42, summary(42))
    with aborts("history", 0x1B09):
        history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, VECTOR_HASH)


def test_record_over_legacy_aborts_not_legacy(world: World) -> None:
    """A finalize-style write over an imported summary aborts 0x1B09."""
    history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, VECTOR_HASH)
    with aborts("history", 0x1B09):
        history.record_summary(world, admin(), 42, summary(42))


def test_import_dual_write_checked_before_ledger() -> None:
    """Import without a ledger but with abort_on_missing aborts 0x1B05 before 0x1B01."""
    w = World()
    legacy_bridge.init_dual_write(w, admin(), False, True)
    with aborts("legacy_bridge", 0x1B05):
        history.import_legacy_summary_admin(w, admin(), 42, VECTOR_BCS, VECTOR_HASH)


def test_mirror_summary_admin(world: World) -> None:
    """mirror_summary_admin is a no-op while the mirror is off, then mirrors and runs dual-write."""
    history.record_summary(world, admin(), 42, summary(42))
    quiet = admin()
    history.mirror_summary_admin(world, quiet, 99)
    assert quiet.events == []
    history_bridge.init_bridge(world, admin())
    legacy_bridge.enable_legacy_mirror(world, admin())
    legacy_bridge.init_dual_write(world, admin(), True, True)
    legacy_bridge.set_expected_hash(world, admin(), 42, summary(42).archive_hash())
    call = admin()
    history.mirror_summary_admin(world, call, 42)
    assert names(call) == [
        "history_bridge::LegacySummaryEvent",
        "legacy_bridge::ArchiveDualWriteCompletedEvent",
    ]


def test_mirror_summary_admin_aborts(world: World) -> None:
    """mirror_summary_admin: stranger 0x1B04, unknown id 0x6507 in 0x1::table, no ledger 0x1B01."""
    with aborts("history", 0x1B04):
        history.mirror_summary_admin(world, stranger(), 1)
    legacy_bridge.enable_legacy_mirror(world, admin())
    with aborts("table", 0x6507):
        history.mirror_summary_admin(world, admin(), 1)
    bare = World()
    legacy_bridge.enable_legacy_mirror(bare, admin())
    with aborts("history", 0x1B01):
        history.mirror_summary_admin(bare, admin(), 1)


def test_rollback_legacy_summary(world: World) -> None:
    """Rollback deletes the import, keeps list order, and emits LegacySummaryRolledBackEvent."""
    history.record_summary(world, admin(), 1, summary(1))
    history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, VECTOR_HASH)
    history.record_summary(world, admin(), 2, summary(2))
    call = admin()
    history.rollback_legacy_summary_admin(world, call, 42)
    assert call.events == [
        (
            "history::LegacySummaryRolledBackEvent",
            {
                **HEAD,
                "lottery_id": "42",
                "archive_hash": "0x" + VECTOR_HASH.hex(),
                "finalized_at": "1732100000",
                "primary_type": 0,
                "tags_mask": "2",
            },
        )
    ]
    assert history.list_finalized(world, 0, 10) == [["2", "1"]]
    assert history.is_legacy_summary(world, 42) == [False]


def test_rollback_aborts(world: World) -> None:
    """Rollback: stranger 0x1B04, missing 0x1B0A, non-legacy 0x1B09, no ledger 0x1B01."""
    with aborts("history", 0x1B04):
        history.rollback_legacy_summary_admin(world, stranger(), 1)
    with aborts("history", 0x1B0A):
        history.rollback_legacy_summary_admin(world, admin(), 1)
    history.record_summary(world, admin(), 1, summary(1))
    with aborts("history", 0x1B09):
        history.rollback_legacy_summary_admin(world, admin(), 1)
    with aborts("history", 0x1B01):
        history.rollback_legacy_summary_admin(World(), admin(), 1)


def test_update_legacy_classification(world: World) -> None:
    """Reclassifying rewrites type/mask, re-mirrors and emits the new hash."""
    history_bridge.init_bridge(world, admin())
    legacy_bridge.enable_legacy_mirror(world, admin())
    history.import_legacy_summary_admin(world, admin(), 42, VECTOR_BCS, VECTOR_HASH)
    call = admin()
    history.update_legacy_classification_admin(world, call, 42, 9, 1 << 40)
    expected = dataclasses.replace(
        history.LotterySummary.from_bcs(VECTOR_BCS), primary_type=9, tags_mask=1 << 40
    )
    new_hash = "0x" + expected.archive_hash().hex()
    assert names(call) == [
        "history_bridge::LegacySummaryEvent",
        "history::LegacySummaryClassificationUpdatedEvent",
    ]
    assert call.events[1][1] == {
        **HEAD,
        "lottery_id": "42",
        "archive_hash": new_hash,
        "primary_type": 9,
        "tags_mask": str(1 << 40),
    }
    assert history.get_summary(world, 42)[0]["primary_type"] == 9


def test_update_legacy_classification_aborts(world: World) -> None:
    """Reclassify: stranger 0x1B04, missing 0x1B0A, non-legacy 0x1B09."""
    with aborts("history", 0x1B04):
        history.update_legacy_classification_admin(world, stranger(), 1, 0, 0)
    with aborts("history", 0x1B0A):
        history.update_legacy_classification_admin(world, admin(), 1, 0, 0)
    history.record_summary(world, admin(), 1, summary(1))
    with aborts("history", 0x1B09):
        history.update_legacy_classification_admin(world, admin(), 1, 0, 0)


def test_list_finalized_pagination(world: World) -> None:
    """list_finalized is newest first with from/limit, limit 0 -> [], limit > 1000 aborts 0x1501."""
    for lottery_id in (1, 2, 3, 4):
        history.record_summary(world, admin(), lottery_id, summary(lottery_id))
    [ids] = history.list_finalized(world, 1, 2)
    assert ids == ["3", "2"]
    validate("LotteryIdList", ids)
    assert history.list_finalized(world, 0, 0) == [[]]
    assert history.list_finalized(world, 5, 10) == [[]]
    with aborts("history", 0x1501):
        history.list_finalized(world, 0, 1001)
    with aborts("history", 0x1B01):
        history.list_finalized(World(), 0, 1)


def test_reads_without_ledger_or_summary(world: World) -> None:
    """get_summary: 0x1B01 without ledger, 0x6507 in 0x1::table for an unknown id."""
    with aborts("history", 0x1B01):
        history.get_summary(World(), 1)
    with aborts("history", 0x1B01):
        history.is_legacy_summary(World(), 1)
    with aborts("table", 0x6507):
        history.get_summary(world, 1)
    assert history.is_legacy_summary(world, 1) == [False]


def test_only_is_legacy_summary_is_a_view() -> None:
    """Across the modules written here, only history::is_legacy_summary carries #[view]."""
    from chatops.devnet.contracts import (
        automation,
        feature_switch,
        price_feed,
        roles,
        vrf_deposit,
    )

    modules = (
        automation,
        feature_switch,
        history,
        history_bridge,
        legacy_bridge,
        price_feed,
        roles,
        vrf_deposit,
    )
    views = [f"{s.module}::{s.name}" for m in modules for s in m.SPECS.functions if s.is_view]
    assert views == ["history::is_legacy_summary"]
