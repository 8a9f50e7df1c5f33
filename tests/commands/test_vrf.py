"""/vrf: the VRF deposit procedure (status, snapshot, resume) and a lottery's request state."""

from __future__ import annotations

from typing import Any

from chatops.devnet.seed import BUYERS, demo_config, encode_config
from tests.commands.chain_double import failed_check
from tests.fakes.bot import Harness, changed


def deposit(ops: Harness) -> dict[str, Any]:
    [view] = ops.view("views::get_vrf_deposit_status")
    return dict(view)


def pause(ops: Harness) -> None:
    """A snapshot below the floor pauses requests."""
    ops.server.ledger.apply(
        "vrf_deposit::record_snapshot_admin", [1, 10_000_000_000, 1, ops.gateway.now_s()]
    )


def test_status_reads_the_deposit(ops: Harness) -> None:
    """/vrf status shows the seeded healthy deposit: 20 SUPRA against 15 required."""
    reply = ops.run("/vrf status")
    assert reply.title == "VRF requests allowed"
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Effective balance"] == "20,000,000,000"
    assert fields["Required minimum"] == "15,000,000,000"


def test_status_warns_when_paused(ops: Harness) -> None:
    """A paused deposit is a warning."""
    pause(ops)
    reply = ops.run("/vrf status")
    assert reply.title == "VRF requests PAUSED"
    assert reply.tone == "warning"


def test_request_reads_a_lottery_vrf_state(ops: Harness) -> None:
    """/vrf request shows lottery 4's fulfilled and consumed request."""
    reply = ops.run("/vrf request 4")
    assert reply.title == "Lottery 4: VRF Fulfilled"
    assert {f.label: f.value for f in reply.fields}["Consumed"] == "yes"


def test_snapshot_records_the_balances(ops: Harness) -> None:
    """A healthy snapshot that leaves the pause as it is runs alone: it stores the balances, emits
    VrfDepositSnapshotEvent and says what it changed."""
    reply = ops.run("/vrf snapshot 30_000_000_000 10_000_000_000 25_000_000_000")
    assert reply.ok, reply
    view = deposit(ops)
    assert (view["total_balance"], view["effective_balance"]) == ("30000000000", "25000000000")
    assert view["last_update_ts"] == str(ops.gateway.now_s())
    assert ops.events("VrfDepositSnapshotEvent")[-1]["total_balance"] == "30000000000"
    assert "(last recorded at " in reply.text
    assert "total 20,000,000,000, minimum 10,000,000,000, effective 20,000,000,000" in reply.text
    assert changed(reply)[0] == "requests_paused false (unchanged)"


def test_snapshot_below_the_floor_needs_a_second_person(ops: Harness) -> None:
    """A low snapshot would pause every draw: it passes its checks but needs approval; nothing sent."""
    reply = ops.needs_approval("/vrf snapshot 12000000000 10000000000 12000000000 low balance")
    assert "it pauses VRF requests" in reply.title
    assert deposit(ops)["requests_paused"] is False


def test_snapshot_below_the_floor_pauses_requests_once_approved(ops: Harness) -> None:
    """Executed (as after an approval), the low snapshot pauses VRF requests on chain."""
    assert ops.execute("/vrf snapshot 12000000000 10000000000 12000000000").ok
    assert deposit(ops)["requests_paused"] is True
    assert ops.events("VrfRequestsPausedEvent")


def test_healthy_snapshot_while_paused_needs_a_second_person(ops: Harness) -> None:
    """A healthy snapshot would lift a pause, which /vrf resume does only with two people."""
    pause(ops)
    reply = ops.needs_approval('/vrf snapshot 30000000000 10000000000 30000000000 reason="top-up"')
    assert "it lifts the VRF pause" in reply.title
    assert deposit(ops)["requests_paused"] is True


def test_low_snapshot_while_paused_runs_alone(ops: Harness) -> None:
    """While paused, a snapshot that keeps it paused changes no pause state: no approval."""
    pause(ops)
    reply = ops.run("/vrf snapshot 2 10000000000 2")
    assert reply.ok, reply
    assert changed(reply)[0] == ("requests_paused true (stays paused), below the floor")


def test_snapshot_refuses_effective_above_total(ops: Harness) -> None:
    """An effective balance above the total is a typo: refused before sending."""
    before = ops.tx_count
    reply = ops.run("/vrf snapshot 1000 10 2000")
    check = failed_check(reply, "effective <= total balance")
    assert check.seen == "2000 > 1000"
    assert ops.tx_count == before


