"""In-process tests of the emulated ``feature_switch`` module (spec §4.12)."""

from __future__ import annotations

from chatops.devnet.contracts import feature_switch
from chatops.devnet.framework import World
from tests.chatops.devnet.ops_support import aborts, admin, stranger


def test_init_and_set_mode_drive_is_enabled() -> None:
    """Modes 0/1/2 read as disabled / enabled / premium-only; set_mode emits nothing."""
    w = World()
    assert feature_switch.is_initialized(w) == [False]
    feature_switch.init_feature_switch(w, admin(), False)
    assert feature_switch.is_initialized(w) == [True]
    call = admin()
    feature_switch.set_mode(w, call, 1, 2)
    assert call.events == []
    assert feature_switch.is_enabled(w, 1, False) == [False]
    assert feature_switch.is_enabled(w, 1, True) == [True]
    feature_switch.set_mode(w, admin(), 1, 0)
    assert feature_switch.is_enabled(w, 1, True) == [False]
    feature_switch.set_mode(w, admin(), 1, 1)
    assert feature_switch.is_enabled(w, 1, False) == [True]


def test_force_enable_devnet_overrides_missing_entries() -> None:
    """force_enable_devnet makes every feature enabled, even without an entry."""
    w = World()
    feature_switch.init_feature_switch(w, admin(), True)
    assert feature_switch.is_enabled(w, 42, False) == [True]


def test_init_feature_switch_aborts() -> None:
    """init: stranger 0x1202, twice 0x1201."""
    w = World()
    with aborts("feature_switch", 0x1202):
        feature_switch.init_feature_switch(w, stranger(), False)
    feature_switch.init_feature_switch(w, admin(), False)
    with aborts("feature_switch", 0x1201):
        feature_switch.init_feature_switch(w, admin(), False)


def test_set_mode_aborts() -> None:
    """set_mode: stranger 0x1202, mode 3 0x1402 (checked before the registry), no registry 0x1202."""
    with aborts("feature_switch", 0x1202):
        feature_switch.set_mode(World(), stranger(), 1, 1)
    with aborts("feature_switch", 0x1402):
        feature_switch.set_mode(World(), admin(), 1, 3)
    with aborts("feature_switch", 0x1202):
        feature_switch.set_mode(World(), admin(), 1, 1)


def test_is_enabled_aborts() -> None:
    """is_enabled aborts 0x1202 before init and 0x1401 for a feature without an entry."""
    w = World()
    with aborts("feature_switch", 0x1202):
        feature_switch.is_enabled(w, 1, False)
    feature_switch.init_feature_switch(w, admin(), False)
    with aborts("feature_switch", 0x1401):
        feature_switch.is_enabled(w, 1, False)


def test_ensure_enabled_gate() -> None:
    """The internal gate is a no-op before init, then raises 0x1401 / 0x1403 (from the caller)."""
    w = World()
    feature_switch.ensure_enabled(w, 1, False, "sales")
    feature_switch.init_feature_switch(w, admin(), False)
    with aborts("feature_switch", 0x1401):
        feature_switch.ensure_enabled(w, 1, False, "sales")
    feature_switch.set_mode(w, admin(), 3, 2)
    with aborts("draw", 0x1403):
        feature_switch.ensure_enabled(w, 3, False, "draw")
    feature_switch.ensure_enabled(w, 3, True, "draw")
