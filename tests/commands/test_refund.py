"""/refund: emergency stop, cancellation, refund batches, progress and SLA, archive and report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from chatops.chain.calls import TypedArg
from chatops.devnet.seed import BUYERS
from commands.errors import PreconditionError
from tests.commands.chain_double import ScriptedChain, execute_on, failed_check, run_on
from tests.fakes.bot import Harness, apply, payout_cap

PROCEEDS_6 = 800_000_000  # lottery 6: 8 tickets at 0.1 SUPRA, canceled 600 s before the seed ended
HOUR = 3_600


def enabled(ops: Harness, feature: int, premium: bool = False) -> bool:
    [value] = ops.view("feature_switch::is_enabled", str(feature), premium)
    return bool(value)


def progress(ops: Harness, lottery_id: int) -> dict[str, Any]:
    [view] = ops.view("views::get_refund_progress", str(lottery_id))
    return dict(view)


def status(ops: Harness, lottery_id: int) -> int:
    [view] = ops.view("views::get_lottery_status", str(lottery_id))
    return int(view["status"])


def refund_all_of_6(ops: Harness) -> None:
    """Two batches that refund every ticket and exactly the proceeds of lottery 6."""
    assert ops.execute("/refund batch 6 5").ok
    assert ops.execute("/refund batch 6 3").ok


# --- state / stop / resume -------------------------------------------------------------------


def test_state_reads_every_feature_mode(ops: Harness) -> None:
    """/refund state shows the four features as the chain's is_enabled reports them (all enabled)."""
    apply(ops, "feature_switch::set_mode", 4, 2)
    reply = ops.run("/refund state")
    assert reply.ok
    assert reply.title == "Running: purchases and draws enabled"
    assert reply.data == {"modes": {"1": 1, "2": 1, "3": 1, "4": 2}}
    assert not enabled(ops, 4)
    assert enabled(ops, 4, premium=True)


def test_stop_is_privileged(ops: Harness) -> None:
    """With its checks passing, the stop still needs a second person; nothing is sent."""
    ops.needs_approval("/refund stop mass DoS on sales")


def test_stop_disables_purchases_and_draws(ops: Harness) -> None:
    """Once executed, the stop sets features 1 and 3 to mode 0: a purchase then aborts 0x1403."""
    reply = ops.execute("/refund stop mass DoS on sales")
    assert reply.ok, reply
    assert [f.label for f in reply.fields] == ["feature_switch::set_mode"] * 2
    assert not enabled(ops, 1, premium=True)
    assert not enabled(ops, 3, premium=True)
    assert enabled(ops, 2)
    assert enabled(ops, 4)
    record = ops.server.ledger.call(
        "sales::purchase_tickets_public", [1, 1, ops.gateway.now_s(), 900], [BUYERS[0]]
    )
    assert not record.success
    assert "0x1403" in record.vm_status
    assert ops.run("/refund state").title == "Emergency stop ON: purchases and draws stopped"


def test_stop_counts_premium_only_purchases_as_running(ops: Harness) -> None:
    """Premium-only purchases still sell, so a stop is still needed and its check passes."""
    apply(ops, "feature_switch::set_mode", 1, 2)
    apply(ops, "feature_switch::set_mode", 3, 0)
    reply = ops.run("/refund stop premium feed lost")
    assert "needs a second person" in reply.title
    assert ops.run("/refund state").title == "Partly stopped: draws disabled"


def test_stop_refused_when_already_stopped(ops: Harness) -> None:
    """With both features already disabled the stop check fails and nothing is sent."""
    apply(ops, "feature_switch::set_mode", 1, 0)
    apply(ops, "feature_switch::set_mode", 3, 0)
    before = ops.tx_count
    reply = ops.run("/refund stop again please")
    check = failed_check(reply, "purchases or draws enabled")
    assert check.seen == "purchases disabled, draws disabled"
    assert check.required.startswith("at least one enabled")
    assert ops.tx_count == before


@pytest.mark.parametrize("line", ["/refund stop the reason", "/refund resume the reason"])
def test_stop_and_resume_refused_without_feature_switch(ops: Harness, line: str) -> None:
    """Without init_feature_switch (set_mode would abort 0x1202) both steps refuse before sending."""
    chain = ScriptedChain(ops.gateway, {"feature_switch::is_initialized": lambda _a: [False]})
    before = ops.tx_count
    reply = run_on(ops, chain, line)
    check = failed_check(reply, "feature switch initialised")
    assert check.seen == "no"
    assert ops.tx_count == before


