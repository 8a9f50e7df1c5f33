"""Emulation of ``lottery_multi::views``: the aggregating read functions the runbooks call (spec §6.1, §6.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatops.devnet.contracts import (
    automation,
    draw,
    history,
    lottery_registry,
    payouts,
    sales,
    vrf_deposit,
)
from chatops.devnet.framework import MoveAbortError, Specs, World, addr, opt, u64

__all__ = ["SPECS", "paginate"]

SPECS = Specs("views")
MODULE = "views"

MAX_PAGE = 1000
REFUND_FIRST_BATCH_SLA_SECS = 43_200
REFUND_FULL_SLA_SECS = 86_400
PRIMARY_LABELS = {0: "basic", 1: "partner", 2: "jackpot", 3: "vip"}


def paginate(ids: list[int], start: int, limit: int, match: Callable[[int], bool]) -> list[int]:
    """Newest first; ``start`` skips that many *matching* ids; at most ``limit`` (> 1000 aborts 0x1501)."""
    if limit > MAX_PAGE:
        raise MoveAbortError(MODULE, 0x1501)
    found: list[int] = []
    skipped = 0
    for lottery_id in reversed(ids):
        if len(found) >= limit:
            break
        if not match(lottery_id):
            continue
        if skipped < start:
            skipped += 1
            continue
        found.append(lottery_id)
    return found


def _list(world: World, start: int, limit: int, match: Callable[[lottery_registry.Lottery], bool]) -> list[Any]:  # fmt: skip
    if limit > MAX_PAGE:
        raise MoveAbortError(MODULE, 0x1501)
    reg = lottery_registry.registry_state(world)
    ids = paginate(reg.ordered_ids, start, limit, lambda i: match(reg.lotteries[i]))
    return [[u64(i) for i in ids]]


@SPECS.read("validate_config", ("u64",))
def validate_config(world: World, lottery_id: int) -> list[Any]:
    """Checks an existing lottery's config (retry policy skipped); returns nothing on success."""
    config = lottery_registry.get_lottery(world, lottery_id).config
    lottery_registry.validate_config_rules(config, check_retry=False)
    return []


@SPECS.read("get_lottery", ("u64",), returns=("lottery_registry::Config",))
def get_lottery(world: World, lottery_id: int) -> list[Any]:
    return [lottery_registry.get_lottery(world, lottery_id).config.to_json()]


@SPECS.read("get_lottery_status", ("u64",), returns=("views::LotteryStatusView",))
def get_lottery_status(world: World, lottery_id: int) -> list[Any]:
    lottery = lottery_registry.get_lottery(world, lottery_id)
    return [
        {
            "status": lottery.status,
            "snapshot_frozen": lottery.snapshot_frozen,
            "primary_type": lottery.config.primary_type,
            "tags_mask": u64(lottery.config.tags_mask),
        }
    ]


@SPECS.read("get_lottery_badges", ("u64",), returns=("u8", "u64"))
def get_lottery_badges(world: World, lottery_id: int) -> list[Any]:
    config = lottery_registry.get_lottery(world, lottery_id).config
    return [config.primary_type, u64(config.tags_mask)]


@SPECS.read("get_badge_metadata", ("u8", "u64"), returns=("views::BadgeMetadata",))
def get_badge_metadata(world: World, primary_type: int, tags_mask: int) -> list[Any]:
    return [
        {
            "primary_label": PRIMARY_LABELS.get(primary_type, "unknown"),
            "is_experimental": bool(tags_mask & lottery_registry.TAG_EXPERIMENTAL),
            "tags_mask": u64(tags_mask),
        }
    ]


@SPECS.read("list_active", ("u64", "u64"), returns=("vector<u64>",))
def list_active(world: World, start: int, limit: int) -> list[Any]:
    return _list(world, start, limit, lambda lot: lot.status == lottery_registry.STATUS_ACTIVE)


@SPECS.read("list_by_primary_type", ("u8", "u64", "u64"), returns=("vector<u64>",))
def list_by_primary_type(world: World, primary_type: int, start: int, limit: int) -> list[Any]:
    return _list(world, start, limit, lambda lot: lot.config.primary_type == primary_type)


@SPECS.read("list_by_tag_mask", ("u64", "u64", "u64"), returns=("vector<u64>",))
def list_by_tag_mask(world: World, tag_mask: int, start: int, limit: int) -> list[Any]:
    """Ids sharing any bit with ``tag_mask`` (mask 0 matches none)."""
    return _list(world, start, limit, lambda lot: bool(lot.config.tags_mask & tag_mask))


@SPECS.read("list_by_all_tags", ("u64", "u64", "u64"), returns=("vector<u64>",))
def list_by_all_tags(world: World, tag_mask: int, start: int, limit: int) -> list[Any]:
    """Ids having every bit of ``tag_mask`` (mask 0 matches all)."""
    return _list(world, start, limit, lambda lot: lot.config.tags_mask & tag_mask == tag_mask)


