"""/lottery: reads, the lifecycle actions and their preflight checks against the devnet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from chatops.chain.calls import TypedArg
from chatops.chain.errors import ChainAbortError
from tests.commands.chain_double import ScriptedChain, failed_check, run_on
from tests.fakes.bot import Harness, paid_out


def test_status_reads_the_seeded_active_lottery(ops: Harness) -> None:
    """/lottery status shows the status name and the sales totals read from the chain."""
    reply = ops.run("/lottery status 1")
    assert reply.ok
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Status"] == "Active"
    assert fields["Tickets sold"] == "8"


def test_unknown_lottery_is_named_abort_not_number(ops: Harness) -> None:
    """An unknown id shows the table abort by name and meaning, never a bare code."""
    reply = ops.run("/lottery status 99")
    assert not reply.ok
    assert "0x6507" in reply.title
    assert "table key not found" in reply.title


def test_activate_runs_the_three_runbook_checks_then_sends(ops: Harness) -> None:
    """Activation checks Draft, snapshot_frozen and validate_config, then the lottery is Active."""
    reply = ops.run("/lottery activate 2")
    assert reply.ok, reply
    assert [c.name for c in reply.checks] == [
        "lottery status",
        "snapshot_frozen = false",
        "views::validate_config",
    ]
    [view] = ops.view("views::get_lottery_status", "2")
    assert view["status"] == 1


def test_activate_refuses_a_non_draft_and_sends_nothing(ops: Harness) -> None:
    """A failed check names the check, the value seen and the value required; no transaction."""
    before = ops.tx_count
    reply = ops.run("/lottery activate 1")
    assert not reply.ok
    failed = [c for c in reply.checks if not c.ok]
    assert failed[0].name == "lottery status"
    assert failed[0].seen == "Active"
    assert failed[0].required == "Draft"
    assert ops.tx_count == before


def test_typo_gets_did_you_mean_and_usage(ops: Harness) -> None:
    """A mistyped subcommand suggests the closest one."""
    reply = ops.run("/lottery activte 2")
    assert not reply.ok
    assert "Did you mean /lottery activate?" in reply.title


def test_viewer_cannot_run_actions(ops: Harness) -> None:
    """dave (read-only) may read but not activate."""
    assert ops.run("/lottery status 2", user="dave").ok
    reply = ops.run("/lottery activate 2", user="dave")
    assert not reply.ok
    assert "operator role" in reply.title


# --- helpers -----------------------------------------------------------------------------------

SALES_S = 60  # short sales windows: the harness client stamps tx expiry from the wall clock (300 s)


def lottery_status(ops: Harness, lottery_id: int) -> dict[str, Any]:
    [view] = ops.view("views::get_lottery_status", str(lottery_id))
    return dict(view)


def closed_lottery_without_sales(ops: Harness, lottery_id: int) -> None:
    """Create, activate, let the sales window pass with no ticket sold, close."""
    assert ops.run(f"/lottery create {lottery_id} 100000000 1000 {SALES_S}s").ok
    assert ops.run(f"/lottery activate {lottery_id}").ok
    ops.advance(SALES_S + 1)
    assert ops.run(f"/lottery close {lottery_id}").ok


# --- reads -------------------------------------------------------------------------------------


def test_show_renders_the_chain_config(ops: Harness) -> None:
    """/lottery show reads views::get_lottery: price, limits, distribution and prize slots."""
    [config] = ops.view("views::get_lottery", "2")
    reply = ops.run("/lottery show 2")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Ticket price"] == f"{int(config['ticket_price']):,}"
    assert fields["Distribution (bps)"] == "prize 7000, jackpot 1500, operations 1000, reserve 500"
    assert fields["Primary type / tags"] == "3 / 0x14"
    assert fields["Prize slots"] == "0: 1 winner(s)"


@pytest.mark.parametrize(("which", "ids"), [("active", [1]), ("finalized", [5])])
def test_list_reads_active_and_finalized_ids(ops: Harness, which: str, ids: list[int]) -> None:
    """/lottery list returns the ids the chain's list views return."""
    reply = ops.run(f"/lottery list {which}")
    assert reply.data == {"ids": ids}


def test_validate_reports_a_clean_config(ops: Harness) -> None:
    """/lottery validate runs views::validate_config and reports it clean."""
    reply = ops.run("/lottery validate 2")
    assert reply.ok
    assert reply.checks[0].seen == "clean"


