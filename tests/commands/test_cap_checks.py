"""Every check of a payout batch, a partner payout and a refund batch (the PayoutBatchCap, the
partner caps and the accounting limits) names what it saw when it fails, and nothing is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chatops.devnet.seed import PARTNER
from tests.commands.chain_double import failed_check
from tests.fakes.bot import Harness, apply, no_payout_cap, nothing, payout_cap

HOUR = 3_600


def _paid_round_1(ts_offset: int = 0) -> Callable[[Harness], None]:
    def setup(ops: Harness) -> None:
        now = ops.gateway.now_s()
        apply(ops, "payouts::record_payout_batch_admin", 4, 1, 1, 1, 0, now + ts_offset)

    return setup


def _payout_cooldown(ops: Harness) -> None:
    payout_cap(cooldown=HOUR)(ops)
    _paid_round_1()(ops)


PAYOUT_BATCH_FAILURES = [
    ("/payouts batch 3 1 1 0", nothing, "lottery status", "Closing"),
    ("/payouts batch 4 1 1 0", no_payout_cap, "PayoutBatchCap present", "none"),
    ("/payouts batch 4 101 1 0", nothing, "batch size within cap", "101"),
    ("/payouts batch 4 1 1 0", _payout_cooldown, "cap cooldown passed", None),
    ("/payouts batch 4 1 1 0", payout_cap(stride=2), "cap nonce = payout round", None),
    ("/payouts batch 4 1 1 0", nothing, "prize = the winners' prizes", "1 typed"),
    ("/payouts batch 4 4", nothing, "winners left to pay", "4 to pay"),
    ("/payouts batch 4 1 1 20", payout_cap(budget=10), "cap operations budget", "20 needed"),
    ("/payouts batch 4 1 1 0", _paid_round_1(10 * HOUR), "timestamp >= last_payout_ts", None),
    ("/payouts batch 4 1 1050000001 0", nothing, "prize within total_allocated", "1,050,000,001"),
    (
        "/payouts batch 4 1 0 140000001",
        nothing,
        "operations within total_operations_allocated",
        "140,000,001",
    ),
    ("/payouts batch 2 1 1 0", nothing, "sales recorded", "no ticket sold"),
]


def _partner(max_total: int = 10**12, cooldown: int = 0, expires_offset: int | None = None) -> Any:
    def setup(ops: Harness) -> None:
        expires = 0 if expires_offset is None else ops.gateway.now_s() + expires_offset
        apply(
            ops, "roles::upsert_partner_payout_cap_admin", PARTNER, max_total, cooldown, 1, expires
        )

    return setup


def _partner_cooling(ops: Harness) -> None:
    _partner(cooldown=HOUR)(ops)
    apply(ops, "payouts::record_partner_payout_admin", 4, PARTNER, 1, 1, ops.gateway.now_s())


def _two_rounds_paid(ops: Harness) -> None:
    now = ops.gateway.now_s()
    apply(ops, "payouts::record_payout_batch_admin", 4, 1, 1, 1, 0, now)
    apply(ops, "payouts::record_payout_batch_admin", 4, 2, 1, 1, 0, now)


PARTNER_FAILURES = [
    (f"/payouts partner 3 {PARTNER} 1", nothing, "lottery status", "Closing"),
    ("/payouts partner 4 0xdead 1", nothing, "PartnerPayoutCap present", "none"),
    (
        f"/payouts partner 4 {PARTNER} 20",
        _partner(max_total=10),
        "partner cap remaining budget",
        "20",
    ),
    (
        f"/payouts partner 4 {PARTNER} 1",
        _partner(expires_offset=-1),
        "partner cap not expired",
        None,
    ),
    (f"/payouts partner 4 {PARTNER} 1", _partner_cooling, "partner cap cooldown passed", None),
    (f"/payouts partner 4 {PARTNER} 1", _two_rounds_paid, "partner cap nonce >= payout round", "1"),
    (
        f"/payouts partner 4 {PARTNER} 140000001",
        nothing,
        "operations within total_operations_allocated",
        "140,000,001",
    ),
]


def _refund_round_1(ts_offset: int = 0) -> Callable[[Harness], None]:
    def setup(ops: Harness) -> None:
        now = ops.gateway.now_s()
        apply(ops, "payouts::force_refund_batch_admin", 6, 1, 1, 100_000_000, 0, now + ts_offset)

    return setup


def _refund_cooldown(ops: Harness) -> None:
    payout_cap(cooldown=HOUR)(ops)
    _refund_round_1()(ops)


REFUND_BATCH_FAILURES = [
    ("/refund batch 1 1 100000000 0", nothing, "lottery status", "Active"),
    ("/refund batch 6 1 100000000 0", no_payout_cap, "PayoutBatchCap present", "none"),
    ("/refund batch 6 3 300000000 0", payout_cap(max_batch=2), "batch size within cap", "3"),
    ("/refund batch 6 1 100000000 0", _refund_cooldown, "cap cooldown passed", None),
    ("/refund batch 6 1", payout_cap(stride=2), "cap nonce = refund round", None),
    (
        "/refund batch 6 5 300000000 0",
        nothing,
        "amounts = tickets x price by the distribution",
        "prize 300,000,000 + operations 0 for 5 tickets",
    ),
    ("/refund batch 6 1 80000000 20", payout_cap(budget=10), "cap operations budget", "20 needed"),
    ("/refund batch 6 0 0 0", nothing, "at least one amount > 0", None),
    ("/refund batch 6 1 1 0", _refund_round_1(10 * HOUR), "timestamp >= last_refund_ts", None),
    ("/refund batch 6 9 100000000 0", nothing, "cumulative tickets <= tickets_sold", "9"),
    (
        "/refund batch 6 8 800000000 1",
        nothing,
        "cumulative prize + operations <= proceeds_accum",
        "800,000,001",
    ),
]


@pytest.mark.parametrize(
    ("line", "setup", "name", "seen"),
    PAYOUT_BATCH_FAILURES + PARTNER_FAILURES + REFUND_BATCH_FAILURES,
)
def test_check_failures_send_nothing(
    ops: Harness, line: str, setup: Callable[[Harness], None], name: str, seen: str | None
) -> None:
    """Each batch check, when it fails, is named with what it saw; no transaction."""
    setup(ops)
    before = ops.tx_count
    check = failed_check(ops.run(line), name)
    if seen is not None:
        assert check.seen == seen
    assert check.required
    assert ops.tx_count == before
