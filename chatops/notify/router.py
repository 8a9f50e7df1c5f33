"""Routing rules: a chain event -> severity, subject, channel, whether it opens an incident, and
its Notice; defaults from monitoring.md and the runbooks (spec §7, §11), overridden by the
policy's ``routing``. Pure: no Redis, no chain, no Slack."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from chatops.notify.notice import Notice
from chatops.notify.routing_policy import RouteOverride, Routing
from chatops.severity import Severity

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_RULES",
    "AlertRoute",
    "EventRouter",
    "Routed",
    "Rule",
    "SubjectKind",
    "event_dedupe_key",
    "short_name",
]

DEFAULT_CHANNEL = "#lottery-ops"  # monitoring.md: the responsible channel

SubjectKind = Literal["lottery", "dual-write", "asset", "bot", "partner", "holder", "vrf-deposit"]


@dataclass(frozen=True)
class Rule:
    """How one event type is announced.

    ``aggregate`` events (ticket purchases) become a per-lottery digest instead of one notice each;
    ``muted`` ones are counted in metrics but never posted.
    """

    module: str
    struct: str
    severity: Severity
    subject: SubjectKind
    title: str
    incident: bool = False
    channel: str | None = None
    aggregate: bool = False
    muted: bool = False

    def applied(self, override: RouteOverride | None) -> Rule:
        if override is None:
            return self
        return replace(
            self,
            severity=override.severity or self.severity,
            channel=override.channel or self.channel,
            incident=self.incident if override.incident is None else override.incident,
            muted=self.muted if override.muted is None else override.muted,
        )


def _rule(
    module: str,
    struct: str,
    severity: Severity,
    subject: SubjectKind,
    title: str,
    **extra: Any,
) -> Rule:
    return Rule(module, struct, severity, subject, title, **extra)


DEFAULT_RULES: tuple[Rule, ...] = (
    # §7.1 lifecycle, sales, draw, payouts, refunds
    _rule("history", "LotteryCreatedEvent", "info", "lottery", "Lottery created"),
    _rule(
        "history", "LotteryCanceledEvent", "critical", "lottery", "Lottery canceled", incident=True
    ),
    _rule("sales", "TicketPurchaseEvent", "info", "lottery", "Ticket sales", aggregate=True),
    _rule("history", "PurchaseRateLimitHitEvent", "warning", "lottery", "Purchase rate limit hit"),
    _rule("history", "VrfRequestedEvent", "info", "lottery", "VRF requested"),
    _rule("history", "VrfFulfilledEvent", "info", "lottery", "VRF fulfilled"),
    _rule("history", "WinnersComputedEvent", "info", "lottery", "Winner batch computed"),
    _rule("history", "PayoutBatchEvent", "info", "lottery", "Payout batch recorded"),
    _rule("history", "PartnerPayoutEvent", "info", "lottery", "Partner payout"),
    _rule("history", "RefundBatchEvent", "info", "lottery", "Refund batch"),
    _rule("history", "LotteryFinalizedEvent", "info", "lottery", "Lottery summary stored"),
    # §7.2 archive, legacy import, dual-write
    _rule("history", "LegacySummaryImportedEvent", "info", "lottery", "Legacy summary imported"),
    _rule(
        "history",
        "LegacySummaryRolledBackEvent",
        "warning",
        "lottery",
        "Legacy summary rolled back",
    ),
    _rule(
        "history",
        "LegacySummaryClassificationUpdatedEvent",
        "info",
        "lottery",
        "Legacy summary reclassified",
    ),
    _rule(
        "legacy_bridge", "ArchiveDualWriteStartedEvent", "info", "dual-write", "Dual-write started"
    ),
    _rule(
        "legacy_bridge",
        "ArchiveDualWriteCompletedEvent",
        "info",
        "dual-write",
        "Dual-write completed",
    ),
    _rule("history_bridge", "LegacySummaryEvent", "info", "dual-write", "Summary mirrored"),
    # §7.3 VRF deposit
    _rule("history", "VrfDepositSnapshotEvent", "info", "vrf-deposit", "VRF deposit snapshot"),
    _rule(
        "history",
        "VrfDepositAlertEvent",
        "critical",
        "vrf-deposit",
        "VRF deposit low",
        incident=True,
    ),
    _rule(
        "history",
        "VrfRequestsPausedEvent",
        "critical",
        "vrf-deposit",
        "VRF requests paused",
        incident=True,
    ),
    _rule("history", "VrfRequestsResumedEvent", "info", "vrf-deposit", "VRF requests resumed"),
    # §7.4 price feed
    _rule("price_feed", "PriceFeedUpdatedEvent", "info", "asset", "Price updated", muted=True),
    _rule(
        "price_feed",
        "PriceFeedFallbackEvent",
        "warning",
        "asset",
        "Price feed fallback switched",
        incident=True,
    ),
    _rule("price_feed", "PriceFeedClampEvent", "warning", "asset", "Price clamped", incident=True),
    _rule("price_feed", "PriceFeedClampClearedEvent", "info", "asset", "Price clamp cleared"),
    # §7.5 roles
    _rule("roles", "PayoutBatchCapGrantedEvent", "info", "holder", "Payout batch cap granted"),
    _rule("roles", "PayoutBatchCapRevokedEvent", "warning", "holder", "Payout batch cap revoked"),
    _rule("roles", "PartnerPayoutCapGrantedEvent", "info", "partner", "Partner payout cap granted"),
    _rule(
        "roles", "PartnerPayoutCapRevokedEvent", "warning", "partner", "Partner payout cap revoked"
    ),
    _rule("roles", "PremiumAccessGrantedEvent", "info", "holder", "Premium access granted"),
    _rule("roles", "PremiumAccessRevokedEvent", "warning", "holder", "Premium access revoked"),
    # §7.6 automation
    _rule(
        "history", "AutomationDryRunPlannedEvent", "info", "bot", "AutomationBot dry-run planned"
    ),
    _rule("history", "AutomationTickEvent", "info", "bot", "AutomationBot action recorded"),
    _rule(
        "history", "AutomationErrorEvent", "critical", "bot", "AutomationBot error", incident=True
    ),
    _rule(
        "history", "AutomationCallRejectedEvent", "warning", "bot", "AutomationBot call rejected"
    ),
    _rule("history", "AutomationKeyRotatedEvent", "info", "bot", "AutomationBot key rotated"),
)


def short_name(struct: str) -> str:
    """``VrfFulfilledEvent`` -> ``VrfFulfilled`` (the docs' names)."""
    return struct.removesuffix("Event")


def event_dedupe_key(creation_number: int, account_address: str, sequence_number: int) -> str:
    """The handle-event triple (spec §7): unique and monotonic per handle."""
    return f"{creation_number}:{account_address}:{sequence_number}"


@dataclass(frozen=True)
class Routed:
    """An event as the router decided: its notice, channel and whether it opens an incident."""

    notice: Notice
    channel: str
    incident: bool
    rule: Rule


@dataclass(frozen=True)
class AlertRoute:
    """Where an alert goes and how loud it is."""

    severity: Severity
    channel: str
    muted: bool


# Fields shown on a notice: the routing key first, then the rest in the event's order; raw hashes
# are long and live in the links instead.
_HIDDEN = {"event_version", "event_category"}


def _subject(kind: SubjectKind, data: Mapping[str, Any]) -> str:
    if kind == "vrf-deposit":
        return "vrf-deposit"
    field = {
        "lottery": "lottery_id",
        "dual-write": "lottery_id",
        "asset": "asset_id",
        "bot": "operator",
        "partner": "partner",
        "holder": "holder",
    }[kind]
    value = data.get(field)
    if value is None and kind == "lottery":
        value = data.get("id")
    return f"{kind}:{value}" if value is not None else "global"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return str(value)
    return str(value)


class EventRouter:
    """Default rules plus the policy's overrides, by struct name."""

    def __init__(
        self,
        package_address: str,
        routing: Routing | None = None,
        *,
        rules: Iterable[Rule] = DEFAULT_RULES,
        default_channel: str | None = None,
    ) -> None:
        routing = routing or Routing()
        self.package_address = package_address
        self.default_channel = routing.channel or default_channel or DEFAULT_CHANNEL
        self._routing = routing
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            override = routing.events.get(rule.struct) or routing.events.get(
                short_name(rule.struct)
            )
            self._rules[rule.struct] = rule.applied(override)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    def event_types(self) -> list[str]:
        """The fully qualified types the watcher polls (muted ones too: metrics count them)."""
        return [self.full_type(rule) for rule in self._rules.values()]

    def full_type(self, rule: Rule) -> str:
        return f"{self.package_address}::{rule.module}::{rule.struct}"

    def rule_for(self, event_type: str) -> Rule | None:
        """The rule of a fully qualified (or bare struct) event type, or None if unknown."""
        return self._rules.get(event_type.rsplit("::", 1)[-1])

    def route(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        dedupe_key: str,
        at_s: int,
        tx_hash: str | None = None,
    ) -> Routed | None:
        """The notice for one event; None for unknown types (they are not polled anyway)."""
        rule = self.rule_for(event_type)
        if rule is None:
            return None
        subject = _subject(rule.subject, data)
        title = rule.title
        if rule.struct == "PriceFeedFallbackEvent":
            is_on = bool(data.get("fallback_active"))
            title = "Price feed fallback ON" if is_on else "Price feed fallback off"
            severity: Severity = rule.severity if is_on else "info"
            incident = rule.incident and is_on
        elif rule.struct == "AutomationTickEvent" and data.get("success") is False:
            title, severity, incident = "AutomationBot action failed", "warning", rule.incident
        else:
            severity, incident = rule.severity, rule.incident
        notice = Notice(
            id=f"event:{rule.struct}:{dedupe_key}",
            kind="event",
            subject=subject,
            severity=severity,
            title=f"{title} ({subject})" if subject != "global" else title,
            fields=tuple((key, _text(value)) for key, value in data.items() if key not in _HIDDEN),
            links=(tx_hash,) if tx_hash else (),
            at_s=at_s,
            event_type=short_name(rule.struct),
        )
        return Routed(
            notice=notice,
            channel=rule.channel or self.default_channel,
            incident=incident,
            rule=rule,
        )

    def alert_route(self, alert: str, severity: Severity) -> AlertRoute:
        override = self._routing.alerts.get(alert)
        if override is None:
            return AlertRoute(severity, self.default_channel, muted=False)
        return AlertRoute(
            override.severity or severity,
            override.channel or self.default_channel,
            muted=bool(override.muted),
        )

    def opens_incident(self, notice: Notice) -> bool:
        """Whether ``notice`` opens an incident for its subject when none is open.

        Alerts always do (an alert is a condition someone must act on); events per their rule.
        """
        if notice.kind == "alert":
            return True
        if notice.kind != "event" or notice.event_type is None:
            return False
        rule = self._rules.get(notice.event_type) or self._rules.get(f"{notice.event_type}Event")
        if rule is None or not rule.incident:
            return False
        return notice.severity != "info"