# --- create ------------------------------------------------------------------------------------


def test_create_makes_a_draft_with_the_sales_window_from_now(ops: Harness) -> None:
    """/lottery create sends create_draft_admin: Draft, price, cap and a window opening now."""
    now = ops.gateway.now_s()
    reply = ops.run("/lottery create 10 200_000_000 1,000 2h")
    assert reply.ok, reply
    assert lottery_status(ops, 10)["status"] == 0
    [config] = ops.view("views::get_lottery", "10")
    assert config["sales_window"] == {"sales_start": str(now), "sales_end": str(now + 7200)}
    assert config["ticket_price"] == "200000000"
    assert config["ticket_limits"]["max_tickets_total"] == "1000"
    assert ops.events("LotteryCreatedEvent")[-1]["id"] == "10"


def test_create_from_a_template_with_a_distribution(ops: Harness) -> None:
    """A template lottery gives the prize plan; distribution= overrides the four shares."""
    reply = ops.run("/lottery create 11 100000000 500 1h 4 distribution=2000/0/7000/1000")
    assert reply.ok, reply
    [config] = ops.view("views::get_lottery", "11")
    assert config["sales_distribution"] == {
        "prize_bps": 2000,
        "jackpot_bps": 0,
        "operations_bps": 7000,
        "reserve_bps": 1000,
    }
    assert [s["winners_per_slot"] for s in config["prize_plan"]] == [1, 2]


def test_create_refuses_a_used_id(ops: Harness) -> None:
    """Lottery 1 exists: 'lottery id unused' fails and nothing is sent."""
    before = ops.tx_count
    check = failed_check(ops.run("/lottery create 1 100000000 1000 1h"), "lottery id unused")
    assert (check.seen, check.required) == ("exists", "unused")
    assert ops.tx_count == before


def test_create_refuses_a_distribution_not_summing_to_10000(ops: Harness) -> None:
    """economics::assert_distribution, done by the bot: 9900 bps is refused before sending."""
    before = ops.tx_count
    reply = ops.run("/lottery create 12 100000000 1000 1h distribution=7000/1500/1000/400")
    check = failed_check(reply, "economics::assert_distribution")
    assert check.seen == "sales distribution sums to 9900 bps, not 10000"
    assert ops.tx_count == before


def test_create_rejects_a_malformed_distribution(ops: Harness) -> None:
    """A distribution that is not four numbers is a usage error."""
    reply = ops.run("/lottery create 12 100000000 1000 1h distribution=70/30")
    assert not reply.ok
    assert "distribution" in reply.title


# --- set-type / set-tags -----------------------------------------------------------------------


def test_set_type_changes_a_draft(ops: Harness) -> None:
    """set-type on Draft lottery 2 changes its primary type on chain."""
    assert ops.run("/lottery set-type 2 1").ok
    assert lottery_status(ops, 2)["primary_type"] == 1


def test_set_type_refuses_an_active_lottery(ops: Harness) -> None:
    """The primary type is locked after Draft (0x1205): refused before sending."""
    before = ops.tx_count
    check = failed_check(ops.run("/lottery set-type 1 2"), "lottery status")
    assert (check.seen, check.required) == ("Active", "Draft")
    assert ops.tx_count == before


def test_set_tags_changes_an_active_lottery(ops: Harness) -> None:
    """set-tags on Active lottery 1 (snapshot not frozen) changes its mask on chain."""
    assert ops.run("/lottery set-tags 1 8").ok
    assert lottery_status(ops, 1)["tags_mask"] == "8"


def test_set_tags_refuses_a_closing_lottery(ops: Harness) -> None:
    """Closing lottery 3: wrong status and a frozen snapshot; nothing is sent."""
    before = ops.tx_count
    reply = ops.run("/lottery set-tags 3 8")
    assert failed_check(reply, "lottery status").seen == "Closing"
    assert failed_check(reply, "snapshot_frozen = false").seen == "true"
    assert ops.tx_count == before


# --- activate ----------------------------------------------------------------------------------


def test_activate_refuses_a_frozen_snapshot(ops: Harness) -> None:
    """Canceled lottery 6 has a frozen snapshot: the snapshot check fails too."""
    before = ops.tx_count
    check = failed_check(ops.run("/lottery activate 6"), "snapshot_frozen = false")
    assert check.seen == "true"
    assert ops.tx_count == before


