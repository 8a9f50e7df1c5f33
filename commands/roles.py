"""``/roles``: runbook Admin 8-10 (spec §4.6, §6.2, §7.5). Lists, issues and revokes the payout-batch,
partner-payout and premium-access capabilities, and cleans up expired ones. Payouts themselves are in
``/payouts``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatops.chain.calls import ChainCall, TypedArg
from commands.args import U64, Address, Amount, Duration, OnOff
from commands.payout_cap import reissue_effects
from commands.ports import Outcome, Plan, StepContext
from commands.reads import numbers, option, payout_cap, u64
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField


def _address(value: str) -> TypedArg:
    return TypedArg.of("address", value)


def _option(view: Any) -> dict[str, Any] | None:
    """An ``Option<T>`` view value (``{"vec": [...]}``) as the struct or None."""
    found = option(view)
    return numbers(found) if found is not None else None


def partner_caps(ctx: StepContext) -> list[dict[str, Any]]:
    """``roles::list_partner_caps`` in index order (swap-removes reshuffle it, spec §4.6)."""
    [caps] = ctx.chain.read("roles::list_partner_caps")
    return [numbers(c) for c in caps]


def premium_caps(ctx: StepContext) -> list[dict[str, Any]]:
    """``roles::list_premium_caps``; ``referrer`` stays the raw ``Option<address>``."""
    [caps] = ctx.chain.read("roles::list_premium_caps")
    return [numbers(c) for c in caps]


def partner_cap(ctx: StepContext, partner: str) -> dict[str, Any] | None:
    [view] = ctx.chain.read("roles::partner_payout_cap_view", [_address(partner)])
    return _option(view)


def premium_cap(ctx: StepContext, holder: str) -> dict[str, Any] | None:
    [view] = ctx.chain.read("roles::premium_cap_view", [_address(holder)])
    return _option(view)


def is_expired(expires_at: int, now_s: int) -> bool:
    """The contracts' expiry rule: 0 never expires, otherwise expired strictly after ``expires_at``."""
    return expires_at > 0 and now_s > expires_at


def partner_removed_by_cleanup(cap: dict[str, Any], now_s: int) -> bool:
    """``cleanup_expired_admin``'s exact partner rule: expired, or no budget left (spec §4.6)."""
    return is_expired(cap["expires_at"], now_s) or cap["remaining_payout"] == 0


def _referrer(cap: dict[str, Any]) -> str | None:
    found = option(cap.get("referrer"))
    return str(found) if found is not None else None


def _expiry(expires_at: int) -> str:
    return f"expires at {expires_at}" if expires_at else "never expires"


def _future_or_zero(name: str, expires_at: int, now_s: int) -> Check:
    """A cap issued already expired is dead on arrival (and the next cleanup removes it)."""
    return Check(
        name=name,
        ok=expires_at == 0 or expires_at > now_s,
        seen=str(expires_at),
        required=f"0 (never) or after now ({now_s})",
    )


@read(
    "/roles",
    "partner-caps",
    summary="Every PartnerPayoutCap: remaining budget, next nonce, expiry; flags expired and spent ones",
    runbook="Admin 9 (roles::list_partner_caps)",
    reads=("roles::list_partner_caps",),
)
def partner_caps_(ctx: StepContext, args: BaseModel) -> Reply:
    now = ctx.chain.now_s()
    caps = partner_caps(ctx)
    fields: list[RField] = []
    rows: list[dict[str, Any]] = []
    for cap in caps:
        flags = []
        if is_expired(cap["expires_at"], now):
            flags.append("EXPIRED")
        if cap["remaining_payout"] == 0:
            flags.append("EXHAUSTED")
        flag_text = f" [{', '.join(flags)}]" if flags else ""
        fields.append(
            RField(
                label=f"Partner {cap['partner']}",
                value=f"remaining {cap['remaining_payout']:,} of {cap['max_total_payout']:,}, "
                f"next nonce {cap['next_nonce']} (stride {cap['nonce_stride']}), cooldown "
                f"{cap['payout_cooldown_secs']} s, {_expiry(cap['expires_at'])}{flag_text}",
            )
        )
        rows.append({**cap, "expired": "EXPIRED" in flags, "exhausted": "EXHAUSTED" in flags})
    flagged = sum(1 for r in rows if r["expired"] or r["exhausted"])
    text = f"{flagged} cap(s) expired or spent: /roles cleanup removes them." if flagged else ""
    return Reply(
        title=f"{len(caps)} partner payout cap(s)",
        text=text or ("none" if not caps else ""),
        tone=Tone.WARNING if flagged else Tone.INFO,
        fields=tuple(fields),
        data={"now": now, "partners": rows},
    )


