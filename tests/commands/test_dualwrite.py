"""/dualwrite: flags, expected hashes and the legacy mirror against the devnet, with their preflight checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import redis as redis_lib

from commands.errors import PreconditionError
from commands.reply import Check
from tests.fakes.bot import Harness, apply, harness, nothing

HASH = "ab" * 32
# spec §12.8: canceled lottery 42, no sales, archived at 1732100000 (181 bytes of BCS).
VECTOR_BCS = bytes.fromhex(
    "2a0000000000000007076c6f7474657279056461696c792a000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000020000000000000020174a464c69ae5bfb"
    "e2bd04cb082187d11366e4985625e5c5594281a14a72260620b1462363aa1e60ef80560bebfbb69ac129c137ef"
    "97e3649e5f022d218475e4570000000000000000000000013d6700000000a0bf3d6700000000a0bf3d67000000"
    "00"
)
VECTOR_HASH = bytes.fromhex("3f74e9dc98696c4df24c518081ca530836de456c3eab8b0b6991a876ccfc3f5f")


def bare_devnet() -> AbstractContextManager[Harness]:
    """A devnet with nothing initialised (no dual-write control, no archive), for first-time steps."""
    return harness(seed=False)


@pytest.fixture
def bare() -> Iterator[Harness]:
    with bare_devnet() as h:
        yield h


def refused(h: Harness, line: str) -> Check:
    """Plan ``line`` expecting a failed preflight; returns the first failed check."""
    with pytest.raises(PreconditionError) as info:
        h.execute(line)
    return next(c for c in info.value.checks if not c.ok)


def flags_view(h: Harness) -> dict[str, object]:
    [view] = h.view("legacy_bridge::dual_write_flags")
    return dict(view)


def finalized_hash(h: Harness, lottery_id: int) -> str:
    """archive_slot_hash of the LotteryFinalizedEvent the contract emitted for ``lottery_id``."""
    [event] = [e for e in h.events("LotteryFinalizedEvent") if e["id"] == str(lottery_id)]
    return str(event["archive_slot_hash"])


def test_init_publishes_an_enabled_control_and_emits_no_event(bare: Harness) -> None:
    """init publishes the control enabled with the two flags given, and no ArchiveDualWriteStarted."""
    reply = bare.execute("/dualwrite init on off")
    assert reply.ok, reply
    assert flags_view(bare) == {
        "enabled": True,
        "abort_on_mismatch": True,
        "abort_on_missing": False,
        "expected_hash": {"vec": []},
    }
    assert bare.events("ArchiveDualWriteStartedEvent") == []
    assert "emits no event" in reply.text


def test_init_is_refused_when_a_control_exists(ops: Harness) -> None:
    """The seeded control (enabled) fails "not yet initialised"; nothing is sent."""
    before = ops.tx_count
    check = refused(ops, "/dualwrite init on on")
    assert check.name == "dual-write not yet initialised"
    assert check.seen.startswith("published (enabled on")
    assert check.required.startswith("not published")
    assert ops.tx_count == before


def test_init_detects_a_control_switched_fully_off(ops: Harness) -> None:
    """A control with every flag off reads like none; the simulated init still finds it."""
    apply(ops, "legacy_bridge::update_flags", False, False, False)
    before = ops.tx_count
    check = refused(ops, "/dualwrite init off off")
    assert check.name == "dual-write not yet initialised"
    assert check.seen == "published, every flag off"
    assert ops.tx_count == before


def test_init_needs_a_second_person(bare: Harness) -> None:
    """Through the runner, init passes its checks and then waits for approval; nothing is sent."""
    bare.needs_approval("/dualwrite init on on")


def test_flags_shows_the_switches_and_the_mirror(ops: Harness) -> None:
    """flags reads dual_write_flags and is_mirror_enabled as on/off fields."""
    reply = ops.run("/dualwrite flags")
    fields = {f.label: f.value for f in reply.fields}
    assert fields == {
        "Enabled": "on",
        "Abort on mismatch": "off",
        "Abort on missing": "off",
        "Legacy mirror": "off",
    }
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    assert ops.run("/dualwrite flags").data == {
        "enabled": True,
        "abort_on_mismatch": False,
        "abort_on_missing": False,
        "mirror_enabled": True,
    }


def test_flags_explains_all_off(bare: Harness) -> None:
    """Without a control every flag reads off, and the reply says what that can mean."""
    reply = bare.run("/dualwrite flags")
    assert reply.title == "Dual-write disabled, mirror off"
    assert "no control is published" in reply.text


def test_update_flags_changes_the_control(ops: Harness) -> None:
    """update-flags writes the three booleans to the control."""
    reply = ops.execute("/dualwrite update-flags on on off")
    assert reply.ok, reply
    view = flags_view(ops)
    assert (view["enabled"], view["abort_on_mismatch"], view["abort_on_missing"]) == (
        True,
        True,
        False,
    )


def test_update_flags_needs_a_control(bare: Harness) -> None:
    """Without a control the check names it (the call would abort 0x1B06); nothing is sent."""
    before = bare.tx_count
    check = refused(bare, "/dualwrite update-flags on on on")
    assert check.name == "dual-write control published"
    assert check.seen == "not published"
    assert "0x1B06" in check.required
    assert bare.tx_count == before


def test_enable_mirror_turns_it_on(ops: Harness) -> None:
    """enable-mirror publishes MirrorConfig."""
    assert ops.execute("/dualwrite enable-mirror").ok
    assert ops.view("legacy_bridge::is_mirror_enabled") == [True]


def test_enable_mirror_refuses_a_silent_no_op(ops: Harness) -> None:
    """With the mirror already on, enabling it would change nothing: refused, nothing sent."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    before = ops.tx_count
    check = refused(ops, "/dualwrite enable-mirror")
    assert (check.name, check.seen) == ("mirror state changes", "on")
    assert check.required.startswith("off")
    assert ops.tx_count == before


