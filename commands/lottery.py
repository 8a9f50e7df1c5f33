"""``/lottery``: the admin section of the runbook, steps 2-8 and 11 (draft, validate, activate, close, draw,
finalize) with the checks the runbook asks for done by the bot. Cancellation is ``/refund start``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.errors import ChainAbortError
from chatops.chain.lottery_config import LotteryConfig
from commands.accounting import unpaid_checks
from commands.args import U8, U64, Amount, Duration
from commands.dualwrite import dual_write_check
from commands.emergency import draws_enabled_check
from commands.errors import CancelledError
from commands.payouts import next_round_text
from commands.ports import Outcome, Plan, StepContext
from commands.reads import (
    accounting,
    as_int,
    lottery_status,
    payout_cap,
    sales_totals,
    status_name,
    u64,
    vrf_deposit,
    vrf_state,
    winner_progress,
)
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField
from commands.vrf import retry_checks, retry_text
from commands.winners import PrizeState, prize_state


class IdArgs(BaseModel):
    lottery_id: U64


def _status_check(view: dict[str, Any], allowed: tuple[int, ...]) -> Check:
    seen = as_int(view["status"])
    return Check(
        name="lottery status",
        ok=seen in allowed,
        seen=status_name(seen),
        required=" or ".join(status_name(s) for s in allowed),
    )


def _validate(ctx: StepContext, lottery_id: int) -> Check:
    try:
        ctx.chain.read("views::validate_config", [u64(lottery_id)])
    except ChainAbortError as exc:
        return Check(name="views::validate_config", ok=False, seen=str(exc), required="no error")
    return Check(name="views::validate_config", ok=True, seen="clean")


@read(
    "/lottery",
    "status",
    summary="Status, sales, VRF, winners and paid against allocated (prize, operations, partner)",
    runbook="Admin 2 (views::get_lottery_status), Admin 8-9 (paid against allocated)",
    args=IdArgs,
    reads=(
        "views::get_lottery_status",
        "sales::sales_totals",
        "draw::vrf_state_view",
        "payouts::winner_progress",
        "views::accounting_snapshot",
        "roles::payout_batch_cap_view",
        "roles::list_partner_caps",
    ),
)
def status(ctx: StepContext, args: IdArgs) -> Reply:
    view = lottery_status(ctx, args.lottery_id)
    sold, proceeds, _last = sales_totals(ctx, args.lottery_id)
    vrf = vrf_state(ctx, args.lottery_id)
    state = prize_state(ctx, args.lottery_id)
    fields = [
        RField(label="Status", value=status_name(as_int(view["status"]))),
        RField(label="Snapshot frozen", value="yes" if view["snapshot_frozen"] else "no"),
        RField(label="Tickets sold", value=f"{sold:,}"),
        RField(label="Proceeds", value=f"{proceeds:,}"),
        RField(label="VRF", value=f"status {vrf['status']}, attempt {vrf['attempt']}"),
    ]
    progress = state.progress
    if progress.get("initialized"):
        fields.append(
            RField(
                label="Winners",
                value=f"{progress['total_assigned']}/{progress['total_required']} assigned, "
                f"{state.paid.count} paid, payout round {progress['payout_round']}",
            )
        )
    if state.acc:
        fields += _paid_fields(ctx, state)
    if progress.get("initialized") and as_int(view["status"]) == 5:
        fields.append(
            RField(
                label="Next payout round",
                value=next_round_text(payout_cap(ctx), progress["payout_round"] + 1),
            )
        )
    return Reply(title=f"Lottery {args.lottery_id}", fields=tuple(fields), data=view)


def _paid_fields(ctx: StepContext, state: PrizeState) -> list[RField]:
    """Paid against allocated. Partner payouts are booked as operations (spec §4.5) and no view
    splits them per lottery, so the partner line is each partner cap's spend over all lotteries."""
    acc = state.acc
    fields = [
        RField(
            label="Prize",
            value=f"{acc['total_prize_paid']:,} paid of {acc['total_allocated']:,} allocated "
            f"({state.prize_unpaid:,} unpaid)",
        ),
        RField(
            label="Operations",
            value=f"{acc['total_operations_paid']:,} paid of "
            f"{acc['total_operations_allocated']:,} allocated ({state.operations_unpaid:,} "
            "unpaid; partner payouts included)",
        ),
    ]
    try:
        [partners] = ctx.chain.read("roles::list_partner_caps")
    except ChainAbortError as exc:
        if exc.code != 0x1103:  # roles not initialised: no partner caps
            raise
        partners = []
    for cap in partners:
        spent = int(cap["max_total_payout"]) - int(cap["remaining_payout"])
        fields.append(
            RField(
                label=f"Partner {cap['partner']}",
                value=f"{spent:,} paid of its {int(cap['max_total_payout']):,} cap (all "
                f"lotteries), next nonce {cap['next_nonce']}",
            )
        )
    return fields


