"""``/payouts``: runbook Admin 8-9. Winners, payout batches under the global PayoutBatchCap, the
loop of batches, partner payouts, and the accounting invariant checked after every batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from chatops.chain.calls import ChainCall, TypedArg
from commands.accounting import accounting_invariant
from commands.args import U64, Address, Amount
from commands.payout_cap import cap_checks, nonce_check
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
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField
from commands.winners import PrizeState, ordinals, prize_state


class IdArgs(BaseModel):
    lottery_id: U64


def next_round_text(cap: dict[str, Any] | None, round_: int) -> str:
    """The next payout round and whether the global cap nonce lets it through."""
    if cap is None:
        return f"{round_} (no PayoutBatchCap: /roles payout-cap)"
    check = nonce_check(cap, round_)
    if check.ok:
        return f"{round_} ({check.seen})"
    return f"{round_}: BLOCKED, {check.seen}; {check.required}"


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
    state = prize_state(ctx, args.lottery_id)
    cap = payout_cap(ctx)
    progress, acc = state.progress, state.acc
    round_ = progress["payout_round"] + 1
    fields = [
        RField(
            label="Winners",
            value=f"{progress['total_assigned']}/{progress['total_required']} assigned",
        ),
        RField(label="Next payout round", value=next_round_text(cap, round_)),
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
    next_batch = ""
    if acc:
        fields += [
            RField(
                label="Prize",
                value=f"{acc['total_prize_paid']:,} paid of {acc['total_allocated']:,} allocated",
            ),
            RField(
                label="Operations",
                value=f"{acc['total_operations_paid']:,} paid of {acc['total_operations_allocated']:,} allocated",
            ),
        ]
        if state.amounts:
            fields.append(
                RField(
                    label="Winners paid",
                    value=f"{state.paid.count} of {len(state.amounts)} (each prize "
                    f"{_prize_range(state)}; /payouts winners {args.lottery_id})",
                )
            )
        next_batch = _next_batch(state, cap, args.lottery_id)
    return Reply(
        title=f"Lottery {args.lottery_id}: payout plan",
        text=next_batch,
        fields=tuple(fields),
        data={
            "progress": progress,
            "cap": cap,
            "accounting": acc,
            "winner_amounts": state.amounts,
            "winners_paid": state.paid.count,
        },
    )


def _prize_range(state: PrizeState) -> str:
    low, high = min(state.amounts), max(state.amounts)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def _next_batch(state: PrizeState, cap: dict[str, Any] | None, lottery_id: int) -> str:
    """The batch to send next, as the command to type."""
    if state.winners_unpaid:
        most = state.winners_unpaid
        if cap is not None and cap["max_batch_size"]:
            most = min(most, int(cap["max_batch_size"]))
        prize = state.paid.next_prize(state.amounts, most)
        return (
            f"Next: /payouts batch {lottery_id} {most} (prize {prize:,} for "
            f"{ordinals(state.paid.count + 1, state.paid.count + most)})"
        )
    if state.operations_unpaid:
        return (
            f"Winners paid. Operations left: {state.operations_unpaid:,} "
            f"(/payouts batch {lottery_id} 0 0 {state.operations_unpaid} or /payouts partner)."
        )
    return f"Everything allocated is paid: /lottery finalize {lottery_id}."


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


def batch_prizes(state: PrizeState, winners: int, count: int) -> list[int]:
    """The prize of each of ``count`` batches paying ``winners`` winners each, in ordinal order."""
    if winners <= 0:
        return [0] * count
    prizes = [state.paid.next_prize(state.amounts, winners)]
    for index in range(1, count):
        first = state.paid.count + index * winners
        prizes.append(sum(state.amounts[first : first + winners]))
    return prizes


# The views batch_checks reads; /payouts batch and /payouts run, built on it, declare them.
BATCH_READS = (
    "views::get_lottery_status",
    "payouts::winner_progress",
    "roles::payout_batch_cap_view",
    "views::accounting_snapshot",
)


def batch_checks(
    ctx: StepContext,
    lottery_id: int,
    *,
    winners: int,
    prize: int | None,
    operations: int,
    count: int = 1,
    now_s: int,
) -> tuple[list[Check], int, dict[str, Any] | None, list[int]]:
    """The runbook's checks for ``count`` consecutive batches.

    Returns (checks, first round, cap, the prize of each batch). ``prize`` is what the operator typed
    (None: the bot's figure is used); a typed prize must equal the bot's for every batch.
    """
    view = lottery_status(ctx, lottery_id)
    state = prize_state(ctx, lottery_id)
    cap = payout_cap(ctx)
    current = as_int(view["status"])
    round_ = state.progress["payout_round"] + 1
    prizes = batch_prizes(state, winners, count)
    checks = [
        Check(name="lottery status", ok=current == 5, seen=status_name(current), required="Payout")
    ]
    checks += cap_checks(
        cap, size=winners, operations=operations, round_=round_, now_s=now_s, count=count
    )
    last_ts = state.progress["last_payout_ts"]
    checks.append(
        Check(
            name="timestamp >= last_payout_ts",
            ok=last_ts == 0 or now_s >= last_ts,
            seen=f"now {now_s}",
            required=f">= {last_ts}",
        )
    )
    if not state.acc:
        checks.append(
            Check(
                name="sales recorded",
                ok=False,
                seen="no ticket sold",
                required="accounting to pay from",
            )
        )
        return checks, round_, cap, prizes
    checks.append(
        Check(
            name="winners left to pay",
            ok=winners * count <= state.winners_unpaid,
            seen=f"{winners * count} to pay",
            required=f"<= {state.winners_unpaid} unpaid of {len(state.amounts)} "
            f"(winners are paid in order; /payouts winners {lottery_id})",
        )
    )
    if prize is not None:
        wrong = [p for p in prizes if p != prize]
        first = state.paid.count + 1
        checks.append(
            Check(
                name="prize = the winners' prizes",
                ok=not wrong,
                seen=f"{prize:,} typed",
                required=f"{', '.join(f'{p:,}' for p in prizes)} for "
                f"{ordinals(first, first + winners * count - 1)} (total_allocated shared "
                f"equally by the {len(state.amounts)} winner(s); leave the prize out and the bot "
                "uses it)",
            )
        )
    total_prize = prize * count if prize is not None else sum(prizes)
    checks += [
        Check(
            name="prize within total_allocated",
            ok=total_prize <= state.prize_unpaid,
            seen=f"{total_prize:,}",
            required=f"<= {state.prize_unpaid:,} left",
        ),
        Check(
            name="operations within total_operations_allocated",
            ok=operations * count <= state.operations_unpaid,
            seen=f"{operations * count:,}",
            required=f"<= {state.operations_unpaid:,} left",
        ),
    ]
    return checks, round_, cap, prizes


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
    prize_paid: Amount | None = None
    operations_paid: Amount = 0


@action(
    "/payouts",
    "batch",
    summary="Record one payout batch for the next winners (the bot computes their prize; checks "
    "cap size, cooldown, nonce, budget, accounting)",
    runbook="Admin 8 (payouts::record_payout_batch_admin; roles::consume_payout_batch read as the cap view)",
    args=BatchArgs,
    reads=BATCH_READS,
    calls=("payouts::record_payout_batch_admin",),
    help="Pays the next <winners-paid> winners in order (/payouts winners lists them). Their prize "
    "is computed by the bot (total_allocated shared equally); a typed prize must match it. "
    "Operations are paid with the batch (default 0), e.g. /payouts batch 4 0 0 140000000 pays "
    "only operations.",
)
def batch(ctx: StepContext, args: BatchArgs) -> Plan:
    """The bot derives each batch's prize from the winners it pays (``commands.winners``) and refuses a
    different figure; the cap's nonce rule (spec fact 12) is checked and explained in
    ``payout_cap``.
    """
    now = ctx.chain.now_s()
    checks, round_, _cap, [prize] = batch_checks(
        ctx,
        args.lottery_id,
        winners=args.winners_paid,
        prize=args.prize_paid,
        operations=args.operations_paid,
        now_s=now,
    )
    call = _batch_call(args.lottery_id, round_, args.winners_paid, prize, args.operations_paid, now)
    return Plan(
        summary=f"Payout round {round_} of lottery {args.lottery_id}: {args.winners_paid} winners, "
        f"prize {prize:,}, operations {args.operations_paid:,}",
        checks=checks,
        calls=[call],
        after=_after_batch(args.lottery_id),
    )


class RunArgs(BaseModel):
    lottery_id: U64
    batches: U64 = Field(gt=0, le=100)
    winners_per_batch: Amount
    prize_per_batch: Amount | None = None
    operations_per_batch: Amount = 0


@action(
    "/payouts",
    "run",
    summary="Run N payout batches in a row, checking accounting after each (stops on the first problem)",
    runbook="Admin 8 (the loop of record_payout_batch_admin)",
    args=RunArgs,
    reads=BATCH_READS,
    calls=("payouts::record_payout_batch_admin",),
)
def run(ctx: StepContext, args: RunArgs) -> Plan:
    now = ctx.chain.now_s()
    checks, round_, cap, prizes = batch_checks(
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
            prize,
            args.operations_per_batch,
            now,
        )
        for i, prize in enumerate(prizes)
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
    tone = Tone.WARNING if cap is None else Tone.INFO
    return Reply(
        title="Payout capabilities",
        fields=tuple(fields),
        tone=tone,
        data={"payout_batch_cap": cap, "partners": partners},
    )
