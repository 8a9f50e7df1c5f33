"""Prometheus metrics of the chain as monitoring.md names them, fed by the watcher and the monitors.

One registry per instance (tests build many); the app exposes it next to its own metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

__all__ = ["ChainMetrics"]


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