@read(
    "/lottery",
    "show",
    summary="The configuration of a lottery",
    runbook="Admin 2 (views::get_lottery)",
    args=IdArgs,
    reads=("views::get_lottery", "views::get_lottery_badges"),
)
def show(ctx: StepContext, args: IdArgs) -> Reply:
    [config] = ctx.chain.read("views::get_lottery", [u64(args.lottery_id)])
    cfg = LotteryConfig.from_view(config)
    fields = (
        RField(label="Sales", value=f"{cfg.sales_start} .. {cfg.sales_end} (Unix s)"),
        RField(label="Ticket price", value=f"{cfg.ticket_price:,}"),
        RField(
            label="Tickets",
            value=f"max {cfg.max_tickets_total:,}, per address {cfg.max_tickets_per_address or 'no limit'}",
        ),
        RField(
            label="Distribution (bps)",
            value=f"prize {cfg.prize_bps}, jackpot {cfg.jackpot_bps}, operations {cfg.operations_bps}, reserve {cfg.reserve_bps}",
        ),
        RField(label="Primary type / tags", value=f"{cfg.primary_type} / {cfg.tags_mask:#x}"),
        RField(
            label="Prize slots",
            value=", ".join(f"{s.slot_id}: {s.winners_per_slot} winner(s)" for s in cfg.prize_plan),
        ),
    )
    return Reply(title=f"Lottery {args.lottery_id} configuration", fields=fields, data=config)


class ListArgs(BaseModel):
    which: Literal["active", "finalized"] = "active"
    start: U64 = 0
    limit: U64 = Field(default=20, le=1000)


@read(
    "/lottery",
    "list",
    summary="Lottery ids, newest first: active (on sale) or finalized",
    runbook="Admin 6 (views::list_active), Dual-write 4 (list_finalized)",
    args=ListArgs,
    reads=("views::list_active", "views::list_finalized_ids"),
)
def list_(ctx: StepContext, args: ListArgs) -> Reply:
    function = "views::list_active" if args.which == "active" else "views::list_finalized_ids"
    [ids] = ctx.chain.read(function, [u64(args.start), u64(args.limit)])
    text = ", ".join(str(i) for i in ids) or "none"
    return Reply(
        title=f"{args.which.capitalize()} lotteries", text=text, data={"ids": [int(i) for i in ids]}
    )


@read(
    "/lottery",
    "validate",
    summary="Run views::validate_config on a lottery",
    runbook="Admin 4",
    args=IdArgs,
    reads=("views::validate_config",),
)
def validate(ctx: StepContext, args: IdArgs) -> Reply:
    check = _validate(ctx, args.lottery_id)
    if check.ok:
        return Reply(
            title=f"Lottery {args.lottery_id}: configuration valid",
            tone=Tone.SUCCESS,
            checks=(check,),
        )
    return Reply.error(f"Lottery {args.lottery_id}: configuration invalid", checks=(check,))


