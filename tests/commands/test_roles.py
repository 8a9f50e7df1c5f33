"""/roles: the capability reads, the privileged cap changes and the cleanup against the devnet."""

from __future__ import annotations

from typing import Any

import pytest

from chatops.devnet.framework import PACKAGE_ADDRESS, addr
from chatops.devnet.seed import PARTNER, PREMIUM_BUYER
from commands.invocation import Invocation
from commands.ports import Plan, StepContext
from tests.commands.chain_double import assert_refused
from tests.fakes.bot import Harness, changed

NEW_PARTNER = addr("0xa22")
SPENT_PARTNER = addr("0xa33")
EDGE_PARTNER = addr("0xa44")
HOLDER = addr("0xc001")
REFERRER = addr("0xc0de")


def _now(ops: Harness) -> int:
    return ops.server.ledger.now_s


def _seed(ops: Harness, function: str, args: list[Any]) -> None:
    """Change state through the devnet's own transaction path, as the package account."""
    ops.server.ledger.apply(function, args)


def _plan(ops: Harness, line: str) -> Plan:
    """The step's plan (checks and calls) without running or executing it."""
    step, args = ops.runner.resolve(Invocation.parse_line(line, user="alice"))
    assert step.plan is not None
    return step.plan(StepContext(chain=ops.gateway, user="alice"), args)


def _some(view: Any) -> dict[str, Any] | None:
    items = view["vec"]
    return items[0] if items else None


def _seed_expired_and_spent(ops: Harness) -> None:
    now = _now(ops)
    _seed(ops, "roles::upsert_partner_payout_cap_admin", [NEW_PARTNER, 1_000, 0, 1, now - 1])
    _seed(ops, "roles::upsert_partner_payout_cap_admin", [SPENT_PARTNER, 0, 0, 1, 0])
    _seed(ops, "roles::upsert_partner_payout_cap_admin", [EDGE_PARTNER, 1_000, 0, 1, now])
    _seed(ops, "roles::grant_premium_access_admin", [HOLDER, now - 60, True, REFERRER])


def test_partner_caps_flags_expired_and_exhausted(ops: Harness) -> None:
    """partner-caps shows budget, nonce and expiry, and flags expired and spent caps only."""
    _seed_expired_and_spent(ops)
    reply = ops.run("/roles partner-caps")
    assert reply.ok
    assert reply.data is not None
    rows = {r["partner"]: r for r in reply.data["partners"]}
    assert (rows[PARTNER]["expired"], rows[PARTNER]["exhausted"]) == (False, False)
    assert (rows[NEW_PARTNER]["expired"], rows[NEW_PARTNER]["exhausted"]) == (True, False)
    assert (rows[SPENT_PARTNER]["expired"], rows[SPENT_PARTNER]["exhausted"]) == (False, True)
    assert rows[EDGE_PARTNER]["expired"] is False  # expires_at == now is still valid
    fields = {f.label: f.value for f in reply.fields}
    assert (
        "remaining 1,000,000,000,000 of 1,000,000,000,000, next nonce 1"
        in fields[f"Partner {PARTNER}"]
    )
    assert "[EXPIRED]" in fields[f"Partner {NEW_PARTNER}"]
    assert "[EXHAUSTED]" in fields[f"Partner {SPENT_PARTNER}"]
    assert reply.tone == "warning"


def test_premium_caps_show_expiry_referrer_and_flag_expired(ops: Harness) -> None:
    """premium-caps shows expires_at and the referrer, and flags an expired cap."""
    _seed_expired_and_spent(ops)
    reply = ops.run("/roles premium-caps")
    assert reply.ok
    assert reply.data is not None
    rows = {r["holder"]: r for r in reply.data["premium"]}
    assert rows[PREMIUM_BUYER]["expired"] is False
    assert rows[PREMIUM_BUYER]["referrer"] is None
    assert rows[HOLDER]["expired"] is True
    assert rows[HOLDER]["referrer"] == REFERRER
    fields = {f.label: f.value for f in reply.fields}
    assert f"referrer {REFERRER} [EXPIRED]" in fields[f"Premium {HOLDER}"]


@pytest.mark.parametrize(
    "line",
    [
        "/roles payout-cap 0x1 10 1000 0 1",
        "/roles revoke-payout-cap",
        "/roles partner-cap 0xa22 1000 0 1 0",
        "/roles revoke-partner 0xa11",
        "/roles premium-grant 0xc001 0 on",
        "/roles premium-revoke 0xb0b0",
    ],
)
def test_privileged_steps_need_a_second_person(ops: Harness, line: str) -> None:
    """Every cap change passes its checks but is refused without a second person's approval."""
    ops.needs_approval(line)


