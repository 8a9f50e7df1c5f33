"""/feed: the price-feed section (show, update, fallback, clear-clamp) against the devnet."""

from __future__ import annotations

from typing import Any

from tests.commands.chain_double import failed_check
from tests.fakes.bot import Harness, changed

PRICE_1 = 1_250_000  # asset 1 at 8 decimals, clamp threshold 2000 bps (20 %)


def feed(ops: Harness, asset_id: int) -> dict[str, Any]:
    [view] = ops.view("price_feed::get_price_view", str(asset_id))
    return dict(view)


def clamp(ops: Harness) -> None:
    """A 50 % jump: the chain keeps the old price and sets clamp_active (fact 17)."""
    ops.server.ledger.apply("price_feed::update_price", [1, 1_875_000, ops.gateway.now_s()])


def test_show_reads_price_and_flags(ops: Harness) -> None:
    """/feed show renders the price at its decimals and the fallback/clamp state."""
    reply = ops.run("/feed show 1")
    assert reply.ok
    assert reply.title == "Asset 1: 0.01250000 (1250000 at 8 decimals)"
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Clamp threshold"] == "2000 bps"
    assert fields["Fallback"] == "off (reason 0)"


def test_show_flags_an_active_clamp(ops: Harness) -> None:
    """A clamped asset is shown with CLAMP and a warning."""
    clamp(ops)
    reply = ops.run("/feed show 1")
    assert "[CLAMP]" in reply.title
    assert reply.tone == "warning"


def test_update_publishes_a_price_within_the_threshold(ops: Harness) -> None:
    """A 10 % move fits 2000 bps: the new price is stored and PriceFeedUpdatedEvent emitted."""
    reply = ops.execute("/feed update 1 1375000")
    assert reply.ok, reply
    assert reply.title == "Asset 1: price updated to 1375000"
    assert feed(ops, 1)["price"] == "1375000"
    assert ops.events("PriceFeedUpdatedEvent")[-1]["price"] == "1375000"


def test_update_is_privileged(ops: Harness) -> None:
    """Publishing a price needs a second person."""
    ops.needs_approval("/feed update 1 1375000")


def test_update_refuses_a_move_that_would_clamp(ops: Harness) -> None:
    """A 50 % move would be a silent clamp on chain: refused, with the move in bps."""
    before = ops.tx_count
    check = failed_check(ops.run("/feed update 1 1875000"), "change fits clamp_threshold_bps")
    assert check.seen == f"5000 bps (from {PRICE_1})"
    assert check.required == "<= 2000 bps"
    assert ops.tx_count == before


def test_update_refuses_while_clamped(ops: Harness) -> None:
    """With clamp_active, a good update would leave the clamp on: clear it first."""
    clamp(ops)
    before = ops.tx_count
    check = failed_check(ops.run("/feed update 1 1300000"), "clamp not active")
    assert check.seen == "active"
    assert ops.tx_count == before


def test_fallback_on_sets_the_flag(ops: Harness) -> None:
    """/feed fallback on stores fallback_active with the reason code and emits the event."""
    reply = ops.execute("/feed fallback 1 on 4 price spike on the provider")
    assert reply.ok, reply
    view = feed(ops, 1)
    assert view["fallback_active"] is True
    assert view["fallback_reason"] == 4
    assert ops.events("PriceFeedFallbackEvent")[-1]["fallback_active"] is True


def test_fallback_is_privileged(ops: Harness) -> None:
    """The fallback switch needs a second person."""
    ops.needs_approval("/feed fallback 1 on 4 spike")


def test_fallback_refuses_no_change(ops: Harness) -> None:
    """Switching fallback off when it is already off is refused."""
    before = ops.tx_count
    check = failed_check(ops.run("/feed fallback 1 off 0 all good"), "fallback state changes")
    assert (check.seen, check.required) == (
        "fallback off, clamp inactive",
        "fallback on, or a clamp to clear",
    )
    assert ops.tx_count == before


def test_clear_clamp_clears_it(ops: Harness) -> None:
    """After a clamp, clear-clamp resets clamp_active and emits PriceFeedClampClearedEvent."""
    clamp(ops)
    reply = ops.execute("/feed clear-clamp 1")
    assert reply.ok, reply
    assert feed(ops, 1)["clamp_active"] is False
    assert ops.events("PriceFeedClampClearedEvent")[-1]["asset_id"] == "1"


def test_clear_clamp_refuses_without_a_clamp(ops: Harness) -> None:
    """No clamp to clear (0x1908 on chain): refused."""
    before = ops.tx_count
    check = failed_check(ops.run("/feed clear-clamp 1"), "clamp_active = true")
    assert check.seen == "false"
    assert ops.tx_count == before


def test_fallback_off_with_only_a_clamp_clears_the_clamp(ops: Harness) -> None:
    """With fallback off and a clamp active, fallback off is allowed: set_fallback(false) clears it."""
    clamp(ops)
    assert feed(ops, 1)["clamp_active"] is True
    ops.needs_approval("/feed fallback 1 off 0 provider confirmed the price")
    reply = ops.execute("/feed fallback 1 off 0 provider confirmed the price")
    assert reply.ok, reply
    assert changed(reply) == ["clamp_active true -> false (set_fallback off clears the clamp)"]
    view = feed(ops, 1)
    assert (view["fallback_active"], view["clamp_active"]) == (False, False)
    assert ops.events("PriceFeedFallbackEvent")[-1]["fallback_active"] is False