def test_stop_that_does_not_take_effect_is_an_incident(ops: Harness) -> None:
    """If the features still read enabled after set_mode (force_enable_devnet), the stop halts."""
    chain = ScriptedChain(ops.gateway, {"feature_switch::is_enabled": lambda _a: [True]})
    before = ops.tx_count
    with pytest.raises(PreconditionError) as info:
        execute_on(ops, chain, "/refund stop mass DoS on sales")
    assert "Stopped after transaction 1 of 2" in str(info.value)
    assert "incident" in str(info.value)
    [check] = info.value.checks
    assert check.name == "purchases disabled after set_mode"
    assert check.seen == "enabled"
    assert ops.tx_count == before + 1


def test_resume_lifts_the_stop(ops: Harness) -> None:
    """After a stop, resume sets features 1 and 3 back to mode 1 (enabled for everyone)."""
    ops.execute("/refund stop incident 42")
    reply = ops.execute("/refund resume incident 42 closed")
    assert reply.ok, reply
    assert enabled(ops, 1)
    assert enabled(ops, 3)
    assert ops.run("/refund state").title == "Running: purchases and draws enabled"


def test_resume_refused_when_not_stopped(ops: Harness) -> None:
    """Resume with purchases enabled and draws premium-only (neither stopped) sends nothing."""
    apply(ops, "feature_switch::set_mode", 3, 2)
    before = ops.tx_count
    reply = ops.run("/refund resume nothing to lift")
    check = failed_check(reply, "purchases or draws stopped")
    assert check.seen == "purchases enabled, draws premium only"
    assert ops.tx_count == before


def test_resume_is_privileged(ops: Harness) -> None:
    """Lifting the stop needs a second person too."""
    apply(ops, "feature_switch::set_mode", 1, 0)
    ops.needs_approval("/refund resume all clear")


# --- start (cancellation) ----------------------------------------------------------------------


def test_start_cancels_with_cancellation_module_and_starts_refunds(ops: Harness) -> None:
    """/refund start calls cancellation::cancel_lottery_admin: record stored, refunds active."""
    now = ops.gateway.now_s()
    reply = ops.execute("/refund start 1 operations critical frontend bug")
    assert reply.ok, reply
    assert status(ops, 1) == 7
    [record] = ops.view("views::get_cancellation", "1")
    assert record["vec"][0]["reason_code"] == 3
    assert record["vec"][0]["previous_status"] == 1
    assert int(record["vec"][0]["canceled_ts"]) == now
    assert progress(ops, 1)["active"] is True
    event = ops.events("LotteryCanceledEvent")[-1]
    assert event["lottery_id"] == "1"
    assert "/refund batch 1" in reply.text


@pytest.mark.parametrize(("word", "code"), [("vrf", 1), ("compliance", 2), ("200", 200)])
def test_start_reason_names_and_numbers(ops: Harness, word: str, code: int) -> None:
    """Reason words map to their codes; any 1-255 is passed as is."""
    ops.execute(f"/refund start 3 {word} reason text")
    [record] = ops.view("views::get_cancellation", "3")
    assert record["vec"][0]["reason_code"] == code


@pytest.mark.parametrize("word", ["0", "256", "weather"])
def test_start_rejects_bad_reason_code(ops: Harness, word: str) -> None:
    """A reason code outside vrf|compliance|operations|1-255 is a usage error; nothing is sent."""
    before = ops.tx_count
    reply = ops.run(f"/refund start 1 {word} because")
    assert not reply.ok
    assert "reason-code" in reply.title
    assert ops.tx_count == before


def test_start_is_privileged(ops: Harness) -> None:
    """Cancellation needs a second person."""
    ops.needs_approval("/refund start 1 operations outage")


def test_start_refuses_an_already_canceled_lottery(ops: Harness) -> None:
    """Lottery 6 is Canceled with a record: both checks fail, nothing is sent."""
    before = ops.tx_count
    reply = ops.run("/refund start 6 operations twice")
    check = failed_check(reply, "lottery status")
    assert (check.seen, check.required) == ("Canceled", "not Finalized or Canceled")
    record = failed_check(reply, "no cancellation record")
    assert record.seen.startswith("canceled at ")
    assert ops.tx_count == before


def test_start_refuses_a_finalized_lottery(ops: Harness) -> None:
    """A Finalized lottery cannot be canceled (0x1204 on chain): refused before sending."""
    before = ops.tx_count
    check = failed_check(ops.run("/refund start 5 operations late"), "lottery status")
    assert check.seen == "Finalized"
    assert ops.tx_count == before


# --- batch -------------------------------------------------------------------------------------