def test_enable_mirror_warns_when_the_bridge_is_missing(bare: Harness) -> None:
    """On a chain without history_bridge the plan says nothing will be copied."""
    reply = bare.execute("/dualwrite enable-mirror")
    assert "history_bridge is not initialised" in reply.text
    assert bare.view("legacy_bridge::is_mirror_enabled") == [True]


def test_disable_mirror_turns_it_off(ops: Harness) -> None:
    """disable-mirror removes MirrorConfig."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    assert ops.execute("/dualwrite disable-mirror").ok
    assert ops.view("legacy_bridge::is_mirror_enabled") == [False]


def test_disable_mirror_refuses_a_silent_no_op(ops: Harness) -> None:
    """The seeded mirror is off, so disabling it is refused; nothing is sent."""
    before = ops.tx_count
    check = refused(ops, "/dualwrite disable-mirror")
    assert (check.name, check.seen) == ("mirror state changes", "off")
    assert ops.tx_count == before


def test_set_records_the_expectation_and_emits_started(ops: Harness) -> None:
    """set stores the hash for the lottery and emits ArchiveDualWriteStartedEvent."""
    reply = ops.execute(f"/dualwrite set 4 0x{HASH}")
    assert reply.ok, reply
    [event] = ops.events("ArchiveDualWriteStartedEvent")
    assert (event["lottery_id"], event["expected_hash"]) == ("4", f"0x{HASH}")
    [view] = ops.view("legacy_bridge::dual_write_status", "4")
    assert view["expected_hash"] == {"vec": [f"0x{HASH}"]}


def test_set_says_what_it_replaces(ops: Harness) -> None:
    """A second set for the same lottery names the hash it replaces."""
    apply(ops, "legacy_bridge::set_expected_hash", 4, bytes.fromhex("cd" * 32))
    reply = ops.execute(f"/dualwrite set 4 0x{HASH}")
    assert "replacing 0xcdcdcdcd" in reply.text


def test_set_needs_a_control(bare: Harness) -> None:
    """Without a control, set is refused before sending (it would abort 0x1B06)."""
    before = bare.tx_count
    check = refused(bare, f"/dualwrite set 4 0x{HASH}")
    assert check.name == "dual-write control published"
    assert bare.tx_count == before


def test_set_rejects_a_hash_that_is_not_32_bytes(ops: Harness) -> None:
    """The hash argument must be 32 bytes of hex; the usage error says so."""
    reply = ops.run("/dualwrite set 4 0x1234")
    assert not reply.ok
    assert "a hash is 32 bytes" in reply.title


def test_clear_removes_the_expectation(ops: Harness) -> None:
    """clear removes a pending expectation."""
    apply(ops, "legacy_bridge::set_expected_hash", 4, bytes.fromhex(HASH))
    assert ops.execute("/dualwrite clear 4").ok
    assert ops.view("legacy_bridge::has_expected_hash", "4") == [False]


def test_clear_needs_a_pending_expectation(ops: Harness) -> None:
    """With nothing pending, clear would be a silent no-op: refused, nothing sent."""
    before = ops.tx_count
    check = refused(ops, "/dualwrite clear 4")
    assert (check.name, check.seen) == ("expected hash pending", "none")
    assert ops.tx_count == before


def test_status_shows_the_pending_hash(ops: Harness) -> None:
    """status shows the flags and the full expected hash of one lottery."""
    assert ops.run("/dualwrite status 4").data == {
        "enabled": True,
        "abort_on_mismatch": False,
        "abort_on_missing": False,
        "expected_hash": None,
    }
    apply(ops, "legacy_bridge::set_expected_hash", 4, bytes.fromhex(HASH))
    reply = ops.run("/dualwrite status 4")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Expected hash"] == f"0x{HASH}"
    assert "pending" in reply.text


def test_pending_lists_lotteries_in_table_order(ops: Harness) -> None:
    """pending lists pending_expected_hashes, swap-remove order included."""
    assert ops.run("/dualwrite pending").text == "none"
    for lottery_id in (4, 6, 3):
        apply(ops, "legacy_bridge::set_expected_hash", lottery_id, bytes.fromhex(HASH))
    apply(ops, "legacy_bridge::clear_expected_hash", 4)
    reply = ops.run("/dualwrite pending")
    assert reply.data == {"ids": [3, 6]}
    assert reply.title == "2 expected hash(es) pending"


def test_mirror_copies_the_summary_to_history_bridge(ops: Harness) -> None:
    """mirror writes lottery 5's BCS and archive hash to history_bridge and emits LegacySummaryEvent."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    reply = ops.execute("/dualwrite mirror 5")
    assert reply.ok, reply
    [event] = ops.events("LegacySummaryEvent")
    assert event["lottery_id"] == "5"
    [copy] = ops.view("history_bridge::get_summary", "5")
    assert copy["vec"][0]["archive_hash"] == finalized_hash(ops, 5)


