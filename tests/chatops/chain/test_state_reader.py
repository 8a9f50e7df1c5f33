"""ResourceStateReader against the devnet: every read equals the view on the same state, aborts included."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatops.chain.calls import TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.errors import (
    ChainAbortError,
    ChainError,
    ChainResponseError,
    ViewNotAllowedError,
)
from chatops.chain.gateway import Gateway
from chatops.chain.signer import LocalKeySigner
from chatops.chain.state_reader import READS, ResourceStateReader
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BOT_OPERATOR, BUYERS, PARTNER, PREMIUM_BUYER
from chatops.devnet.server import DevnetServer

CHAIN_ID = 255
LOTTERY_IDS = (1, 2, 3, 4, 5, 6, 99)
ASSETS = (1, 2, 99)
ADDRESSES = (PARTNER, PREMIUM_BUYER, BOT_OPERATOR, PACKAGE_ADDRESS, BUYERS[0])
PAGES = ((0, 10), (1, 1), (0, 0), (2, 2), (9, 5), (0, 1000), (0, 1001))

# Per function: the argument types, and the argument values to try.
_ID_READS = (
    "views::validate_config",
    "views::get_lottery",
    "views::get_lottery_status",
    "views::get_lottery_badges",
    "views::accounting_snapshot",
    "views::get_lottery_summary",
    "views::get_cancellation",
    "views::get_refund_progress",
    "draw::vrf_state_view",
    "sales::sales_totals",
    "sales::accounting_snapshot",
    "sales::refund_progress",
    "payouts::winner_progress",
    "legacy_bridge::dual_write_status",
    "legacy_bridge::has_expected_hash",
    "history::get_summary",
    "history_bridge::get_summary",
)
_ADDRESS_READS = (
    "views::get_automation_bot",
    "roles::partner_payout_cap_view",
    "roles::has_partner_payout_cap",
    "roles::premium_cap_view",
    "roles::has_premium_cap",
)
_PAGE_READS = ("views::list_active", "views::list_finalized_ids", "history::list_finalized")
_NO_ARG_READS = (
    "lottery_registry::ordered_ids_snapshot",
    "views::get_vrf_deposit_status",
    "views::list_automation_bots",
    "vrf_deposit::get_status",
    "roles::has_payout_batch_cap",
    "roles::payout_batch_cap_view",
    "roles::list_partner_caps",
    "roles::list_premium_caps",
    "price_feed::is_initialized",
    "legacy_bridge::dual_write_flags",
    "legacy_bridge::pending_expected_hashes",
    "legacy_bridge::is_enabled",
    "legacy_bridge::is_mirror_enabled",
    "history_bridge::is_initialized",
    "feature_switch::is_initialized",
)


def _u64(value: int) -> TypedArg:
    return TypedArg.of("u64", value)


def cases(now_s: int) -> list[tuple[str, tuple[TypedArg, ...]]]:
    """Every supported read with every interesting argument (seeded ids, assets, holders, pages)."""
    out: list[tuple[str, tuple[TypedArg, ...]]] = []
    out += [(f, (_u64(i),)) for f in _ID_READS for i in LOTTERY_IDS]
    out += [(f, (TypedArg.of("address", a),)) for f in _ADDRESS_READS for a in ADDRESSES]
    out += [(f, (_u64(s), _u64(n))) for f in _PAGE_READS for s, n in PAGES]
    out += [(f, ()) for f in _NO_ARG_READS]
    out += [("price_feed::get_price_view", (_u64(a),)) for a in ASSETS]
    out += [
        ("feature_switch::is_enabled", (_u64(f), TypedArg.of("bool", p)))
        for f in (1, 2, 3, 4, 5)
        for p in (False, True)
    ]
    out += [
        ("views::status_overview", (_u64(t),))
        for t in (0, now_s, now_s + 43_000, now_s + 2 * 86_400, now_s + 30 * 86_400)
    ]
    return out


def outcome(read: Callable[..., list[Any]], *args: Any) -> tuple[Any, ...]:
    """What a read did, comparable across paths: its result, or the abort's module/code/name/meaning."""
    try:
        return ("ok", read(*args))
    except ChainAbortError as exc:
        return ("abort", exc.module, exc.code, exc.name, exc.meaning, exc.function)
    except ChainError as exc:
        return ("error", type(exc).__name__, "MISSING_DATA" in str(exc))