def test_activate_refuses_when_validate_config_aborts(ops: Harness) -> None:
    """If views::validate_config aborts, activation is refused with the abort as what was seen.

    The contract validates the same rules at creation, so the chain double supplies the abort.
    """

    def invalid(_args: Sequence[TypedArg]) -> list[Any]:
        raise ChainAbortError(
            module="types", code=0x1209, name="E_TICKET_PRICE_ZERO", meaning="ticket price is 0"
        )

    chain = ScriptedChain(ops.gateway, {"views::validate_config": invalid})
    before = ops.tx_count
    check = failed_check(run_on(ops, chain, "/lottery activate 2"), "views::validate_config")
    assert "0x1209" in check.seen
    assert check.required == "no error"
    assert ops.tx_count == before


def test_validate_reports_an_abort_as_invalid(ops: Harness) -> None:
    """/lottery validate turns an abort of views::validate_config into a named failed check."""

    def invalid(_args: Sequence[TypedArg]) -> list[Any]:
        raise ChainAbortError(module="economics", code=0x1301, name=None, meaning="bps sum")

    chain = ScriptedChain(ops.gateway, {"views::validate_config": invalid})
    reply = run_on(ops, chain, "/lottery validate 2")
    assert reply.title == "Lottery 2: configuration invalid"
    assert "0x1301" in failed_check(reply, "views::validate_config").seen


# --- close -------------------------------------------------------------------------------------


def test_close_after_sales_end_freezes_the_snapshot(ops: Harness) -> None:
    """After sales_end, close moves Active -> Closing and freezes the ticket snapshot."""
    ops.run(f"/lottery create 10 100000000 1000 {SALES_S}s")
    ops.run("/lottery activate 10")
    ops.advance(SALES_S + 1)
    reply = ops.run("/lottery close 10")
    assert reply.ok, reply
    assert lottery_status(ops, 10) == {
        "status": 2,
        "snapshot_frozen": True,
        "primary_type": 0,
        "tags_mask": "0",
    }


def test_close_refuses_before_sales_end(ops: Harness) -> None:
    """Lottery 1 is still on sale: 'sales_end passed' fails and nothing is sent."""
    before = ops.tx_count
    check = failed_check(ops.run("/lottery close 1"), "sales_end passed")
    assert check.seen == f"now {ops.gateway.now_s()}"
    assert ops.tx_count == before


def test_close_refuses_a_draft(ops: Harness) -> None:
    """Only an Active lottery can be closed."""
    before = ops.tx_count
    assert failed_check(ops.run("/lottery close 2"), "lottery status").seen == "Draft"
    assert ops.tx_count == before


# --- draw --------------------------------------------------------------------------------------


def test_draw_requests_vrf_and_waits_for_fulfilment(ops: Harness) -> None:
    """Closing lottery 3: the draw request is sent, the devnet fulfils, the lottery is Drawn."""
    reply = ops.run("/lottery draw 3")
    assert reply.ok, reply
    assert reply.title == "Lottery 3: VRF fulfilled"
    assert ops.events("VrfRequestedEvent")[-1]["lottery_id"] == "3"
    assert ops.events("VrfFulfilledEvent")[-1]["lottery_id"] == "3"
    assert lottery_status(ops, 3)["status"] == 4


def test_draw_refuses_a_draft(ops: Harness) -> None:
    """A Draft lottery cannot be drawn (0x1210)."""
    before = ops.tx_count
    assert failed_check(ops.run("/lottery draw 2"), "lottery status").seen == "Draft"
    assert ops.tx_count == before


def test_draw_refuses_before_sales_end(ops: Harness) -> None:
    """Active lottery 1 is still on sale."""
    before = ops.tx_count
    check = failed_check(ops.run("/lottery draw 1"), "sales_end passed")
    assert check.required.startswith("after ")
    assert ops.tx_count == before


def test_draw_refuses_without_tickets(ops: Harness) -> None:
    """A closed lottery with no ticket sold would abort 0x1707: refused."""
    closed_lottery_without_sales(ops, 10)
    before = ops.tx_count
    assert failed_check(ops.run("/lottery draw 10"), "tickets sold > 0").seen == "0"
    assert ops.tx_count == before


def test_draw_refuses_while_vrf_requests_are_paused(ops: Harness) -> None:
    """A low deposit snapshot pauses requests (ensure_requests_allowed read as requests_paused)."""
    ops.server.ledger.apply(
        "vrf_deposit::record_snapshot_admin", [1, 10_000_000_000, 1, ops.gateway.now_s()]
    )
    before = ops.tx_count
    reply = ops.run("/lottery draw 3")
    check = failed_check(reply, "vrf_deposit::ensure_requests_allowed (requests_paused = false)")
    assert check.seen == "true"
    assert ops.tx_count == before


