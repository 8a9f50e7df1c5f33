"""A devnet whose package account is converted into a multisig account (bot + three people, k = 3),
reached over real HTTP with a ChainClient, plus the raw moves the gateway would refuse to make."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aptos_sdk.transactions import EntryFunction

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.models import TransactionInfo
from chatops.chain.multisig import MultisigGateway, convert_to_multisig
from chatops.chain.multisig_bcs import MultisigPayload
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.multisig_account import DEFAULT_FEATURES
from chatops.devnet.server import DevnetServer

A = PACKAGE_ADDRESS
CHAIN_ID = 255
START = 1_800_000_000
TIMEOUT_S = 3600
MULTISIG = "0x1::multisig_account"


def fallback_call(asset_id: int = 1, active: bool = True, reason: int = 2) -> ChainCall:
    """price_feed::set_fallback: an admin call the seeded devnet accepts for asset 1."""
    return ChainCall(
        function="price_feed::set_fallback",
        args=(
            TypedArg.of("u64", asset_id),
            TypedArg.of("bool", active),
            TypedArg.of("u8", reason),
        ),
    )


def fund(url: str, address: str) -> None:
    """The devnet's testnet faucet: the account exists from now on."""
    httpx.get(f"{url}/rpc/v1/wallet/faucet/{address}", timeout=10).raise_for_status()


def advance(url: str, secs: int) -> None:
    """Move the devnet's clock (a new block carries the time)."""
    httpx.post(f"{url}/devnet/clock", json={"advance_secs": secs}, timeout=10).raise_for_status()


@dataclass
class MultisigDevnet:
    """The converted chain and the people acting on it."""

    server: DevnetServer
    client: ChainClient
    http: httpx.Client
    package: LocalKeySigner
    bot: LocalKeySigner
    alice: LocalKeySigner
    bob: LocalKeySigner
    carol: LocalKeySigner
    gateway: MultisigGateway

    @property
    def owners(self) -> list[str]:
        return [self.bot.address, self.alice.address, self.bob.address, self.carol.address]

    def advance(self, secs: int) -> None:
        advance(self.server.url, secs)

    def fund(self, signer: LocalKeySigner) -> None:
        fund(self.server.url, signer.address)

    def view(self, function: str, *args: Any) -> list[Any]:
        return self.client.view(f"{MULTISIG}::{function}", list(args))

    def send(
        self, signer: LocalKeySigner, function: str, *args: tuple[str, Any]
    ) -> TransactionInfo:
        """A call to 0x1::multisig_account, straight through the client (no gateway checks)."""
        return self.client.submit_entry(
            signer, f"{MULTISIG}::{function}", list(args), chain_now_s=self.now_s()
        )

    def execute(
        self, signer: LocalKeySigner, entry: EntryFunction | None = None
    ) -> TransactionInfo:
        """A Multisig transaction from ``signer`` (stored payload, or ``entry`` inline)."""
        return self.client.submit_payload(
            signer,
            MultisigPayload(A, entry),
            label="multisig execution",
            simulate_first=False,
            chain_now_s=self.now_s(),
        )

    def now_s(self) -> int:
        return self.client.latest_block().timestamp.seconds

    def events(self, info: TransactionInfo) -> list[tuple[str, dict[str, Any]]]:
        """(short type, data) of the transaction's events: ``multisig_account::Vote``."""
        return [("::".join(e.type.split("::")[1:]), dict(e.data or {})) for e in info.events]


@contextmanager
def package_devnet(
    package: LocalKeySigner, features: frozenset[int] = DEFAULT_FEATURES
) -> Iterator[tuple[DevnetServer, ChainClient]]:
    """A seeded devnet, its clock at START, whose admin key (the package account's) is
    ``package``'s, and a ChainClient on it."""
    with (
        DevnetServer(
            admin_public_key=package.public_key,
            chain_id=CHAIN_ID,
            start_time_s=START,
            features=features,
        ) as server,
        ChainClient(server.url, chain_id=CHAIN_ID) as client,
    ):
        yield server, client


@contextmanager
def multisig_devnet(
    *, convert: bool = True, threshold: int = 3, features: frozenset[int] = DEFAULT_FEATURES
) -> Iterator[MultisigDevnet]:
    """A seeded devnet (the package key is the devnet's admin key), every person funded, and the
    package account converted with owners [bot, alice, bob, carol] unless ``convert`` is false."""
    package = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    people = [LocalKeySigner.generate() for _ in range(4)]
    with (
        package_devnet(package, features) as (server, client),
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        bot, alice, bob, carol = people
        world = MultisigDevnet(
            server, client, http, package, bot, alice, bob, carol, MultisigGateway(client, A, bot)
        )
        for person in people:
            world.fund(person)
        if convert:
            convert_to_multisig(
                client,
                package,
                world.owners,
                threshold,
                timeout_s=TIMEOUT_S,
                chain_now_s=world.now_s(),
            )
        yield world
