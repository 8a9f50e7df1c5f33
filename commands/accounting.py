"""The runbook's accounting control (Admin 8, ``accounting_check.sh compare``): paid against
allocated after each batch, and ``accounting_snapshot`` against what the archived summary says
or will say."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from commands.args import U64
from commands.ports import StepContext
from commands.reads import (
    accounting,
    as_int,
    lottery_status,
    lottery_summary,
    refund_progress,
    status_name,
)
from commands.registry import read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

__all__ = ["accounting_invariant", "summary_checks", "unpaid_checks"]

STATUS_CANCELED = 7
SUMMARY_TOTALS = ("total_allocated", "total_prize_paid", "total_operations_paid")


def _int(acc: dict[str, Any], key: str) -> int:
    return int(acc.get(key, 0))


def _paid(acc: dict[str, Any]) -> tuple[int, int, int, int]:
    """(prize paid, allocated, operations paid, operations allocated) of an ``Accounting``."""
    return (
        _int(acc, "total_prize_paid"),
        _int(acc, "total_allocated"),
        _int(acc, "total_operations_paid"),
        _int(acc, "total_operations_allocated"),
    )


def accounting_invariant(ctx: StepContext, lottery_id: int) -> list[Check]:
    """Runbook Admin 8: after a batch, nothing paid beyond what the sales allocated.

    The runbook says "total_prize_paid and total_operations_paid do not exceed total_allocated"; in
    the contract's ``Accounting`` (spec §6.4, §12.3) ``total_allocated`` is the prize + reserve share
    and operations have their own ``total_operations_allocated``, so each paid total is compared
    with its own allocation (the contracts win). Summing both against ``total_allocated`` would flag
    a legitimate full payout as an incident.
    """
    prize_paid, allocated, ops_paid, ops_allocated = _paid(accounting(ctx, lottery_id) or {})
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


def unpaid_checks(acc: dict[str, Any], lottery_id: int) -> list[Check]:
    """Everything allocated is paid: the prize share to the winners, the operations share (partner
    payouts are booked there too, spec §4.5). What is missing is named with the command that pays it."""
    prize_paid, allocated, ops_paid, ops_allocated = _paid(acc)
    return [
        Check(
            name="prize paid = total_allocated",
            ok=prize_paid == allocated,
            seen=f"{prize_paid:,} paid of {allocated:,} ({allocated - prize_paid:,} unpaid)",
            required=f"all {allocated:,} paid first (/payouts plan {lottery_id}, /payouts batch)",
        ),
        Check(
            name="operations paid = total_operations_allocated",
            ok=ops_paid == ops_allocated,
            seen=f"{ops_paid:,} paid of {ops_allocated:,} ({ops_allocated - ops_paid:,} unpaid)",
            required=f"all {ops_allocated:,} paid first (operations in /payouts batch "
            f"{lottery_id} ..., or /payouts partner)",
        ),
    ]


def summary_checks(acc: dict[str, Any], summary: dict[str, Any]) -> list[Check]:
    """``accounting_check.sh compare``: the three totals the summary copies equal the accounting's.

    Finalize and archive copy ``total_allocated``, ``total_prize_paid`` and
    ``total_operations_paid`` into the ``LotterySummary`` (spec §12.8), and nothing can be paid
    after finalize: a summary written while money is unpaid records that for good. So before the
    summary exists the comparison is "will the summary say everything allocated was paid", and after
    it "does it match the accounting".
    """
    return [
        Check(
            name=f"summary {key} = accounting",
            ok=_int(summary, key) == _int(acc, key),
            seen=f"summary {_int(summary, key):,}, accounting {_int(acc, key):,}",
            required="equal",
        )
        for key in SUMMARY_TOTALS
    ]


def _refund_checks(ctx: StepContext, lottery_id: int) -> list[Check]:
    """A canceled lottery pays nothing out: its summary is archived once refunds equal proceeds."""
    view = refund_progress(ctx, lottery_id)
    refunded = view["prize_refunded"] + view["operations_refunded"]
    return [
        Check(
            name="refunds = proceeds_accum",
            ok=refunded == view["proceeds_accum"],
            seen=f"{refunded:,} refunded of {view['proceeds_accum']:,}",
            required=f"{view['proceeds_accum']:,} exactly (/refund plan {lottery_id})",
        )
    ]


class IdArgs(BaseModel):
    lottery_id: U64


@read(
    "/lottery",
    "accounting",
    summary="accounting_check.sh compare: accounting_snapshot against what the archived summary "
    "says (or will say): allocated, paid, unpaid",
    runbook="Admin 6, 8 (accounting_check.sh compare: views::accounting_snapshot, "
    "views::get_lottery_summary)",
    args=IdArgs,
    reads=(
        "views::get_lottery_status",
        "views::accounting_snapshot",
        "views::get_lottery_summary",
        "views::get_refund_progress",
    ),
)
def compare(ctx: StepContext, args: IdArgs) -> Reply:
    current = as_int(lottery_status(ctx, args.lottery_id)["status"])
    acc = accounting(ctx, args.lottery_id)
    if acc is None:
        return Reply(
            title=f"Lottery {args.lottery_id}: no accounting yet (no ticket sold)",
            text="views::accounting_snapshot aborts until the first sale.",
        )
    summary = lottery_summary(ctx, args.lottery_id)
    if summary is not None:
        checks = summary_checks(acc, summary)
        where = f"archived summary (status {status_name(as_int(summary['status']))})"
    elif current == STATUS_CANCELED:
        checks = _refund_checks(ctx, args.lottery_id)
        where = "summary the archive will write (refunds instead of payouts)"
    else:
        checks = unpaid_checks(acc, args.lottery_id)
        where = "summary finalize will write (it copies these totals)"
    matches = {c.name: c.ok for c in checks}
    ok = all(matches.values())
    fields = (
        RField(label="Compared with", value=where),
        RField(label="Total sales", value=f"{_int(acc, 'total_sales'):,}"),
        RField(
            label="Prize",
            value=f"{_int(acc, 'total_prize_paid'):,} paid of {_int(acc, 'total_allocated'):,} "
            "allocated",
        ),
        RField(
            label="Operations",
            value=f"{_int(acc, 'total_operations_paid'):,} paid of "
            f"{_int(acc, 'total_operations_allocated'):,} allocated (partner payouts included)",
        ),
    )
    title = f"Lottery {args.lottery_id} accounting ({status_name(current)}): " + (
        "consistent" if ok else "; ".join(c.name for c in checks if not c.ok) + " fails"
    )
    # After the archive a difference is an incident; before it, unpaid money is work to do.
    broken = summary is not None and not ok
    return Reply(
        title=title,
        ok=not broken,
        tone=Tone.SUCCESS if ok else (Tone.ERROR if broken else Tone.WARNING),
        checks=tuple(checks),
        fields=fields,
        data={
            "accounting": acc,
            "summary": summary,
            "total_sales": _int(acc, "total_sales"),
            "total_operations_allocated": _int(acc, "total_operations_allocated"),
            "total_allocated_match": summary is not None
            and _int(summary, "total_allocated") == _int(acc, "total_allocated"),
            "total_prize_paid_match": summary is not None
            and _int(summary, "total_prize_paid") == _int(acc, "total_prize_paid"),
            "total_operations_paid_match": summary is not None
            and _int(summary, "total_operations_paid") == _int(acc, "total_operations_paid"),
            "consistent": ok,
        },
    )