def test_cleanup_needs_a_second_person_when_there_is_something_to_remove(ops: Harness) -> None:
    """cleanup with expired caps passes preflight and is routed to approval, sending nothing."""
    _seed_expired_and_spent(ops)
    ops.needs_approval("/roles cleanup")


def test_payout_cap_resets_nonce_and_budget_and_warns(ops: Harness) -> None:
    """Re-issuing the cap warns that last_nonce and budget used reset, and they do reset to 0."""
    _seed(ops, "payouts::record_payout_batch_admin", [4, 1, 1, 1_000, 500, _now(ops)])
    [cap] = ops.view("roles::payout_batch_cap_view")
    assert (cap["vec"][0]["last_nonce"], cap["vec"][0]["operations_budget_used"]) == ("1", "500")
    reply = ops.execute("/roles payout-cap 0xbeef 50 2_000_000 10m 1")
    assert reply.ok, reply
    assert "last_nonce (1 now), operations_budget_used (500 now)" in reply.text
    changes = changed(reply)
    assert changes[0].startswith("operations_budget_used 500 -> 0: the budget guard starts over")
    assert "last_nonce 1 -> 0" in changes
    [view] = ops.view("roles::payout_batch_cap_view")
    new = view["vec"][0]
    assert new["holder"] == addr("0xbeef")
    assert (new["max_batch_size"], new["operations_budget_total"]) == ("50", "2000000")
    assert (new["cooldown_secs"], new["nonce_stride"]) == ("600", "1")
    assert (new["last_nonce"], new["operations_budget_used"]) == ("0", "0")


def test_revoke_payout_cap_removes_it(ops: Harness) -> None:
    """revoke-payout-cap removes the cap and publishes PayoutBatchCapRevokedEvent."""
    reply = ops.execute("/roles revoke-payout-cap")
    assert reply.ok, reply
    assert ops.view("roles::has_payout_batch_cap") == [False]
    assert ops.events("PayoutBatchCapRevokedEvent")[-1]["holder"] == PACKAGE_ADDRESS


def test_revoke_payout_cap_refuses_without_a_cap(ops: Harness) -> None:
    """Without a cap the check names it and nothing is sent."""
    _seed(ops, "roles::revoke_payout_batch_cap_admin", [])
    assert_refused(
        ops, "/roles revoke-payout-cap", "PayoutBatchCap present", "none", "a cap to revoke"
    )


def test_partner_cap_creates_a_cap(ops: Harness) -> None:
    """partner-cap upserts the cap: remaining = max total, next nonce = stride, expiry as given."""
    expires = _now(ops) + 86_400
    reply = ops.execute(f"/roles partner-cap 0xa22 5,000 1h 2 {expires}")
    assert reply.ok, reply
    [view] = ops.view("roles::partner_payout_cap_view", NEW_PARTNER)
    cap = _some(view)
    assert cap is not None
    assert (cap["remaining_payout"], cap["payout_cooldown_secs"]) == ("5000", "3600")
    assert (cap["next_nonce"], cap["expires_at"]) == ("2", str(expires))
    assert ops.events("PartnerPayoutCapGrantedEvent")[-1]["partner"] == NEW_PARTNER


def test_partner_cap_refuses_a_zero_budget(ops: Harness) -> None:
    """A cap with nothing to pay is refused by name (cleanup would remove it at once)."""
    assert_refused(ops, "/roles partner-cap 0xa22 0 0 1 0", "max total payout > 0", "0", "> 0")


def test_partner_cap_refuses_an_expiry_in_the_past(ops: Harness) -> None:
    """An expires_at already passed is refused; 0 (never) would be accepted."""
    past = _now(ops) - 1
    assert_refused(
        ops,
        f"/roles partner-cap 0xa22 1000 0 1 {past}",
        "expires_at 0 or in the future",
        str(past),
        "0 (never) or after now",
    )


def test_revoke_partner_removes_the_cap(ops: Harness) -> None:
    """revoke-partner removes the seeded partner's cap."""
    reply = ops.execute("/roles revoke-partner 0xa11")
    assert reply.ok, reply
    assert ops.view("roles::has_partner_payout_cap", PARTNER) == [False]
    assert ops.events("PartnerPayoutCapRevokedEvent")[-1]["partner"] == PARTNER


