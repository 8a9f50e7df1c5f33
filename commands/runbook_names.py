"""Every name the runbook uses (``module::function``, scripts, steps in words) and where it leads:
the function(s) a command reads or calls for it, or why the name cannot be called as written."""

from __future__ import annotations

from dataclasses import dataclass

from commands.registry import Registry, Step

__all__ = ["RUNBOOK_NAMES", "RunbookName", "find_name", "names_for", "steps_for"]

_NOT_ENTRY = "a public function but not an entry function, so no transaction can call it"


@dataclass(frozen=True)
class RunbookName:
    """Where a runbook name leads: the functions the bot uses for it, and why if it differs.

    The runbook predates the contracts in places (spec §5, §13): some names do not exist, some are
    not entry functions, some live in another module. ``/ops help <name>`` and ``chatops commands
    --json`` answer from this table, so no runbook name leads nowhere.
    """

    functions: tuple[str, ...]
    note: str = ""


def _same(name: str) -> RunbookName:
    return RunbookName((name,))


RUNBOOK_NAMES: dict[str, RunbookName] = {
    # Admin
    "views::get_vrf_deposit_status": _same("views::get_vrf_deposit_status"),
    "vrf_deposit::record_snapshot_admin": _same("vrf_deposit::record_snapshot_admin"),
    "views::get_lottery": _same("views::get_lottery"),
    "views::get_lottery_status": _same("views::get_lottery_status"),
    "economics::assert_distribution": RunbookName(
        ("lottery_registry::create_draft_admin",),
        f"{_NOT_ENTRY}: create_draft_admin checks the distribution, and /lottery create checks "
        "that the four bps sum to 10000 before sending",
    ),
    "views::validate_config": _same("views::validate_config"),
    "views::list_active": _same("views::list_active"),
    "views::accounting_snapshot": _same("views::accounting_snapshot"),
    "draw::request_draw_admin": _same("draw::request_draw_admin"),
    "vrf_deposit::ensure_requests_allowed": RunbookName(
        ("views::get_vrf_deposit_status",),
        f"{_NOT_ENTRY}: the bot reads requests_paused instead (a check of /lottery draw)",
    ),
    "payouts::compute_winners_admin": _same("payouts::compute_winners_admin"),
    "payouts::record_payout_batch_admin": _same("payouts::record_payout_batch_admin"),
    "roles::borrow_payout_batch_cap": RunbookName(
        ("roles::payout_batch_cap_view",),
        "does not exist in the contracts: roles::payout_batch_cap_view reads the cap (budget "
        "left, next nonce)",
    ),
    "roles::has_payout_batch_cap": _same("roles::has_payout_batch_cap"),
    "roles::consume_payout_batch": RunbookName(
        ("roles::payout_batch_cap_view",),
        f"{_NOT_ENTRY}: it runs inside every payout and refund batch; the bot checks its rules "
        "(size, cooldown, nonce, budget) from the cap view before sending",
    ),
    "sales::accounting_snapshot": RunbookName(
        ("views::accounting_snapshot",), "the same data as views::accounting_snapshot"
    ),
    "payouts::finalize_lottery_admin": _same("payouts::finalize_lottery_admin"),
    "payouts::record_partner_payout_admin": _same("payouts::record_partner_payout_admin"),
    "roles::list_partner_caps": _same("roles::list_partner_caps"),
    "roles::has_partner_payout_cap": RunbookName(
        ("roles::partner_payout_cap_view",),
        "the bot reads the whole cap (roles::partner_payout_cap_view), which also says whether "
        "it exists",
    ),
    "roles::consume_partner_payout": RunbookName(
        ("roles::partner_payout_cap_view",),
        f"{_NOT_ENTRY}: it runs inside the partner payout; the bot checks its rules (budget, "
        "cooldown, nonce, expiry) from the cap view before sending",
    ),
    "roles::list_premium_caps": _same("roles::list_premium_caps"),
    "roles::cleanup_expired_admin": _same("roles::cleanup_expired_admin"),
    "history::get_summary": _same("history::get_summary"),
    # Price feed
    "price_feed::get_price_view": _same("price_feed::get_price_view"),
    "price_feed::set_fallback": _same("price_feed::set_fallback"),
    "price_feed::clear_clamp": _same("price_feed::clear_clamp"),
    "price_feed::update_price": _same("price_feed::update_price"),
    # AutomationBot
    "automation::announce_dry_run": _same("automation::announce_dry_run"),
    "automation::record_success": _same("automation::record_success"),
    "automation::record_failure": _same("automation::record_failure"),
    "automation::ensure_action": RunbookName(
        ("views::get_automation_bot",),
        f"{_NOT_ENTRY}: the bot reads views::get_automation_bot and checks expiry, allowed "
        "actions and failure_count < max_failures itself",
    ),
    "automation::rotate_bot": _same("automation::rotate_bot"),
    # Dual-write
    "legacy_bridge::dual_write_flags": _same("legacy_bridge::dual_write_flags"),
    "history::record_summary": RunbookName(
        ("payouts::finalize_lottery_admin", "payouts::archive_canceled_lottery_admin"),
        f"{_NOT_ENTRY}: it runs inside finalize and the archive of a canceled lottery",
    ),
    "history_bridge::get_summary": _same("history_bridge::get_summary"),
    "history::list_finalized": _same("history::list_finalized"),
    # VRF deposit monitoring
    "vrf_deposit::record_snapshot_automation": RunbookName(
        ("vrf_deposit::record_snapshot_admin",),
        "no transaction can call it: it takes an &AutomationCap, which only Move code holding "
        "the capability can pass, and it is not an entry function. Snapshots are recorded with "
        "record_snapshot_admin (/vrf snapshot)",
    ),
    "vrf_deposit::resume_requests": _same("vrf_deposit::resume_requests"),
    # Emergency refund
    "payouts::force_refund_batch": RunbookName(
        ("payouts::force_refund_batch_admin",),
        "does not exist under this name: the function is payouts::force_refund_batch_admin",
    ),
    "emergency_stop": RunbookName(
        ("feature_switch::set_mode",),
        "does not exist in the contracts: the bot stops purchases and draws with the feature "
        "switch (spec fact 9)",
    ),
    # Scripts and steps named in words (spec §10).
    "accounting_check.sh compare": RunbookName(
        ("views::accounting_snapshot", "views::get_lottery_summary"),
        "/lottery accounting compares the two (and /lottery finalize runs the comparison first)",
    ),
    "refund_control.sh cancel": RunbookName(
        ("cancellation::cancel_lottery_admin",),
        "the script calls lottery_registry::cancel_lottery_admin, which does not exist",
    ),
    "refund_control.sh batch": _same("payouts::force_refund_batch_admin"),
    "refund_control.sh progress": _same("views::get_refund_progress"),
    "refund_control.sh archive": _same("payouts::archive_canceled_lottery_admin"),
    "dual_write_control.sh init": _same("legacy_bridge::init_dual_write"),
    "dual_write_control.sh update-flags": _same("legacy_bridge::update_flags"),
    "dual_write_control.sh enable-mirror": _same("legacy_bridge::enable_legacy_mirror"),
    "dual_write_control.sh disable-mirror": _same("legacy_bridge::disable_legacy_mirror"),
    "dual_write_control.sh set": _same("legacy_bridge::set_expected_hash"),
    "dual_write_control.sh status": _same("legacy_bridge::dual_write_status"),
    "dual_write_control.sh pending": _same("legacy_bridge::pending_expected_hashes"),
    "dual_write_control.sh mirror": _same("history::mirror_summary_admin"),
    "history_backfill.sh import": _same("history::import_legacy_summary_admin"),
    "history_backfill.sh rollback": _same("history::rollback_legacy_summary_admin"),
    "history_backfill.sh classify": _same("history::update_legacy_classification_admin"),
    "history_backfill.sh status": _same("history::is_legacy_summary"),
    "cancel the lottery": _same("cancellation::cancel_lottery_admin"),
    "archive the canceled lottery": _same("payouts::archive_canceled_lottery_admin"),
    "move to Active": _same("lottery_registry::advance_status"),
    "create the lottery in Draft": _same("lottery_registry::create_draft_admin"),
}


def find_name(text: str) -> str | None:
    """The table's key for ``text``: exact, ``module::function``, or a bare function name."""
    wanted = text.strip().strip("`")
    by_lower = {k.lower(): k for k in RUNBOOK_NAMES}
    if wanted.lower() in by_lower:
        return by_lower[wanted.lower()]
    if "::" not in wanted:
        found = [k for k in RUNBOOK_NAMES if k.endswith(f"::{wanted}")]
        if len(found) == 1:
            return found[0]
    return None


def steps_for(registry: Registry, name: str) -> list[Step]:
    """The commands that read or call ``name`` itself or what the runbook name leads to."""
    entry = RUNBOOK_NAMES.get(name)
    wanted = {name, *(entry.functions if entry else ())}
    return [s for s in registry if wanted & {*s.reads, *s.calls}]


def names_for(step: Step) -> list[str]:
    """The runbook names that lead to ``step`` (for ``chatops commands --json``)."""
    used = {*step.reads, *step.calls}
    return sorted(n for n, e in RUNBOOK_NAMES.items() if used & {n, *e.functions})
