"""``/payouts``: runbook Admin 8-9. Winners, payout batches under the global PayoutBatchCap, the loop of
batches, partner payouts, and the accounting invariant checked after every batch.

The cap has one global nonce (spec fact 12): each batch must be both ``last_nonce + nonce_stride``
and ``payout_round + 1``; the checks below say which one breaks, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from chatops.chain.calls import ChainCall, TypedArg
from commands.args import U64, Address, Amount
from commands.ports import Outcome, Plan, StepContext
from commands.reads import (
    accounting,
    as_int,
    lottery_status,
    numbers,
    option,
    payout_cap,
    status_name,
    u64,
    vrf_state,
    winner_progress,
)
from commands.registry import action, read
from commands.reply import Check, Reply, Severity
from commands.reply import Field as RField


class IdArgs(BaseModel):
    lottery_id: U64


def accounting_invariant(ctx: StepContext, lottery_id: int) -> list[Check]:
    """Runbook Admin 8: after a batch, nothing paid beyond what the sales allocated.

    The runbook says "total_prize_paid and total_operations_paid do not exceed total_allocated"; in
    the contract's ``Accounting`` (spec §6.4, §12.3) ``total_allocated`` is the prize + reserve share
    and operations have their own ``total_operations_allocated``, so each paid total is compared
    with its own allocation (the contracts win). Summing both against ``total_allocated`` would flag
    a legitimate full payout as an incident.
    """
    acc = accounting(ctx, lottery_id) or {}
    prize_paid = int(acc.get("total_prize_paid", 0))
    allocated = int(acc.get("total_allocated", 0))
    ops_paid = int(acc.get("total_operations_paid", 0))
    ops_allocated = int(acc.get("total_operations_allocated", 0))
    return [
        Check(
            name="total_prize_paid <= total_allocated",
            ok=prize_paid <= allocated,
            seen=f"{prize_paid:,}",
            required=f"<= {allocated:,}",
        ),
        Check(
            name="total_operations_paid <= total_operations_allocated",
            ok=ops_paid <= ops_allocated,
            seen=f"{ops_paid:,}",
            required=f"<= {ops_allocated:,}",
        ),
    ]


def dual_write_check(ctx: StepContext, lottery_id: int) -> Check:
    """Spec fact 13: finalize and archive abort 0x1B05 while abort_on_missing is on without an expected hash."""
    [dual] = ctx.chain.read("legacy_bridge::dual_write_status", [u64(lottery_id)])
    has_expectation = bool(dual["expected_hash"]["vec"])
    blocked = bool(dual["enabled"] and dual["abort_on_missing"] and not has_expectation)
    return Check(
        name="dual-write expectation set (abort_on_missing)",
        ok=not blocked,
        seen="missing" if blocked else ("set" if has_expectation else "not required"),
        required="an expected hash (/dualwrite set) while abort_on_missing is on",
    )


def cap_checks(
    cap: dict[str, Any] | None,
    *,
    size: int,
    operations: int,
    round_: int,
    now_s: int,
    count: int = 1,
    round_name: str = "payout round",
) -> list[Check]:
    """The global PayoutBatchCap as ``roles::consume_payout_batch`` checks it (spec §4.5).

    Prize batches and refund batches both consume it (fact 11): ``size`` is winners_paid or
    tickets_refunded, ``round_`` the payout or refund round used as the cap nonce, ``count`` the
    number of consecutive batches of the same shape.
    """
    if cap is None:
        return [
            Check(
                name="PayoutBatchCap present",
                ok=False,
                seen="none",
                required="a cap (/roles payout-cap)",
            )
        ]
    max_batch = cap["max_batch_size"]
    ready_at = cap["last_batch_at"] + cap["cooldown_secs"]
    cooling = cap["cooldown_secs"] > 0 and cap["last_batch_at"] > 0 and now_s < ready_at
    checks = [
        Check(
            name="batch size within cap",
            ok=max_batch == 0 or size <= max_batch,
            seen=str(size),
            required=f"<= {max_batch}" if max_batch else "any",
        ),
        Check(
            name="cap cooldown passed",
            ok=not cooling,
            seen=f"now {now_s}",
            required=f">= {ready_at}",
        ),
    ]
    if cap["nonce_stride"] > 0:
        expected = cap["last_nonce"] + cap["nonce_stride"]
        checks.append(
            Check(
                name=f"cap nonce = {round_name}",
                ok=expected == round_ and (count == 1 or cap["nonce_stride"] == 1),
                seen=f"cap expects {expected}, stride {cap['nonce_stride']}",
                required=f"{round_name} {round_} (re-issue the cap with /roles payout-cap to reset it)",
            )
        )
    left = cap["operations_budget_total"] - cap["operations_budget_used"]
    checks.append(
        Check(
            name="cap operations budget",
            ok=operations * count <= left,
            seen=f"{operations * count:,} needed",
            required=f"<= {left:,} left",
        )
    )
    return checks


@read(
    "/payouts",
    "plan",
    summary="What the next payout batch needs: round, cap nonce, budget, cooldown, accounting",
    runbook="Admin 8 (payouts::winner_progress, roles::payout_batch_cap_view, sales::accounting_snapshot)",
    args=IdArgs,
    reads=(
        "payouts::winner_progress",
        "roles::payout_batch_cap_view",
        "views::accounting_snapshot",
    ),
)
def plan(ctx: StepContext, args: IdArgs) -> Reply:
    progress = winner_progress(ctx, args.lottery_id)
    cap = payout_cap(ctx)
    acc = accounting(ctx, args.lottery_id) or {}
    fields = [
        RField(
            label="Winners",
            value=f"{progress['total_assigned']}/{progress['total_required']} assigned",
        ),
        RField(label="Next payout round", value=str(progress["payout_round"] + 1)),
    ]
    if cap is None:
        fields.append(RField(label="PayoutBatchCap", value="none: set one with /roles payout-cap"))
    else:
        fields.extend(
            [
                RField(
                    label="Cap nonce",
                    value=f"next {cap['last_nonce'] + cap['nonce_stride']} (stride {cap['nonce_stride']})",
                ),
                RField(
                    label="Cap budget",
                    value=f"{cap['operations_budget_total'] - cap['operations_budget_used']:,} left of {cap['operations_budget_total']:,}",
                ),
                RField(label="Max batch", value=str(cap["max_batch_size"] or "unlimited")),
                RField(
                    label="Cooldown", value=f"{cap['cooldown_secs']} s after {cap['last_batch_at']}"
                ),
            ]
        )
    if acc:
        fields.append(
            RField(
                label="Prize",
                value=f"{acc['total_prize_paid']:,} paid of {acc['total_allocated']:,} allocated",
            )
        )
        fields.append(
            RField(
                label="Operations",
                value=f"{acc['total_operations_paid']:,} paid of {acc['total_operations_allocated']:,} allocated",
            )
        )
    return Reply(
        title=f"Lottery {args.lottery_id}: payout plan",
        fields=tuple(fields),
        data={"progress": progress, "cap": cap, "accounting": acc},
    )


class ComputeArgs(BaseModel):
    lottery_id: U64
    batch_limit: U64 = Field(default=64, gt=0)


@action(
    "/payouts",
    "compute",
    summary="Compute the next batch of winners (after VrfFulfilled)",
    runbook="Admin 8 (payouts::compute_winners_admin)",
    args=ComputeArgs,
    reads=("views::get_lottery_status", "draw::vrf_state_view", "payouts::winner_progress"),
    calls=("payouts::compute_winners_admin",),
    privileged=False,
)
def compute(ctx: StepContext, args: ComputeArgs) -> Plan:
    view = lottery_status(ctx, args.lottery_id)
    progress = winner_progress(ctx, args.lottery_id)
    current = as_int(view["status"])
    checks = [
        Check(
            name="lottery status",
            ok=current in (4, 5),
            seen=status_name(current),
            required="Drawn or Payout",
        ),
    ]
    if not progress["initialized"]:
        vrf = vrf_state(ctx, args.lottery_id)
        checks.append(
            Check(
                name="VrfFulfilled received",
                ok=as_int(vrf["status"]) == 2,
                seen=f"VRF status {vrf['status']}",
                required="2 (Fulfilled)",
            )
        )
    else:
        remaining = progress["total_required"] - progress["total_assigned"]
        checks.append(
            Check(
                name="winners left to compute",
                ok=remaining > 0,
                seen=str(remaining),
                required="> 0",
            )
        )
    call = ChainCall(
        function="payouts::compute_winners_admin",
        args=(u64(args.lottery_id), u64(args.batch_limit)),
    )
    return Plan(
        summary=f"Compute up to {args.batch_limit} winners of lottery {args.lottery_id}",
        checks=checks,
        calls=[call],
    )


def batch_checks(
    ctx: StepContext,
    lottery_id: int,
    *,
    winners: int,
    prize: int,
    operations: int,
    count: int = 1,
    now_s: int,
) -> tuple[list[Check], int, dict[str, Any] | None]:
    """The runbook's checks for ``count`` consecutive batches; returns (checks, first round, cap)."""
    view = lottery_status(ctx, lottery_id)
    progress = winner_progress(ctx, lottery_id)
    cap = payout_cap(ctx)
    acc = accounting(ctx, lottery_id) or {}
    current = as_int(view["status"])
    round_ = progress["payout_round"] + 1
    checks = [
        Check(name="lottery status", ok=current == 5, seen=status_name(current), required="Payout")
    ]
    checks += cap_checks(
        cap, size=winners, operations=operations, round_=round_, now_s=now_s, count=count
    )
    last_ts = progress["last_payout_ts"]
    checks.append(
        Check(
            name="timestamp >= last_payout_ts",
            ok=last_ts == 0 or now_s >= last_ts,
            seen=f"now {now_s}",
            required=f">= {last_ts}",
        )
    )
    if acc:
        prize_left = acc["total_allocated"] - acc["total_prize_paid"]
        ops_left = acc["total_operations_allocated"] - acc["total_operations_paid"]
        checks.append(
            Check(
                name="prize within total_allocated",
                ok=prize * count <= prize_left,
                seen=f"{prize * count:,}",
                required=f"<= {prize_left:,} left",
            )
        )
        checks.append(
            Check(
                name="operations within total_operations_allocated",
                ok=operations * count <= ops_left,
                seen=f"{operations * count:,}",
                required=f"<= {ops_left:,} left",
            )
        )
    else:
        checks.append(
            Check(
                name="sales recorded",
                ok=False,
                seen="no ticket sold",
                required="accounting to pay from",
            )
        )
    return checks, round_, cap


