"""The global PayoutBatchCap as ``roles::consume_payout_batch`` checks it (spec §4.5, §4.6, fact
12): prize and refund batches consume the same cap."""

from __future__ import annotations

from typing import Any

from commands.reply import Check

__all__ = ["NONCE_RULE", "cap_checks", "nonce_check", "reissue_effects", "reissue_hint"]

NONCE_RULE = (
    "the PayoutBatchCap's nonce is global: each payout or refund batch of any lottery must be "
    "last_nonce + nonce_stride, and also its own lottery's round + 1 (roles::consume_payout_batch)"
)


def _left(cap: dict[str, Any]) -> int:
    return int(cap["operations_budget_total"]) - int(cap["operations_budget_used"])


def reissue_hint(cap: dict[str, Any], stride: int) -> str:
    """The ``/roles payout-cap`` line that resets the nonce and keeps the budget that is left."""
    return (
        f"/roles payout-cap {cap['holder']} {cap['max_batch_size']} {_left(cap)} "
        f"{cap['cooldown_secs']} {stride}"
    )


def reissue_effects(cap: dict[str, Any] | None, ops_budget: int) -> tuple[str, ...]:
    """What ``set_payout_batch_cap_admin`` changes (spec §4.6): it replaces the cap and starts its
    counters over, so the operations budget guard forgets what was already spent."""
    if cap is None:
        return (f"a new cap: operations budget {ops_budget:,}, nonce from 0",)
    used = int(cap["operations_budget_used"])
    effects = [
        f"operations_budget_used {used:,} -> 0: the budget guard starts over with {ops_budget:,} "
        f"available (now {_left(cap):,} left of {int(cap['operations_budget_total']):,})",
        f"last_nonce {cap['last_nonce']} -> 0",
        f"last_batch_at {cap['last_batch_at']} -> 0 (no cooldown pending)",
    ]
    if used and ops_budget > _left(cap):
        effects.append(
            f"WARNING: {ops_budget - _left(cap):,} more operations can be paid than the current "
            f"cap allows; re-issue with an operations budget of {_left(cap):,} to keep the guard"
        )
    return tuple(effects)


def nonce_check(
    cap: dict[str, Any], round_: int, *, count: int = 1, round_name: str = "payout round"
) -> Check:
    """``round_`` against the cap's next nonce (stride 0 turns the check off: always ok).

    Prize batches and refund batches consume the same cap. Its nonce is global: every batch of every
    lottery advances ``last_nonce`` by ``nonce_stride``, while each lottery counts its own rounds
    from 1, and a batch must satisfy both. When they differ, the checks say which nonce and round
    would pass, and what a cap re-issue (the only reset) does to the operations budget guard.
    """
    stride = int(cap["nonce_stride"])
    expected = int(cap["last_nonce"]) + stride
    name = f"cap nonce = {round_name}"
    if stride == 0:
        return Check(name=name, ok=True, seen="nonce check off (stride 0)")
    if expected == round_ and (count == 1 or stride == 1):
        return Check(name=name, ok=True, seen=f"nonce {expected} = {round_name} {round_}")
    if expected == round_:
        return Check(
            name=name,
            ok=False,
            seen=f"stride {stride}: the batches after the first need nonces {round_ + stride}, "
            f"{round_ + 2 * stride}, ... but rounds {round_ + 1}, {round_ + 2}, ...",
            required=f"stride 1 for a run of {count} batches: {reissue_hint(cap, 1)} (resets "
            "operations_budget_used to 0; the hint keeps the budget left)",
        )
    if round_ == 1:
        fix = f"re-issue the cap with stride 1: its next nonce is then 1 = {round_name} 1"
        hint = reissue_hint(cap, 1)
    else:
        fix = (
            f"a re-issued cap's next nonce is its stride, so only stride 0 (nonce check off) "
            f"passes {round_name} {round_} and the rounds after it"
        )
        hint = reissue_hint(cap, 0)
    return Check(
        name=name,
        ok=False,
        seen=f"the cap expects nonce {expected} (last_nonce {cap['last_nonce']} + stride "
        f"{stride}), this lottery's next {round_name} is {round_}: {NONCE_RULE}",
        required=f"{round_name} {round_} as the nonce: {fix}: {hint} (a re-issue resets "
        f"operations_budget_used ({int(cap['operations_budget_used']):,} now) to 0; the hint "
        f"re-issues with the {_left(cap):,} left to keep the guard)",
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
    """``consume_payout_batch``'s checks, in its order, for ``count`` batches of one shape.

    ``size`` is winners_paid or tickets_refunded and ``round_`` the payout or refund round the batch
    passes as the cap nonce.
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
        checks.append(nonce_check(cap, round_, count=count, round_name=round_name))
    left = _left(cap)
    checks.append(
        Check(
            name="cap operations budget",
            ok=operations * count <= left,
            seen=f"{operations * count:,} needed",
            required=f"<= {left:,} left",
        )
    )
    return checks
