"""``/refund progress|report``: how a cancellation's refunds stand against the support SLA (spec
§6.3, refund.md): the first batch within 12 h and the full refund within 24 h of ``canceled_ts``,
and the report to paste for support (runbook Emergency refund 4).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatops.chain.constants import REFUND_FIRST_BATCH_SLA_SECS, REFUND_FULL_SLA_SECS
from commands.args import U64
from commands.emergency import stop_state
from commands.ports import StepContext
from commands.reads import (
    cancellation,
    lottery_summary,
    refund_progress,
    status_name,
    utc,
)
from commands.refund import not_canceled, reason_text
from commands.registry import read
from commands.reply import Field as RField
from commands.reply import Reply, Tone

__all__ = ["sla_lines"]


def _span(secs: int) -> str:
    hours, rest = divmod(abs(secs), 3600)
    return f"{hours}h {rest // 60:02d}m"


def sla_lines(
    record: dict[str, Any], progress: dict[str, Any], now_s: int
) -> list[tuple[str, str, bool]]:
    """(label, status, breached) for the first-batch and full-refund SLAs (spec §6.3, refund.md).

    Both deadlines run from ``canceled_ts``. The progress view keeps only the last batch time, so a
    first batch is known to be on time when the last one was, and known late only when it was the
    only batch.
    """
    canceled = int(record["canceled_ts"])
    first_due = canceled + REFUND_FIRST_BATCH_SLA_SECS
    full_due = canceled + REFUND_FULL_SLA_SECS
    round_ = progress["refund_round"]
    last = progress["last_refund_ts"]
    sold = progress["tickets_sold"]
    if sold == 0:
        return [("Refund SLA", "nothing to refund (no ticket sold)", False)]
    lines: list[tuple[str, str, bool]] = []
    if round_ == 0:
        if now_s > first_due:
            lines.append(
                (
                    "First batch (12 h)",
                    f"BREACHED: no batch yet, due {utc(first_due)}, {_span(now_s - first_due)} ago",
                    True,
                )
            )
        else:
            lines.append(
                (
                    "First batch (12 h)",
                    f"due by {utc(first_due)} ({_span(first_due - now_s)} left)",
                    False,
                )
            )
    elif last <= first_due:
        lines.append(("First batch (12 h)", f"met (a batch by {utc(last)})", False))
    elif round_ == 1:
        lines.append(
            (
                "First batch (12 h)",
                f"MISSED: first batch at {utc(last)}, due {utc(first_due)}",
                True,
            )
        )
    else:
        lines.append(
            (
                "First batch (12 h)",
                f"not known from the progress view ({round_} batches, last at {utc(last)})",
                False,
            )
        )
    refunded = progress["prize_refunded"] + progress["operations_refunded"]
    left = sold - progress["tickets_refunded"]
    complete = left == 0 and refunded == progress["proceeds_accum"]
    if complete and last <= full_due:
        lines.append(("Full refund (24 h)", f"met (completed {utc(last)})", False))
    elif complete:
        lines.append(
            ("Full refund (24 h)", f"MISSED: completed {utc(last)}, due {utc(full_due)}", True)
        )
    elif now_s > full_due:
        lines.append(
            (
                "Full refund (24 h)",
                f"BREACHED: {left:,} tickets and {progress['proceeds_accum'] - refunded:,} left, "
                f"due {utc(full_due)}, {_span(now_s - full_due)} ago",
                True,
            )
        )
    else:
        lines.append(
            (
                "Full refund (24 h)",
                f"due by {utc(full_due)} ({_span(full_due - now_s)} left; {left:,} tickets to go)",
                False,
            )
        )
    return lines


class IdArgs(BaseModel):
    lottery_id: U64


@read(
    "/refund",
    "progress",
    summary="Refund progress and cancellation record of a lottery, with the 12 h / 24 h SLA",
    runbook="Emergency refund 3, refund.md 5 (views::get_refund_progress, views::get_cancellation)",
    args=IdArgs,
    reads=("views::get_refund_progress", "views::get_cancellation"),
)
def progress(ctx: StepContext, args: IdArgs) -> Reply:
    record = cancellation(ctx, args.lottery_id)
    view = refund_progress(ctx, args.lottery_id)
    if record is None:
        return not_canceled(args.lottery_id, "no refunds", {"progress": view})
    sla = sla_lines(record, view, ctx.chain.now_s())
    refunded = view["prize_refunded"] + view["operations_refunded"]
    fields = [
        RField(
            label="Canceled",
            value=f"{utc(record['canceled_ts'])}, reason {reason_text(record['reason_code'])}, "
            f"from {status_name(record['previous_status'])}",
        ),
        RField(label="Refund rounds", value=str(view["refund_round"])),
        RField(label="Tickets", value=f"{view['tickets_refunded']:,}/{view['tickets_sold']:,}"),
        RField(
            label="Amount",
            value=f"{refunded:,}/{view['proceeds_accum']:,} (prize {view['prize_refunded']:,}, "
            f"operations {view['operations_refunded']:,})",
        ),
        RField(
            label="Last batch",
            value=utc(view["last_refund_ts"]) if view["last_refund_ts"] else "none yet",
        ),
    ]
    fields += [RField(label=label, value=text) for label, text, _ in sla]
    breached = [f"{label}: {text}" for label, text, bad in sla if bad]
    return Reply(
        title=f"Lottery {args.lottery_id}: refund {'active' if view['active'] else 'inactive'}, "
        f"round {view['refund_round']}",
        text="\n".join(f"WARNING {line}" for line in breached),
        tone=Tone.WARNING if breached else Tone.INFO,
        fields=tuple(fields),
        data={"progress": view, "cancellation": record, "sla_breached": bool(breached)},
    )


@read(
    "/refund",
    "report",
    summary="The support report: cancellation, refund batches, totals, SLA and archive, ready to paste",
    runbook="Emergency refund 4 (publish a report to support)",
    args=IdArgs,
    reads=(
        "views::get_cancellation",
        "views::get_refund_progress",
        "views::get_lottery_summary",
        "feature_switch::is_initialized",
        "feature_switch::is_enabled",
    ),
)
def report(ctx: StepContext, args: IdArgs) -> Reply:
    record = cancellation(ctx, args.lottery_id)
    if record is None:
        return Reply.error(
            f"Lottery {args.lottery_id} is not canceled: there is no refund to report."
        )
    view = refund_progress(ctx, args.lottery_id)
    now = ctx.chain.now_s()
    sla = sla_lines(record, view, now)
    summary = lottery_summary(ctx, args.lottery_id)
    refunded = view["prize_refunded"] + view["operations_refunded"]
    lines = [
        f"Lottery {args.lottery_id}: cancellation and refund report ({utc(now)})",
        f"Canceled: {utc(record['canceled_ts'])}, reason {reason_text(record['reason_code'])}, "
        f"previous status {status_name(record['previous_status'])}",
        f"Sold: {record['tickets_sold']:,} tickets, {record['proceeds_accum']:,} proceeds",
        f"Refund batches: {view['refund_round']}"
        + (f", last at {utc(view['last_refund_ts'])}" if view["last_refund_ts"] else ""),
        f"Refunded: {view['tickets_refunded']:,}/{view['tickets_sold']:,} tickets; prize "
        f"{view['prize_refunded']:,} + operations {view['operations_refunded']:,} = {refunded:,} "
        f"of {view['proceeds_accum']:,}",
        f"Remaining: {view['tickets_sold'] - view['tickets_refunded']:,} tickets, "
        f"{view['proceeds_accum'] - refunded:,} amount",
        *(f"{label} SLA: {text}" for label, text, _ in sla),
        "Archive: "
        + (
            f"archived (status {summary['status']}, payout_round {summary['payout_round']})"
            if summary
            else f"not archived yet (/refund archive {args.lottery_id})"
        ),
        f"Sales and draws: {stop_state(ctx)}",
    ]
    breached = any(bad for _, _, bad in sla)
    return Reply(
        title=f"Refund report: lottery {args.lottery_id}",
        text="\n".join(lines),
        tone=Tone.WARNING if breached else Tone.INFO,
        data={
            "cancellation": record,
            "progress": view,
            "summary": summary,
            "sla_breached": breached,
        },
    )
