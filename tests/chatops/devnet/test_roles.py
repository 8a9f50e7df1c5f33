"""In-process tests of the emulated ``roles`` module (spec §4.6, §6.2, §7.5)."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import roles
from chatops.devnet.framework import World, addr
from tests.chatops.devnet.ops_support import aborts, admin, names, published, stranger

P1, P2, P3 = addr("0x1001"), addr("0x1002"), addr("0x1003")


@pytest.fixture
def world() -> World:
    return published(roles.init_roles)


def test_init_roles_publishes_the_store() -> None:
    """init_roles publishes an empty RoleStore readable by has_payout_batch_cap."""
    w = published(roles.init_roles)
    assert roles.has_payout_batch_cap(w) == [False]


def test_init_roles_twice_aborts_already_initialized(world: World) -> None:
    """A second init_roles aborts 0x1201."""
    with aborts("roles", 0x1201):
        roles.init_roles(world, admin())


def test_init_roles_by_stranger_aborts_registry_missing() -> None:
    """A non-package signer gets the misleading 0x1202."""
    with aborts("roles", 0x1202):
        roles.init_roles(World(), stranger())


def test_reads_without_store_abort_roles_not_initialized() -> None:
    """Every roles read aborts 0x1103 before init_roles."""
    with aborts("roles", 0x1103):
        roles.list_partner_caps(World())


def test_set_payout_batch_cap_replaces_and_resets(world: World) -> None:
    """Re-issuing the cap revokes the old holder and resets last_nonce/budget."""
    roles.set_payout_batch_cap_admin(world, admin(), P1, 10, 500, 0, 1)
    roles.consume_payout_batch(world, 5, 100, 1, 1000)
    call = admin()
    roles.set_payout_batch_cap_admin(world, call, P2, 20, 900, 60, 2)
    assert call.events == [
        ("roles::PayoutBatchCapRevokedEvent", {"holder": P1}),
        (
            "roles::PayoutBatchCapGrantedEvent",
            {
                "holder": P2,
                "max_batch_size": "20",
                "operations_budget_total": "900",
                "cooldown_secs": "60",
                "nonce_stride": "2",
            },
        ),
    ]
    [view] = roles.payout_batch_cap_view(world)
    assert view["vec"][0]["last_nonce"] == "0"
    assert view["vec"][0]["operations_budget_used"] == "0"


def test_set_payout_batch_cap_by_stranger_aborts(world: World) -> None:
    """set_payout_batch_cap_admin by a stranger aborts 0x1202."""
    with aborts("roles", 0x1202):
        roles.set_payout_batch_cap_admin(world, stranger(), P1, 1, 1, 1, 1)


def test_set_payout_batch_cap_without_store_aborts() -> None:
    """set_payout_batch_cap_admin before init aborts 0x1103."""
    with aborts("roles", 0x1103):
        roles.set_payout_batch_cap_admin(World(), admin(), P1, 1, 1, 1, 1)


def test_revoke_payout_batch_cap(world: World) -> None:
    """Revoking removes the cap and emits PayoutBatchCapRevokedEvent."""
    roles.set_payout_batch_cap_admin(world, admin(), P1, 1, 1, 1, 1)
    call = admin()
    roles.revoke_payout_batch_cap_admin(world, call)
    assert call.events == [("roles::PayoutBatchCapRevokedEvent", {"holder": P1})]
    assert roles.payout_batch_cap_view(world) == [{"vec": []}]


def test_revoke_missing_payout_batch_cap_aborts(world: World) -> None:
    """Revoking when no cap exists aborts 0x1104."""
    with aborts("roles", 0x1104):
        roles.revoke_payout_batch_cap_admin(world, admin())


def test_upsert_partner_cap_new_and_replace(world: World) -> None:
    """A new partner is appended; a replacement emits Revoked then Granted and keeps the index."""
    roles.upsert_partner_payout_cap_admin(world, admin(), P1, 1000, 10, 3, 0)
    call = admin()
    roles.upsert_partner_payout_cap_admin(world, call, P1, 2000, 0, 1, 99)
    assert names(call) == [
        "roles::PartnerPayoutCapRevokedEvent",
        "roles::PartnerPayoutCapGrantedEvent",
    ]
    assert call.events[1][1] == {
        "partner": P1,
        "max_total_payout": "2000",
        "payout_cooldown_secs": "0",
        "nonce_stride": "1",
        "expires_at": "99",
    }
    [caps] = roles.list_partner_caps(world)
    assert caps == [
        {
            "partner": P1,
            "max_total_payout": "2000",
            "remaining_payout": "2000",
            "payout_cooldown_secs": "0",
            "last_payout_at": "0",
            "next_nonce": "1",
            "nonce_stride": "1",
            "expires_at": "99",
        }
    ]
    assert roles.has_partner_payout_cap(world, P1) == [True]
    assert roles.partner_payout_cap_view(world, P1) == [{"vec": caps}]


def test_upsert_partner_cap_by_stranger_aborts(world: World) -> None:
    """upsert_partner_payout_cap_admin by a stranger aborts 0x1202."""
    with aborts("roles", 0x1202):
        roles.upsert_partner_payout_cap_admin(world, stranger(), P1, 1, 0, 1, 0)


def test_revoke_partner_cap_swap_removes_index(world: World) -> None:
    """Revoking the first partner moves the last one into its index slot."""
    for partner in (P1, P2, P3):
        roles.upsert_partner_payout_cap_admin(world, admin(), partner, 10, 0, 1, 0)
    call = admin()
    roles.revoke_partner_payout_cap_admin(world, call, P1)
    assert call.events == [("roles::PartnerPayoutCapRevokedEvent", {"partner": P1})]
    assert [c["partner"] for c in roles.list_partner_caps(world)[0]] == [P3, P2]


def test_revoke_missing_partner_cap_aborts(world: World) -> None:
    """Revoking an unknown partner aborts 0x1105."""
    with aborts("roles", 0x1105):
        roles.revoke_partner_payout_cap_admin(world, admin(), P1)


def test_grant_premium_with_referrer_and_replace(world: World) -> None:
    """Granting stores the Option referrer; re-granting emits Revoked then Granted."""
    roles.grant_premium_access_admin(world, admin(), P1, 500, True, P2)
    assert roles.premium_cap_view(world, P1) == [
        {
            "vec": [
                {"holder": P1, "expires_at": "500", "auto_renew": True, "referrer": {"vec": [P2]}}
            ]
        }
    ]
    call = admin()
    roles.grant_premium_access_admin(world, call, P1, 0, False, None)
    assert call.events == [
        ("roles::PremiumAccessRevokedEvent", {"holder": P1}),
        (
            "roles::PremiumAccessGrantedEvent",
            {"holder": P1, "expires_at": "0", "auto_renew": False},
        ),
    ]
    assert roles.list_premium_caps(world) == [
        [{"holder": P1, "expires_at": "0", "auto_renew": False, "referrer": {"vec": []}}]
    ]
    assert roles.premium_status(world, P1) == (True, 0)
    assert roles.premium_status(world, P2) == (False, 0)
    assert roles.premium_status(World(), P1) is None


def test_grant_premium_by_stranger_aborts(world: World) -> None:
    """grant_premium_access_admin by a stranger aborts 0x1202."""
    with aborts("roles", 0x1202):
        roles.grant_premium_access_admin(world, stranger(), P1, 0, False, None)


def test_revoke_premium(world: World) -> None:
    """Revoking premium removes it and emits PremiumAccessRevokedEvent."""
    roles.grant_premium_access_admin(world, admin(), P1, 0, False, None)
    call = admin()
    roles.revoke_premium_access_admin(world, call, P1)
    assert call.events == [("roles::PremiumAccessRevokedEvent", {"holder": P1})]
    assert roles.has_premium_cap(world, P1) == [False]


def test_revoke_missing_premium_aborts(world: World) -> None:
    """Revoking premium that does not exist aborts 0x1106."""
    with aborts("roles", 0x1106):
        roles.revoke_premium_access_admin(world, admin(), P1)


def test_cleanup_expired_removes_with_swap_remove_order(world: World) -> None:
    """cleanup drops expired or spent partner caps and expired premium, reshuffling the index."""
    roles.upsert_partner_payout_cap_admin(world, admin(), P1, 10, 0, 1, 50)  # expired at 100
    roles.upsert_partner_payout_cap_admin(world, admin(), P2, 10, 0, 1, 0)  # never expires
    roles.upsert_partner_payout_cap_admin(world, admin(), P3, 0, 0, 1, 0)  # spent budget
    roles.grant_premium_access_admin(world, admin(), P1, 100, False, None)  # not yet expired
    roles.grant_premium_access_admin(world, admin(), P2, 99, False, None)  # expired
    call = admin()
    roles.cleanup_expired_admin(world, call, 100)
    assert call.events == [
        ("roles::PartnerPayoutCapRevokedEvent", {"partner": P1}),
        ("roles::PartnerPayoutCapRevokedEvent", {"partner": P3}),
        ("roles::PremiumAccessRevokedEvent", {"holder": P2}),
    ]
    assert [c["partner"] for c in roles.list_partner_caps(world)[0]] == [P2]
    assert [c["holder"] for c in roles.list_premium_caps(world)[0]] == [P1]


def test_cleanup_expired_by_stranger_aborts(world: World) -> None:
    """cleanup_expired_admin by a stranger aborts 0x1202."""
    with aborts("roles", 0x1202):
        roles.cleanup_expired_admin(world, stranger(), 1)


def test_consume_payout_batch_checks_in_order(world: World) -> None:
    """The global cap enforces size, cooldown, nonce and budget with roles' codes."""
    with aborts("roles", 0x1104):
        roles.consume_payout_batch(world, 1, 0, 1, 10)
    roles.set_payout_batch_cap_admin(world, admin(), P1, 5, 100, 60, 1)
    with aborts("roles", 0x1808):
        roles.consume_payout_batch(world, 6, 0, 1, 10)
    with aborts("roles", 0x180A):
        roles.consume_payout_batch(world, 5, 0, 2, 10)
    roles.consume_payout_batch(world, 5, 40, 1, 10)
    with aborts("roles", 0x1809):
        roles.consume_payout_batch(world, 1, 0, 2, 69)
    with aborts("roles", 0x180B):
        # The executor rolls the world back on abort; a snapshot stands in for it here.
        roles.consume_payout_batch(world.snapshot(), 1, 61, 2, 70)
    roles.consume_payout_batch(world, 1, 60, 2, 70)
    cap = roles.payout_batch_cap_view(world)[0]["vec"][0]
    assert (cap["last_nonce"], cap["last_batch_at"], cap["operations_budget_used"]) == (
        "2",
        "70",
        "100",
    )
    with aborts("roles", 0x1103):
        roles.consume_payout_batch(World(), 1, 0, 1, 10)


def test_consume_partner_payout_checks_in_order(world: World) -> None:
    """Partner payouts check budget, expiry, cooldown and the next_nonce."""
    with aborts("roles", 0x1105):
        roles.consume_partner_payout(world, P1, 1, 1, 1)
    roles.upsert_partner_payout_cap_admin(world, admin(), P1, 100, 30, 2, 1000)
    with aborts("roles", 0x180C):
        roles.consume_partner_payout(world, P1, 101, 2, 10)
    with aborts("roles", 0x1810):
        roles.consume_partner_payout(world, P1, 1, 2, 1001)
    with aborts("roles", 0x180E):
        roles.consume_partner_payout(world, P1, 1, 1, 10)
    roles.consume_partner_payout(world, P1, 40, 2, 10)
    with aborts("roles", 0x180D):
        roles.consume_partner_payout(world, P1, 1, 4, 39)
    roles.consume_partner_payout(world, P1, 60, 4, 40)
    cap = roles.partner_payout_cap_view(world, P1)[0]["vec"][0]
    assert (cap["remaining_payout"], cap["next_nonce"], cap["last_payout_at"]) == ("0", "6", "40")
