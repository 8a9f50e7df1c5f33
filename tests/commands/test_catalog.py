"""The catalog: every function the runbook names is reachable from some command (by its real name)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commands.registry import build_registry

# Runbook name -> the real function(s) the bot reads or calls instead (contract_spec.md §5, §13).
RUNBOOK_TO_CODE: dict[str, tuple[str, ...]] = {
    "automation::announce_dry_run": ("automation::announce_dry_run",),
    "automation::ensure_action": ("views::get_automation_bot",),  # not callable: read instead
    "automation::record_failure": ("automation::record_failure",),
    "automation::record_success": ("automation::record_success",),
    "automation::rotate_bot": ("automation::rotate_bot",),
    "draw::request_draw_admin": ("draw::request_draw_admin",),
    "economics::assert_distribution": (
        "lottery_registry::create_draft_admin",
    ),  # checked in create
    "history::get_summary": ("history::get_summary",),
    "history::list_finalized": ("history::list_finalized",),
    "history::record_summary": ("payouts::finalize_lottery_admin",),  # runs inside finalize
    "history_bridge::get_summary": ("history_bridge::get_summary",),
    "legacy_bridge::dual_write_flags": ("legacy_bridge::dual_write_flags",),
    "payouts::compute_winners_admin": ("payouts::compute_winners_admin",),
    "payouts::finalize_lottery_admin": ("payouts::finalize_lottery_admin",),
    "payouts::force_refund_batch": ("payouts::force_refund_batch_admin",),  # seed's name differs
    "payouts::record_partner_payout_admin": ("payouts::record_partner_payout_admin",),
    "payouts::record_payout_batch_admin": ("payouts::record_payout_batch_admin",),
    "price_feed::clear_clamp": ("price_feed::clear_clamp",),
    "price_feed::get_price_view": ("price_feed::get_price_view",),
    "price_feed::set_fallback": ("price_feed::set_fallback",),
    "price_feed::update_price": ("price_feed::update_price",),
    "roles::borrow_payout_batch_cap": ("roles::payout_batch_cap_view",),  # absent in code
    "roles::cleanup_expired_admin": ("roles::cleanup_expired_admin",),
    "roles::consume_partner_payout": ("roles::partner_payout_cap_view",),  # not callable
    "roles::consume_payout_batch": ("roles::payout_batch_cap_view",),  # not callable
    "roles::has_partner_payout_cap": ("roles::partner_payout_cap_view",),
    "roles::has_payout_batch_cap": ("roles::has_payout_batch_cap",),
    "roles::list_partner_caps": ("roles::list_partner_caps",),
    "roles::list_premium_caps": ("roles::list_premium_caps",),
    "sales::accounting_snapshot": ("views::accounting_snapshot",),  # same data
    "views::accounting_snapshot": ("views::accounting_snapshot",),
    "views::get_lottery": ("views::get_lottery",),
    "views::get_lottery_status": ("views::get_lottery_status",),
    "views::get_vrf_deposit_status": ("views::get_vrf_deposit_status",),
    "views::list_active": ("views::list_active",),
    "views::validate_config": ("views::validate_config",),
    "vrf_deposit::ensure_requests_allowed": ("views::get_vrf_deposit_status",),  # not callable
    "vrf_deposit::record_snapshot_admin": ("vrf_deposit::record_snapshot_admin",),
    "vrf_deposit::record_snapshot_automation": (
        "vrf_deposit::record_snapshot_admin",
    ),  # no bot path
    "vrf_deposit::resume_requests": ("vrf_deposit::resume_requests",),
    # Scripts of the dual-write, backfill and refund procedures (spec §10), and "move to Active".
    "dual_write_control.sh init": ("legacy_bridge::init_dual_write",),
    "dual_write_control.sh update-flags": ("legacy_bridge::update_flags",),
    "dual_write_control.sh enable-mirror": ("legacy_bridge::enable_legacy_mirror",),
    "dual_write_control.sh disable-mirror": ("legacy_bridge::disable_legacy_mirror",),
    "dual_write_control.sh set": ("legacy_bridge::set_expected_hash",),
    "dual_write_control.sh status": ("legacy_bridge::dual_write_status",),
    "dual_write_control.sh pending": ("legacy_bridge::pending_expected_hashes",),
    "dual_write_control.sh mirror": ("history::mirror_summary_admin",),
    "history_backfill.sh import": ("history::import_legacy_summary_admin",),
    "history_backfill.sh rollback": ("history::rollback_legacy_summary_admin",),
    "history_backfill.sh classify": ("history::update_legacy_classification_admin",),
    "history_backfill.sh status": ("history::is_legacy_summary",),
    "emergency_stop": ("feature_switch::set_mode",),
    "cancel the lottery": ("cancellation::cancel_lottery_admin",),
    "archive the canceled lottery": ("payouts::archive_canceled_lottery_admin",),
    "move to Active": ("lottery_registry::advance_status",),
    "create the lottery in Draft": ("lottery_registry::create_draft_admin",),
}


def _reachable() -> set[str]:
    names: set[str] = set()
    for step in build_registry():
        names.update(step.reads)
        names.update(step.calls)
    return names


def test_every_runbook_function_is_reachable() -> None:
    """Each runbook name maps to a real function that some command reads or calls."""
    reachable = _reachable()
    missing = {name: code for name, code in RUNBOOK_TO_CODE.items() if not set(code) <= reachable}
    assert not missing, f"runbook steps with no command: {missing}"


def test_mapping_covers_every_name_in_the_seed_runbook(shared: Path) -> None:
    """A runbook function added to runbooks.md without a command mapping fails here."""
    text = (shared / "seed" / "runbooks.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+::[a-z_]+)", text)) - {"lottery_support::history_bridge"}
    assert named, "the parser found no names: the test would pass vacuously"
    assert named <= set(RUNBOOK_TO_CODE), sorted(named - set(RUNBOOK_TO_CODE))


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
    else:
        assert "/lottery activate" in out
