"""Where lottery_multi keeps its state (spec §1.6): resources at the package account and their tables,
the aborts its read functions raise, and what the views return when a record is absent (spec §6.1-6.2).
"""

from __future__ import annotations

from typing import Any, Final

from chatops.chain.resource_reads import Table

__all__ = [
    "ARCHIVE",
    "AUTOMATION",
    "CANCELLATIONS",
    "DRAW",
    "DRAW_STATES",
    "DUAL_WRITE",
    "E_FEATURE_MODE_INVALID",
    "E_FEATURE_UNKNOWN",
    "E_HISTORY_MISSING",
    "E_PAGINATION_LIMIT",
    "E_PRICE_FEED_NOT_FOUND",
    "E_REGISTRY_MISSING",
    "E_ROLES_NOT_INITIALIZED",
    "FEATURES",
    "FEATURE_ENTRIES",
    "LEGACY_ARCHIVE",
    "LEGACY_SUMMARIES",
    "LOTTERIES",
    "MIRROR",
    "NO_DEPOSIT",
    "NO_SALES",
    "NO_VRF_STATE",
    "NO_WINNERS",
    "PARTNER_CAPS",
    "PAYOUTS",
    "PREMIUM_CAPS",
    "PRICE_FEED",
    "PRICE_FEEDS",
    "REGISTRY",
    "ROLES",
    "SALES",
    "SALES_STATES",
    "SUMMARIES",
    "VRF_DEPOSIT",
    "WINNER_CHUNKS",
    "WINNER_STATES",
]

# Resources at the package account (spec §1.6), module-relative.
REGISTRY: Final = "lottery_registry::Registry"
SALES: Final = "sales::SalesLedger"
DRAW: Final = "draw::DrawLedger"
PAYOUTS: Final = "payouts::PayoutLedger"
ROLES: Final = "roles::RoleStore"
ARCHIVE: Final = "history::ArchiveLedger"
DUAL_WRITE: Final = "legacy_bridge::DualWriteControl"
MIRROR: Final = "legacy_bridge::MirrorConfig"
VRF_DEPOSIT: Final = "vrf_deposit::VrfDepositLedger"
PRICE_FEED: Final = "price_feed::PriceFeedRegistry"
AUTOMATION: Final = "automation::AutomationRegistry"
FEATURES: Final = "feature_switch::FeatureSwitchRegistry"
LEGACY_ARCHIVE: Final = "history_bridge::LegacyArchive"


LOTTERIES: Final = Table("lotteries", "u64", "lottery_registry::Lottery")
CANCELLATIONS: Final = Table("cancellations", "u64", "lottery_registry::CancellationRecord")
SALES_STATES: Final = Table("states", "u64", "sales::SalesState")
DRAW_STATES: Final = Table("states", "u64", "draw::DrawState")
WINNER_STATES: Final = Table("states", "u64", "payouts::WinnerState")
WINNER_CHUNKS: Final = Table("winner_chunks", "u64", "payouts::WinnerChunk")
PARTNER_CAPS: Final = Table("partner_caps", "address", "roles::PartnerPayoutCap")
PREMIUM_CAPS: Final = Table("premium_caps", "address", "roles::PremiumAccessCap")
SUMMARIES: Final = Table("summaries", "u64", "history::LotterySummary")
PRICE_FEEDS: Final = Table("feeds", "u64", "price_feed::PriceFeedRecord")
FEATURE_ENTRIES: Final = Table("entries", "u64", "feature_switch::FeatureRecord")
LEGACY_SUMMARIES: Final = Table("summaries", "u64", "history_bridge::LegacySummary")

# Abort codes the read functions raise (spec §8.2); module = the module that raises it.
E_REGISTRY_MISSING: Final = 0x1202
E_ROLES_NOT_INITIALIZED: Final = 0x1103
E_PAGINATION_LIMIT: Final = 0x1501
E_HISTORY_MISSING: Final = 0x1B01
E_PRICE_FEED_NOT_FOUND: Final = 0x1902
E_FEATURE_UNKNOWN: Final = 0x1401
E_FEATURE_MODE_INVALID: Final = 0x1402


# What the views return when the module or the lottery's record does not exist (spec §6.1-6.2).
NO_SALES: Final[dict[str, Any]] = {
    "refund_active": False,
    **dict.fromkeys(
        (
            "refund_round",
            "refund_tickets_processed",
            "refund_prize_total",
            "refund_operations_total",
            "last_refund_ts",
            "tickets_sold",
            "proceeds_accum",
        ),
        "0",
    ),
}
NO_WINNERS: Final[dict[str, Any]] = {
    "initialized": False,
    **dict.fromkeys(
        (
            "total_required",
            "total_assigned",
            "payout_round",
            "next_winner_batch_no",
            "last_payout_ts",
        ),
        "0",
    ),
}
NO_DEPOSIT: Final[dict[str, Any]] = {
    **dict.fromkeys(
        (
            "total_balance",
            "minimum_balance",
            "effective_balance",
            "required_minimum",
            "last_update_ts",
        ),
        "0",
    ),
    "requests_paused": False,
    "paused_since_ts": "0",
}
NO_VRF_STATE: Final[dict[str, Any]] = {
    "status": 0,
    "attempt": 0,
    "consumed": True,
    "retry_after_ts": "0",
    "retry_strategy": 0,
    "last_request_ts": "0",
    "request_id": "0",
}
