"""``/vrf``: the VRF deposit procedure (status, snapshot, resume) and a lottery's VRF request state."""

from __future__ import annotations

from pydantic import BaseModel

from chatops.chain.calls import ChainCall, TypedArg
from commands.args import U64, Amount
from commands.ports import Plan, StepContext
from commands.reads import VRF_STATUS_NAMES, as_int, vrf_deposit, vrf_state
from commands.registry import action, read
from commands.reply import Check, Reply, Severity
from commands.reply import Field as RField


@read(
    "/vrf",
    "status",
    summary="VRF deposit balances, floor and pause state",
    runbook="Admin 1, VRF deposit monitoring (views::get_vrf_deposit_status)",
    reads=("views::get_vrf_deposit_status",),
)
def status(ctx: StepContext, args: BaseModel) -> Reply:
    view = vrf_deposit(ctx)
    paused = bool(view["requests_paused"])
    low = view["effective_balance"] < view["required_minimum"]
    return Reply(
        title="VRF requests PAUSED" if paused else "VRF requests allowed",
        severity=Severity.WARNING if paused or low else Severity.INFO,
        fields=(
            RField(label="Total balance", value=f"{view['total_balance']:,}"),
            RField(label="Minimum balance", value=f"{view['minimum_balance']:,}"),
            RField(label="Effective balance", value=f"{view['effective_balance']:,}"),
            RField(label="Required minimum", value=f"{view['required_minimum']:,}"),
            RField(label="Last snapshot", value=str(view["last_update_ts"])),
            RField(label="Paused since", value=str(view["paused_since_ts"]) if paused else "-"),
        ),
        data=view,
    )


class LotteryArgs(BaseModel):
    lottery_id: U64


@read(
    "/vrf",
    "request",
    summary="The VRF request state of one lottery",
    runbook="Admin 7-8 (draw::vrf_state_view)",
    args=LotteryArgs,
    reads=("draw::vrf_state_view",),
)
def request(ctx: StepContext, args: LotteryArgs) -> Reply:
    view = vrf_state(ctx, args.lottery_id)
    code = as_int(view["status"])
    name = VRF_STATUS_NAMES[code] if code < len(VRF_STATUS_NAMES) else str(code)
    return Reply(
        title=f"Lottery {args.lottery_id}: VRF {name}",
        fields=(
            RField(label="Attempt", value=str(view["attempt"])),
            RField(label="Request id", value=str(view["request_id"])),
            RField(label="Requested at", value=str(view["last_request_ts"])),
            RField(label="Retry after", value=str(view["retry_after_ts"])),
            RField(label="Consumed", value="yes" if view["consumed"] else "no"),
        ),
        data=view,
    )


class SnapshotArgs(BaseModel):
    total_balance: Amount
    minimum_balance: Amount
    effective_balance: Amount


@action(
    "/vrf",
    "snapshot",
    summary="Record a VRF deposit snapshot (pauses requests when below the floor)",
    runbook="Admin 1 (vrf_deposit::record_snapshot_admin)",
    args=SnapshotArgs,
    reads=("views::get_vrf_deposit_status",),
    calls=("vrf_deposit::record_snapshot_admin",),
    privileged=False,
)
def snapshot(ctx: StepContext, args: SnapshotArgs) -> Plan:
    checks = [
        Check(
            name="effective <= total balance",
            ok=args.effective_balance <= args.total_balance,
            seen=f"{args.effective_balance} > {args.total_balance}"
            if args.effective_balance > args.total_balance
            else "ok",
            required="effective balance not above total",
        )
    ]
    call = ChainCall(
        function="vrf_deposit::record_snapshot_admin",
        args=(
            TypedArg.of("u64", args.total_balance),
            TypedArg.of("u64", args.minimum_balance),
            TypedArg.of("u64", args.effective_balance),
            TypedArg.of("u64", ctx.chain.now_s()),
        ),
    )
    return Plan(summary="Record the VRF deposit snapshot", checks=checks, calls=[call])


@action(
    "/vrf",
    "resume",
    summary="Resume VRF requests after a top-up (manual override of the pause)",
    runbook="VRF deposit monitoring (vrf_deposit::resume_requests)",
    reads=("views::get_vrf_deposit_status",),
    calls=("vrf_deposit::resume_requests",),
)
def resume(ctx: StepContext, args: BaseModel) -> Plan:
    view = vrf_deposit(ctx)
    checks = [
        Check(
            name="requests paused",
            ok=bool(view["requests_paused"]),
            seen="paused" if view["requests_paused"] else "not paused",
            required="paused (resume is a no-op otherwise)",
        ),
    ]
    call = ChainCall(
        function="vrf_deposit::resume_requests", args=(TypedArg.of("u64", ctx.chain.now_s()),)
    )
    short = view["effective_balance"] < view["required_minimum"]
    note = " (override: effective balance is still below the required minimum)" if short else ""
    return Plan(summary=f"Resume VRF requests{note}", checks=checks, calls=[call])