def test_batch_records_the_next_refund_round(ops: Harness) -> None:
    """A batch sends force_refund_batch_admin with round 1 and books it against the global cap."""
    reply = ops.execute("/refund batch 6 5 450000000 50000000")
    assert reply.ok, reply
    [event] = ops.events("RefundBatchEvent")
    assert event["refund_round"] == "1"
    assert event["total_amount_refunded"] == "500000000"
    view = progress(ops, 6)
    assert (view["refund_round"], view["tickets_refunded"]) == ("1", "5")
    [cap] = ops.view("roles::payout_batch_cap_view")
    assert cap["vec"][0]["last_nonce"] == "1"
    assert "3 tickets left" in reply.text


def test_batch_is_privileged_and_shows_the_computed_round(ops: Harness) -> None:
    """Via the runner the batch waits for approval; nothing is sent."""
    ops.needs_approval("/refund batch 6 1")


def test_batch_refused_while_refund_not_active(ops: Harness) -> None:
    """A lottery canceled without sales has no refund to run: 'refund active' fails."""
    apply(ops, "cancellation::cancel_lottery_admin", 2, 2, ops.gateway.now_s())
    before = ops.tx_count
    check = failed_check(ops.run("/refund batch 2 0 1 0"), "refund active")
    assert check.seen == "false"
    assert ops.tx_count == before


def test_batch_control_after_the_batch_reports_an_incident(ops: Harness) -> None:
    """refund.md 5: if progress read after the batch shows refunds above proceeds, it is an incident.

    The contract refuses such a batch (0x1814), so the chain double reports the state.
    """
    chain = ScriptedChain(ops.gateway)

    def overrefunded(args: Sequence[TypedArg]) -> list[Any]:
        [view] = ops.gateway.read("views::get_refund_progress", args)
        if chain.submitted:
            view = {**view, "prize_refunded": str(PROCEEDS_6 + 1)}
        return [view]

    chain.overrides["views::get_refund_progress"] = overrefunded
    before = ops.tx_count
    with pytest.raises(PreconditionError) as info:
        execute_on(ops, chain, "/refund batch 6 1")
    assert "refunds <= proceeds_accum no longer holds (incident)" in str(info.value)
    assert ops.tx_count == before + 1


# --- progress and SLA --------------------------------------------------------------------------


def test_progress_right_after_cancel_has_no_warning(ops: Harness) -> None:
    """Ten minutes after cancellation the first batch is still due: no SLA warning."""
    reply = ops.run("/refund progress 6")
    assert reply.ok
    assert reply.tone == "info"
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Tickets"] == "0/8"
    assert fields["First batch (12 h)"].startswith("due by ")
    assert "11h 50m left" in fields["First batch (12 h)"]
    assert reply.data is not None
    assert reply.data["sla_breached"] is False


def test_progress_warns_when_the_first_batch_is_late(ops: Harness) -> None:
    """13 h after cancellation without a batch, the 12 h SLA is shown as breached (a warning)."""
    ops.advance(13 * HOUR)
    reply = ops.run("/refund progress 6")
    assert reply.tone == "warning"
    assert "WARNING First batch (12 h): BREACHED" in reply.text
    [overview] = ops.view("views::status_overview", str(ops.gateway.now_s()))
    assert overview["refund_sla_breach"] is True


def test_progress_warns_when_the_full_refund_is_late(ops: Harness) -> None:
    """A batch on time, then 25 h without finishing: the first SLA is met, the 24 h one breached."""
    assert ops.execute("/refund batch 6 5").ok
    ops.advance(25 * HOUR)
    reply = ops.run("/refund progress 6")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["First batch (12 h)"].startswith("met")
    assert fields["Full refund (24 h)"].startswith("BREACHED: 3 tickets and 300,000,000 left")
    assert reply.tone == "warning"


def test_progress_of_a_lottery_that_is_not_canceled(ops: Harness) -> None:
    """An active lottery has no cancellation record: the reply says so."""
    reply = ops.run("/refund progress 1")
    assert reply.title == "Lottery 1 is not canceled: no refunds"


# --- archive -----------------------------------------------------------------------------------


def test_archive_after_a_full_refund(ops: Harness) -> None:
    """With refunds equal to proceeds, archive stores a status-7 summary with payout_round 2."""
    refund_all_of_6(ops)
    reply = ops.execute("/refund archive 6")
    assert reply.ok, reply
    [summary] = ops.view("views::get_lottery_summary", "6")
    assert (summary["status"], summary["payout_round"]) == (7, "2")
    assert ops.events("LotteryFinalizedEvent")[-1]["id"] == "6"
    assert status(ops, 6) == 7


