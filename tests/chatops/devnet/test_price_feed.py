"""In-process tests of the emulated ``price_feed`` module (spec §4.8, §6.2, §7.4, fact 17)."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import price_feed
from chatops.devnet.framework import MissingDataError, World
from tests.chatops.devnet.ops_support import aborts, admin, stranger

HEAD = {"event_version": 1, "event_category": 6}


@pytest.fixture
def world() -> World:
    w = World()
    price_feed.init_price_feed(w, admin(), 1)
    price_feed.register_feed(w, admin(), 1, 1000, 8, None, None, 100)
    return w


def test_init_price_feed_marks_initialized() -> None:
    """init_price_feed publishes the registry."""
    w = World()
    assert price_feed.is_initialized(w) == [False]
    price_feed.init_price_feed(w, admin(), 1)
    assert price_feed.is_initialized(w) == [True]


def test_init_price_feed_twice_and_by_stranger_abort(world: World) -> None:
    """A second init aborts 0x1201; a stranger gets 0x1202."""
    with aborts("price_feed", 0x1201):
        price_feed.init_price_feed(world, admin(), 1)
    with aborts("price_feed", 0x1202):
        price_feed.init_price_feed(World(), stranger(), 1)


def test_register_feed_defaults_and_event() -> None:
    """register_feed uses 300 s / 2000 bps when the Options are none and emits PriceFeedUpdatedEvent."""
    w = World()
    price_feed.init_price_feed(w, admin(), 1)
    call = admin()
    price_feed.register_feed(w, call, 2, 5, 6, None, 500, 7)
    assert call.events == [
        (
            "price_feed::PriceFeedUpdatedEvent",
            {**HEAD, "asset_id": "2", "price": "5", "decimals": 6, "updated_ts": "7"},
        )
    ]
    assert price_feed.get_price_view(w, 2) == [
        {
            "asset_id": "2",
            "price": "5",
            "decimals": 6,
            "last_updated_ts": "7",
            "staleness_window": "300",
            "clamp_threshold_bps": "500",
            "fallback_active": False,
            "fallback_reason": 0,
            "clamp_active": False,
        }
    ]


def test_register_feed_aborts(world: World) -> None:
    """Stranger 0x1202, missing registry 0x1202, decimals > 18 0x1903, duplicate 0x1901."""
    with aborts("price_feed", 0x1202):
        price_feed.register_feed(world, stranger(), 3, 1, 8, None, None, 1)
    with aborts("price_feed", 0x1202):
        price_feed.register_feed(World(), admin(), 3, 1, 8, None, None, 1)
    with aborts("price_feed", 0x1903):
        price_feed.register_feed(world, admin(), 3, 1, 19, None, None, 1)
    with aborts("price_feed", 0x1901):
        price_feed.register_feed(world, admin(), 1, 1, 8, None, None, 1)


def test_update_price_accepts_within_threshold(world: World) -> None:
    """A 20 % move is accepted, clears the fallback and emits PriceFeedUpdatedEvent."""
    price_feed.set_fallback(world, admin(), 1, True, 4)
    call = admin()
    price_feed.update_price(world, call, 1, 1200, 150)
    assert call.events == [
        (
            "price_feed::PriceFeedUpdatedEvent",
            {**HEAD, "asset_id": "1", "price": "1200", "decimals": 8, "updated_ts": "150"},
        )
    ]
    [view] = price_feed.get_price_view(world, 1)
    assert (view["price"], view["last_updated_ts"], view["fallback_active"]) == (
        "1200",
        "150",
        False,
    )


def test_update_price_over_threshold_clamps_without_abort(world: World) -> None:
    """A jump over the threshold succeeds, keeps the old price and sets clamp_active."""
    call = admin()
    price_feed.update_price(world, call, 1, 1201, 150)
    assert call.events == [
        (
            "price_feed::PriceFeedClampEvent",
            {
                **HEAD,
                "asset_id": "1",
                "old_price": "1000",
                "new_price": "1201",
                "threshold_bps": "2000",
            },
        )
    ]
    [view] = price_feed.get_price_view(world, 1)
    assert (view["price"], view["last_updated_ts"], view["clamp_active"]) == ("1000", "100", True)
    price_feed.update_price(world, admin(), 1, 1100, 160)
    assert price_feed.get_price_view(world, 1)[0]["clamp_active"] is True


def test_update_price_unknown_asset_and_stranger_abort(world: World) -> None:
    """update_price on an unknown asset aborts 0x1902; a stranger gets 0x1202."""
    with aborts("price_feed", 0x1902):
        price_feed.update_price(world, admin(), 9, 1, 1)
    with aborts("price_feed", 0x1202):
        price_feed.update_price(world, stranger(), 1, 1, 1)


def test_set_fallback_off_clears_clamp(world: World) -> None:
    """set_fallback(false) clears a clamp and emits PriceFeedFallbackEvent."""
    price_feed.update_price(world, admin(), 1, 5000, 150)
    call = admin()
    price_feed.set_fallback(world, call, 1, False, 3)
    assert call.events == [
        (
            "price_feed::PriceFeedFallbackEvent",
            {**HEAD, "asset_id": "1", "fallback_active": False, "reason": 3},
        )
    ]
    [view] = price_feed.get_price_view(world, 1)
    assert (view["clamp_active"], view["fallback_reason"]) == (False, 3)


def test_set_fallback_aborts(world: World) -> None:
    """set_fallback: stranger 0x1202, unknown asset 0x1902."""
    with aborts("price_feed", 0x1202):
        price_feed.set_fallback(world, stranger(), 1, True, 1)
    with aborts("price_feed", 0x1902):
        price_feed.set_fallback(world, admin(), 9, True, 1)


def test_clear_clamp_refreshes_old_price(world: World) -> None:
    """clear_clamp resets the flag and makes the old price fresh as of cleared_ts."""
    price_feed.update_price(world, admin(), 1, 5000, 150)
    call = admin()
    price_feed.clear_clamp(world, call, 1, 400)
    assert call.events == [
        ("price_feed::PriceFeedClampClearedEvent", {**HEAD, "asset_id": "1", "cleared_ts": "400"})
    ]
    assert price_feed.latest_price(world, 1, 700) == ["1000", 8]


def test_clear_clamp_aborts(world: World) -> None:
    """clear_clamp without a clamp aborts 0x1908; a stranger gets 0x1202."""
    with aborts("price_feed", 0x1908):
        price_feed.clear_clamp(world, admin(), 1, 1)
    with aborts("price_feed", 0x1202):
        price_feed.clear_clamp(world, stranger(), 1, 1)


def test_latest_price_blocks_fallback_clamp_stale(world: World) -> None:
    """latest_price refuses a stale, clamped or fallback price; get_price_view does not."""
    assert price_feed.latest_price(world, 1, 400) == ["1000", 8]
    with aborts("price_feed", 0x1904):
        price_feed.latest_price(world, 1, 401)
    with pytest.raises(price_feed.PriceFeedArithmeticError):
        price_feed.latest_price(world, 1, 99)
    price_feed.update_price(world, admin(), 1, 9000, 150)
    with aborts("price_feed", 0x1907):
        price_feed.latest_price(world, 1, 200)
    price_feed.set_fallback(world, admin(), 1, True, 2)
    with aborts("price_feed", 0x1905):
        price_feed.latest_price(world, 1, 200)
    with aborts("price_feed", 0x1902):
        price_feed.latest_price(world, 7, 200)
    assert price_feed.get_price_view(world, 1)[0]["fallback_active"] is True


def test_reads_before_init_are_missing_data() -> None:
    """get_price_view and latest_price before init_price_feed fail with MISSING_DATA."""
    with pytest.raises(MissingDataError):
        price_feed.get_price_view(World(), 1)
    with pytest.raises(MissingDataError):
        price_feed.latest_price(World(), 1, 1)