@read(
    "/roles",
    "premium-caps",
    summary="Every PremiumAccessCap with expires_at and referrer; flags expired ones",
    runbook="Admin 10 (roles::list_premium_caps)",
    reads=("roles::list_premium_caps",),
)
def premium_caps_(ctx: StepContext, args: BaseModel) -> Reply:
    now = ctx.chain.now_s()
    caps = premium_caps(ctx)
    fields: list[RField] = []
    rows: list[dict[str, Any]] = []
    for cap in caps:
        expired = is_expired(cap["expires_at"], now)
        referrer = _referrer(cap)
        fields.append(
            RField(
                label=f"Premium {cap['holder']}",
                value=f"{_expiry(cap['expires_at'])}, auto-renew {'on' if cap['auto_renew'] else 'off'}, "
                f"referrer {referrer or 'none'}{' [EXPIRED]' if expired else ''}",
            )
        )
        rows.append(
            {
                "holder": cap["holder"],
                "expires_at": cap["expires_at"],
                "auto_renew": cap["auto_renew"],
                "referrer": referrer,
                "expired": expired,
            }
        )
    expired_count = sum(1 for r in rows if r["expired"])
    return Reply(
        title=f"{len(caps)} premium access cap(s)",
        text=f"{expired_count} expired: /roles cleanup removes them."
        if expired_count
        else ("none" if not caps else ""),
        tone=Tone.WARNING if expired_count else Tone.INFO,
        fields=tuple(fields),
        data={"now": now, "premium": rows},
    )


class PayoutCapArgs(BaseModel):
    holder: Address
    max_batch: U64
    ops_budget: Amount
    cooldown: Duration
    nonce_stride: U64


@action(
    "/roles",
    "payout-cap",
    summary="Issue (or re-issue) the global PayoutBatchCap; resets its nonce and budget used",
    runbook="Admin 8 (roles::set_payout_batch_cap_admin; spec fact 12)",
    args=PayoutCapArgs,
    reads=("roles::payout_batch_cap_view",),
    calls=("roles::set_payout_batch_cap_admin",),
)
def payout_cap_(ctx: StepContext, args: PayoutCapArgs) -> Plan:
    current = payout_cap(ctx)
    if current is None:
        reset = "No cap exists yet"
    else:
        reset = (
            f"WARNING: this replaces the current cap: last_nonce ({current['last_nonce']} now), "
            f"operations_budget_used ({current['operations_budget_used']:,} now) and last_batch_at "
            "go back to 0, so the operations budget guard starts over (spec fact 12)"
        )
    call = ChainCall(
        function="roles::set_payout_batch_cap_admin",
        args=(
            _address(args.holder),
            u64(args.max_batch),
            u64(args.ops_budget),
            u64(args.cooldown),
            u64(args.nonce_stride),
        ),
    )
    return Plan(
        summary=f"Set the PayoutBatchCap: holder {args.holder}, max batch "
        f"{args.max_batch or 'unlimited'}, operations budget {args.ops_budget:,}, cooldown "
        f"{args.cooldown} s, nonce stride {args.nonce_stride}{' (nonce check off)' if args.nonce_stride == 0 else ''}. "
        f"{reset}",
        checks=[],
        calls=[call],
        effects=reissue_effects(current, args.ops_budget),
    )


