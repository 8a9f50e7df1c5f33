"""Periodic view checks for the alerts of monitoring.md, each evaluation through the ``AlertBook``
(raised once, joins or opens its subject's incident, resolves when clear). Reads only through a
``ViewReader``; knows nothing of Slack."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from chatops.chain.calls import TypedArg
from chatops.chain.errors import ChainAbortError, ChainError
from chatops.chain.models import EventPage, TransactionInfo
from chatops.chain.movetypes import as_int
from chatops.chain.statuses import LotteryStatus
from chatops.notify.alerts import AlertBook, AlertCondition
from chatops.notify.metrics import ChainMetrics

__all__ = ["ALERT_NAMES", "EventSource", "MonitorConfig", "Monitors", "ViewReader"]

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


class EventSource(Protocol):
    """Event pages and transactions (``chatops.chain.client.ChainClient`` satisfies it)."""

    def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage: ...

    def transaction(self, tx_hash: str) -> TransactionInfo | None: ...


@dataclass(frozen=True)
class _Seen:
    """The latest event of one kind for a lottery: where it was committed and what it carried."""

    height: int
    tx_hash: str
    data: dict[str, Any]


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
    refund_round_stalled_s: int = HOUR_S
    refund_aging_s: int = 2 * HOUR_S
    sensitive_timelock_s: int = 900
    concurrency: int = 4  # per-lottery reads in flight at once


def _u64(value: int) -> list[TypedArg]:
    return [TypedArg.of("u64", value)]


def _cap_expiring(subject: str, expiring: bool, *, title: str, text: str) -> AlertCondition:
    """RoleCapExpiring for one holder's cap: a partner's payout cap or a premium access cap."""
    return AlertCondition(
        "RoleCapExpiring", subject, active=expiring, severity="warning", title=title, text=text
    )


class Monitors:
    """Runs every check once per ``check_once``; ``run`` loops it on a thread."""

    def __init__(
        self,
        chain: ViewReader,
        alerts: AlertBook,
        *,
        config: MonitorConfig | None = None,
        metrics: ChainMetrics | None = None,
        events: EventSource | None = None,
        package_address: str = "",
    ) -> None:
        """``events`` and ``package_address`` (both, or neither) let the dual-write checks use the
        chain's own times: DualWritePending from the ArchiveDualWriteStartedEvent's block time, and
        DualWriteMismatch only for a summary written after the expectation was set."""
        self.chain = chain
        self.alerts = alerts
        self.config = config or MonitorConfig()
        self.metrics = metrics
        self.events = events if package_address else None
        self.package_address = package_address
        self._scanned: dict[str, int] = {}  # event type -> next start height
        self._latest: dict[str, dict[int, _Seen]] = {}  # event type -> lottery -> latest event
        self._block_s: dict[str, int] = {}  # tx hash -> block time
        self._finalized: set[int] = set()  # lotteries seen finalized: nothing more to watch
        self._checks: list[Callable[[int], Iterable[AlertCondition]]] = [
            self.vrf,
            self.price_feeds,
            self.status,
            self.automation,
            self.role_caps,
            self.dual_write,
            self.lotteries,
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
        effective, required = as_int(view["effective_balance"]), as_int(view["required_minimum"])
        paused, since = bool(view["requests_paused"]), as_int(view["paused_since_ts"])
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
        backlog = as_int(view["payout_backlog"])
        pending = as_int(view["refund_batch_pending"])
        breach = bool(view["refund_sla_breach"])
        if self.metrics is not None:
            for field, value in view.items():
                self.metrics.status.labels(field=field).set(as_int(value))
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
            failures, max_failures = as_int(bot["failure_count"]), as_int(bot["max_failures"])
            has_pending = bool(bot["has_pending"])
            after = as_int(bot["pending_execute_after"])
            timelock = as_int(bot["timelock_secs"])
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
            sensitive = sorted({5, 6, 7} & {as_int(a) for a in bot["allowed_actions"]})
            out.append(
                AlertCondition(
                    "AutomationTimelockBreach",
                    subject,
                    active=bool(sensitive) and timelock < self.config.sensitive_timelock_s,
                    severity="critical",
                    title=f"AutomationBot with sensitive actions and a short timelock ({operator})",
                    text=f"actions {sensitive} need timelock >= 900 s, it has {timelock} s: raise the "
                    "timelock (/autobot rotate) or drop the sensitive actions now.",
                    fields=(("timelock_secs", str(timelock)),),
                )
            )
        gone = self._vanished("AutomationFailures", present)
        gone += self._vanished("AutomationTimelockBreach", present)
        return out + gone + self._vanished("AutomationDryRunStale", present)

    def lotteries(self, now: int) -> list[AlertCondition]:
        """Per-lottery rules of monitoring.md: refund rounds stalling or aging on canceled lotteries
        (refund_progress, canceled_ts) and ``payout_round_gap > 1`` on lotteries being paid.

        A finalized lottery is final: read once more (its alert clears), then skipped, so a pass
        costs reads per live lottery, not per lottery ever created; the reads run
        ``concurrency`` at a time."""
        [ids] = self.chain.read("lottery_registry::ordered_ids_snapshot")
        live = [i for i in (as_int(raw) for raw in ids) if i not in self._finalized]
        with ThreadPoolExecutor(
            max_workers=max(1, self.config.concurrency), thread_name_prefix="chatops-monitor"
        ) as pool:
            found = list(pool.map(lambda lottery_id: self._lottery(lottery_id, now), live))
        return [condition for conditions in found for condition in conditions]

    def _lottery(self, lottery_id: int, now: int) -> list[AlertCondition]:
        [status] = self.chain.read("views::get_lottery_status", _u64(lottery_id))
        code = as_int(status["status"])
        subject = f"lottery:{lottery_id}"
        if code == LotteryStatus.CANCELED:
            return self._refund_rules(lottery_id, subject, now)
        if code not in (LotteryStatus.DRAWN, LotteryStatus.PAYOUT, LotteryStatus.FINALIZED):
            return []
        finalized = code == LotteryStatus.FINALIZED
        gap = 0
        if not finalized:
            [progress] = self.chain.read("payouts::winner_progress", _u64(lottery_id))
            gap = as_int(progress["next_winner_batch_no"]) - as_int(progress["payout_round"])
        if self.metrics is not None:
            if finalized:
                with contextlib.suppress(KeyError):
                    self.metrics.payout_round_gap.remove(str(lottery_id))
            else:
                self.metrics.payout_round_gap.labels(lottery_id=str(lottery_id)).set(gap)
        if finalized:
            self._finalized.add(lottery_id)
        return [
            AlertCondition(
                "PayoutRoundGap",
                subject,
                active=gap > 1,
                severity="warning",
                title=f"Lottery {lottery_id}: more than one winner batch unpaid",
                text=f"next_winner_batch_no - payout_round = {gap}: notify the on-chain team, "
                "check AutomationBot and /payouts plan.",
                fields=(("payout_round_gap", str(gap)),),
            )
        ]

    def _refund_rules(self, lottery_id: int, subject: str, now: int) -> list[AlertCondition]:
        [progress] = self.chain.read("views::get_refund_progress", _u64(lottery_id))
        [record] = self.chain.read("views::get_cancellation", _u64(lottery_id))
        items = record.get("vec", []) if isinstance(record, dict) else []
        canceled_ts = as_int(items[0]["canceled_ts"]) if items else 0
        remaining = as_int(progress["tickets_sold"]) - as_int(progress["tickets_refunded"])
        refund_round, last = as_int(progress["refund_round"]), as_int(progress["last_refund_ts"])
        active = bool(progress["active"]) and remaining > 0
        since = last if refund_round > 0 else canceled_ts
        return [
            AlertCondition(
                "RefundRoundStalled",
                subject,
                active=active and since > 0 and now - since > self.config.refund_round_stalled_s,
                severity="warning",
                title=f"Lottery {lottery_id}: refund round unchanged for more than 60 min",
                text=f"refund_round {refund_round}, {remaining} tickets left: check that the batch was "
                "published and the CLI reported no errors (/refund progress).",
                fields=(("refund_round", str(refund_round)), ("tickets_left", str(remaining))),
            ),
            AlertCondition(
                "RefundAging",
                subject,
                active=active and refund_round > 0 and now - last > self.config.refund_aging_s,
                severity="warning",
                title=f"Lottery {lottery_id}: last refund batch older than 120 min",
                text="Escalate to Treasury and reconcile manual batches (refund.md).",
                fields=(("last_refund_ts", str(last)),),
            ),
        ]

    def role_caps(self, now: int) -> list[AlertCondition]:
        [partners] = self.chain.read("roles::list_partner_caps")
        [premium] = self.chain.read("roles::list_premium_caps")
        horizon = now + self.config.cap_expiring_s
        out: list[AlertCondition] = []
        partner_count = premium_count = 0
        for cap in partners:
            expires, remaining = as_int(cap["expires_at"]), as_int(cap["remaining_payout"])
            expiring = (expires != 0 and expires < horizon) or remaining == 0
            partner_count += expiring
            out.append(
                _cap_expiring(
                    f"partner:{cap['partner']}",
                    expiring,
                    title=f"Partner payout cap expiring or exhausted ({cap['partner']})",
                    text=f"expires_at {expires}, remaining_payout {remaining}: extend, or run "
                    "/roles cleanup / revoke-partner and log it.",
                )
            )
        for cap in premium:
            expires = as_int(cap["expires_at"])
            expiring = expires != 0 and expires < horizon
            premium_count += expiring
            out.append(
                _cap_expiring(
                    f"holder:{cap['holder']}",
                    expiring,
                    title=f"Premium access cap expiring ({cap['holder']})",
                    text=f"expires_at {expires}: extend, or /roles premium-revoke and log it.",
                )
            )
        if self.metrics is not None:
            self.metrics.partner_cap_expiring.set(partner_count)
            self.metrics.premium_cap_expiring.set(premium_count)
        return out + self._vanished("RoleCapExpiring", {c.subject for c in out})

    def _latest_by_lottery(self, events: EventSource, struct: str, field: str) -> dict[int, _Seen]:
        """The latest ``struct`` event per lottery, read incrementally from the chain's events."""
        event_type = f"{self.package_address}::{struct}"
        latest = self._latest.setdefault(event_type, {})
        start = self._scanned.get(event_type, 0)
        cursor: str | None = None
        top = start - 1
        while True:
            page = events.events(event_type, start_height=start, limit=100, cursor=cursor)
            for event in page.events:
                data = dict(event.data or {})
                height = event.block_height if event.block_height is not None else start
                top = max(top, height)
                try:
                    lottery = int(data[field])
                except (KeyError, TypeError, ValueError):
                    continue
                latest[lottery] = _Seen(height, event.transaction_hash or "", data)
            cursor = page.next_cursor
            if not cursor or not page.events:
                break
        self._scanned[event_type] = top + 1
        return latest

    def _block_time_s(self, tx_hash: str) -> int | None:
        """The block time of the transaction ``tx_hash`` (cached), or None if the node has no time."""
        if tx_hash in self._block_s:
            return self._block_s[tx_hash]
        if self.events is None or not tx_hash:
            return None
        info = self.events.transaction(tx_hash)
        header = info.block_header if info is not None else None
        if header is None or header.timestamp is None:
            return None
        self._block_s[tx_hash] = header.timestamp.seconds
        return header.timestamp.seconds

    def dual_write(self, now: int) -> list[AlertCondition]:
        [pending] = self.chain.read("legacy_bridge::pending_expected_hashes")
        started: dict[int, _Seen] = {}
        finalized: dict[int, _Seen] = {}
        if self.events is not None:
            started = self._latest_by_lottery(
                self.events, "legacy_bridge::ArchiveDualWriteStartedEvent", "lottery_id"
            )
            finalized = self._latest_by_lottery(self.events, "history::LotteryFinalizedEvent", "id")
        out = []
        present = set()
        mismatches = 0
        for raw_id in pending:
            lottery = as_int(raw_id)
            subject = f"dual-write:{lottery}"
            present.add(subject)
            start = started.get(lottery)
            written = finalized.get(lottery)
            started_s = self._block_time_s(start.tx_hash) if start is not None else None
            fields: tuple[tuple[str, str], ...] = ()
            if start is not None:
                # A matching summary write removes the expectation (spec §7.2), so a summary
                # written after the expectation was set while it is still pending differs from it.
                mismatch = written is not None and written.height > start.height
                if written is not None and mismatch:
                    fields = (
                        ("expected_hash", str(start.data.get("expected_hash", "?"))),
                        ("archive_slot_hash", str(written.data.get("archive_slot_hash", "?"))),
                    )
            else:
                # No event to go by: a stored summary while the expectation is pending.
                try:
                    self.chain.read("history::get_summary", _u64(lottery))
                    mismatch = True
                except ChainAbortError:
                    mismatch = False
            mismatches += mismatch
            out.append(
                AlertCondition(
                    "DualWriteMismatch",
                    subject,
                    active=mismatch,
                    severity="critical",
                    title=f"Dual-write hash mismatch for lottery {lottery}",
                    text="The stored summary differs from the expected hash: block finalization, "
                    "run the dual-write runbook.",
                    fields=fields,
                    hold_s=self.config.dual_write_mismatch_s,
                )
            )
            since: tuple[tuple[str, str], ...] = ()
            if started_s is not None:
                waiting = now - started_s
                pending_active = not mismatch and waiting >= self.config.dual_write_pending_s
                hold_s = 0
                since = (("started_at", str(started_s)), ("waiting_s", str(waiting)))
            else:
                pending_active, hold_s = not mismatch, self.config.dual_write_pending_s
            out.append(
                AlertCondition(
                    "DualWritePending",
                    subject,
                    active=pending_active,
                    severity="warning",
                    title=f"Dual-write pending for more than 2 h (lottery {lottery})",
                    text="The expected hash is still waiting for its summary write.",
                    fields=since,
                    hold_s=hold_s,
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
