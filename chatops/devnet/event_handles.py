"""Which package event is emitted on which ``EventHandle`` field, and each handle's GUID creation number.

The ledger numbers the handles it emits on and the resources show them; both read the numbers here.
"""

from __future__ import annotations

from chatops.devnet.framework import PACKAGE_ADDRESS

__all__ = [
    "EVENT_HANDLES",
    "handle_creation_number",
    "next_free_creation_number",
    "static_creation_number",
]

A = PACKAGE_ADDRESS
FIRST_CREATION_NUMBER = 4

# Event-handle fields per resource, in the order the init_* functions create them (spec §4, §7):
# this order fixes each handle's GUID creation number, so it is the same on every run.
EVENT_HANDLES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "lottery_registry::Registry",
        (
            ("created_events", "history::LotteryCreatedEvent"),
            ("canceled_events", "history::LotteryCanceledEvent"),
        ),
    ),
    (
        "sales::SalesLedger",
        (
            ("purchase_events", "sales::TicketPurchaseEvent"),
            ("rate_limit_events", "history::PurchaseRateLimitHitEvent"),
        ),
    ),
    (
        "draw::DrawLedger",
        (
            ("requested_events", "history::VrfRequestedEvent"),
            ("fulfilled_events", "history::VrfFulfilledEvent"),
        ),
    ),
    (
        "payouts::PayoutLedger",
        (
            ("winner_events", "history::WinnersComputedEvent"),
            ("payout_events", "history::PayoutBatchEvent"),
            ("partner_events", "history::PartnerPayoutEvent"),
            ("refund_events", "history::RefundBatchEvent"),
        ),
    ),
    (
        "roles::RoleEvents",
        (
            ("payout_batch_granted", "roles::PayoutBatchCapGrantedEvent"),
            ("payout_batch_revoked", "roles::PayoutBatchCapRevokedEvent"),
            ("partner_granted", "roles::PartnerPayoutCapGrantedEvent"),
            ("partner_revoked", "roles::PartnerPayoutCapRevokedEvent"),
            ("premium_granted", "roles::PremiumAccessGrantedEvent"),
            ("premium_revoked", "roles::PremiumAccessRevokedEvent"),
        ),
    ),
    (
        "vrf_deposit::VrfDepositLedger",
        (
            ("snapshot_events", "history::VrfDepositSnapshotEvent"),
            ("alert_events", "history::VrfDepositAlertEvent"),
            ("paused_events", "history::VrfRequestsPausedEvent"),
            ("resumed_events", "history::VrfRequestsResumedEvent"),
        ),
    ),
    (
        "price_feed::PriceFeedRegistry",
        (
            ("updated_events", "price_feed::PriceFeedUpdatedEvent"),
            ("fallback_events", "price_feed::PriceFeedFallbackEvent"),
            ("clamp_events", "price_feed::PriceFeedClampEvent"),
            ("clamp_cleared_events", "price_feed::PriceFeedClampClearedEvent"),
        ),
    ),
    (
        "automation::AutomationRegistry",
        (
            ("dry_run_events", "history::AutomationDryRunPlannedEvent"),
            ("call_rejected_events", "history::AutomationCallRejectedEvent"),
            ("key_rotated_events", "history::AutomationKeyRotatedEvent"),
            ("tick_events", "history::AutomationTickEvent"),
            ("error_events", "history::AutomationErrorEvent"),
        ),
    ),
    (
        "history::ArchiveLedger",
        (
            ("finalized_events", "history::LotteryFinalizedEvent"),
            ("imported_events", "history::LegacySummaryImportedEvent"),
            ("rolled_back_events", "history::LegacySummaryRolledBackEvent"),
            ("classification_events", "history::LegacySummaryClassificationUpdatedEvent"),
        ),
    ),
    (
        "legacy_bridge::DualWriteControl",
        (
            ("started_events", "legacy_bridge::ArchiveDualWriteStartedEvent"),
            ("completed_events", "legacy_bridge::ArchiveDualWriteCompletedEvent"),
        ),
    ),
    ("history_bridge::LegacyArchive", (("summary_events", "history_bridge::LegacySummaryEvent"),)),
)

_CREATION_NUMBERS: dict[str, int] = {
    f"{A}::{event}": FIRST_CREATION_NUMBER + index
    for index, event in enumerate(event for _, handles in EVENT_HANDLES for _, event in handles)
}
_HANDLE_EVENT: dict[tuple[str, str], str] = {
    (struct, name): event for struct, handles in EVENT_HANDLES for name, event in handles
}


def static_creation_number(event_type: str) -> int | None:
    """The fixed creation number of a package event type (``None`` for other types)."""
    return _CREATION_NUMBERS.get(event_type)


def handle_creation_number(struct: str, name: str) -> int:
    """The creation number of the ``name`` event-handle field of resource ``struct``."""
    return _CREATION_NUMBERS[f"{A}::{_HANDLE_EVENT[(struct, name)]}"]


def next_free_creation_number() -> int:
    """The first creation number not used by a package handle (for injected foreign types)."""
    return FIRST_CREATION_NUMBER + len(_CREATION_NUMBERS)