@action(
    "/roles",
    "revoke-payout-cap",
    summary="Revoke the global PayoutBatchCap (every payout and refund batch stops until a new one)",
    runbook="Admin 8 (roles::revoke_payout_batch_cap_admin)",
    reads=("roles::payout_batch_cap_view",),
    calls=("roles::revoke_payout_batch_cap_admin",),
)
def revoke_payout_cap(ctx: StepContext, args: BaseModel) -> Plan:
    current = payout_cap(ctx)
    checks = [
        Check(
            name="PayoutBatchCap present",
            ok=current is not None,
            seen="none" if current is None else f"held by {current['holder']}",
            required="a cap to revoke",
        )
    ]
    return Plan(
        summary="Revoke the PayoutBatchCap: payout and refund batches abort until a new cap is set",
        checks=checks,
        calls=[ChainCall(function="roles::revoke_payout_batch_cap_admin")],
    )


class PartnerCapArgs(BaseModel):
    partner: Address
    max_total: Amount
    cooldown: Duration
    nonce_stride: U64
    expires_at: U64


@action(
    "/roles",
    "partner-cap",
    summary="Create or replace a partner's PartnerPayoutCap (budget, cooldown, nonce stride, expiry)",
    runbook="Admin 9 (roles::upsert_partner_payout_cap_admin)",
    args=PartnerCapArgs,
    reads=("roles::partner_payout_cap_view",),
    calls=("roles::upsert_partner_payout_cap_admin",),
)
def partner_cap_(ctx: StepContext, args: PartnerCapArgs) -> Plan:
    now = ctx.chain.now_s()
    current = partner_cap(ctx, args.partner)
    checks = [
        Check(
            name="max total payout > 0",
            ok=args.max_total > 0,
            seen=str(args.max_total),
            required="> 0 (a cap with nothing left is removed by the next cleanup)",
        ),
        _future_or_zero("expires_at 0 or in the future", args.expires_at, now),
    ]
    if current is None:
        replaces = "New cap"
    else:
        replaces = (
            f"Replaces the current cap (remaining {current['remaining_payout']:,}, next nonce "
            f"{current['next_nonce']}): remaining resets to {args.max_total:,} and next nonce to "
            f"{args.nonce_stride}"
        )
    call = ChainCall(
        function="roles::upsert_partner_payout_cap_admin",
        args=(
            _address(args.partner),
            u64(args.max_total),
            u64(args.cooldown),
            u64(args.nonce_stride),
            u64(args.expires_at),
        ),
    )
    return Plan(
        summary=f"PartnerPayoutCap for {args.partner}: max total {args.max_total:,}, cooldown "
        f"{args.cooldown} s, nonce stride {args.nonce_stride}, {_expiry(args.expires_at)}. {replaces}",
        checks=checks,
        calls=[call],
    )


class PartnerArgs(BaseModel):
    partner: Address


@action(
    "/roles",
    "revoke-partner",
    summary="Revoke a partner's PartnerPayoutCap",
    runbook="Admin 9 (roles::revoke_partner_payout_cap_admin)",
    args=PartnerArgs,
    reads=("roles::partner_payout_cap_view",),
    calls=("roles::revoke_partner_payout_cap_admin",),
)
def revoke_partner(ctx: StepContext, args: PartnerArgs) -> Plan:
    current = partner_cap(ctx, args.partner)
    checks = [
        Check(
            name="PartnerPayoutCap present",
            ok=current is not None,
            seen="none" if current is None else f"remaining {current['remaining_payout']:,}",
            required="a cap for this partner",
        )
    ]
    return Plan(
        summary=f"Revoke the PartnerPayoutCap of {args.partner}",
        checks=checks,
        calls=[
            ChainCall(
                function="roles::revoke_partner_payout_cap_admin", args=(_address(args.partner),)
            )
        ],
    )


class PremiumGrantArgs(BaseModel):
    holder: Address
    expires_at: U64
    auto_renew: OnOff
    referrer: Address | None = None