def test_resume_unpauses(ops: Harness) -> None:
    """After a pause, resume (privileged, executed) clears requests_paused."""
    pause(ops)
    reply = ops.execute("/vrf resume")
    assert reply.ok, reply
    assert "override" in reply.text
    assert deposit(ops)["requests_paused"] is False
    assert ops.events("VrfRequestsResumedEvent")


def test_resume_is_privileged(ops: Harness) -> None:
    """Resuming VRF requests needs a second person."""
    pause(ops)
    ops.needs_approval('/vrf resume reason="topped up"')


def test_resume_refuses_when_not_paused(ops: Harness) -> None:
    """Resume is a no-op when requests are allowed: refused."""
    before = ops.tx_count
    check = failed_check(ops.run('/vrf resume reason="just in case"'), "requests paused")
    assert check.seen == "not paused"
    assert ops.tx_count == before


MANUAL = 11


def _manual_lottery_requested(ops: Harness) -> None:
    """Lottery 11 with a manual retry policy, its draw requested and never fulfilled."""
    now = ops.gateway.now_s()
    config = demo_config(now - 7_200, now - 60, run_id=MANUAL, retry=(2, 0, 0))
    ops.server.ledger.apply("lottery_registry::create_draft_admin", [MANUAL, encode_config(config)])
    ops.server.ledger.apply("lottery_registry::advance_status", [MANUAL, 1])
    ops.server.ledger.apply(
        "sales::purchase_tickets_public", [MANUAL, 2, now - 3_600, 900], [BUYERS[0]]
    )
    ops.server.ledger.vrf_delay_s = 10**6
    assert ops.run(f"/lottery draw {MANUAL} 0s").ok


def test_request_shows_the_retry_state(ops: Harness) -> None:
    """/vrf request names the manual policy, the attempt of 5 and why a new request is refused."""
    _manual_lottery_requested(ops)
    fields = {f.label: f.value for f in ops.run(f"/vrf request {MANUAL}").fields}
    assert fields["Retry policy"] == "manual"
    assert fields["Attempt"] == "1 of 5"
    assert fields["Retry"] == "manual retry, attempt 1 of 5, manual retry not scheduled"
    assert fields["A new request"].startswith("refused while this request is pending (0x1701")
    assert f"/refund start {MANUAL} vrf" in fields["A new request"]


def test_retry_schedules_the_next_attempt(ops: Harness) -> None:
    """/vrf retry sends schedule_manual_retry_admin with now + delay and says the request stays pending."""
    _manual_lottery_requested(ops)
    now = ops.gateway.now_s()
    reply = ops.run(f"/vrf retry {MANUAL} 10m")
    assert reply.ok, reply
    assert "still pending" in reply.text
    assert changed(reply) == [f"retry_after_ts 0 -> {now + 600}"]
    [view] = ops.view("draw::vrf_state_view", str(MANUAL))
    assert view["retry_after_ts"] == str(now + 600)


def test_retry_refused_for_a_fixed_policy(ops: Harness) -> None:
    """A fixed policy sets its own window: /vrf retry would abort 0x170E, so nothing is sent."""
    ops.server.ledger.vrf_delay_s = 10**6
    assert ops.run("/lottery draw 3 0s").ok
    before = ops.tx_count
    check = failed_check(ops.run("/vrf retry 3"), "manual retry policy")
    assert check.seen == "fixed"
    assert ops.tx_count == before


def test_retry_refused_before_any_request(ops: Harness) -> None:
    """No draw state yet (0x1702): refused, pointing at /lottery draw."""
    before = ops.tx_count
    check = failed_check(ops.run("/vrf retry 3"), "VRF requested before")
    assert check.seen == "attempt 0"
    assert ops.tx_count == before


def test_ops_status_shows_the_pause_and_since_when(ops: Harness) -> None:
    """A paused deposit is the first thing /ops status asks attention for, with its start time."""
    pause(ops)
    reply = ops.run("/ops status")
    assert reply.tone == "warning"
    first = reply.fields[0].value
    assert first.startswith("VRF requests PAUSED since ")
    assert first.endswith("no draw can be requested")
    assert (reply.data or {})["vrf_deposit"]["requests_paused"] is True