def test_archive_is_privileged(ops: Harness) -> None:
    """Archive needs a second person once refunds are complete."""
    refund_all_of_6(ops)
    ops.needs_approval("/refund archive 6")


def test_archive_refused_before_refunds_complete(ops: Harness) -> None:
    """Nothing refunded yet: the ticket, round, timestamp and amount checks all fail."""
    before = ops.tx_count
    reply = ops.run("/refund archive 6")
    assert failed_check(reply, "tickets_refunded = tickets_sold").seen == "0"
    assert failed_check(reply, "refund_round > 0").seen == "0"
    assert failed_check(reply, "last_refund_ts > 0").seen == "0"
    amount = failed_check(reply, "refunds = proceeds_accum")
    assert amount.required == "800,000,000 exactly"
    assert ops.tx_count == before


def test_archive_refused_when_refunds_fall_short_of_proceeds(ops: Harness) -> None:
    """Every ticket refunded but 1 quant short: refunds must equal proceeds exactly (0x1819)."""
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 8, 799_999_999, 0, ops.gateway.now_s())
    before = ops.tx_count
    check = failed_check(ops.run("/refund archive 6"), "refunds = proceeds_accum")
    assert check.seen == "799,999,999"
    assert ops.tx_count == before


def test_archive_refused_with_a_zero_refund_timestamp(ops: Harness) -> None:
    """A batch booked with timestamp 0 leaves last_refund_ts 0, which archive rejects (0x1818)."""
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 8, PROCEEDS_6, 0, 0)
    before = ops.tx_count
    reply = ops.run("/refund archive 6")
    assert failed_check(reply, "last_refund_ts > 0").seen == "0"
    assert [c.name for c in reply.checks if not c.ok] == ["last_refund_ts > 0"]
    assert ops.tx_count == before


def test_archive_refused_for_an_active_lottery(ops: Harness) -> None:
    """Lottery 1 is Active with no cancellation record."""
    before = ops.tx_count
    reply = ops.run("/refund archive 1")
    assert failed_check(reply, "lottery status").seen == "Active"
    assert failed_check(reply, "cancellation record").seen == "none"
    assert ops.tx_count == before


def test_archive_refused_when_canceled_by_advance_status(ops: Harness) -> None:
    """Canceled through advance_status(id, 7) leaves no record and can never be archived (fact 10)."""
    apply(ops, "lottery_registry::advance_status", 2, 7)
    before = ops.tx_count
    reply = ops.run("/refund archive 2")
    assert [c.name for c in reply.checks if not c.ok] == ["cancellation record"]
    assert ops.tx_count == before


def test_archive_refused_before_the_cancellation_time(ops: Harness) -> None:
    """A cancellation stamped in the future makes finalized_at < canceled_ts (0x1817)."""
    now = ops.gateway.now_s()
    apply(ops, "cancellation::cancel_lottery_admin", 2, 3, now + HOUR)
    before = ops.tx_count
    check = failed_check(ops.run("/refund archive 2"), "timestamp >= canceled_ts")
    assert check.required == f">= {now + HOUR}"
    assert ops.tx_count == before


def test_archive_refused_twice(ops: Harness) -> None:
    """A second archive would abort (summary stored): refused with the summary's status."""
    refund_all_of_6(ops)
    ops.execute("/refund archive 6")
    before = ops.tx_count
    check = failed_check(ops.run("/refund archive 6"), "not archived yet")
    assert check.seen == "summary with status 7"
    assert ops.tx_count == before


def test_archive_refused_while_dual_write_expects_a_hash(ops: Harness) -> None:
    """Dual-write with abort_on_missing and no expected hash would abort 0x1B05: refused."""
    refund_all_of_6(ops)
    apply(ops, "legacy_bridge::update_flags", True, False, True)
    before = ops.tx_count
    check = failed_check(
        ops.run("/refund archive 6"), "dual-write expectation set (abort_on_missing)"
    )
    assert check.seen == "missing"
    assert ops.tx_count == before


# --- report ------------------------------------------------------------------------------------


