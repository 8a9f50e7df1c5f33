"""Runbook "VRF deposit monitoring" (and Admin 1, 7) at the console: a snapshot that would pause
every draw or lift the pause needs a second person like /vrf resume, each snapshot request shows
the last snapshot, the new figures and what changes; a manual-retry lottery gets its retry."""

from __future__ import annotations

from chatops.devnet.seed import BUYERS, demo_config, encode_config
from tests.chatops.console.operators import Desk

LOW = "/vrf snapshot 12000000000 10000000000 12000000000"
HEALTHY = "/vrf snapshot 30000000000 10000000000 30000000000"
MANUAL = 11


def _paused(desk: Desk) -> bool:
    return bool(desk.view("views::get_vrf_deposit_status")["requests_paused"])


def test_one_operator_can_neither_pause_nor_lift_the_pause_with_a_snapshot(desk: Desk) -> None:
    """Made-up low figures and a healthy-looking snapshot each wait for a second person; the
    approved ones pause, then resume, draws; a snapshot that changes nothing runs alone."""
    before = desk.h.tx_count
    request = desk.type(f"{LOW} treasury says the deposit is low")
    text = desk.printed[-1]
    assert request.state == "pending", text
    assert "(last recorded at " in text
    assert "total 20,000,000,000, minimum 10,000,000,000, effective 20,000,000,000" in text
    assert "requests_paused false -> true: every draw request is refused until resumed" in text
    assert "Needs approval because: it pauses VRF requests, stopping every draw" in text
    assert desk.h.tx_count == before
    assert not _paused(desk)
    assert desk.ok(f"/ops approve {request.request_id}", "bob").state == "succeeded"
    assert _paused(desk)

    status = desk.ok("/ops status")
    assert status.fields[0].value.startswith("VRF requests PAUSED since ")
    desk.refused(
        "/lottery draw 3",
        "vrf_deposit::ensure_requests_allowed (requests_paused = false)",
        "true",
        "false",
    )

    # A second low snapshot keeps it paused: nothing about the pause changes, so it runs alone.
    alone = desk.ok("/vrf snapshot 11000000000 10000000000 11000000000")
    assert "requests_paused true (stays paused), below the floor" in desk.printed[-1]
    assert alone.request_id is None

    # Healthy-looking figures would lift the pause: a request, nothing sent, still paused.
    events = len(desk.h.events("VrfRequestsResumedEvent"))
    lift = desk.type(f'{HEALTHY} reason="deposit topped up"')
    assert lift.state == "pending", desk.printed[-1]
    assert "requests_paused true -> false: lifts the pause in place since" in desk.printed[-1]
    assert "as /vrf resume does (two people)" in desk.printed[-1]
    assert _paused(desk)
    assert len(desk.h.events("VrfRequestsResumedEvent")) == events
    assert desk.ok(f"/ops approve {lift.request_id}", "carol").state == "succeeded"
    assert not _paused(desk)
    assert desk.ok("/lottery draw 3").title == "Lottery 3: VRF fulfilled"


def test_a_manual_retry_lottery_gets_its_retry_scheduled(desk: Desk) -> None:
    """/vrf request shows the manual policy unscheduled; /vrf retry sets the time; a retry on a
    fixed-policy lottery is refused with nothing sent."""
    now = desk.h.gateway.now_s()
    config = demo_config(now - 7_200, now - 60, run_id=MANUAL, retry=(2, 0, 0))
    ledger = desk.h.server.ledger
    ledger.apply("lottery_registry::create_draft_admin", [MANUAL, encode_config(config)])
    ledger.apply("lottery_registry::advance_status", [MANUAL, 1])
    ledger.apply("sales::purchase_tickets_public", [MANUAL, 2, now - 3_600, 900], [BUYERS[1]])
    ledger.vrf_delay_s = 10**6  # the dVRF does not answer
    desk.ok(f"/lottery draw {MANUAL} 0s")
    fields = desk.fields(f"/vrf request {MANUAL}")
    assert fields["Retry"] == "manual retry, attempt 1 of 5, manual retry not scheduled"
    desk.ok(f"/vrf retry {MANUAL} 15m")
    [state] = desk.h.view("draw::vrf_state_view", str(MANUAL))
    assert state["retry_after_ts"] == str(now + 900)
    assert "retry after " in desk.fields(f"/vrf request {MANUAL}")["Retry"]
    desk.ok("/lottery draw 3 0s")
    desk.refused("/vrf retry 3", "manual retry policy", "fixed", "manual")