@action(
    "/roles",
    "premium-grant",
    summary="Grant (or replace) a holder's PremiumAccessCap, with an optional referrer",
    runbook="Admin 10 (roles::grant_premium_access_admin)",
    args=PremiumGrantArgs,
    reads=("roles::premium_cap_view",),
    calls=("roles::grant_premium_access_admin",),
)
def premium_grant(ctx: StepContext, args: PremiumGrantArgs) -> Plan:
    now = ctx.chain.now_s()
    current = premium_cap(ctx, args.holder)
    checks = [_future_or_zero("expires_at 0 or in the future", args.expires_at, now)]
    replaces = (
        "New cap"
        if current is None
        else f"Replaces the current cap ({_expiry(current['expires_at'])})"
    )
    call = ChainCall(
        function="roles::grant_premium_access_admin",
        args=(
            _address(args.holder),
            u64(args.expires_at),
            TypedArg.of("bool", args.auto_renew),
            TypedArg.of("0x1::option::Option<address>", args.referrer),
        ),
    )
    return Plan(
        summary=f"Premium access for {args.holder}: {_expiry(args.expires_at)}, auto-renew "
        f"{'on' if args.auto_renew else 'off'}, referrer {args.referrer or 'none'}. {replaces}",
        checks=checks,
        calls=[call],
    )


class HolderArgs(BaseModel):
    holder: Address


@action(
    "/roles",
    "premium-revoke",
    summary="Revoke a holder's PremiumAccessCap",
    runbook="Admin 10 (roles::revoke_premium_access_admin)",
    args=HolderArgs,
    reads=("roles::premium_cap_view",),
    calls=("roles::revoke_premium_access_admin",),
)
def premium_revoke(ctx: StepContext, args: HolderArgs) -> Plan:
    current = premium_cap(ctx, args.holder)
    checks = [
        Check(
            name="PremiumAccessCap present",
            ok=current is not None,
            seen="none" if current is None else _expiry(current["expires_at"]),
            required="a cap for this holder",
        )
    ]
    return Plan(
        summary=f"Revoke the premium access of {args.holder}",
        checks=checks,
        calls=[
            ChainCall(function="roles::revoke_premium_access_admin", args=(_address(args.holder),))
        ],
    )


def _render_cleanup(ctx: StepContext, args: BaseModel, outcomes: list[Outcome]) -> Reply:
    """Report the revocation events the cleanup actually produced (runbook Admin 10)."""
    partners: list[str] = []
    holders: list[str] = []
    for outcome in outcomes:
        for type_name, data in outcome.events:
            if type_name.endswith("::PartnerPayoutCapRevokedEvent"):
                partners.append(str(data["partner"]))
            elif type_name.endswith("::PremiumAccessRevokedEvent"):
                holders.append(str(data["holder"]))
    fields = [RField(label="PartnerPayoutCapRevokedEvent", value=p) for p in partners]
    fields += [RField(label="PremiumAccessRevokedEvent", value=h) for h in holders]
    fields += [RField(label="Tx", value=o.tx_hash) for o in outcomes]
    removed = len(partners) + len(holders)
    return Reply(
        title=f"/roles cleanup: {len(partners)} partner and {len(holders)} premium cap(s) removed",
        text="Record the result in the incident log (runbook Admin 10).",
        tone=Tone.SUCCESS if removed else Tone.WARNING,
        fields=tuple(fields),
        data={"partners_revoked": partners, "premium_revoked": holders},
    )


@action(
    "/roles",
    "cleanup",
    summary="Remove expired or spent partner caps and expired premium caps (cleanup_expired_admin)",
    runbook="Admin 10 (roles::cleanup_expired_admin <now>)",
    reads=("roles::list_partner_caps", "roles::list_premium_caps"),
    calls=("roles::cleanup_expired_admin",),
    render=_render_cleanup,
)
def cleanup(ctx: StepContext, args: BaseModel) -> Plan:
    now = ctx.chain.now_s()
    partners = [c["partner"] for c in partner_caps(ctx) if partner_removed_by_cleanup(c, now)]
    holders = [c["holder"] for c in premium_caps(ctx) if is_expired(c["expires_at"], now)]
    found = [f"partner {p}" for p in partners] + [f"premium {h}" for h in holders]
    checks = [
        Check(
            name="caps to remove",
            ok=bool(found),
            seen=", ".join(found) if found else "none",
            required="at least one expired or spent cap",
        )
    ]
    return Plan(
        summary=f"Cleanup at {now}: removes {len(partners)} partner cap(s) "
        f"({', '.join(partners) or 'none'}) and {len(holders)} premium cap(s) "
        f"({', '.join(holders) or 'none'})",
        checks=checks,
        calls=[ChainCall(function="roles::cleanup_expired_admin", args=(u64(now),))],
    )
