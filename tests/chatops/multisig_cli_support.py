"""``chatops keygen`` and ``chatops multisig`` run as subprocesses, as people run them on their own
machines, against a devnet over HTTP; and the package account converted with them."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatops.chain.client import ChainClient
from chatops.chain.multisig import MultisigGateway
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.multisig_account import DEFAULT_FEATURES
from chatops.devnet.server import DevnetServer
from tests.chatops.devnet.multisig_support import CHAIN_ID, A, advance, fund, package_devnet

__all__ = ["TIMEOUT_S", "Cli", "People", "cli_devnet", "keygen_and_convert"]

TIMEOUT_S = 600


@dataclass
class Cli:
    """A devnet, the environment the CLI reads it from, and the package and bot keys."""

    server: DevnetServer
    client: ChainClient
    home: Path
    package: LocalKeySigner
    package_key: Path
    bot: LocalKeySigner

    def run(self, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """One ``python -m chatops`` process reading the chain from SUPRA_RPC_URL."""
        env = {
            **os.environ,
            "SUPRA_RPC_URL": self.server.url,
            "SUPRA_CHAIN_ID": str(CHAIN_ID),
            "LOTTERY_ADDRESS": A,
            "CHATOPS_SIGNER_KEY_FILE": "",  # blank counts as unset
        }
        return subprocess.run(
            [sys.executable, "-m", "chatops", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.home,
            timeout=60,
            check=False,
        )

    def convert(
        self, owners: Sequence[str], threshold: int, *more: str, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """``chatops multisig convert`` of the package account (signed with its key file) to
        ``owners`` and ``threshold``, naming the bot with --bot; ``more`` are further flags."""
        return self.run(
            "multisig",
            "convert",
            "--owners",
            ",".join(owners),
            "--threshold",
            str(threshold),
            "--key-file",
            str(self.package_key),
            "--bot",
            self.bot.address,
            *more,
            stdin=stdin,
        )

    def keygen(self, name: str) -> tuple[Path, str]:
        """A person's key made with ``chatops keygen``, their account funded by the faucet."""
        path = self.home / f"{name}.key"
        done = self.run("keygen", "--out", str(path))
        assert done.returncode == 0, done.stderr
        address = next(
            line.split()[-1] for line in done.stdout.splitlines() if line.startswith("address:")
        )
        self.fund(address)
        return path, address

    def fund(self, address: str) -> None:
        fund(self.server.url, address)

    def advance(self, secs: int) -> None:
        advance(self.server.url, secs)

    def gateway(self) -> MultisigGateway:
        """The bot's side: proposing and executing through the gateway."""
        return MultisigGateway(self.client, A, self.bot)


@contextmanager
def cli_devnet(tmp_path: Path, features: frozenset[int] = DEFAULT_FEATURES) -> Iterator[Cli]:
    """A seeded devnet, the package key in a key file under ``tmp_path`` (the CLI's home), and a
    funded bot."""
    package = LocalKeySigner(secrets.token_bytes(32), account_address=A)
    package_key = tmp_path / "package.key"
    package.write_key_file(package_key)
    bot = LocalKeySigner.generate()
    with package_devnet(package, features) as (server, client):
        cli = Cli(server, client, tmp_path, package, package_key, bot)
        cli.fund(bot.address)
        yield cli


@dataclass
class People:
    alice_key: Path
    bob_key: Path
    carol_key: Path
    addresses: list[str]


def keygen_and_convert(cli: Cli) -> People:
    """alice, bob and carol make their keys with ``chatops keygen``; ``chatops multisig convert``
    then makes the package account a multisig account of the bot and them (threshold 3)."""
    alice_key, alice = cli.keygen("alice")
    bob_key, bob = cli.keygen("bob")
    carol_key, carol = cli.keygen("carol")
    owners = [cli.bot.address, alice, bob, carol]
    done = cli.convert(owners, 3, "--timeout-s", str(TIMEOUT_S), "--yes")
    assert done.returncode == 0, done.stderr
    return People(alice_key, bob_key, carol_key, owners)