def test_revoke_partner_refuses_an_unknown_partner(ops: Harness) -> None:
    """A partner without a cap is named by the check; nothing is sent."""
    assert_refused(
        ops,
        "/roles revoke-partner 0xa22",
        "PartnerPayoutCap present",
        "none",
        "a cap for this partner",
    )


def test_premium_grant_with_a_referrer(ops: Harness) -> None:
    """premium-grant stores expiry, auto-renew and the Option<address> referrer."""
    expires = _now(ops) + 86_400
    reply = ops.execute(f"/roles premium-grant 0xc001 {expires} on 0xc0de")
    assert reply.ok, reply
    [view] = ops.view("roles::premium_cap_view", HOLDER)
    assert view == {
        "vec": [
            {
                "holder": HOLDER,
                "expires_at": str(expires),
                "auto_renew": True,
                "referrer": {"vec": [REFERRER]},
            }
        ]
    }


def test_premium_grant_without_a_referrer(ops: Harness) -> None:
    """Leaving the referrer out sends Option none."""
    reply = ops.execute("/roles premium-grant 0xc001 0 off")
    assert reply.ok, reply
    [view] = ops.view("roles::premium_cap_view", HOLDER)
    assert view["vec"][0]["referrer"] == {"vec": []}
    assert view["vec"][0]["auto_renew"] is False


def test_premium_grant_refuses_an_expiry_in_the_past(ops: Harness) -> None:
    """An already expired grant is refused by name; nothing is sent."""
    past = _now(ops) - 5
    assert_refused(
        ops,
        f"/roles premium-grant 0xc001 {past} on",
        "expires_at 0 or in the future",
        str(past),
        "after now",
    )


def test_premium_revoke_removes_the_cap(ops: Harness) -> None:
    """premium-revoke removes the seeded premium buyer's access."""
    reply = ops.execute("/roles premium-revoke 0xb0b0")
    assert reply.ok, reply
    assert ops.view("roles::has_premium_cap", PREMIUM_BUYER) == [False]
    assert ops.events("PremiumAccessRevokedEvent")[-1]["holder"] == PREMIUM_BUYER


def test_premium_revoke_refuses_an_unknown_holder(ops: Harness) -> None:
    """A holder without premium access is named by the check; nothing is sent."""
    assert_refused(
        ops,
        "/roles premium-revoke 0xc001",
        "PremiumAccessCap present",
        "none",
        "a cap for this holder",
    )


def test_cleanup_lists_exactly_what_the_contract_removes_and_reports_events(ops: Harness) -> None:
    """The preflight lists the expired and spent caps (not expires_at == now), and the reply
    reports the revocation events the transaction produced."""
    _seed_expired_and_spent(ops)
    reply = ops.execute("/roles cleanup")
    assert reply.ok, reply
    assert reply.data is not None
    assert sorted(reply.data["partners_revoked"]) == sorted([NEW_PARTNER, SPENT_PARTNER])
    assert reply.data["premium_revoked"] == [HOLDER]
    [partners] = ops.view("roles::list_partner_caps")
    assert sorted(p["partner"] for p in partners) == sorted([PARTNER, EDGE_PARTNER])
    [premium] = ops.view("roles::list_premium_caps")
    assert [p["holder"] for p in premium] == [PREMIUM_BUYER]
    assert {e["partner"] for e in ops.events("PartnerPayoutCapRevokedEvent")} == {
        NEW_PARTNER,
        SPENT_PARTNER,
    }


def test_cleanup_preflight_names_the_caps_it_would_remove(ops: Harness) -> None:
    """The plan's check shows which partner and premium caps match the §4.6 rule."""
    _seed_expired_and_spent(ops)
    [check] = _plan(ops, "/roles cleanup").checks
    assert check.ok
    assert f"partner {NEW_PARTNER}" in check.seen
    assert f"partner {SPENT_PARTNER}" in check.seen
    assert f"premium {HOLDER}" in check.seen
    assert EDGE_PARTNER not in check.seen
    assert PARTNER not in check.seen


def test_cleanup_refuses_when_nothing_would_be_removed(ops: Harness) -> None:
    """With only valid caps (the seed) cleanup refuses by name and sends nothing."""
    assert_refused(
        ops, "/roles cleanup", "caps to remove", "none", "at least one expired or spent cap"
    )