def _batch_call(
    lottery_id: int, round_: int, winners: int, prize: int, operations: int, ts: int
) -> ChainCall:
    return ChainCall(
        function="payouts::record_payout_batch_admin",
        args=(
            u64(lottery_id),
            u64(round_),
            u64(winners),
            u64(prize),
            u64(operations),
            u64(ts),
        ),
    )


def _after_batch(lottery_id: int) -> Callable[[StepContext, Outcome], list[Any]]:
    """Runbook Admin 8: the accounting invariant after every committed batch (a failure stops a run)."""

    def after(ctx: StepContext, outcome: Outcome) -> list[Any]:
        checks = accounting_invariant(ctx, lottery_id)
        ctx.progress("accounting after batch: " + "; ".join(c.line() for c in checks))
        return checks

    return after


class BatchArgs(BaseModel):
    lottery_id: U64
    winners_paid: Amount
    prize_paid: Amount
    operations_paid: Amount


@action(
    "/payouts",
    "batch",
    summary="Record one payout batch (checks cap size, cooldown, nonce, budget, accounting)",
    runbook="Admin 8 (payouts::record_payout_batch_admin; roles::consume_payout_batch read as the cap view)",
    args=BatchArgs,
    reads=(
        "views::get_lottery_status",
        "payouts::winner_progress",
        "roles::payout_batch_cap_view",
        "views::accounting_snapshot",
    ),
    calls=("payouts::record_payout_batch_admin",),
)
def batch(ctx: StepContext, args: BatchArgs) -> Plan:
    now = ctx.chain.now_s()
    checks, round_, _cap = batch_checks(
        ctx,
        args.lottery_id,
        winners=args.winners_paid,
        prize=args.prize_paid,
        operations=args.operations_paid,
        now_s=now,
    )
    call = _batch_call(
        args.lottery_id, round_, args.winners_paid, args.prize_paid, args.operations_paid, now
    )
    return Plan(
        summary=f"Payout round {round_} of lottery {args.lottery_id}: {args.winners_paid} winners, prize {args.prize_paid:,}, operations {args.operations_paid:,}",
        checks=checks,
        calls=[call],
        after=_after_batch(args.lottery_id),
    )


