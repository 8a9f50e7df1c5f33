"""Prometheus metrics of the chain as monitoring.md names them (fed by the watcher and the
monitors) and the outbox's own. One registry per instance: tests build many."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ChainMetrics", "LoopMetrics", "OutboxMetrics"]


class ChainMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "chatops_chain_events", "Chain events read, by type", ["type"], registry=r
        )
        self.price_feed_updates = Counter(
            "price_feed_updates", "PriceFeedUpdatedEvent count", ["asset_id"], registry=r
        )
        self.price_feed_clamp_active = Gauge(
            "price_feed_clamp_active", "Active clamps (get_price_view)", ["asset_id"], registry=r
        )
        self.price_feed_fallback_active = Gauge(
            "price_feed_fallback_active", "Active fallbacks", ["asset_id"], registry=r
        )
        self.vrf_effective_balance = Gauge(
            "vrf_effective_balance", "effective_balance of get_vrf_deposit_status", registry=r
        )
        self.vrf_required_minimum = Gauge(
            "vrf_required_minimum", "required_minimum of get_vrf_deposit_status", registry=r
        )
        self.vrf_requests_paused = Gauge("vrf_requests_paused", "VRF pause flag", registry=r)
        self.automation_failure_count = Gauge(
            "automation_failure_count", "Consecutive failures", ["operator"], registry=r
        )
        self.automation_pending_age = Gauge(
            "automation_pending_age_seconds", "Age of the pending dry-run", ["operator"], registry=r
        )
        self.payout_round_gap = Gauge(
            "payout_round_gap", "next_winner_batch_no - payout_round", ["lottery_id"], registry=r
        )
        self.status = Gauge("status_overview", "status_overview fields", ["field"], registry=r)
        self.dual_write_pending = Gauge(
            "dual_write_pending", "Expected hashes still pending", registry=r
        )
        self.dual_write_mismatch = Gauge(
            "dual_write_mismatch", "Lotteries whose summary hash differs", registry=r
        )
        self.partner_cap_expiring = Gauge(
            "partner_cap_expiring", "Partner caps expiring within 24 h or exhausted", registry=r
        )
        self.premium_cap_expiring = Gauge(
            "premium_cap_expiring", "Premium caps expiring within 24 h", registry=r
        )
        self.sales_tickets = Counter(
            "chatops_sales_tickets",
            "Tickets bought (TicketPurchaseEvent)",
            ["lottery_id"],
            registry=r,
        )
        self.watcher_lag_blocks = Gauge(
            "chatops_watcher_lag_blocks",
            "Blocks between the tip and the slowest cursor",
            registry=r,
        )
        self.alerts_active = Gauge("chatops_alerts_active", "Alerts currently raised", registry=r)

    def observe_event(self, struct: str, data: Mapping[str, Any]) -> None:
        self.events.labels(type=struct).inc()
        if struct == "PriceFeedUpdatedEvent":
            self.price_feed_updates.labels(asset_id=str(data.get("asset_id", "?"))).inc()
        elif struct == "TicketPurchaseEvent":
            self.sales_tickets.labels(lottery_id=str(data.get("lottery_id", "?"))).inc(
                float(data.get("quantity", 1))
            )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LoopMetrics:
    """The singleton loops (watcher, monitors, sweeper, retention): which this replica leads, and
    how often a leader lost its lease to another (a replica stalled past its lease, or Redis failed
    over)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.leader = Gauge(
            "chatops_loop_leader",
            "1 when this replica holds the loop's lease and runs it",
            ["loop"],
            registry=self.registry,
        )
        self.lease_lost = Counter(
            "chatops_lease_lost",
            "Times this replica found its loop's lease taken by another",
            ["loop"],
            registry=self.registry,
        )
        self.runs = Counter(
            "chatops_loop_runs",
            "Rounds of the loop this replica ran as leader",
            ["loop"],
            registry=self.registry,
        )


class OutboxMetrics:
    """What the outbox sent: messages by kind, and how many notices each digest carried.

    ``chatops_outbox_notices_total / chatops_outbox_messages_total`` is the coalescing ratio: during
    a flood it should approach the digest size, which is what keeps a channel near real time under
    Slack's 1 message/s.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "chatops_outbox_messages",
            "Chat messages the outbox posted, by kind (single: one notice; digest: several)",
            ["kind"],
            registry=r,
        )
        self.notices = Counter(
            "chatops_outbox_notices",
            "Notices recorded as sent, by how (alone or in a digest)",
            ["how"],
            registry=r,
        )
        self.digests = Counter(
            "chatops_outbox_digests", "Digest messages posted (several notices in one)", registry=r
        )
        self.digest_items = Histogram(
            "chatops_outbox_digest_items",
            "Notices per digest message",
            buckets=(2, 3, 5, 10, 15, 20, 30, 40),
            registry=r,
        )

    def posted_single(self) -> None:
        self.messages.labels(kind="single").inc()
        self.notices.labels(how="alone").inc()

    def posted_digest(self, items: int) -> None:
        self.messages.labels(kind="digest").inc()
        self.notices.labels(how="digest").inc(items)
        self.digests.inc()
        self.digest_items.observe(items)

    def render(self) -> bytes:
        return generate_latest(self.registry)