def test_mirror_completes_a_matching_expectation(ops: Harness) -> None:
    """With both abort flags on and the true archive hash expected, mirror passes and completes it.

    The preflight computes sha3_256(bcs(summary)) from get_summary; had it differed from the
    contract's archive_slot_hash, the mismatch check would have refused.
    """
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    apply(ops, "legacy_bridge::update_flags", True, True, True)
    expected = bytes.fromhex(finalized_hash(ops, 5)[2:])
    apply(ops, "legacy_bridge::set_expected_hash", 5, expected)
    reply = ops.execute("/dualwrite mirror 5")
    assert reply.ok, reply
    [done] = ops.events("ArchiveDualWriteCompletedEvent")
    assert done["archive_hash"] == "0x" + expected.hex()
    assert ops.view("legacy_bridge::pending_expected_hashes") == [[]]


def test_mirror_needs_a_summary(ops: Harness) -> None:
    """Lottery 1 has no archived summary (get_summary aborts 0x6507): refused, nothing sent."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    before = ops.tx_count
    check = refused(ops, "/dualwrite mirror 1")
    assert check.name == "archived summary exists"
    assert check.seen.startswith("none")
    assert ops.tx_count == before


def test_mirror_needs_the_mirror_on(ops: Harness) -> None:
    """With the mirror off the call is a silent no-op, so it is refused."""
    before = ops.tx_count
    check = refused(ops, "/dualwrite mirror 5")
    assert (check.name, check.seen) == ("legacy mirror enabled", "off")
    assert check.required.startswith("on")
    assert ops.tx_count == before


def test_mirror_needs_history_bridge(bare: Harness) -> None:
    """A summary with the mirror on but no history_bridge would copy nothing: refused."""
    apply(bare, "history::init_history")
    apply(bare, "history::import_legacy_summary_admin", 42, VECTOR_BCS, VECTOR_HASH)
    apply(bare, "legacy_bridge::enable_legacy_mirror")
    before = bare.tx_count
    check = refused(bare, "/dualwrite mirror 42")
    assert (check.name, check.seen) == ("history_bridge initialised", "no")
    assert bare.tx_count == before


def test_mirror_refuses_a_mismatch_that_would_abort(ops: Harness) -> None:
    """abort_on_mismatch with a different expected hash would abort 0x1B02: refused first."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    apply(ops, "legacy_bridge::update_flags", True, True, False)
    apply(ops, "legacy_bridge::set_expected_hash", 5, bytes.fromhex(HASH))
    before = ops.tx_count
    check = refused(ops, "/dualwrite mirror 5")
    assert check.name == "dual-write expectation"
    assert check.seen.startswith("expected 0xabababab")
    assert finalized_hash(ops, 5)[2:10] in check.seen
    assert "0x1B02" in check.required
    assert ops.tx_count == before


