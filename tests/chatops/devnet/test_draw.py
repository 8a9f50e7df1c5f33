"""In-process tests of the emulated ``draw`` module and its dVRF stand-in (spec §4.4, §12.5, §12.6)."""

from __future__ import annotations

import pytest
from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import draw, lottery_registry
from chatops.devnet.contracts.lottery_registry import RetryPolicy
from chatops.devnet.framework import Call, World, sha3
from chatops.devnet.seed import BUYERS, demo_config
from tests.chatops.devnet.lottery_support import NOW, WorldTarget, buy, create_active, seeded
from tests.chatops.devnet.ops_support import STRANGER, aborts, admin


@pytest.fixture
def target() -> WorldTarget:
    return seeded()


def request(t: WorldTarget, lottery_id: int = 3, now_ts: int = NOW) -> None:
    t.apply("draw::request_draw_admin", [lottery_id, now_ts, 900, 6, 1])


def closing(t: WorldTarget, lottery_id: int, retry: tuple[int, int, int] = (0, 600, 600)) -> None:
    create_active(
        t, lottery_id, demo_config(NOW - 100, NOW + 100, retry=retry, winners_per_slot=(1, 1))
    )
    buy(t, lottery_id, BUYERS[0], 3, NOW - 50)
    t.apply("lottery_registry::advance_status", [lottery_id, 2])
    t.events.clear()


def test_request_draw_sets_state_payload_and_event(target: WorldTarget) -> None:
    """request_draw_admin stores the §12.5 payload, moves to DrawRequested and emits VrfRequestedEvent."""
    request(target)
    assert lottery_registry.status(target.world, 3) == 3
    state = draw.draw_state(target.world, 3)
    assert state is not None
    lottery = lottery_registry.get_lottery(target.world, 3)
    ser = Serializer()
    ser.u64(3)
    ser.u64(1)
    ser.to_bytes(state.snapshot_hash)
    ser.to_bytes(lottery.slots_checksum)
    ser.u8(1)
    ser.u64(0)
    ser.u8(1)
    ser.u64(900)
    ser.u8(6)
    assert state.payload == ser.output()
    ((name, data),) = target.events
    assert name == "history::VrfRequestedEvent"
    assert data["payload_hash"] == "0x" + sha3(ser.output()).hex()
    assert (data["attempt"], data["client_seed"], data["tickets_sold"], data["request_ts"]) == (
        1,
        "0",
        "9",
        str(NOW),
    )
    (view,) = target.read("draw::vrf_state_view", 3)
    assert view["status"] == 1
    assert view["retry_after_ts"] == str(NOW + 600)
    assert view["consumed"] is False
    assert draw.pending_requests(target.world) == [(3, NOW)]


def test_request_draw_pending_aborts_1701(target: WorldTarget) -> None:
    """A second request while one is pending aborts 0x1701."""
    request(target)
    with aborts("draw", 0x1701):
        request(target, now_ts=NOW + 10_000)


@pytest.mark.parametrize(
    ("lottery_id", "module", "code"), [(1, "draw", 0x1210), (99, "table", 0x6507)]
)
def test_request_draw_status_checks(
    target: WorldTarget, lottery_id: int, module: str, code: int
) -> None:
    """Only Closing/DrawRequested lotteries can be drawn; an unknown id aborts in the table."""
    with aborts(module, code):
        request(target, lottery_id)


def test_request_draw_needs_tickets(target: WorldTarget) -> None:
    """A Closing lottery without tickets aborts 0x1707."""
    create_active(target, 20, demo_config(NOW - 10, NOW + 10))
    target.apply("lottery_registry::advance_status", [20, 2])
    with aborts("draw", 0x1707):
        request(target, 20)


def test_request_draw_feature_and_pause_checks(target: WorldTarget) -> None:
    """Feature 3 disabled aborts 0x1403 (draw); a paused VRF deposit aborts 0x170D (vrf_deposit)."""
    target.apply("feature_switch::set_mode", [3, 0])
    with aborts("draw", 0x1403):
        request(target)
    target.apply("feature_switch::set_mode", [3, 1])
    target.apply("vrf_deposit::record_snapshot_admin", [1, 10_000_000_000, 1, NOW])
    with aborts("vrf_deposit", 0x170D):
        request(target)


def test_retry_schedule() -> None:
    """Fixed adds base, exponential doubles per attempt up to max, manual is 0 (§12.6)."""
    assert draw._retry_after(RetryPolicy(0, 600, 600), 3, 100) == 700
    assert [draw._retry_after(RetryPolicy(1, 10, 50), a, 0) for a in (1, 2, 3, 4, 5)] == [
        10,
        20,
        40,
        50,
        50,
    ]
    assert draw._retry_after(RetryPolicy(2, 1, 1), 1, 100) == 0