def test_report_after_the_whole_procedure(ops: Harness) -> None:
    """stop, batches, archive, resume: the report has the record, totals, SLA met and the archive."""
    ops.execute("/refund stop refunds of lottery 6")
    refund_all_of_6(ops)
    ops.execute("/refund archive 6")
    ops.execute("/refund resume refunds of lottery 6 done")
    reply = ops.run("/refund report 6")
    assert reply.ok
    lines = reply.text.splitlines()
    assert lines[1].endswith("reason 3 (operations), previous status Active")
    assert "Sold: 8 tickets, 800,000,000 proceeds" in lines
    assert (
        "Refunded: 8/8 tickets; prize 720,000,000 + operations 80,000,000 = 800,000,000 of 800,000,000"
        in lines
    )
    assert "Remaining: 0 tickets, 0 amount" in lines
    assert any(line.startswith("First batch (12 h) SLA: met") for line in lines)
    assert any(line.startswith("Full refund (24 h) SLA: met") for line in lines)
    assert "Archive: archived (status 7, payout_round 2)" in lines
    assert lines[-1] == "Sales and draws: purchases enabled, draws enabled"
    assert reply.tone == "info"


def test_report_flags_a_missed_sla(ops: Harness) -> None:
    """A single batch 13 h after cancellation: the first-batch SLA is reported as missed."""
    ops.advance(13 * HOUR)
    # Booked outside the bot: the harness client stamps expiry from the wall clock, not the devnet's.
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 8, PROCEEDS_6, 0, ops.gateway.now_s())
    reply = ops.run("/refund report 6")
    assert any(
        line.startswith("First batch (12 h) SLA: MISSED") for line in reply.text.splitlines()
    )
    assert reply.tone == "warning"
    assert reply.data is not None
    assert reply.data["sla_breached"] is True


def test_report_of_a_lottery_that_is_not_canceled(ops: Harness) -> None:
    """There is nothing to report for an active lottery."""
    reply = ops.run("/refund report 1")
    assert not reply.ok
    assert "not canceled" in reply.title


# --- plan --------------------------------------------------------------------------------------


def test_plan_says_round_tickets_left_and_amounts(ops: Harness) -> None:
    """/refund plan 6: round 1, 8 tickets left, and the split of the next batch by the distribution."""
    reply = ops.run("/refund plan 6")
    assert reply.title == "Lottery 6 refund plan: round 1, 8 tickets left"
    assert reply.text == (
        "Next: /refund batch 6 8 (prize 720,000,000 + operations 80,000,000 = 800,000,000)."
    )
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Next refund round"] == "1 (nonce 1 = refund round 1)"


def test_plan_keeps_the_next_batch_within_the_cap(ops: Harness) -> None:
    """With a cap of 3 a batch, the next batch is 3 tickets; after it, round 2 with 5 left."""
    payout_cap(max_batch=3)(ops)
    assert ops.run("/refund plan 6").text.startswith("Next: /refund batch 6 3 (prize 270,000,000")
    assert ops.execute("/refund batch 6 3").ok
    reply = ops.run("/refund plan 6")
    assert reply.title == "Lottery 6 refund plan: round 2, 5 tickets left"


def test_plan_explains_a_nonce_taken_by_payouts(ops: Harness) -> None:
    """A payout batch of lottery 4 took nonce 1: refund round 1 of lottery 6 is explained as blocked."""
    assert ops.execute("/payouts batch 4 1").ok
    fields = {f.label: f.value for f in ops.run("/refund plan 6").fields}
    assert fields["Next refund round"].startswith(
        "1 (BLOCKED, the cap expects nonce 2 (last_nonce 1 + stride 1), this lottery's next "
        "refund round is 1"
    )
    assert "/roles payout-cap" in fields["Next refund round"]


def test_plan_of_a_lottery_that_is_not_canceled(ops: Harness) -> None:
    """Nothing to plan before a cancellation."""
    assert ops.run("/refund plan 1").title == "Lottery 1 is not canceled: no refunds to plan"


def test_plan_after_the_last_ticket_points_at_the_archive(ops: Harness) -> None:
    """Every ticket refunded: the plan says so and names /refund archive."""
    refund_all_of_6(ops)
    reply = ops.run("/refund plan 6")
    assert reply.title == "Lottery 6: every ticket is refunded"
    assert reply.text == "Next: /refund archive 6."


def test_batch_after_an_over_refund_is_refused_not_crashed(ops: Harness) -> None:
    """A batch recorded outside the bot refunded 1 ticket as 500,000,000: the next computed batch
    would be negative, so the amounts check fails with a pointer to reconcile; nothing is sent."""
    apply(ops, "payouts::force_refund_batch_admin", 6, 1, 1, 500_000_000, 0, ops.gateway.now_s())
    before = ops.tx_count
    check = failed_check(
        ops.run("/refund batch 6 1"), "amounts = tickets x price by the distribution"
    )
    assert (
        check.required == "earlier batches refunded more than their tickets cost: reconcile by hand"
    )
    assert ops.tx_count == before
