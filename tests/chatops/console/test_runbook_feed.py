"""Runbook "Price feed" at the console: a clamp is cleared by switching fallback off (spec fact 17),
which the bot allows although fallback is already off; a reason works positionally and as
reason="..."."""

from __future__ import annotations

from tests.chatops.console.operators import Desk


def _feed(desk: Desk) -> dict[str, object]:
    return dict(desk.view("price_feed::get_price_view", 1))


def test_fallback_off_clears_a_clamp_and_reasons_read_both_ways(desk: Desk) -> None:
    """A 50 % jump clamps; /feed update is refused while the clamp is on; fallback off (only the
    clamp active) is requested, approved and clears it; the update then goes through with its
    reason typed as reason="..."."""
    now = desk.h.gateway.now_s()
    desk.h.server.ledger.apply("price_feed::update_price", [1, 1_875_000, now])
    assert _feed(desk)["clamp_active"] is True
    assert _feed(desk)["fallback_active"] is False
    desk.refused("/feed update 1 1300000 provider confirmed", "clamp not active", "active")

    done = desk.approved(
        "/feed fallback 1 off 0 provider confirmed the old price",
        reason_note="clamp_active true -> false (set_fallback off clears the clamp)",
    )
    assert done.ok
    assert (_feed(desk)["clamp_active"], _feed(desk)["fallback_active"]) == (False, False)
    assert desk.h.events("PriceFeedFallbackEvent")[-1]["fallback_active"] is False

    positional = desk.type("/feed update 1 1300000 provider confirmed")
    named = desk.type('/feed update 1 1300000 reason="provider confirmed"')
    assert positional.state == named.state == "pending"
    reasons = [{f.label: f.value for f in r.fields}["Reason"] for r in (positional, named)]
    assert reasons == ["provider confirmed", "provider confirmed"]
    assert desk.ok(f"/ops approve {named.request_id}", "bob").state == "succeeded"
    assert _feed(desk)["price"] == "1300000"