def _bps(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.replace("/", ",").split(",")
        if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(
                f"{value!r} is not prize/jackpot/operations/reserve bps (like 7000/1500/1000/500)"
            )
        return tuple(int(p) for p in parts)
    return value


Distribution = Annotated[tuple[int, int, int, int], BeforeValidator(_bps)]


class CreateArgs(BaseModel):
    lottery_id: U64
    ticket_price: Amount = Field(gt=0)
    max_tickets: Amount = Field(gt=0)
    sales_duration: Duration = Field(gt=0)
    template: U64 | None = None
    distribution: Distribution | None = None


@action(
    "/lottery",
    "create",
    summary="Create a Draft lottery (config from a template lottery or defaults, distribution as "
    "prize/jackpot/operations/reserve bps), sales opening now",
    runbook="Admin 3 (create_draft_admin, economics::assert_distribution)",
    args=CreateArgs,
    reads=("views::get_lottery_status", "views::get_lottery"),
    calls=("lottery_registry::create_draft_admin",),
    privileged=False,
)
def create(ctx: StepContext, args: CreateArgs) -> Plan:
    checks: list[Check] = []
    try:
        lottery_status(ctx, args.lottery_id)
        checks.append(Check(name="lottery id unused", ok=False, seen="exists", required="unused"))
    except ChainAbortError as exc:
        if exc.code != 0x6507:
            raise
        checks.append(Check(name="lottery id unused", ok=True, seen="unused"))
    now = ctx.chain.now_s()
    base: dict[str, Any] = {}
    if args.template is not None:
        [template] = ctx.chain.read("views::get_lottery", [u64(args.template)])
        base = LotteryConfig.from_view(template).model_dump()
    base.update(
        sales_start=now,
        sales_end=now + args.sales_duration,
        ticket_price=args.ticket_price,
        max_tickets_total=args.max_tickets,
    )
    if args.distribution is not None:
        prize, jackpot, operations, reserve = args.distribution
        base.update(
            prize_bps=prize, jackpot_bps=jackpot, operations_bps=operations, reserve_bps=reserve
        )
    config = LotteryConfig.model_validate(base)
    problems = config.distribution_problems()
    checks.append(
        Check(
            name="economics::assert_distribution",
            ok=not problems,
            seen=problems[0] if problems else "10000 bps",
            required="10000 bps",
        )
    )
    call = ChainCall(
        function="lottery_registry::create_draft_admin",
        args=(u64(args.lottery_id), TypedArg.of("vector<u8>", config.bcs())),
    )
    return Plan(summary=f"Create lottery {args.lottery_id} in Draft", checks=checks, calls=[call])


class TypeArgs(BaseModel):
    lottery_id: U64
    primary_type: U8


@action(
    "/lottery",
    "set-type",
    summary="Set the primary type of a Draft lottery",
    runbook="Admin 3 (primary_type)",
    args=TypeArgs,
    reads=("views::get_lottery_status",),
    calls=("lottery_registry::set_primary_type",),
    privileged=False,
)
def set_type(ctx: StepContext, args: TypeArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    checks = [_status_check(view, (0,))]
    call = ChainCall(
        function="lottery_registry::set_primary_type",
        args=(u64(args.lottery_id), TypedArg.of("u8", args.primary_type)),
    )
    return Plan(summary=f"Set primary type {args.primary_type}", checks=checks, calls=[call])


class TagsArgs(BaseModel):
    lottery_id: U64
    tags_mask: U64


@action(
    "/lottery",
    "set-tags",
    summary="Set the tag mask of a Draft or Active lottery (snapshot not frozen)",
    runbook="Admin 3 (tags_mask)",
    args=TagsArgs,
    reads=("views::get_lottery_status",),
    calls=("lottery_registry::set_tags_mask",),
    privileged=False,
)
def set_tags(ctx: StepContext, args: TagsArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    checks = [
        _status_check(view, (0, 1)),
        Check(
            name="snapshot_frozen = false",
            ok=not view["snapshot_frozen"],
            seen=str(view["snapshot_frozen"]).lower(),
            required="false",
        ),
    ]
    call = ChainCall(
        function="lottery_registry::set_tags_mask",
        args=(u64(args.lottery_id), u64(args.tags_mask)),
    )
    return Plan(summary=f"Set tags mask {args.tags_mask:#x}", checks=checks, calls=[call])


@action(
    "/lottery",
    "activate",
    summary="Draft -> Active: open sales (checks status, snapshot and validate_config)",
    runbook="Admin 2, 4, 5",
    args=IdArgs,
    reads=("views::get_lottery_status", "views::validate_config"),
    calls=("lottery_registry::advance_status",),
    privileged=False,
)
def activate(ctx: StepContext, args: IdArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    checks = [
        _status_check(view, (0,)),
        Check(
            name="snapshot_frozen = false",
            ok=not view["snapshot_frozen"],
            seen=str(view["snapshot_frozen"]).lower(),
            required="false",
        ),
        _validate(ctx, args.lottery_id),
    ]
    call = ChainCall(
        function="lottery_registry::advance_status",
        args=(u64(args.lottery_id), TypedArg.of("u8", 1)),
    )
    return Plan(summary=f"Activate lottery {args.lottery_id}", checks=checks, calls=[call])


def _sales_end(ctx: StepContext, lottery_id: int) -> int:
    [config] = ctx.chain.read("views::get_lottery", [u64(lottery_id)])
    return int(config["sales_window"]["sales_end"])


def _sales_ended(ctx: StepContext, lottery_id: int) -> Check:
    end = _sales_end(ctx, lottery_id)
    now = ctx.chain.now_s()
    return Check(name="sales_end passed", ok=now > end, seen=f"now {now}", required=f"after {end}")


@action(
    "/lottery",
    "close",
    summary="Active -> Closing after sales_end (freezes the ticket snapshot)",
    runbook="Admin 7 (advance_status to Closing, required before the draw)",
    args=IdArgs,
    reads=("views::get_lottery_status", "views::get_lottery"),
    calls=("lottery_registry::advance_status",),
    privileged=False,
)
def close(ctx: StepContext, args: IdArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    checks = [_status_check(view, (1,)), _sales_ended(ctx, args.lottery_id)]
    call = ChainCall(
        function="lottery_registry::advance_status",
        args=(u64(args.lottery_id), TypedArg.of("u8", 2)),
    )
    return Plan(summary=f"Close sales of lottery {args.lottery_id}", checks=checks, calls=[call])


class DrawArgs(BaseModel):
    lottery_id: U64
    wait: Duration = 120


def _wait_for_fulfilment(ctx: StepContext, args: DrawArgs, outcomes: list[Outcome]) -> Reply:
    deadline = time.monotonic() + args.wait
    ctx.progress(f"VRF requested for lottery {args.lottery_id}; waiting for VrfFulfilled")
    delay_s = 0.2
    while True:
        vrf = vrf_state(ctx, args.lottery_id)
        if as_int(vrf["status"]) == 2:
            return Reply(
                title=f"Lottery {args.lottery_id}: VRF fulfilled",
                text="Winners can be computed now: /payouts compute.",
                tone=Tone.SUCCESS,
                fields=(RField(label="Request tx", value=outcomes[-1].tx_hash),),
            )
        if ctx.cancel.is_set():
            raise CancelledError("Stopped waiting for VrfFulfilled; the request stays on chain.")
        if time.monotonic() > deadline:
            return Reply(
                title=f"Lottery {args.lottery_id}: VRF requested, not yet fulfilled",
                text=f"No VrfFulfilled within {args.wait} s. Check /lottery status later; a request never "
                "fulfilled can only be cancelled with /refund start (spec fact 15).",
                tone=Tone.WARNING,
                fields=(RField(label="Request tx", value=outcomes[-1].tx_hash),),
            )
        time.sleep(delay_s)
        delay_s = min(delay_s * 1.5, 5.0)


@action(
    "/lottery",
    "draw",
    summary="Request the VRF draw after sales_end and wait for VrfFulfilled",
    runbook="Admin 7-8 (request_draw_admin; ensure_requests_allowed read as requests_paused)",
    args=DrawArgs,
    reads=(
        "views::get_lottery_status",
        "views::get_lottery",
        "sales::sales_totals",
        "views::get_vrf_deposit_status",
        "draw::vrf_state_view",
        "feature_switch::is_initialized",
        "feature_switch::is_enabled",
    ),
    calls=("lottery_registry::advance_status", "draw::request_draw_admin"),
    privileged=False,
    render=lambda ctx, args, outcomes: _wait_for_fulfilment(ctx, args, outcomes),
)
def draw(ctx: StepContext, args: DrawArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    current = as_int(view["status"])
    sold, _, _ = sales_totals(ctx, args.lottery_id)
    deposit = vrf_deposit(ctx)
    vrf = vrf_state(ctx, args.lottery_id)
    checks = [
        _status_check(view, (1, 2)),
        _sales_ended(ctx, args.lottery_id),
        Check(name="tickets sold > 0", ok=sold > 0, seen=str(sold), required="> 0"),
        Check(
            name="vrf_deposit::ensure_requests_allowed (requests_paused = false)",
            ok=not deposit["requests_paused"],
            seen=str(deposit["requests_paused"]).lower(),
            required="false",
        ),
        draws_enabled_check(ctx),
        Check(
            name="no VRF request pending",
            ok=as_int(vrf["status"]) != 1,
            seen=f"VRF status {vrf['status']} ({retry_text(vrf)})",
            required="not Requested (a request never fulfilled can only be cancelled: "
            f"/refund start {args.lottery_id} vrf, spec fact 15)",
        ),
        *retry_checks(vrf, ctx.chain.now_s(), args.lottery_id),
    ]
    calls = []
    if current == 1:
        calls.append(
            ChainCall(
                function="lottery_registry::advance_status",
                args=(u64(args.lottery_id), TypedArg.of("u8", 2)),
            )
        )
    calls.append(
        ChainCall(
            function="draw::request_draw_admin",
            args=(
                u64(args.lottery_id),
                u64(ctx.chain.now_s()),
                u64(ctx.chain.block_height()),
                TypedArg.of("u8", ctx.chain.chain_id()),
                u64(1),
            ),
        )
    )
    return Plan(
        summary=f"Request the draw of lottery {args.lottery_id}", checks=checks, calls=calls
    )


@action(
    "/lottery",
    "finalize",
    summary="Payout -> Finalized: archive the summary once every winner is assigned and everything "
    "allocated is paid (the accounting comparison is part of the preflight)",
    runbook="Admin 8 (finalize_lottery_admin after the payout batches and accounting_check.sh "
    "compare), Dual-write 3",
    args=IdArgs,
    reads=(
        "views::get_lottery_status",
        "payouts::winner_progress",
        "views::accounting_snapshot",
        "legacy_bridge::dual_write_status",
    ),
    calls=("payouts::finalize_lottery_admin",),
    help="The contract checks only that winners are assigned, and after finalize no payout can be "
    "recorded: the bot refuses while any allocated prize or operations amount is unpaid "
    "(/lottery accounting shows the same comparison).",
)
def finalize(ctx: StepContext, args: IdArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    progress = winner_progress(ctx, args.lottery_id)
    acc = accounting(ctx, args.lottery_id) or {}
    checks = [
        _status_check(view, (5,)),
        Check(
            name="all winners assigned",
            ok=progress["total_required"] > 0
            and progress["total_assigned"] == progress["total_required"],
            seen=f"{progress['total_assigned']}/{progress['total_required']}",
            required="all",
        ),
        *unpaid_checks(acc, args.lottery_id),
        dual_write_check(ctx, args.lottery_id),
    ]
    call = ChainCall(
        function="payouts::finalize_lottery_admin",
        args=(u64(args.lottery_id), u64(ctx.chain.now_s())),
    )
    return Plan(
        summary=f"Finalize lottery {args.lottery_id}: the summary records prize "
        f"{int(acc.get('total_prize_paid', 0)):,} of {int(acc.get('total_allocated', 0)):,} and "
        f"operations {int(acc.get('total_operations_paid', 0)):,} of "
        f"{int(acc.get('total_operations_allocated', 0)):,} paid",
        checks=checks,
        calls=[call],
    )
