"""``/feed``: the price-feed section of the runbook (show, fallback on/off, clear the clamp,
update)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from chatops.chain.calls import ChainCall, TypedArg
from commands.args import U8, U64, Amount, OnOff, Reason
from commands.ports import Outcome, Plan, StepContext
from commands.reads import numbers
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField


class AssetArgs(BaseModel):
    asset_id: U64


def price_view(ctx: StepContext, asset_id: int) -> dict[str, Any]:
    [view] = ctx.chain.read("price_feed::get_price_view", [TypedArg.of("u64", asset_id)])
    return numbers(view)


def _fmt_price(view: dict[str, Any]) -> str:
    decimals = int(view["decimals"])
    price = int(view["price"])
    return f"{price / 10**decimals:,.{min(decimals, 9)}f} ({price} at {decimals} decimals)"


@read(
    "/feed",
    "show",
    summary="Price, freshness, fallback and clamp state of an asset",
    runbook="Price feed 1 (price_feed::get_price_view)",
    args=AssetArgs,
    reads=("price_feed::get_price_view",),
)
def show(ctx: StepContext, args: AssetArgs) -> Reply:
    view = price_view(ctx, args.asset_id)
    age_s = ctx.chain.now_s() - int(view["last_updated_ts"])
    stale = age_s > int(view["staleness_window"])
    flags = [
        name
        for name, on in (
            ("FALLBACK", view["fallback_active"]),
            ("CLAMP", view["clamp_active"]),
            ("STALE", stale),
        )
        if on
    ]
    tone = Tone.WARNING if flags else Tone.INFO
    return Reply(
        title=f"Asset {args.asset_id}: {_fmt_price(view)}"
        + (f" [{', '.join(flags)}]" if flags else ""),
        tone=tone,
        fields=(
            RField(
                label="Updated",
                value=f"{age_s} s ago (staleness window {view['staleness_window']} s)",
            ),
            RField(label="Clamp threshold", value=f"{view['clamp_threshold_bps']} bps"),
            RField(
                label="Fallback",
                value=f"{'on' if view['fallback_active'] else 'off'} (reason {view['fallback_reason']})",
            ),
            RField(label="Clamp", value="active" if view["clamp_active"] else "inactive"),
        ),
        data=view,
    )


class UpdateArgs(BaseModel):
    asset_id: U64
    price: Amount = Field(gt=0)


def _render_update(ctx: StepContext, args: UpdateArgs, outcomes: list[Outcome]) -> Reply:
    clamp = outcomes[-1].event("::PriceFeedClampEvent")
    if clamp is not None:
        return Reply(
            title=f"Asset {args.asset_id}: update CLAMPED, price unchanged",
            text="The chain kept the old price and set clamp_active. Confirm with the provider, then /feed clear-clamp.",
            tone=Tone.WARNING,
            fields=(RField(label="Tx", value=outcomes[-1].tx_hash),),
        )
    return Reply(
        title=f"Asset {args.asset_id}: price updated to {args.price}",
        text="Fallback is reset by a successful update.",
        tone=Tone.SUCCESS,
        fields=(RField(label="Tx", value=outcomes[-1].tx_hash),),
    )


@action(
    "/feed",
    "update",
    summary="Publish a new price (refused if it would exceed clamp_threshold_bps)",
    runbook="Price feed 4 (price_feed::update_price)",
    args=UpdateArgs,
    reads=("price_feed::get_price_view",),
    calls=("price_feed::update_price",),
    render=_render_update,
)
def update(ctx: StepContext, args: UpdateArgs) -> Plan:
    """The runbook's ``<cap>`` argument is the admin signer (spec fact 17); a clamp is a successful
    no-op transaction on chain, so the bot refuses an update that would clamp before sending it.
    """
    view = price_view(ctx, args.asset_id)
    old = int(view["price"])
    bps = int(view["clamp_threshold_bps"])
    move_bps = abs(args.price - old) * 10_000 // old if old else 0
    fits = old == 0 or abs(args.price - old) * 10_000 <= old * bps
    checks = [
        Check(
            name="change fits clamp_threshold_bps",
            ok=fits,
            seen=f"{move_bps} bps (from {old})",
            required=f"<= {bps} bps",
        ),
        Check(
            name="clamp not active",
            ok=not view["clamp_active"],
            seen="active" if view["clamp_active"] else "inactive",
            required="inactive (clear it first)",
        ),
    ]
    call = ChainCall(
        function="price_feed::update_price",
        args=(
            TypedArg.of("u64", args.asset_id),
            TypedArg.of("u64", args.price),
            TypedArg.of("u64", ctx.chain.now_s()),
        ),
    )
    return Plan(
        summary=f"Set asset {args.asset_id} price {old} -> {args.price}",
        checks=checks,
        calls=[call],
    )


class FallbackArgs(BaseModel):
    asset_id: U64
    active: OnOff
    reason_code: U8
    reason: Reason


@action(
    "/feed",
    "fallback",
    summary="Switch an asset's fallback price on or off (off also clears the clamp)",
    runbook="Price feed 2 (price_feed::set_fallback)",
    args=FallbackArgs,
    reads=("price_feed::get_price_view",),
    calls=("price_feed::set_fallback",),
)
def fallback(ctx: StepContext, args: FallbackArgs) -> Plan:
    view = price_view(ctx, args.asset_id)
    fallback_on, clamp_on = bool(view["fallback_active"]), bool(view["clamp_active"])
    # set_fallback(false) also clears the clamp (spec fact 17): with only a clamp it still acts.
    changes = fallback_on != args.active or (not args.active and clamp_on)
    checks = [
        Check(
            name="fallback state changes",
            ok=changes,
            seen=f"fallback {'on' if fallback_on else 'off'}, clamp "
            f"{'active' if clamp_on else 'inactive'}",
            required="fallback off" if args.active else "fallback on, or a clamp to clear",
        )
    ]
    effects = []
    if fallback_on != args.active:
        effects.append(f"fallback_active {str(fallback_on).lower()} -> {str(args.active).lower()}")
    if not args.active and clamp_on:
        effects.append("clamp_active true -> false (set_fallback off clears the clamp)")
    call = ChainCall(
        function="price_feed::set_fallback",
        args=(
            TypedArg.of("u64", args.asset_id),
            TypedArg.of("bool", args.active),
            TypedArg.of("u8", args.reason_code),
        ),
    )
    word = "on" if args.active else "off"
    clears = " (also clears the clamp)" if not args.active and clamp_on else ""
    return Plan(
        summary=f"Fallback {word} for asset {args.asset_id}{clears}: {args.reason}",
        checks=checks,
        calls=[call],
        effects=tuple(effects),
    )


@action(
    "/feed",
    "clear-clamp",
    summary="Clear an active clamp after the provider confirmed the price",
    runbook="Price feed 3 (price_feed::clear_clamp)",
    args=AssetArgs,
    reads=("price_feed::get_price_view",),
    calls=("price_feed::clear_clamp",),
)
def clear_clamp(ctx: StepContext, args: AssetArgs) -> Plan:
    view = price_view(ctx, args.asset_id)
    checks = [
        Check(
            name="clamp_active = true",
            ok=bool(view["clamp_active"]),
            seen=str(view["clamp_active"]).lower(),
            required="true",
        )
    ]
    call = ChainCall(
        function="price_feed::clear_clamp",
        args=(TypedArg.of("u64", args.asset_id), TypedArg.of("u64", ctx.chain.now_s())),
    )
    return Plan(summary=f"Clear the clamp of asset {args.asset_id}", checks=checks, calls=[call])
