"""In-process tests of the emulated ``vrf_deposit`` module (spec §4.7, §7.3, §12.9)."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import vrf_deposit
from chatops.devnet.framework import World
from tests.chatops.devnet.ops_support import aborts, admin, names, stranger, validate

HEAD = {"event_version": 1, "event_category": 7}


@pytest.fixture
def world() -> World:
    w = World()
    vrf_deposit.init_vrf_deposit(w, admin(), 15_000, 1_000)
    return w


def test_status_defaults_before_init() -> None:
    """get_status and the internal API return zeros / not paused without a ledger."""
    w = World()
    [status] = vrf_deposit.get_status(w)
    assert status == vrf_deposit.status_json(w)
    assert status["requests_paused"] is False
    assert status["total_balance"] == "0"
    assert vrf_deposit.requests_paused(w) is False
    validate("VrfDepositStatusView", status)


def test_init_vrf_deposit_aborts(world: World) -> None:
    """init: stranger 0x1202, twice 0x1201, multiplier < 10 000 0x170C."""
    with aborts("vrf_deposit", 0x1202):
        vrf_deposit.init_vrf_deposit(World(), stranger(), 10_000, 0)
    with aborts("vrf_deposit", 0x1201):
        vrf_deposit.init_vrf_deposit(world, admin(), 10_000, 0)
    with aborts("vrf_deposit", 0x170C):
        vrf_deposit.init_vrf_deposit(World(), admin(), 9_999, 0)


def test_healthy_snapshot_emits_only_snapshot(world: World) -> None:
    """A healthy snapshot stores required_minimum = min x bps / 10 000 and emits one event."""
    call = admin()
    vrf_deposit.record_snapshot_admin(world, call, 5_000, 2_000, 4_000, 77)
    assert call.events == [
        (
            "history::VrfDepositSnapshotEvent",
            {
                **HEAD,
                "total_balance": "5000",
                "minimum_balance": "2000",
                "effective_balance": "4000",
                "required_minimum": "3000",
                "effective_floor": "1000",
                "timestamp": "77",
            },
        )
    ]
    [status] = vrf_deposit.get_status(world)
    assert status["last_update_ts"] == "77"
    assert status["required_minimum"] == "3000"
    validate("VrfDepositStatusView", status)


def test_low_snapshot_pauses_once_and_alerts_every_time(world: World) -> None:
    """Below the floor: Snapshot+Alert+Paused the first time, Snapshot+Alert afterwards."""
    first = admin()
    vrf_deposit.record_snapshot_admin(world, first, 5_000, 2_000, 2_999, 100)
    assert names(first) == [
        "history::VrfDepositSnapshotEvent",
        "history::VrfDepositAlertEvent",
        "history::VrfRequestsPausedEvent",
    ]
    assert first.events[2][1] == {**HEAD, "paused_since_ts": "100"}
    assert first.events[1][1] == first.events[0][1]
    second = admin()
    vrf_deposit.record_snapshot_admin(world, second, 5_000, 0, 999, 200)
    assert names(second) == ["history::VrfDepositSnapshotEvent", "history::VrfDepositAlertEvent"]
    assert vrf_deposit.requests_paused(world) is True
    assert vrf_deposit.status_json(world)["paused_since_ts"] == "100"
    healthy = admin()
    vrf_deposit.record_snapshot_admin(world, healthy, 5_000, 0, 1_000, 300)
    assert healthy.events[-1] == ("history::VrfRequestsResumedEvent", {**HEAD, "resumed_ts": "300"})
    assert vrf_deposit.status_json(world)["paused_since_ts"] == "0"


def test_record_snapshot_aborts(world: World) -> None:
    """record_snapshot_admin: stranger 0x1202, no ledger 0x170B, overflow 0x1605."""
    with aborts("vrf_deposit", 0x1202):
        vrf_deposit.record_snapshot_admin(world, stranger(), 1, 1, 1, 1)
    with aborts("vrf_deposit", 0x170B):
        vrf_deposit.record_snapshot_admin(World(), admin(), 1, 1, 1, 1)
    with aborts("vrf_deposit", 0x1605):
        vrf_deposit.record_snapshot_admin(world, admin(), 1, (1 << 64) - 1, 1, 1)


def test_update_config_changes_thresholds_only(world: World) -> None:
    """update_config emits nothing and takes effect at the next snapshot."""
    vrf_deposit.record_snapshot_admin(world, admin(), 0, 0, 500, 1)
    call = admin()
    vrf_deposit.update_config(world, call, 10_000, 0)
    assert call.events == []
    assert vrf_deposit.requests_paused(world) is True


def test_update_config_aborts(world: World) -> None:
    """update_config: stranger 0x1202, bad multiplier 0x170C, missing ledger 0x170B."""
    with aborts("vrf_deposit", 0x1202):
        vrf_deposit.update_config(world, stranger(), 10_000, 0)
    with aborts("vrf_deposit", 0x170C):
        vrf_deposit.update_config(world, admin(), 1, 0)
    with aborts("vrf_deposit", 0x170B):
        vrf_deposit.update_config(World(), admin(), 10_000, 0)


def test_resume_requests_unpauses_or_is_silent(world: World) -> None:
    """resume_requests is a silent no-op when not paused and unpauses without a balance check."""
    idle = admin()
    vrf_deposit.resume_requests(world, idle, 5)
    assert idle.events == []
    vrf_deposit.record_snapshot_admin(world, admin(), 0, 0, 0, 10)
    call = admin()
    vrf_deposit.resume_requests(world, call, 20)
    assert call.events == [("history::VrfRequestsResumedEvent", {**HEAD, "resumed_ts": "20"})]
    assert vrf_deposit.requests_paused(world) is False


def test_resume_requests_aborts(world: World) -> None:
    """resume_requests: stranger 0x1202, missing ledger 0x170B."""
    with aborts("vrf_deposit", 0x1202):
        vrf_deposit.resume_requests(world, stranger(), 1)
    with aborts("vrf_deposit", 0x170B):
        vrf_deposit.resume_requests(World(), admin(), 1)