def test_fulfill_runs_the_callback(target: WorldTarget) -> None:
    """fulfill answers with the stored payload: status Drawn, VrfFulfilledEvent with the request time."""
    request(target, now_ts=NOW - 500)
    target.events.clear()
    target.fulfill_vrf(3)
    assert lottery_registry.status(target.world, 3) == 4
    ((name, data),) = target.events
    assert name == "history::VrfFulfilledEvent"
    state = draw.draw_state(target.world, 3)
    assert state is not None
    assert data["fulfilled_ts"] == str(NOW - 500)
    assert data["message_hash"] == data["payload_hash"]
    ser = Serializer()
    ser.uleb128(1)
    ser.u256(state.verified_numbers[0])
    assert data["verified_seed_hash"] == "0x" + sha3(ser.output()).hex()
    assert draw.pending_requests(target.world) == []
    with aborts("draw", 0x1702):
        target.fulfill_vrf(3)


def callback(t: WorldTarget, nonce: int, message: bytes, rng: int, seed: int) -> None:
    t.apply("draw::vrf_callback", [nonce, message, b"sig", "0x1", rng, seed], [])


def test_vrf_callback_checks(target: WorldTarget) -> None:
    """Unknown nonce 0x1703, rng_count 0x1706, client seed and payload mismatches 0x1704."""
    request(target)
    state = draw.draw_state(target.world, 3)
    assert state is not None
    nonce, payload = state.vrf_state.request_id, state.payload
    with aborts("draw", 0x1703):
        callback(target, nonce + 100, payload, 1, 0)
    with aborts("draw", 0x1706):
        callback(target, nonce, payload, 2, 0)
    with aborts("draw", 0x1704):
        callback(target, nonce, payload, 1, 5)
    with aborts("draw", 0x1704):
        callback(target, nonce, payload + b"x", 1, 0)
    callback(target, nonce, payload, 1, 0)
    assert lottery_registry.status(target.world, 3) == 4


def test_vrf_callback_after_cancel_aborts_1210(target: WorldTarget) -> None:
    """A callback for a lottery canceled meanwhile aborts 0x1210, leaving the request pending."""
    request(target)
    target.apply("cancellation::cancel_lottery_admin", [3, 1, NOW])
    with aborts("draw", 0x1210):
        target.fulfill_vrf(3)
    assert draw.pending_requests(target.world) == [(3, NOW)]


def test_manual_retry_scheduling(target: WorldTarget) -> None:
    """Manual policy: schedule works (>= now) and the next request is refused until the time (0x1709)."""
    closing(target, 30, retry=(2, 0, 0))
    with aborts("draw", 0x1702):
        target.apply("draw::schedule_manual_retry_admin", [30, NOW, NOW + 10])
    request(target, 30)
    with aborts("draw", 0x1710):
        target.apply("draw::schedule_manual_retry_admin", [30, NOW, NOW - 1])
    target.apply("draw::schedule_manual_retry_admin", [30, NOW, NOW + 10])
    (view,) = target.read("draw::vrf_state_view", 30)
    assert view["retry_after_ts"] == str(NOW + 10)
    assert view["retry_strategy"] == 2


def test_manual_retry_on_fixed_policy_aborts(target: WorldTarget) -> None:
    """schedule_manual_retry_admin on a fixed policy aborts 0x170E; a stranger gets 0x1202."""
    request(target)
    with aborts("draw", 0x170E):
        target.apply("draw::schedule_manual_retry_admin", [3, NOW, NOW + 10])
    with aborts("draw", 0x1202):
        target.apply("draw::schedule_manual_retry_admin", [3, NOW, NOW + 10], [STRANGER])


def test_auto_cancel_after_five_attempts(target: WorldTarget) -> None:
    """With attempt >= 5 (test-only state) a request cancels the lottery with reason 1 and succeeds."""
    request(target)
    state = draw.draw_state(target.world, 3)
    assert state is not None
    state.vrf_state.attempt = 5
    state.vrf_state.status = draw.VRF_FAILED
    request(target, now_ts=NOW + 10_000)
    assert lottery_registry.status(target.world, 3) == 7
    (record,) = target.read("views::get_cancellation", 3)
    assert record["vec"][0]["reason_code"] == 1


def test_reads_and_init() -> None:
    """Default vrf_state_view, finalization_snapshot aborts, max attempts, and init_draw once."""
    w = World()
    assert draw.vrf_state_view(w, 1)[0]["consumed"] is True
    with aborts("draw", 0x1202):
        draw.finalization_snapshot(w, 1)
    draw.init_draw(w, admin())
    with aborts("draw", 0x1201):
        draw.init_draw(w, admin())
    with aborts("table", 0x6507):
        draw.finalization_snapshot(w, 1)
    assert draw.has_state(w, 1) == [False]
    assert draw.max_vrf_attempts(w) == [5]
    with aborts("draw", 0x1202):
        draw.init_draw(World(), Call(signers=[STRANGER], now_s=0))