@SPECS.read("accounting_snapshot", ("u64",), returns=("economics::Accounting",))
def accounting_snapshot(world: World, lottery_id: int) -> list[Any]:
    return [sales.require_state(world, lottery_id).accounting.to_json()]


@SPECS.read("get_vrf_deposit_status", returns=("views::VrfDepositStatusView",))
def get_vrf_deposit_status(world: World) -> list[Any]:
    return [vrf_deposit.status_json(world)]


@SPECS.read("get_lottery_summary", ("u64",), returns=("history::LotterySummary",))
def get_lottery_summary(world: World, lottery_id: int) -> list[Any]:
    return [history.summary_json(world, lottery_id)]


@SPECS.read("list_finalized_ids", ("u64", "u64"), returns=("vector<u64>",))
def list_finalized_ids(world: World, start: int, limit: int) -> list[Any]:
    """Delegates to ``history::list_finalized`` after the views' own page limit check."""
    if limit > MAX_PAGE:
        raise MoveAbortError(MODULE, 0x1501)
    return history.list_finalized(world, start, limit)


@SPECS.read(
    "get_cancellation",
    ("u64",),
    returns=("0x1::option::Option<lottery_registry::CancellationRecord>",),
)
def get_cancellation(world: World, lottery_id: int) -> list[Any]:
    record = lottery_registry.registry_state(world).cancellations.get(lottery_id)
    return [opt(None if record is None else record.to_json())]


@SPECS.read("get_refund_progress", ("u64",), returns=("sales::RefundProgressView",))
def get_refund_progress(world: World, lottery_id: int) -> list[Any]:
    return [sales.refund_progress_json(world, lottery_id)]


@SPECS.read("list_automation_bots", returns=("vector<automation::AutomationBotView>",))
def list_automation_bots(world: World) -> list[Any]:
    return [automation.bots_json(world)]


@SPECS.read(
    "get_automation_bot",
    ("address",),
    returns=("0x1::option::Option<automation::AutomationBotView>",),
)
def get_automation_bot(world: World, operator: str) -> list[Any]:
    return [opt(automation.bot_json(world, addr(operator)))]


def overview(world: World, now_ts: int) -> dict[str, int]:
    """``status_overview`` with its quirks (spec §6.3), as Python ints (``refund_sla_breach`` 0/1)."""
    reg = lottery_registry.registry_state(world)
    names = ("draft", "active", "closing", "draw_requested", "drawn", "payout", "finalized", "canceled")  # fmt: skip
    counts = dict.fromkeys(
        (
            "total", *names, "vrf_requested", "vrf_fulfilled_pending", "vrf_retry_blocked",
            "winners_pending", "payout_backlog", "refund_active", "refund_batch_pending",
            "refund_sla_breach",
        ),
        0,
    )  # fmt: skip
    for lottery_id in reg.ordered_ids:
        lottery = reg.lotteries[lottery_id]
        counts["total"] += 1
        if lottery.status < len(names):
            counts[names[lottery.status]] += 1
        drawn = draw.draw_state(world, lottery_id)
        if drawn is not None:
            vrf = drawn.vrf_state
            if vrf.status == draw.VRF_REQUESTED:
                counts["vrf_requested"] += 1
                if not vrf.consumed and vrf.retry_after_ts > now_ts:
                    counts["vrf_retry_blocked"] += 1
            if vrf.status == draw.VRF_FULFILLED and not vrf.consumed:
                counts["vrf_fulfilled_pending"] += 1
        winners = payouts.winner_state(world, lottery_id)
        if winners is not None and winners.initialized:
            if winners.total_required > winners.total_assigned:
                counts["winners_pending"] += 1
            if winners.next_winner_batch_no > winners.payout_round:
                counts["payout_backlog"] += 1
        state = sales.sales_state(world, lottery_id)
        if state is not None and state.refund_active:
            counts["refund_active"] += 1
            remaining = state.tickets_sold - state.refund_tickets_processed
            counts["refund_batch_pending"] += remaining
            record = reg.cancellations.get(lottery_id)
            if record is not None and (
                (
                    state.refund_round == 0
                    and now_ts > record.canceled_ts + REFUND_FIRST_BATCH_SLA_SECS
                )
                or (
                    state.refund_round > 0
                    and remaining > 0
                    and now_ts > record.canceled_ts + REFUND_FULL_SLA_SECS
                )
            ):
                counts["refund_sla_breach"] = 1
    return counts


@SPECS.read("status_overview", ("u64",), returns=("views::StatusOverview",))
def status_overview(world: World, now_ts: int) -> list[Any]:
    view: dict[str, Any] = {name: u64(value) for name, value in overview(world, now_ts).items()}
    view["refund_sla_breach"] = view["refund_sla_breach"] == "1"
    return [view]
