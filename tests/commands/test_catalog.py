"""The catalog: every function the runbook names is reachable from some command (by its real name)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commands.registry import build_registry
from commands.runbook_names import RUNBOOK_NAMES, steps_for
from tests.fakes.bot import Harness

RUNBOOK_NAME = re.compile(r"`([a-z_]+::[a-z_]+)")


def _runbook_names(shared: Path) -> set[str]:
    """Every ``module::function`` the seed runbook names (the package path is not a function)."""
    text = (shared / "seed" / "runbooks.md").read_text(encoding="utf-8")
    return set(RUNBOOK_NAME.findall(text)) - {"lottery_support::history_bridge"}


def _reachable() -> set[str]:
    names: set[str] = set()
    for step in build_registry():
        names.update(step.reads)
        names.update(step.calls)
    return names


def test_every_runbook_name_leads_to_a_command() -> None:
    """Each name of the table maps to real functions that some command reads or calls."""
    registry = build_registry()
    nowhere = sorted(name for name in RUNBOOK_NAMES if not steps_for(registry, name))
    assert not nowhere, f"runbook names with no command: {nowhere}"


def test_every_name_in_the_seed_runbook_is_findable_with_ops_help(
    ops: Harness, shared: Path
) -> None:
    """/ops help <name> answers every module::function of runbooks.md with the command(s) that
    perform or replace it, and says why for names that cannot be called as written."""
    named = _runbook_names(shared)
    assert len(named) == 37, sorted(named)  # the parser found them all, not vacuously few
    for name in sorted(named):
        reply = ops.run(f"/ops help {name}")
        assert reply.ok, (name, reply)
        assert reply.data is not None
        assert reply.data["commands"], name
        assert all(c.startswith("/") for c in reply.data["commands"]), name
        if RUNBOOK_NAMES[name].functions != (name,):
            assert reply.data["note"], f"{name} leads elsewhere without saying why"


def test_help_says_why_nothing_can_call_record_snapshot_automation(ops: Harness) -> None:
    """The capability-taking function is explained, and by its bare name too."""
    reply = ops.run("/ops help record_snapshot_automation")
    assert reply.title == "vrf_deposit::record_snapshot_automation: replaced by /vrf snapshot"
    assert "&AutomationCap" in reply.text


def test_help_for_an_unknown_function_is_a_usage_error(ops: Harness) -> None:
    """A name no command uses and the runbook does not name is refused with a pointer to /ops help."""
    reply = ops.run("/ops help payouts::no_such_function")
    assert not reply.ok
    assert reply.title.startswith("No command reads or calls payouts::no_such_function")


def test_catalog_names_are_real_contract_functions() -> None:
    """Every read or call a step declares exists in the contracts (the devnet declares them all)."""
    from chatops.devnet.contracts import all_specs

    known = set(all_specs())
    unknown = sorted(_reachable() - known)
    assert not unknown, unknown


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_commands_cli_lists_the_catalog(flag: list[str]) -> None:
    """`chatops commands --json` lists each command with the functions it reads and calls, what it
    does (read, write, action) and the role it needs."""
    out = subprocess.run(
        [sys.executable, "-m", "chatops", "commands", *flag],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    if flag:
        entries = json.loads(out)
        by_path = {e["path"]: e for e in entries}
        assert by_path["/feed fallback"]["privileged"] is True
        assert "price_feed::set_fallback" in by_path["/feed fallback"]["calls"]
        assert "views::get_lottery_status" in by_path["/lottery status"]["reads"]
        assert (by_path["/lottery status"]["kind"], by_path["/lottery status"]["role"]) == (
            "read",
            "viewer",
        )
        assert (by_path["/incident open"]["kind"], by_path["/incident open"]["role"]) == (
            "write",
            "operator",
        )
        assert by_path["/ops approve"]["role"] == "approver"
        assert (by_path["/refund stop"]["kind"], by_path["/refund stop"]["break_glass"]) == (
            "action",
            True,
        )
        assert by_path["/feed fallback"]["break_glass"] is False
        assert len(entries) == len(build_registry())
        assert (
            "vrf_deposit::record_snapshot_automation" in by_path["/vrf snapshot"]["runbook_names"]
        )
        assert "history::record_summary" in by_path["/lottery finalize"]["runbook_names"]
    else:
        assert "/lottery activate" in out
