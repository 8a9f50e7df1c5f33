"""/vrf: the VRF deposit procedure (status, snapshot, resume) and a lottery's request state."""

from __future__ import annotations

from typing import Any

from tests.commands.chain_double import failed_check
from tests.commands.harness import Harness, changed


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
    assert reply.severity == "warning"


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
