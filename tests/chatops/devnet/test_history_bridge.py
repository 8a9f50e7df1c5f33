"""In-process tests of the emulated ``lottery_support::history_bridge`` (spec §4.10)."""

from __future__ import annotations

from chatops.devnet.contracts import history, history_bridge, legacy_bridge
from chatops.devnet.framework import World
from tests.chatops.devnet.ops_support import aborts, admin, names, published, stranger, summary


def test_init_bridge_is_idempotent() -> None:
    """init_bridge publishes the archive; a second call is a silent no-op."""
    w = World()
    assert history_bridge.is_initialized(w) == [False]
    history_bridge.init_bridge(w, admin())
    history_bridge.init_bridge(w, admin())
    assert history_bridge.is_initialized(w) == [True]


def test_init_bridge_by_stranger_aborts_257() -> None:
    """A non-package signer gets E_NOT_AUTHORIZED 0x101 from history_bridge."""
    with aborts("history_bridge", 0x101):
        history_bridge.init_bridge(World(), stranger())


def test_mirror_requires_mirror_config_and_bridge() -> None:
    """A summary write mirrors only while the mirror is on and the bridge is initialised."""
    w = published(history.init_history, history_bridge.init_bridge)
    history.record_summary(w, admin(), 1, summary(1))
    assert history_bridge.get_summary(w, 1) == [{"vec": []}]
    legacy_bridge.enable_legacy_mirror(w, admin())
    s = summary(2)
    call = admin()
    history.record_summary(w, call, 2, s)
    assert call.events[0] == (
        "history_bridge::LegacySummaryEvent",
        {
            "lottery_id": "2",
            "archive_hash": "0x" + s.archive_hash().hex(),
            "finalized_at": str(s.finalized_at),
        },
    )
    assert history_bridge.get_summary(w, 2) == [
        {
            "vec": [
                {
                    "summary_bcs": "0x" + s.bcs().hex(),
                    "archive_hash": "0x" + s.archive_hash().hex(),
                    "finalized_at": str(s.finalized_at),
                }
            ]
        }
    ]


def test_mirror_skipped_without_bridge() -> None:
    """With the mirror on but no bridge, no LegacySummaryEvent is emitted."""
    w = published(history.init_history)
    legacy_bridge.enable_legacy_mirror(w, admin())
    call = admin()
    history.record_summary(w, call, 3, summary(3))
    assert names(call) == ["history::LotteryFinalizedEvent"]
    assert history_bridge.get_summary(w, 3) == [{"vec": []}]
