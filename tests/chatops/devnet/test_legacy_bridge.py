"""In-process tests of the emulated ``legacy_bridge`` dual-write control (spec §4.11, §7.2, fact 13)."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import history, legacy_bridge
from chatops.devnet.framework import World
from tests.chatops.devnet.ops_support import aborts, admin, names, published, stranger, summary

HEAD = {"event_version": 1, "event_category": 8}


@pytest.fixture
def world() -> World:
    return published(history.init_history)


def test_init_dual_write_is_enabled_without_event() -> None:
    """init_dual_write publishes an enabled control and emits nothing."""
    w = World()
    assert legacy_bridge.is_enabled(w) == [False]
    call = admin()
    legacy_bridge.init_dual_write(w, call, True, False)
    assert call.events == []
    assert legacy_bridge.dual_write_flags(w) == [
        {
            "enabled": True,
            "abort_on_mismatch": True,
            "abort_on_missing": False,
            "expected_hash": {"vec": []},
        }
    ]


def test_init_dual_write_aborts() -> None:
    """init: stranger 0x1B04, twice 0x1201."""
    w = World()
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.init_dual_write(w, stranger(), True, True)
    legacy_bridge.init_dual_write(w, admin(), True, True)
    with aborts("legacy_bridge", 0x1201):
        legacy_bridge.init_dual_write(w, admin(), True, True)


def test_update_flags(world: World) -> None:
    """update_flags rewrites the three flags; without control it aborts 0x1B06, stranger 0x1B04."""
    with aborts("legacy_bridge", 0x1B06):
        legacy_bridge.update_flags(world, admin(), False, False, False)
    legacy_bridge.init_dual_write(world, admin(), True, True)
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.update_flags(world, stranger(), False, False, False)
    legacy_bridge.update_flags(world, admin(), False, True, False)
    assert legacy_bridge.dual_write_status(world, 1)[0]["enabled"] is False
    assert legacy_bridge.is_enabled(world) == [False]


def test_set_expected_hash_emits_started_and_lists_pending(world: World) -> None:
    """set_expected_hash emits ArchiveDualWriteStartedEvent; pending ids swap-remove on clear."""
    legacy_bridge.init_dual_write(world, admin(), False, False)
    call = admin()
    legacy_bridge.set_expected_hash(world, call, 1, b"\xaa")
    assert call.events == [
        (
            "legacy_bridge::ArchiveDualWriteStartedEvent",
            {**HEAD, "lottery_id": "1", "expected_hash": "0xaa"},
        )
    ]
    legacy_bridge.set_expected_hash(world, admin(), 2, b"")
    legacy_bridge.set_expected_hash(world, admin(), 3, b"\xcc")
    assert legacy_bridge.pending_expected_hashes(world) == [["1", "2", "3"]]
    legacy_bridge.clear_expected_hash(world, admin(), 1)
    assert legacy_bridge.pending_expected_hashes(world) == [["3", "2"]]
    assert legacy_bridge.has_expected_hash(world, 1) == [False]
    assert legacy_bridge.dual_write_status(world, 2)[0]["expected_hash"] == {"vec": ["0x"]}
    legacy_bridge.set_expected_hash(world, admin(), 3, b"\xdd")
    assert legacy_bridge.pending_expected_hashes(world) == [["2", "3"]]


def test_set_and_clear_expected_hash_abort_without_control(world: World) -> None:
    """set/clear_expected_hash abort 0x1B06 without control and 0x1B04 for a stranger."""
    with aborts("legacy_bridge", 0x1B06):
        legacy_bridge.set_expected_hash(world, admin(), 1, b"\x01")
    with aborts("legacy_bridge", 0x1B06):
        legacy_bridge.clear_expected_hash(world, admin(), 1)
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.set_expected_hash(world, stranger(), 1, b"\x01")
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.clear_expected_hash(world, stranger(), 1)


def test_mirror_switch_is_idempotent() -> None:
    """enable/disable_legacy_mirror need no control and can repeat; a stranger gets 0x1B04."""
    w = World()
    legacy_bridge.enable_legacy_mirror(w, admin())
    legacy_bridge.enable_legacy_mirror(w, admin())
    assert legacy_bridge.is_mirror_enabled(w) == [True]
    legacy_bridge.disable_legacy_mirror(w, admin())
    legacy_bridge.disable_legacy_mirror(w, admin())
    assert legacy_bridge.is_mirror_enabled(w) == [False]
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.enable_legacy_mirror(w, stranger())
    with aborts("legacy_bridge", 0x1B04):
        legacy_bridge.disable_legacy_mirror(w, stranger())


def test_record_summary_missing_expectation(world: World) -> None:
    """abort_on_missing=true aborts 0x1B05 in legacy_bridge; false lets the write through."""
    legacy_bridge.init_dual_write(world, admin(), False, True)
    with aborts("legacy_bridge", 0x1B05):
        history.record_summary(world.snapshot(), admin(), 42, summary())
    legacy_bridge.update_flags(world, admin(), True, False, False)
    call = admin()
    history.record_summary(world, call, 42, summary())
    assert names(call) == ["history::LotteryFinalizedEvent"]


def test_record_summary_mismatch(world: World) -> None:
    """abort_on_mismatch=true aborts 0x1B02; false writes silently and keeps the expectation."""
    legacy_bridge.init_dual_write(world, admin(), True, True)
    legacy_bridge.set_expected_hash(world, admin(), 42, b"\x00" * 32)
    with aborts("legacy_bridge", 0x1B02):
        history.record_summary(world.snapshot(), admin(), 42, summary())
    legacy_bridge.update_flags(world, admin(), True, False, True)
    call = admin()
    history.record_summary(world, call, 42, summary())
    assert names(call) == ["history::LotteryFinalizedEvent"]
    assert legacy_bridge.has_expected_hash(world, 42) == [True]


def test_record_summary_match_completes_and_removes_expectation(world: World) -> None:
    """A matching hash removes the expectation and emits Completed before LotteryFinalizedEvent."""
    legacy_bridge.init_dual_write(world, admin(), True, True)
    s = summary()
    legacy_bridge.set_expected_hash(world, admin(), 42, s.archive_hash())
    call = admin()
    history.record_summary(world, call, 42, s)
    assert call.events[0] == (
        "legacy_bridge::ArchiveDualWriteCompletedEvent",
        {
            **HEAD,
            "lottery_id": "42",
            "archive_hash": "0x" + s.archive_hash().hex(),
            "finalized_at": "1732100000",
        },
    )
    assert names(call)[1:] == ["history::LotteryFinalizedEvent"]
    assert legacy_bridge.pending_expected_hashes(world) == [[]]


def test_disabled_dual_write_ignores_expectations(world: World) -> None:
    """With enabled=false nothing is checked even with both abort flags set."""
    legacy_bridge.init_dual_write(world, admin(), True, True)
    legacy_bridge.update_flags(world, admin(), False, True, True)
    history.record_summary(world, admin(), 42, summary())
    assert history.list_finalized(world, 0, 10) == [["42"]]