def _devnet(*, seed: bool = True, vrf_delay_s: int = 0) -> DevnetServer:
    admin = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    return DevnetServer(
        admin_public_key=admin.public_key, chain_id=CHAIN_ID, seed=seed, vrf_delay_s=vrf_delay_s
    )


@pytest.fixture(scope="module")
def seeded() -> Iterator[DevnetServer]:
    with _devnet() as server:
        yield server


@pytest.fixture(scope="module")
def client(seeded: DevnetServer) -> Iterator[ChainClient]:
    with ChainClient(seeded.url, chain_id=CHAIN_ID, max_attempts=1) as chain:
        yield chain


def _evolve(server: DevnetServer) -> None:
    """Move the seeded state into the corners the seed leaves empty (mirror, refunds, flags, ...)."""
    ledger, now = server.ledger, server.ledger.now_s
    apply = ledger.apply
    apply("draw::request_draw_admin", [3, now, 7_000, 6, 1])
    apply("legacy_bridge::enable_legacy_mirror", [])
    apply("legacy_bridge::set_expected_hash", [4, b"\x01" * 32])
    apply("legacy_bridge::set_expected_hash", [6, b"\x02" * 32])
    apply("legacy_bridge::update_flags", [True, False, False])
    apply("payouts::finalize_lottery_admin", [4, now])
    apply("payouts::force_refund_batch_admin", [6, 1, 3, 100_000_000, 0, now])
    apply("price_feed::set_fallback", [2, True, 3])
    apply("feature_switch::set_mode", [2, 2])
    apply("feature_switch::set_mode", [3, 0])
    apply("roles::grant_premium_access_admin", [BUYERS[1], now + 600, True, PARTNER])
    apply("roles::revoke_premium_access_admin", [PREMIUM_BUYER])
    apply("roles::revoke_payout_batch_cap_admin", [])
    apply("automation::announce_dry_run", [2, b"\xaa" * 32, now, now + 900], [BOT_OPERATOR])
    apply("lottery_registry::advance_status", [2, 1])


def _compare(server: DevnetServer, chain: ChainClient) -> list[str]:
    reader = ResourceStateReader(chain, PACKAGE_ADDRESS)
    mismatches = []
    for function, args in cases(server.ledger.now_s):
        fid = f"{PACKAGE_ADDRESS}::{function}"
        by_view = outcome(chain.view, fid, [a.value for a in args])
        by_resources = outcome(reader.read, function, args)
        if by_view != by_resources:
            shown = [a.value for a in args]
            mismatches.append(f"{function}{shown}: view {by_view} != resources {by_resources}")
    return mismatches


def test_every_reader_has_parity_cases() -> None:
    """Each function the reader supports is exercised by the parity cases below."""
    covered = {function for function, _ in cases(0)}
    assert set(READS) == covered


def test_seeded_state_reads_equal_views(seeded: DevnetServer, client: ChainClient) -> None:
    """On the seeded devnet every read equals its view, results and abort codes alike."""
    assert _compare(seeded, client) == []


def test_evolved_state_reads_equal_views() -> None:
    """After mirror, refunds, fallback, flag and role changes every read still equals its view."""
    with (
        _devnet(vrf_delay_s=86_400) as server,
        ChainClient(server.url, chain_id=CHAIN_ID, max_attempts=1) as chain,
    ):
        _evolve(server)
        assert _compare(server, chain) == []


def test_uninitialised_package_reads_equal_views() -> None:
    """With no module initialised the reads give the views' defaults, aborts and MISSING_DATA."""
    with (
        _devnet(seed=False) as server,
        ChainClient(server.url, chain_id=CHAIN_ID, max_attempts=1) as chain,
    ):
        assert _compare(server, chain) == []
        reader = ResourceStateReader(chain, PACKAGE_ADDRESS)
        with pytest.raises(ChainResponseError, match="MISSING_DATA"):
            reader.read("price_feed::get_price_view", [_u64(1)])


