"""The devnet's demo state: every module initialised and one lottery in each interesting lifecycle
stage."""

from __future__ import annotations

from typing import Any, Protocol

from chatops.devnet.contracts.lottery_registry import (
    AutoClosePolicy,
    Config,
    PrizeSlot,
    RetryPolicy,
    RewardBackend,
    SalesDistribution,
    SalesWindow,
    TicketLimits,
)
from chatops.devnet.framework import PACKAGE_ADDRESS, addr

__all__ = [
    "BOT_OPERATOR",
    "BUYERS",
    "PARTNER",
    "PREMIUM_BUYER",
    "SeedTarget",
    "demo_config",
    "encode_config",
    "seed",
]

BOT_OPERATOR = addr("0xb07")
PARTNER = addr("0xa11")
BUYERS = [addr("0xb001"), addr("0xb002"), addr("0xb003"), addr("0xb004")]
PREMIUM_BUYER = addr("0xb0b0")
TICKET_PRICE = 100_000_000  # 0.1 SUPRA in quants
DAY = 86_400


class SeedTarget(Protocol):
    """What the seed needs from whoever hosts the world (the devnet server or an in-process test)."""

    @property
    def now_s(self) -> int: ...

    def apply(self, function: str, args: list[Any], signers: list[str] | None = None) -> None:
        """Run ``module::name`` as a committed transaction (signers default to the package account); raise on abort."""

    def advance(self, secs: int) -> None: ...

    def fulfill_vrf(self, lottery_id: int) -> None: ...


def demo_config(
    sales_start: int,
    sales_end: int,
    *,
    event_slug: bytes = b"lottery",
    series_code: bytes = b"daily",
    run_id: int = 1,
    config_version: int = 1,
    primary_type: int = 0,
    tags_mask: int = 2,
    ticket_price: int = TICKET_PRICE,
    max_tickets_total: int = 50_000,
    max_tickets_per_address: int = 100,
    bps: tuple[int, int, int, int] = (7000, 1500, 1000, 500),
    winners_per_slot: tuple[int, ...] = (1,),
    winners_dedup: bool = True,
    retry: tuple[int, int, int] = (0, 600, 600),
) -> Config:
    """A config that passes every §4.1 check (given ``sales_start < sales_end``)."""
    return Config(
        event_slug=event_slug,
        series_code=series_code,
        run_id=run_id,
        config_version=config_version,
        primary_type=primary_type,
        tags_mask=tags_mask,
        sales_window=SalesWindow(sales_start, sales_end),
        ticket_price=ticket_price,
        ticket_limits=TicketLimits(max_tickets_total, max_tickets_per_address),
        sales_distribution=SalesDistribution(*bps),
        prize_plan=[PrizeSlot(i, n, 0, b"") for i, n in enumerate(winners_per_slot)],
        winners_dedup=winners_dedup,
        draw_algo=0,
        auto_close_policy=AutoClosePolicy(True, 900),
        reward_backend=RewardBackend(0, b""),
        vrf_retry_policy=RetryPolicy(*retry),
    )


def encode_config(config: Config) -> bytes:
    """``config_bytes`` for ``create_draft_admin`` (BCS, spec §12.2)."""
    return config.bcs()


def _init_modules(target: SeedTarget, now: int) -> None:
    apply = target.apply
    apply("lottery_registry::init_registry", [])
    apply("sales::init_sales", [])
    apply("draw::init_draw", [])
    apply("payouts::init_payouts", [])
    apply("roles::init_roles", [])
    apply("history::init_history", [])
    apply("legacy_bridge::init_dual_write", [False, False])
    apply("history_bridge::init_bridge", [])
    apply("vrf_deposit::init_vrf_deposit", [15_000, 5_000_000_000])
    apply("price_feed::init_price_feed", [1])
    apply("price_feed::register_feed", [1, 1_250_000, 8, None, None, now])
    apply("price_feed::register_feed", [2, 100_000_000, 8, None, None, now])
    apply("automation::init_automation", [])
    apply(
        "automation::register_bot",
        [b"*/5 * * * *", [1, 2, 4], 900, 3, now + 30 * DAY],
        [PACKAGE_ADDRESS, BOT_OPERATOR],
    )
    apply("feature_switch::init_feature_switch", [False])
    for feature in (1, 2, 3, 4):
        apply("feature_switch::set_mode", [feature, 1])
    # Healthy deposit: 20 SUPRA against a 10 SUPRA minimum x 1.5 = 15 SUPRA required.
    apply(
        "vrf_deposit::record_snapshot_admin", [20_000_000_000, 10_000_000_000, 20_000_000_000, now]
    )
    apply("roles::set_payout_batch_cap_admin", [PACKAGE_ADDRESS, 100, 10**15, 0, 1])
    apply("roles::upsert_partner_payout_cap_admin", [PARTNER, 10**12, 0, 1, 0])
    apply("roles::grant_premium_access_admin", [PREMIUM_BUYER, 0, False, None])


