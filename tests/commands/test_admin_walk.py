"""The runbook's admin section walked end to end on the devnet through the bot (Admin 1-11)."""

from __future__ import annotations

from typing import Any

from chatops.devnet.seed import BUYERS, PARTNER
from tests.fakes.bot import Harness

LOTTERY = 10
WALK_EVENTS = (
    "VrfRequestedEvent",
    "VrfFulfilledEvent",
    "WinnersComputedEvent",
    "PayoutBatchEvent",
    "PartnerPayoutEvent",
    "PayoutBatchEvent",
    "LotteryFinalizedEvent",
)


def lottery_events(ops: Harness, lottery_id: int) -> list[str]:
    """Short names of the walk's events for one lottery, in chain order."""
    names = []
    for event in ops.server.ledger.events:
        name = event.type.rsplit("::", 1)[-1]
        data: dict[str, Any] = event.data or {}
        if name in WALK_EVENTS and str(lottery_id) in (data.get("lottery_id"), data.get("id")):
            names.append(name)
    return names


def status_of(ops: Harness, lottery_id: int) -> int:
    [view] = ops.view("views::get_lottery_status", str(lottery_id))
    return int(view["status"])


def test_admin_section_end_to_end(ops: Harness) -> None:
    """VRF deposit, create, validate, activate, sales, close, draw, winners, payouts, finalize, archive."""
    # Admin 1: the VRF deposit, and a fresh snapshot.
    assert ops.run("/vrf status").title == "VRF requests allowed"
    assert ops.run("/vrf snapshot 20_000_000_000 10_000_000_000 20_000_000_000").ok
    [deposit] = ops.view("views::get_vrf_deposit_status")
    assert deposit["last_update_ts"] == str(ops.gateway.now_s())

    # Admin 2-5: draft from lottery 4's config (3 winners), check it, activate it.
    reply = ops.run(f"/lottery create {LOTTERY} 100000000 1000 120s 4")
    assert reply.ok, reply
    assert status_of(ops, LOTTERY) == 0
    show = {f.label: f.value for f in ops.run(f"/lottery show {LOTTERY}").fields}
    assert show["Prize slots"] == "0: 1 winner(s), 1: 2 winner(s)"
    assert ops.run(f"/lottery validate {LOTTERY}").ok
    assert ops.run(f"/lottery activate {LOTTERY}").ok
    assert status_of(ops, LOTTERY) == 1
    assert LOTTERY in (ops.run("/lottery list active").data or {})["ids"]

    # Admin 6: the chain's users buy tickets (signed by themselves, not the bot).
    now = ops.gateway.now_s()
    for block, (buyer, quantity) in enumerate(zip(BUYERS, (5, 3, 2, 4), strict=True)):
        ops.server.ledger.apply(
            "sales::purchase_tickets_public", [LOTTERY, quantity, now, 2_000 + block], [buyer]
        )
    sold = {f.label: f.value for f in ops.run(f"/lottery status {LOTTERY}").fields}
    assert sold["Tickets sold"] == "14"

    # Admin 7: after sales_end, close and request the draw; the devnet fulfils it.
    ops.advance(121)
    assert ops.run(f"/lottery close {LOTTERY}").ok
    draw = ops.run(f"/lottery draw {LOTTERY}")
    assert draw.title == f"Lottery {LOTTERY}: VRF fulfilled"
    assert status_of(ops, LOTTERY) == 4

    # Admin 8: winners, the batch plan, one batch (approved), the accounting invariant.
    assert ops.run(f"/payouts compute {LOTTERY}").ok
    assert status_of(ops, LOTTERY) == 5
    plan = {f.label: f.value for f in ops.run(f"/payouts plan {LOTTERY}").fields}
    assert plan["Winners"] == "3/3 assigned"
    assert plan["Next payout round"] == "1 (nonce 1 = payout round 1)"
    assert plan["Winners paid"] == "0 of 3 (each prize 350,000,000; /payouts winners 10)"
    batch = ops.execute(f"/payouts batch {LOTTERY} 3 1050000000 100000000")
    assert batch.ok, batch
    [acc] = ops.view("views::accounting_snapshot", str(LOTTERY))
    assert int(acc["total_prize_paid"]) <= int(acc["total_allocated"]) == 1_050_000_000
    assert int(acc["total_operations_paid"]) <= int(acc["total_operations_allocated"])
    assert any(m.startswith("accounting after batch: [ok]") for m in ops.progress)

    # Admin 9: the partner cap, then a partner payout (approved).
    caps = ops.run("/roles partner-caps")
    assert any(f.label == f"Partner {PARTNER}" for f in caps.fields)
    partner = ops.execute(f"/payouts partner {LOTTERY} {PARTNER} 20000000")
    assert partner.ok, partner
    [acc] = ops.view("views::accounting_snapshot", str(LOTTERY))
    assert acc["total_operations_paid"] == "120000000"

    # Admin 10: premium caps are read (cleanup is the roles section's business).
    assert ops.run("/roles premium-caps").ok

    # Admin 8 end / 11: the operations left, finalize (approved), the archived summary and
    # dual-write.
    assert ops.execute(f"/payouts batch {LOTTERY} 0 0 20000000").ok
    assert ops.run(f"/lottery accounting {LOTTERY}").title.endswith("consistent")
    assert ops.execute(f"/lottery finalize {LOTTERY}").ok
    assert status_of(ops, LOTTERY) == 6
    summary = ops.run(f"/history summary {LOTTERY}")
    assert summary.title == f"Lottery {LOTTERY} summary: Finalized"
    assert ops.run(f"/history check {LOTTERY}").ok

    assert lottery_events(ops, LOTTERY) == list(WALK_EVENTS)