def test_mirror_refuses_a_missing_expectation_that_would_abort(ops: Harness) -> None:
    """abort_on_missing without an expected hash would abort 0x1B05: refused first."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    apply(ops, "legacy_bridge::update_flags", True, False, True)
    before = ops.tx_count
    check = refused(ops, "/dualwrite mirror 5")
    assert (check.name, check.seen) == ("dual-write expectation", "no expected hash set")
    assert "0x1B05" in check.required
    assert ops.tx_count == before


def test_mirror_tolerates_a_mismatch_without_abort_on_mismatch(ops: Harness) -> None:
    """Without abort_on_mismatch a differing expectation passes and stays pending, as on chain."""
    apply(ops, "legacy_bridge::enable_legacy_mirror")
    apply(ops, "legacy_bridge::set_expected_hash", 5, bytes.fromhex(HASH))
    assert ops.execute("/dualwrite mirror 5").ok
    assert ops.view("legacy_bridge::pending_expected_hashes") == [["5"]]


def _mirror_on(h: Harness) -> None:
    apply(h, "legacy_bridge::enable_legacy_mirror")


def _expect_4(h: Harness) -> None:
    apply(h, "legacy_bridge::set_expected_hash", 4, bytes.fromhex(HASH))


@pytest.mark.parametrize(
    ("setup", "line"),
    [
        (nothing, "/dualwrite update-flags on off off"),
        (nothing, "/dualwrite enable-mirror"),
        (_mirror_on, "/dualwrite disable-mirror"),
        (nothing, f"/dualwrite set 4 0x{HASH}"),
        (_expect_4, "/dualwrite clear 4"),
        (_mirror_on, "/dualwrite mirror 5"),
    ],
)
def test_privileged_steps_wait_for_a_second_person(
    ops: Harness, setup: Callable[[Harness], None], line: str
) -> None:
    """Each dual-write change passes its checks, then needs approval; nothing is sent."""
    setup(ops)
    ops.needs_approval(line)


def test_viewer_may_read_but_not_change(ops: Harness) -> None:
    """dave (read-only) reads the flags but cannot enable the mirror."""
    assert ops.run("/dualwrite flags", user="dave").ok
    reply = ops.run("/dualwrite enable-mirror", user="dave")
    assert "operator role" in reply.title


@pytest.fixture
def two_person(redis: redis_lib.Redis) -> Iterator[Harness]:
    with harness(redis_client=redis) as h:
        yield h


def test_set_runs_after_a_second_person_approves(two_person: Harness) -> None:
    """alice requests /dualwrite set with a reason, bob approves, and the expectation is on chain."""
    requested = two_person.run(f'/dualwrite set 4 0x{HASH} reason="migration of lottery 4"')
    assert requested.state == "pending", requested
    assert two_person.view("legacy_bridge::has_expected_hash", "4") == [False]
    approved = two_person.run(f"/ops approve {requested.request_id}", user="bob")
    assert approved.state == "succeeded", approved
    assert two_person.view("legacy_bridge::has_expected_hash", "4") == [True]
    assert len(two_person.events("ArchiveDualWriteStartedEvent")) == 1
