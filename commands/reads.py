"""Typed reads shared by several sections, one per view the preflight checks lean on: plain Python
values (u64 strings parsed to int), names as in the contracts (spec §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chatops.chain.calls import TypedArg
from chatops.chain.errors import ChainAbortError
from chatops.chain.lottery_config import LotteryConfig
from chatops.chain.movetypes import as_int
from chatops.chain.statuses import VrfStatus, status_name
from commands.ports import StepContext

__all__ = [
    "VRF_STATUS_NAMES",
    "accounting",
    "as_int",
    "cancellation",
    "lottery_config",
    "lottery_status",
    "lottery_summary",
    "numbers",
    "option",
    "payout_cap",
    "refund_progress",
    "sales_totals",
    "status_name",
    "u64",
    "utc",
    "vrf_deposit",
    "vrf_state",
    "winner_progress",
]

VRF_STATUS_NAMES = tuple(status.label for status in VrfStatus)


def utc(ts: int) -> str:
    """A chain timestamp (Unix seconds) as operators read it."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def numbers(data: dict[str, Any]) -> dict[str, Any]:
    """u64 strings to ints, leaving bools, bytes-hex and nested values as they are."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    return out


def u64(value: int) -> TypedArg:
    """A ``u64`` argument (the type most calls and reads take)."""
    return TypedArg.of("u64", value)


def option(value: Any) -> Any | None:
    """The content of a chain-JSON ``Option<T>`` (``{"vec": [x]}``), or None when empty."""
    items = value.get("vec", []) if isinstance(value, dict) else []
    return items[0] if items else None


def _id(lottery_id: int) -> list[TypedArg]:
    return [TypedArg.of("u64", lottery_id)]


def lottery_status(ctx: StepContext, lottery_id: int) -> dict[str, Any]:
    """``views::get_lottery_status``: status, snapshot_frozen, primary_type, tags_mask."""
    [view] = ctx.chain.read("views::get_lottery_status", _id(lottery_id))
    return numbers(view)


def vrf_state(ctx: StepContext, lottery_id: int) -> dict[str, Any]:
    [view] = ctx.chain.read("draw::vrf_state_view", _id(lottery_id))
    return numbers(view)


def sales_totals(ctx: StepContext, lottery_id: int) -> tuple[int, int, int]:
    """``sales::sales_totals``; (0, 0, 0) when nothing was ever sold (the view aborts 0x1202 then)."""
    try:
        sold, proceeds, last = ctx.chain.read("sales::sales_totals", _id(lottery_id))
    except ChainAbortError as exc:
        if exc.code == 0x1202:
            return (0, 0, 0)
        raise
    return as_int(sold), as_int(proceeds), as_int(last)


def accounting(ctx: StepContext, lottery_id: int) -> dict[str, Any] | None:
    """``views::accounting_snapshot``; None when no ticket was ever sold (it aborts 0x1202 then)."""
    try:
        [view] = ctx.chain.read("views::accounting_snapshot", _id(lottery_id))
    except ChainAbortError as exc:
        if exc.code == 0x1202:
            return None
        raise
    return numbers(view)


def winner_progress(ctx: StepContext, lottery_id: int) -> dict[str, Any]:
    [view] = ctx.chain.read("payouts::winner_progress", _id(lottery_id))
    return numbers(view)


def vrf_deposit(ctx: StepContext) -> dict[str, Any]:
    [view] = ctx.chain.read("views::get_vrf_deposit_status")
    return numbers(view)


def payout_cap(ctx: StepContext) -> dict[str, Any] | None:
    """``roles::payout_batch_cap_view``: the single global PayoutBatchCap, or None."""
    [view] = ctx.chain.read("roles::payout_batch_cap_view")
    found = option(view)
    return numbers(found) if found is not None else None


def lottery_config(ctx: StepContext, lottery_id: int) -> LotteryConfig:
    """``views::get_lottery``: price, distribution, prize plan and retry policy of a lottery."""
    [config] = ctx.chain.read("views::get_lottery", _id(lottery_id))
    return LotteryConfig.from_view(config)


def cancellation(ctx: StepContext, lottery_id: int) -> dict[str, Any] | None:
    """``views::get_cancellation``: the CancellationRecord, or None when the lottery is not canceled."""
    [view] = ctx.chain.read("views::get_cancellation", _id(lottery_id))
    found = option(view)
    return numbers(found) if found is not None else None


def refund_progress(ctx: StepContext, lottery_id: int) -> dict[str, Any]:
    """``views::get_refund_progress`` (all zero before a cancellation)."""
    [view] = ctx.chain.read("views::get_refund_progress", _id(lottery_id))
    return numbers(view)


def lottery_summary(ctx: StepContext, lottery_id: int) -> dict[str, Any] | None:
    """``views::get_lottery_summary``, or None when nothing is archived (table 0x6507)."""
    try:
        [summary] = ctx.chain.read("views::get_lottery_summary", _id(lottery_id))
    except ChainAbortError as exc:
        if exc.code == 0x6507:
            return None
        raise
    return numbers(summary)