class RunArgs(BaseModel):
    lottery_id: U64
    batches: U64 = Field(gt=0, le=100)
    winners_per_batch: Amount
    prize_per_batch: Amount
    operations_per_batch: Amount


@action(
    "/payouts",
    "run",
    summary="Run N payout batches in a row, checking accounting after each (stops on the first problem)",
    runbook="Admin 8 (the loop of record_payout_batch_admin)",
    args=RunArgs,
    reads=(
        "views::get_lottery_status",
        "payouts::winner_progress",
        "roles::payout_batch_cap_view",
        "views::accounting_snapshot",
    ),
    calls=("payouts::record_payout_batch_admin",),
)
def run(ctx: StepContext, args: RunArgs) -> Plan:
    now = ctx.chain.now_s()
    checks, round_, cap = batch_checks(
        ctx,
        args.lottery_id,
        winners=args.winners_per_batch,
        prize=args.prize_per_batch,
        operations=args.operations_per_batch,
        count=args.batches,
        now_s=now,
    )
    cooldown = cap["cooldown_secs"] if cap else 0
    checks.append(
        Check(
            name="no cooldown between batches",
            ok=cooldown == 0 or args.batches == 1,
            seen=f"cooldown {cooldown} s",
            required="0 for a loop (run single batches with /payouts batch instead)",
        )
    )
    calls = [
        _batch_call(
            args.lottery_id,
            round_ + i,
            args.winners_per_batch,
            args.prize_per_batch,
            args.operations_per_batch,
            now,
        )
        for i in range(args.batches)
    ]
    return Plan(
        summary=f"{args.batches} payout batches of lottery {args.lottery_id} from round {round_}",
        checks=checks,
        calls=calls,
        after=_after_batch(args.lottery_id),
    )


