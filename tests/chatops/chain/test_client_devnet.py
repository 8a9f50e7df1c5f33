"""ChainClient end to end against the real devnet server (chatops.devnet) over HTTP."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from chatops.chain import transactions
from chatops.chain.client import DEFAULT_EXPIRY_S, ChainClient, raise_for_status
from chatops.chain.errors import ChainAbortError, ChainIdMismatchError, ViewNotAllowedError
from chatops.chain.models import TxStatus
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.server import DevnetServer

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
DEVNET_CHAIN_ID = 255


@pytest.fixture
def admin() -> LocalKeySigner:
    """The devnet admin key, signing for the package account (whose key was rotated to it)."""
    return LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE)


@pytest.fixture
def devnet(admin: LocalKeySigner) -> Iterator[DevnetServer]:
    with DevnetServer(admin_public_key=admin.public_key, chain_id=DEVNET_CHAIN_ID) as server:
        yield server


@pytest.fixture
def chain(devnet: DevnetServer) -> Iterator[ChainClient]:
    with ChainClient(devnet.url, chain_id=DEVNET_CHAIN_ID) as client:
        yield client


def test_view_call_on_devnet(chain: ChainClient) -> None:
    """Views on the seeded devnet return chain JSON (u64 as strings), including the one #[view]."""
    (feed,) = chain.view(f"{PACKAGE}::price_feed::get_price_view", [("u64", 1)])
    assert (feed["asset_id"], feed["price"], feed["decimals"]) == ("1", "1250000", 8)
    assert chain.view(f"{PACKAGE}::history::is_legacy_summary", [("u64", 1)]) == [False]


def test_chain_id_and_tip_on_devnet(chain: ChainClient) -> None:
    """The devnet reports its chain id and a block tip."""
    assert chain.chain_id() == DEVNET_CHAIN_ID
    assert chain.latest_block().height >= 0


def test_wrong_configured_chain_id_is_refused_by_devnet(devnet: DevnetServer) -> None:
    """A client configured for mainnet refuses to talk to the devnet."""
    with ChainClient(devnet.url, chain_id=8) as mainnet, pytest.raises(ChainIdMismatchError):
        mainnet.latest_block()


def test_submit_entry_succeeds_with_the_admin_key(
    chain: ChainClient, admin: LocalKeySigner
) -> None:
    """set_fallback signed by the admin key executes, and the change is visible in a view."""
    signer = admin
    before = chain.account(PACKAGE).sequence_number
    info = chain.submit_entry(
        signer, f"{PACKAGE}::price_feed::set_fallback", [("u64", 1), ("bool", True), ("u8", 3)]
    )
    assert info.status is TxStatus.SUCCESS
    assert chain.account(PACKAGE).sequence_number == before + 1
    (feed,) = chain.view(f"{PACKAGE}::price_feed::get_price_view", [("u64", 1)])
    assert (feed["fallback_active"], feed["fallback_reason"]) == (True, 3)


def test_before_send_sees_the_numbers_the_committed_transaction_carries(
    chain: ChainClient, admin: LocalKeySigner, devnet: DevnetServer
) -> None:
    """before_send gets the sequence number and the expiration (chain clock + expiry) that the
    transaction on chain carries, so a caller can record them before anything leaves."""
    seen: list[tuple[int, int]] = []
    chain_now_s = devnet.ledger.now_s
    info = chain.submit_entry(
        admin,
        f"{PACKAGE}::price_feed::set_fallback",
        [("u64", 1), ("bool", True), ("u8", 3)],
        chain_now_s=chain_now_s,
        before_send=lambda seq, expires_s: seen.append((seq, expires_s)),
    )
    assert info.header is not None
    assert info.header.expiration_timestamp is not None
    assert seen == [
        (info.header.sequence_number, info.header.expiration_timestamp.seconds),
    ]
    assert seen[0][1] == chain_now_s + DEFAULT_EXPIRY_S


def test_a_before_send_that_raises_keeps_the_transaction_unsent(
    chain: ChainClient, admin: LocalKeySigner, devnet: DevnetServer
) -> None:
    """If before_send raises (the caller could not record it), nothing reaches the node."""
    before = (chain.account(PACKAGE).sequence_number, len(devnet.ledger.transactions))

    def refuse(_seq: int, _expires_s: int) -> None:
        raise RuntimeError("could not record")

    with pytest.raises(RuntimeError, match="could not record"):
        chain.submit_entry(
            admin,
            f"{PACKAGE}::price_feed::set_fallback",
            [("u64", 1), ("bool", True), ("u8", 3)],
            before_send=refuse,
        )
    assert (chain.account(PACKAGE).sequence_number, len(devnet.ledger.transactions)) == before


def test_abort_is_rendered_by_name(chain: ChainClient, admin: LocalKeySigner) -> None:
    """An entry call on an unknown asset aborts in simulation with E_PRICE_FEED_NOT_FOUND, nothing submitted."""
    signer = admin
    before = chain.account(PACKAGE).sequence_number
    with pytest.raises(ChainAbortError) as caught:
        chain.submit_entry(
            signer,
            f"{PACKAGE}::price_feed::set_fallback",
            [("u64", 999), ("bool", True), ("u8", 3)],
        )
    assert caught.value.name == "E_PRICE_FEED_NOT_FOUND"
    assert str(caught.value).startswith("E_PRICE_FEED_NOT_FOUND (0x1902): ")
    assert chain.account(PACKAGE).sequence_number == before


def test_abort_after_submit_is_rendered_by_name(chain: ChainClient, admin: LocalKeySigner) -> None:
    """Without simulation, the executed Fail is decoded from vm_status the same way."""
    signer = admin
    with pytest.raises(ChainAbortError, match="E_PRICE_FEED_NOT_FOUND"):
        chain.submit_entry(
            signer,
            f"{PACKAGE}::price_feed::set_fallback",
            [("u64", 999), ("bool", True), ("u8", 3)],
            simulate_first=False,
        )


def test_non_admin_signer_gets_the_package_account_hint(chain: ChainClient) -> None:
    """A stranger's simulated admin call aborts 0x1202, rendered as 'signer is not the package account'."""
    stranger = LocalKeySigner.generate()
    function_id = f"{PACKAGE}::price_feed::set_fallback"
    call = transactions.build_entry_function(function_id, [("u64", 1), ("bool", True), ("u8", 3)])
    raw = transactions.build_raw_transaction(
        stranger.address,
        0,
        call,
        max_gas_amount=500_000,
        gas_unit_price=100,
        expiration_timestamp_s=int(time.time()) + 300,
        chain_id=DEVNET_CHAIN_ID,
    )
    info = chain.simulate(transactions.simulation_body(raw, stranger.public_key))
    with pytest.raises(ChainAbortError) as caught:
        raise_for_status(info, function_id)
    assert caught.value.code == 0x1202
    assert "signer is not the package account" in str(caught.value)


def test_strict_devnet_refuses_non_view_functions(admin: LocalKeySigner) -> None:
    """With strict views, a plain public fun is refused as ViewNotAllowedError; #[view] still works."""
    with (
        DevnetServer(
            admin_public_key=admin.public_key, chain_id=DEVNET_CHAIN_ID, strict_views=True
        ) as server,
        ChainClient(server.url, chain_id=DEVNET_CHAIN_ID) as strict,
    ):
        with pytest.raises(ViewNotAllowedError):
            strict.view(f"{PACKAGE}::price_feed::latest_price", [("u64", 1), ("u64", 0)])
        assert strict.view(f"{PACKAGE}::history::is_legacy_summary", [("u64", 1)]) == [False]