def test_parity_cases_hit_aborts_and_results(seeded: DevnetServer, client: ChainClient) -> None:
    """The seeded cases include both answers and aborts, so the parity check is not vacuous."""
    reader = ResourceStateReader(client, PACKAGE_ADDRESS)
    kinds = {outcome(reader.read, f, a)[0] for f, a in cases(seeded.ledger.now_s)}
    assert kinds == {"ok", "abort"}


def test_unknown_id_aborts_in_the_table_module(client: ChainClient) -> None:
    """An unknown lottery id is the framework's 0x6507 from 0x1::table, decoded by name."""
    reader = ResourceStateReader(client, PACKAGE_ADDRESS)
    with pytest.raises(ChainAbortError) as caught:
        reader.read("views::get_lottery_status", [_u64(99)])
    assert (caught.value.module, caught.value.code) == ("0x1::table", 0x6507)


def test_validate_config_raises_the_rule_module_and_code() -> None:
    """A stored config that breaks a §4.1 rule aborts with that rule's module and code."""
    with _devnet() as server, ChainClient(server.url, chain_id=CHAIN_ID, max_attempts=1) as chain:
        lottery = server.ledger.world.modules["lottery_registry"].lotteries[2]
        lottery.config.ticket_limits.max_tickets_per_address = 10**9  # above the total: 0x120A
        reader = ResourceStateReader(chain, PACKAGE_ADDRESS)
        with pytest.raises(ChainAbortError) as caught:
            reader.read("views::validate_config", [_u64(2)])
        assert (caught.value.module, caught.value.code) == ("types", 0x120A)
        assert _compare(server, chain) == []


def test_supports_only_this_package_and_known_reads(client: ChainClient) -> None:
    """Fully-qualified ids of the package are accepted; other addresses and unknown names are not."""
    reader = ResourceStateReader(client, PACKAGE_ADDRESS)
    assert reader.supports("views::status_overview")
    assert reader.supports(f"{PACKAGE_ADDRESS}::views::status_overview")
    assert not reader.supports("0x1::views::status_overview")
    assert not reader.supports("history::is_legacy_summary")
    with pytest.raises(ValueError, match="no resource-based reader"):
        reader.read("views::get_badge_metadata", [TypedArg.of("u8", 1), _u64(2)])


@pytest.fixture
def strict_gateway() -> Iterator[tuple[Gateway, DevnetServer]]:
    admin = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    with (
        DevnetServer(
            admin_public_key=admin.public_key, chain_id=CHAIN_ID, strict_views=True
        ) as server,
        ChainClient(server.url, chain_id=CHAIN_ID, max_attempts=1) as chain,
    ):
        reader = ResourceStateReader(chain, PACKAGE_ADDRESS)
        yield Gateway(chain, admin, PACKAGE_ADDRESS, state_reader=reader), server


def test_gateway_on_strict_node_reads_through_resources(
    strict_gateway: tuple[Gateway, DevnetServer],
) -> None:
    """A strict node refuses views::get_lottery_status, and the gateway answers it from resources."""
    gateway, _server = strict_gateway
    fid = f"{PACKAGE_ADDRESS}::views::get_lottery_status"
    with pytest.raises(ViewNotAllowedError):
        gateway.client.view(fid, ["1"])
    [view] = gateway.read("views::get_lottery_status", [_u64(1)])
    assert view == {"status": 1, "snapshot_frozen": False, "primary_type": 0, "tags_mask": "2"}
    with pytest.raises(ChainAbortError) as caught:
        gateway.read("views::get_lottery_status", [_u64(99)])
    assert caught.value.code == 0x6507


def test_gateway_keeps_the_real_view_on_the_view_path(
    strict_gateway: tuple[Gateway, DevnetServer],
) -> None:
    """history::is_legacy_summary (the one #[view]) still goes through /view on a strict node."""
    gateway, _server = strict_gateway
    assert gateway.state_reader is not None
    assert not gateway.state_reader.supports("history::is_legacy_summary")
    # The reader cannot answer it, so an answer on a strict node can only have come from /view.
    assert gateway.read("history::is_legacy_summary", [_u64(5)]) == [False]
