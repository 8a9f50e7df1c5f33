"""/lottery: reads, the lifecycle actions and their preflight checks against the devnet."""

from __future__ import annotations

from tests.commands.harness import Harness


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