def _create(target: SeedTarget, lottery_id: int, config: Config) -> None:
    target.apply("lottery_registry::create_draft_admin", [lottery_id, encode_config(config)])


def _sell(target: SeedTarget, lottery_id: int, ts: int, block: int, quantities: list[int]) -> None:
    for buyer, quantity in zip(BUYERS, quantities, strict=False):
        target.apply("sales::purchase_tickets_public", [lottery_id, quantity, ts, block], [buyer])


def _drawn_with_winners(target: SeedTarget, lottery_id: int, start: int, end: int) -> None:
    """Draft -> Active -> sales -> Closing -> VRF request -> fulfilment -> all winners (status Payout)."""
    _create(target, lottery_id, demo_config(start, end, run_id=lottery_id, winners_per_slot=(1, 2)))
    target.apply("lottery_registry::advance_status", [lottery_id, 1])
    _sell(target, lottery_id, start + 600, 1_000 + lottery_id, [5, 3, 2, 4])
    target.apply("lottery_registry::advance_status", [lottery_id, 2])
    target.apply("draw::request_draw_admin", [lottery_id, end + 60, 5_000 + lottery_id, 6, 1])
    target.fulfill_vrf(lottery_id)
    target.apply("payouts::compute_winners_admin", [lottery_id, 10])


def seed(target: SeedTarget) -> None:
    """Build the demo state (ids 1..6, see the module docstring of each step).

    ``seed`` drives the contracts only through their entry functions (via a ``SeedTarget``), so the
    seeded state is one the real package could reach. ``demo_config`` builds a valid ``Config`` for
    tests and for the bot's own tests.
    """
    now = target.now_s
    _init_modules(target, now)

    # 1: Active, sales open, tickets sold (one premium purchase too).
    _create(target, 1, demo_config(now - 3_600, now + 7 * DAY, run_id=1, tags_mask=2))
    target.apply("lottery_registry::advance_status", [1, 1])
    _sell(target, 1, now - 1_800, 100, [3, 1, 2])
    target.apply("sales::purchase_tickets_premium", [1, 2, now - 1_700, 101], [PREMIUM_BUYER])

    # 2: Draft with a valid config (ready for validate_config and activation).
    _create(
        target,
        2,
        demo_config(
            now + 3_600,
            now + 8 * DAY,
            run_id=2,
            primary_type=3,
            tags_mask=4 | 16,
            series_code=b"weekly",
        ),
    )

    # 3: Closing, sales ended, tickets sold (ready for request_draw_admin).
    _create(target, 3, demo_config(now - 2 * DAY, now - 3_600, run_id=3, primary_type=2))
    target.apply("lottery_registry::advance_status", [3, 1])
    _sell(target, 3, now - DAY, 200, [4, 4, 1])
    target.apply("lottery_registry::advance_status", [3, 2])

    # 5 before 4 in time: Finalized after a full lifecycle with one payout batch.
    # 4: Payout with all winners computed (ready for payout batches).
    _drawn_with_winners(target, 4, now - 3 * DAY, now - 2 * DAY)
    _drawn_with_winners(target, 5, now - 6 * DAY, now - 5 * DAY)
    target.apply(
        "payouts::record_payout_batch_admin",
        [5, 1, 3, 1_000_000_000, 10_000_000, now - 5 * DAY + 7_200],
    )
    target.apply("payouts::finalize_lottery_admin", [5, now - 5 * DAY + 10_800])

    # 6: Canceled with tickets sold (ready for refund batches).
    _create(target, 6, demo_config(now - DAY, now + DAY, run_id=6, tags_mask=1))
    target.apply("lottery_registry::advance_status", [6, 1])
    _sell(target, 6, now - 7_200, 300, [2, 2, 2, 2])
    target.apply("cancellation::cancel_lottery_admin", [6, 3, now - 600])

    # Lottery 5's batch advanced the global cap nonce; re-issue it so lottery 4 starts at round 1 (fact 12).
    target.apply("roles::set_payout_batch_cap_admin", [PACKAGE_ADDRESS, 100, 10**15, 0, 1])