class PartnerArgs(BaseModel):
    lottery_id: U64
    partner: Address
    amount: Amount = Field(gt=0)


def partner_cap(ctx: StepContext, partner: str) -> dict[str, Any] | None:
    [view] = ctx.chain.read("roles::partner_payout_cap_view", [TypedArg.of("address", partner)])
    found = option(view)
    return numbers(found) if found is not None else None


@action(
    "/payouts",
    "partner",
    summary="Record a partner payout (checks the partner cap's budget, cooldown, nonce and expiry)",
    runbook="Admin 9 (payouts::record_partner_payout_admin; roles::consume_partner_payout read as the cap view)",
    args=PartnerArgs,
    reads=(
        "views::get_lottery_status",
        "roles::partner_payout_cap_view",
        "roles::list_partner_caps",
        "payouts::winner_progress",
        "views::accounting_snapshot",
    ),
    calls=("payouts::record_partner_payout_admin",),
)
def partner(ctx: StepContext, args: PartnerArgs) -> Plan:
    now = ctx.chain.now_s()
    view = lottery_status(ctx, args.lottery_id)
    progress = winner_progress(ctx, args.lottery_id)
    cap = partner_cap(ctx, args.partner)
    acc = accounting(ctx, args.lottery_id) or {}
    current = as_int(view["status"])
    checks = [
        Check(name="lottery status", ok=current == 5, seen=status_name(current), required="Payout")
    ]
    round_ = progress["payout_round"]
    if cap is None:
        checks.append(
            Check(
                name="PartnerPayoutCap present",
                ok=False,
                seen="none",
                required="a cap for this partner",
            )
        )
    else:
        round_ = cap["next_nonce"]
        expired = cap["expires_at"] > 0 and now > cap["expires_at"]
        ready_at = cap["last_payout_at"] + cap["payout_cooldown_secs"]
        cooling = cap["payout_cooldown_secs"] > 0 and cap["last_payout_at"] > 0 and now < ready_at
        checks += [
            Check(
                name="partner cap remaining budget",
                ok=args.amount <= cap["remaining_payout"],
                seen=f"{args.amount:,}",
                required=f"<= {cap['remaining_payout']:,}",
            ),
            Check(
                name="partner cap not expired",
                ok=not expired,
                seen=f"now {now}",
                required=f"<= {cap['expires_at']}" if cap["expires_at"] else "never expires",
            ),
            Check(
                name="partner cap cooldown passed",
                ok=not cooling,
                seen=f"now {now}",
                required=f">= {ready_at}",
            ),
            Check(
                name="partner cap nonce >= payout round",
                ok=cap["next_nonce"] >= progress["payout_round"],
                seen=str(cap["next_nonce"]),
                required=f">= {progress['payout_round']}",
            ),
        ]
    if acc:
        left = acc["total_operations_allocated"] - acc["total_operations_paid"]
        checks.append(
            Check(
                name="operations within total_operations_allocated",
                ok=args.amount <= left,
                seen=f"{args.amount:,}",
                required=f"<= {left:,} left",
            )
        )
    call = ChainCall(
        function="payouts::record_partner_payout_admin",
        args=(
            u64(args.lottery_id),
            TypedArg.of("address", args.partner),
            u64(args.amount),
            u64(round_),
            u64(now),
        ),
    )
    return Plan(
        summary=f"Partner payout of {args.amount:,} to {args.partner} for lottery {args.lottery_id} (nonce {round_})",
        checks=checks,
        calls=[call],
    )