def test_draw_refuses_while_a_request_is_pending(ops: Harness) -> None:
    """An unfulfilled request (DrawRequested) cannot be re-requested (0x1701, fact 15)."""
    ops.server.ledger.vrf_delay_s = 10**6
    ops.server.ledger.apply(
        "draw::request_draw_admin", [3, ops.gateway.now_s(), 900, ops.gateway.chain_id(), 1]
    )
    before = ops.tx_count
    reply = ops.run("/lottery draw 3")
    pending = failed_check(reply, "no VRF request pending")
    assert pending.seen.startswith("VRF status 1 (fixed retry, attempt 1 of 5, retry after ")
    assert "/refund start 3 vrf" in pending.required
    assert failed_check(reply, "lottery status").seen == "DrawRequested"
    assert ops.tx_count == before


def test_draw_refuses_during_an_emergency_stop(ops: Harness) -> None:
    """With feature 3 disabled the request would abort 0x1403: refused, pointing at /refund resume."""
    ops.server.ledger.apply("feature_switch::set_mode", [3, 0])
    before = ops.tx_count
    check = failed_check(ops.run("/lottery draw 3"), "draws enabled (feature 3)")
    assert check.seen == "disabled"
    assert "/refund resume" in check.required
    assert ops.tx_count == before


# --- finalize ----------------------------------------------------------------------------------


def test_finalize_archives_a_paid_out_lottery(ops: Harness) -> None:
    """Lottery 4 (all winners assigned and paid): finalize stores the summary and sets Finalized."""
    paid_out(4)(ops)
    reply = ops.execute("/lottery finalize 4")
    assert reply.ok, reply
    assert lottery_status(ops, 4)["status"] == 6
    assert ops.events("LotteryFinalizedEvent")[-1]["id"] == "4"
    [summary] = ops.view("views::get_lottery_summary", "4")
    assert summary["status"] == 6


def test_finalize_is_privileged(ops: Harness) -> None:
    """Finalization needs a second person."""
    paid_out(4)(ops)
    ops.needs_approval("/lottery finalize 4")


def test_finalize_refuses_while_anything_allocated_is_unpaid(ops: Harness) -> None:
    """Lottery 4 has every winner assigned but nothing paid: finalize names both unpaid amounts."""
    before = ops.tx_count
    reply = ops.run("/lottery finalize 4")
    prize = failed_check(reply, "prize paid = total_allocated")
    assert prize.seen == "0 paid of 1,050,000,000 (1,050,000,000 unpaid)"
    assert prize.required.startswith("all 1,050,000,000 paid first")
    operations = failed_check(reply, "operations paid = total_operations_allocated")
    assert operations.seen == "0 paid of 140,000,000 (140,000,000 unpaid)"
    assert ops.tx_count == before
    assert lottery_status(ops, 4)["status"] == 5


def test_finalize_refuses_before_winners_are_computed(ops: Harness) -> None:
    """Closing lottery 3: wrong status and no winners assigned."""
    before = ops.tx_count
    reply = ops.run("/lottery finalize 3")
    assert failed_check(reply, "lottery status").seen == "Closing"
    assert failed_check(reply, "all winners assigned").seen == "0/0"
    assert ops.tx_count == before


def test_finalize_refuses_when_dual_write_expects_a_hash(ops: Harness) -> None:
    """abort_on_missing without an expected hash would abort 0x1B05 (fact 13): refused."""
    ops.server.ledger.apply("legacy_bridge::update_flags", [True, False, True])
    before = ops.tx_count
    reply = ops.run("/lottery finalize 4")
    check = failed_check(reply, "dual-write expectation set (abort_on_missing)")
    assert check.seen == "missing"
    assert ops.tx_count == before


# --- cancellation moved ------------------------------------------------------------------------


def test_cancel_lives_in_refund_now(ops: Harness) -> None:
    """/lottery cancel points to /refund start, where cancellation lives; nothing is sent."""
    before = ops.tx_count
    reply = ops.run("/lottery cancel 1 operations outage")
    assert not reply.ok
    assert "/lottery cancel is now /refund start" in reply.title
    assert ops.tx_count == before
