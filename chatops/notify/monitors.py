"""Periodic view checks for the alerts of monitoring.md; each evaluation goes through the ``AlertBook``,
so an alert raises once, joins or opens the incident of its subject and resolves when the condition clears.

Reads only through a ``ViewReader`` (``chatops.gateway.Gateway`` satisfies it); knows nothing of Slack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chatops.chain.calls import TypedArg
from chatops.chain.errors import ChainAbortError, ChainError
from chatops.notify.alerts import AlertBook, AlertCondition
from chatops.notify.metrics import ChainMetrics

__all__ = ["ALERT_NAMES", "MonitorConfig", "Monitors", "ViewReader"]

logger = logging.getLogger(__name__)

HOUR_S = 3600
DAY_S = 86_400

ALERT_NAMES = (
    "VrfDepositLow",
    "VrfRequestsPaused",
    "PriceFeedClamp",
    "PriceFeedFallback",
    "PayoutBacklog",
    "AutomationFailures",
    "AutomationDryRunStale",
    "RoleCapExpiring",
    "RefundBacklog",
    "RefundSlaBreach",
    "DualWriteMismatch",
    "DualWritePending",
)


class ViewReader(Protocol):
    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]: ...

    def now_s(self) -> int: ...


@dataclass(frozen=True)
class MonitorConfig:
    """Thresholds from monitoring.md; ``asset_ids`` are the price feeds to watch."""

    asset_ids: tuple[int, ...] = (1, 2)
    interval_s: float = 60.0
    vrf_paused_s: int = 300
    price_active_s: int = 300
    payout_backlog_s: int = HOUR_S
    dry_run_grace_s: int = 900
    cap_expiring_s: int = DAY_S
    refund_backlog_s: int = 4 * HOUR_S
    dual_write_mismatch_s: int = 600
    dual_write_pending_s: int = 2 * HOUR_S


def _n(value: Any) -> int:
    return int(value)


def _u64(value: int) -> list[TypedArg]:
    return [TypedArg.of("u64", value)]


class Monitors:
    """Runs every check once per ``check_once``; ``run`` loops it on a thread."""

    def __init__(
        self,
        chain: ViewReader,
        alerts: AlertBook,
        *,
        config: MonitorConfig | None = None,
        metrics: ChainMetrics | None = None,
    ) -> None:
        self.chain = chain
        self.alerts = alerts
        self.config = config or MonitorConfig()
        self.metrics = metrics
        self._checks: list[Callable[[int], Iterable[AlertCondition]]] = [
            self.vrf,
            self.price_feeds,
            self.status,
            self.automation,
            self.role_caps,
            self.dual_write,
        ]

    def check_once(self) -> list[tuple[str, str, str]]:
        """Evaluate every alert; ``(alert, subject, "raised"|"resolved")`` for each change."""
        now = self.chain.now_s()
        changes: list[tuple[str, str, str]] = []
        for check in self._checks:
            try:
                conditions = list(check(now))
            except ChainError as exc:
                logger.warning("monitor %s failed: %s", check.__name__, exc)
                continue
            for cond in conditions:
                change = self.alerts.observe(cond, at_s=now)
                if change is not None:
                    changes.append((cond.name, cond.subject, change))
        if self.metrics is not None:
            self.metrics.alerts_active.set(len(self.alerts.active()))
        return changes

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.check_once()
            except Exception:
                logger.exception("monitor pass failed")
            stop.wait(self.config.interval_s)

    def _vanished(self, name: str, present: set[str]) -> list[AlertCondition]:
        """Clear alerts whose subject no longer appears (a bot or cap removed)."""
        return [
            AlertCondition(name, subject, active=False)
            for subject in self.alerts.active_subjects(name)
            if subject not in present
        ]

    # --- checks ----------------------------------------------------------------------------

    def vrf(self, now: int) -> list[AlertCondition]:
        [view] = self.chain.read("views::get_vrf_deposit_status")
        effective, required = _n(view["effective_balance"]), _n(view["required_minimum"])
        paused, since = bool(view["requests_paused"]), _n(view["paused_since_ts"])
        if self.metrics is not None:
            self.metrics.vrf_effective_balance.set(effective)
            self.metrics.vrf_required_minimum.set(required)
            self.metrics.vrf_requests_paused.set(int(paused))
        return [
            AlertCondition(
                "VrfDepositLow",
                "vrf-deposit",
                active=effective < required,
                severity="critical",
                title="VRF deposit below the required minimum",
                text=f"effective_balance {effective} < required_minimum {required}: top up "
                "by at least required_minimum x 1.2 (VRF deposit runbook).",
                fields=(("effective_balance", str(effective)), ("required_minimum", str(required))),
            ),
            AlertCondition(
                "VrfRequestsPaused",
                "vrf-deposit",
                active=paused and now - since >= self.config.vrf_paused_s,
                severity="critical",
                title="VRF requests paused for more than 5 min",
                text=f"Paused since {since}; top up, then /vrf resume.",
                fields=(("paused_since_ts", str(since)),),
            ),
        ]

    def price_feeds(self, now: int) -> list[AlertCondition]:
        out = []
        for asset in self.config.asset_ids:
            try:
                [view] = self.chain.read("price_feed::get_price_view", _u64(asset))
            except ChainAbortError:
                continue  # not registered
            clamp, fallback = bool(view["clamp_active"]), bool(view["fallback_active"])
            if self.metrics is not None:
                self.metrics.price_feed_clamp_active.labels(asset_id=str(asset)).set(int(clamp))
                self.metrics.price_feed_fallback_active.labels(asset_id=str(asset)).set(
                    int(fallback)
                )
            subject = f"asset:{asset}"
            out.append(
                AlertCondition(
                    "PriceFeedClamp",
                    subject,
                    active=clamp,
                    severity="warning",
                    title=f"Price clamp active on asset {asset} for more than 5 min",
                    text="Check the price provider, publish a new quote, then /feed clear-clamp.",
                    hold_s=self.config.price_active_s,
                )
            )
            out.append(
                AlertCondition(
                    "PriceFeedFallback",
                    subject,
                    active=fallback,
                    severity="warning",
                    title=f"Price feed fallback active on asset {asset} for more than 5 min",
                    text=f"Fallback reason {view.get('fallback_reason')}: notify RootAdmin, "
                    "run the price-feed runbook.",
                    hold_s=self.config.price_active_s,
                )
            )
        return out

    def status(self, now: int) -> list[AlertCondition]:
        [view] = self.chain.read("views::status_overview", _u64(now))
        backlog = _n(view["payout_backlog"])
        pending = _n(view["refund_batch_pending"])
        breach = bool(view["refund_sla_breach"])
        if self.metrics is not None:
            for field, value in view.items():
                self.metrics.status.labels(field=field).set(_n(value))
        return [
            AlertCondition(
                "PayoutBacklog",
                "payouts",
                active=backlog > 0,
                severity="warning",
                title="Payout backlog for more than 60 min",
                text=f"{backlog} lotteries with unpaid batches: check the payout queue, "
                "PayoutBatchCap and AutomationBot.",
                fields=(("payout_backlog", str(backlog)),),
                hold_s=self.config.payout_backlog_s,
            ),
            AlertCondition(
                "RefundBacklog",
                "refunds",
                active=pending > 0,
                severity="warning",
                title="Refund backlog for more than 4 h",
                text=f"{pending} tickets still to refund: notify RootAdmin and Treasury "
                "(refund.md).",
                fields=(("refund_batch_pending", str(pending)),),
                hold_s=self.config.refund_backlog_s,
            ),
            AlertCondition(
                "RefundSlaBreach",
                "refunds",
                active=breach,
                severity="critical",
                title="Refund SLA breached",
                text="First batch later than 12 h or completion later than 24 h: urgent support "
                "notice, banners, player communications.",
            ),
        ]

    def automation(self, now: int) -> list[AlertCondition]:
        [bots] = self.chain.read("views::list_automation_bots")
        out = []
        present = set()
        for bot in bots:
            operator = str(bot["operator"])
            subject = f"bot:{operator}"
            present.add(subject)
            failures, max_failures = _n(bot["failure_count"]), _n(bot["max_failures"])
            has_pending = bool(bot["has_pending"])
            after = _n(bot["pending_execute_after"])
            timelock = _n(bot["timelock_secs"])
            if self.metrics is not None:
                self.metrics.automation_failure_count.labels(operator=operator).set(failures)
                age = now - (after - timelock) if has_pending else 0
                self.metrics.automation_pending_age.labels(operator=operator).set(age)
            out.append(
                AlertCondition(
                    "AutomationFailures",
                    subject,
                    active=max_failures > 0 and failures >= max_failures,
                    severity="critical",
                    title=f"AutomationBot failures reached the maximum ({operator})",
                    text=f"failure_count {failures} >= max_failures {max_failures}: new actions "
                    "are blocked; escalate to @automation-lead.",
                    fields=(("failure_count", str(failures)), ("max_failures", str(max_failures))),
                )
            )
            # announced at after - timelock; stale once older than timelock + 15 min
            out.append(
                AlertCondition(
                    "AutomationDryRunStale",
                    subject,
                    active=has_pending and now > after + self.config.dry_run_grace_s,
                    severity="warning",
                    title=f"AutomationBot dry-run older than its timelock + 15 min ({operator})",
                    text=f"Executable since {after}: remind the operator to finish or cancel it.",
                    fields=(("pending_execute_after", str(after)),),
                )
            )
        gone = self._vanished("AutomationFailures", present)
        return out + gone + self._vanished("AutomationDryRunStale", present)

    def role_caps(self, now: int) -> list[AlertCondition]:
        [partners] = self.chain.read("roles::list_partner_caps")
        [premium] = self.chain.read("roles::list_premium_caps")
        horizon = now + self.config.cap_expiring_s
        out = []
        present = set()
        partner_count = premium_count = 0
        for cap in partners:
            expires, remaining = _n(cap["expires_at"]), _n(cap["remaining_payout"])
            expiring = (expires != 0 and expires < horizon) or remaining == 0
            partner_count += expiring
            subject = f"partner:{cap['partner']}"
            present.add(subject)
            out.append(
                AlertCondition(
                    "RoleCapExpiring",
                    subject,
                    active=expiring,
                    severity="warning",
                    title=f"Partner payout cap expiring or exhausted ({cap['partner']})",
                    text=f"expires_at {expires}, remaining_payout {remaining}: extend, or run "
                    "/roles cleanup / revoke-partner and log it.",
                )
            )
        for cap in premium:
            expires = _n(cap["expires_at"])
            expiring = expires != 0 and expires < horizon
            premium_count += expiring
            subject = f"holder:{cap['holder']}"
            present.add(subject)
            out.append(
                AlertCondition(
                    "RoleCapExpiring",
                    subject,
                    active=expiring,
                    severity="warning",
                    title=f"Premium access cap expiring ({cap['holder']})",
                    text=f"expires_at {expires}: extend, or /roles premium-revoke and log it.",
                )
            )
        if self.metrics is not None:
            self.metrics.partner_cap_expiring.set(partner_count)
            self.metrics.premium_cap_expiring.set(premium_count)
        return out + self._vanished("RoleCapExpiring", present)

    def dual_write(self, now: int) -> list[AlertCondition]:
        [pending] = self.chain.read("legacy_bridge::pending_expected_hashes")
        out = []
        present = set()
        mismatches = 0
        for raw_id in pending:
            lottery = _n(raw_id)
            subject = f"dual-write:{lottery}"
            present.add(subject)
            # A matching summary write removes the expectation, so a stored summary while the
            # expectation is still pending is a mismatch (spec §7.2: mismatch emits nothing).
            try:
                self.chain.read("history::get_summary", _u64(lottery))
                has_summary = True
            except ChainAbortError:
                has_summary = False
            mismatches += has_summary
            out.append(
                AlertCondition(
                    "DualWriteMismatch",
                    subject,
                    active=has_summary,
                    severity="critical",
                    title=f"Dual-write hash mismatch for lottery {lottery}",
                    text="The stored summary differs from the expected hash: block finalization, "
                    "run the dual-write runbook.",
                    hold_s=self.config.dual_write_mismatch_s,
                )
            )
            out.append(
                AlertCondition(
                    "DualWritePending",
                    subject,
                    active=not has_summary,
                    severity="warning",
                    title=f"Dual-write pending for more than 2 h (lottery {lottery})",
                    text="The expected hash is still waiting for its summary write.",
                    hold_s=self.config.dual_write_pending_s,
                )
            )
        if self.metrics is not None:
            self.metrics.dual_write_pending.set(len(pending))
            self.metrics.dual_write_mismatch.set(mismatches)
        return (
            out
            + self._vanished("DualWriteMismatch", present)
            + self._vanished("DualWritePending", present)
        )