@read(
    "/payouts",
    "caps",
    summary="The PayoutBatchCap and every PartnerPayoutCap",
    runbook="Admin 8-9 (roles::payout_batch_cap_view, roles::list_partner_caps)",
    reads=(
        "roles::payout_batch_cap_view",
        "roles::has_payout_batch_cap",
        "roles::list_partner_caps",
    ),
)
def caps(ctx: StepContext, args: BaseModel) -> Reply:
    cap = payout_cap(ctx)
    [partners] = ctx.chain.read("roles::list_partner_caps")
    fields = [
        RField(
            label="PayoutBatchCap",
            value="none"
            if cap is None
            else f"max batch {cap['max_batch_size']}, budget {cap['operations_budget_used']:,}/{cap['operations_budget_total']:,}, "
            f"cooldown {cap['cooldown_secs']} s, nonce {cap['last_nonce']} (+{cap['nonce_stride']})",
        )
    ]
    for p in (numbers(x) for x in partners):
        fields.append(
            RField(
                label=f"Partner {p['partner']}",
                value=f"remaining {p['remaining_payout']:,} of {p['max_total_payout']:,}, next nonce {p['next_nonce']}, "
                f"expires {p['expires_at'] or 'never'}",
            )
        )
    severity = Severity.WARNING if cap is None else Severity.INFO
    return Reply(
        title="Payout capabilities",
        fields=tuple(fields),
        severity=severity,
        data={"payout_batch_cap": cap, "partners": partners},
    )
