"""``chatops keygen`` and ``chatops multisig`` run as subprocesses against a devnet over HTTP: the package
account converted, people voting with their own keys, the bot executing once, a stale head cleared."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatops.chain.client import ChainClient
from chatops.chain.errors import TransactionRejectedError
from chatops.chain.multisig import MultisigGateway, NotQueueHeadError, ProposalNotFoundError
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.multisig_account import DEFAULT_FEATURES, MULTISIG_ACCOUNTS
from chatops.devnet.server import DevnetServer
from tests.chatops.devnet.multisig_support import (
    CHAIN_ID,
    START,
    A,
    advance,
    fallback_call,
    fund,
)

TIMEOUT_S = 600
ZERO = "0x" + "0" * 64


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
def _devnet(tmp_path: Path, features: frozenset[int] = DEFAULT_FEATURES) -> Iterator[Cli]:
    package = LocalKeySigner(secrets.token_bytes(32), account_address=A)
    package_key = tmp_path / "package.key"
    package.write_key_file(package_key)
    bot = LocalKeySigner.generate()
    with (
        DevnetServer(
            admin_public_key=package.public_key,
            chain_id=CHAIN_ID,
            start_time_s=START,
            features=features,
        ) as server,
        ChainClient(server.url, chain_id=CHAIN_ID) as client,
    ):
        cli = Cli(server, client, tmp_path, package, package_key, bot)
        cli.fund(bot.address)
        yield cli


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with _devnet(tmp_path) as devnet:
        yield devnet


@dataclass
class People:
    alice_key: Path
    bob_key: Path
    carol_key: Path
    addresses: list[str]


def _convert(cli: Cli) -> People:
    alice_key, alice = cli.keygen("alice")
    bob_key, bob = cli.keygen("bob")
    carol_key, carol = cli.keygen("carol")
    owners = [cli.bot.address, alice, bob, carol]
    done = cli.run(
        "multisig",
        "convert",
        "--owners",
        ",".join(owners),
        "--threshold",
        "3",
        "--timeout-s",
        str(TIMEOUT_S),
        "--key-file",
        str(cli.package_key),
        "--bot",
        cli.bot.address,
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    return People(alice_key, bob_key, carol_key, owners)


def test_keygen_writes_a_0600_key_and_prints_only_its_address(cli: Cli) -> None:
    """keygen makes a mode-0600 key file that loads to the printed address; the key is never shown."""
    path, address = cli.keygen("alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalKeySigner.from_key_file(path).address == address
    secret = path.read_text(encoding="ascii").strip().removeprefix("ed25519-priv-0x")
    again = cli.run("keygen", "--out", str(path))
    assert again.returncode == 1
    assert "never overwritten" in again.stderr
    assert path.read_text(encoding="ascii").strip().endswith(secret)
    assert secret not in again.stdout + again.stderr


def test_the_whole_two_person_flow(cli: Cli) -> None:
    """Convert; the old key is dead; the bot proposes; a wrong hash is refused; two people approve
    with their own keys; the bot executes exactly once."""
    people = _convert(cli)
    assert cli.client.account(A).authentication_key == ZERO
    with pytest.raises(TransactionRejectedError) as dead:
        cli.client.submit_entry(
            cli.package,
            f"{A}::price_feed::set_fallback",
            [("u64", 1), ("bool", True), ("u8", 1)],
            simulate_first=False,
            chain_now_s=cli.client.latest_block().timestamp.seconds,
        )
    assert dead.value.status == "INVALID_AUTH_KEY"

    proposed = cli.gateway().propose(fallback_call())
    n = str(proposed.sequence_number)
    shown = cli.run("multisig", "show", n)
    assert shown.returncode == 0, shown.stderr
    assert f"{A}::price_feed::set_fallback(u64 1, bool true, u8 2)" in shown.stdout
    assert proposed.payload_hash_hex in shown.stdout

    wrong = cli.run(
        "multisig",
        "approve",
        n,
        "--key-file",
        str(people.alice_key),
        "--expect-hash",
        "0x" + "ab" * 32,
    )
    assert wrong.returncode == 1
    assert "not the expected" in wrong.stderr
    assert "nothing was signed" in wrong.stderr
    assert cli.gateway().proposal(proposed.sequence_number).approvals == 1

    for key in (people.alice_key, people.bob_key):
        done = cli.run(
            "multisig",
            "approve",
            n,
            "--key-file",
            str(key),
            "--expect-hash",
            proposed.payload_hash_hex,
        )
        assert done.returncode == 0, done.stderr
        assert f"approved proposal {n}" in done.stdout
    assert cli.gateway().proposal(proposed.sequence_number).approvals == 3

    outcome = cli.gateway().execute_head(proposed.sequence_number)
    assert outcome.succeeded
    with pytest.raises(ProposalNotFoundError):
        cli.gateway().execute_head(proposed.sequence_number)
    [feed] = cli.client.view(f"{A}::price_feed::get_price_view", [("u64", 1)])
    assert feed["fallback_active"] is True
    for key in (people.alice_key, people.bob_key, people.carol_key):
        assert key.read_text().strip()[-64:] not in shown.stdout + shown.stderr


def test_an_expired_proposal_blocks_until_cleared_then_the_next_runs(cli: Cli) -> None:
    """A timed-out head refuses to run and blocks the next; clearing it lets the next execute."""
    people = _convert(cli)
    gateway = cli.gateway()
    stale = gateway.propose(fallback_call(asset_id=1)).sequence_number
    cli.advance(TIMEOUT_S + 1)
    fresh = gateway.propose(fallback_call(asset_id=2)).sequence_number
    for key in (people.alice_key, people.bob_key):
        done = cli.run("multisig", "approve", str(fresh), "--key-file", str(key))
        assert done.returncode == 0, done.stderr
    with pytest.raises(NotQueueHeadError):
        gateway.execute_head(fresh)
    queue = cli.run("multisig", "queue")
    assert queue.returncode == 0, queue.stderr
    assert f"Proposal {stale} (expired) blocks the rest" in queue.stdout
    refused = cli.run("multisig", "clear", str(fresh), "--key-file", str(people.carol_key))
    assert refused.returncode == 1
    assert "not at the head" in refused.stderr
    cleared = cli.run("multisig", "clear", str(stale), "--key-file", str(people.carol_key))
    assert cleared.returncode == 0, cleared.stderr
    assert f"Proposal {stale} cleared" in cleared.stdout
    assert gateway.execute_head(fresh).succeeded


def test_a_threshold_that_lets_the_bot_and_one_human_pass_is_refused(cli: Cli) -> None:
    """convert with k = 2 and the bot as owner exits 2 naming the rule; the key still controls A."""
    _, alice = cli.keygen("alice")
    _, bob = cli.keygen("bob")
    key_before = cli.client.account(A).authentication_key
    done = cli.run(
        "multisig",
        "convert",
        "--owners",
        f"{cli.bot.address},{alice},{bob}",
        "--threshold",
        "2",
        "--key-file",
        str(cli.package_key),
        "--bot",
        cli.bot.address,
        "--yes",
    )
    assert done.returncode == 2
    assert "lets the bot and 1 human(s) pass" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert cli.client.account(A).authentication_key == key_before != ZERO


def test_convert_asks_first_and_a_no_sends_nothing(cli: Cli) -> None:
    """Without --yes, convert prints the plan and sends nothing unless the answer is yes."""
    _, alice = cli.keygen("alice")
    _, bob = cli.keygen("bob")
    done = cli.run(
        "multisig",
        "convert",
        "--owners",
        f"{cli.bot.address},{alice},{bob}",
        "--threshold",
        "3",
        "--key-file",
        str(cli.package_key),
        "--bot",
        cli.bot.address,
        stdin="no\n",
    )
    assert done.returncode == 1
    assert "(the bot)" in done.stdout
    assert "key becomes zero" in done.stdout
    assert "one lost key" in done.stdout  # k = 3 with two humans: both must approve
    assert "not confirmed" in done.stderr
    assert cli.client.account(A).authentication_key != ZERO


def test_convert_needs_the_bots_address(cli: Cli) -> None:
    """Without --bot or CHATOPS_SIGNER_KEY_FILE, convert says how to name the bot."""
    done = cli.run(
        "multisig", "convert", "--owners", cli.bot.address, "--threshold", "3",
        "--key-file", str(cli.package_key), "--yes",
    )  # fmt: skip
    assert done.returncode == 2
    assert "--bot" in done.stderr


def test_a_chain_abort_is_printed_by_name_and_meaning(tmp_path: Path) -> None:
    """When the chain refuses the conversion (multisig disabled), the CLI prints the abort's name."""
    with _devnet(tmp_path, DEFAULT_FEATURES - {MULTISIG_ACCOUNTS}) as devnet:
        _, alice = devnet.keygen("alice")
        _, bob = devnet.keygen("bob")
        done = devnet.run(
            "multisig", "convert", "--owners", f"{devnet.bot.address},{alice},{bob}",
            "--threshold", "3", "--key-file", str(devnet.package_key),
            "--bot", devnet.bot.address, "--yes",
        )  # fmt: skip
        assert done.returncode == 1
        assert "EMULTISIG_ACCOUNTS_NOT_ENABLED_YET (0xD000E)" in done.stderr
        assert "feature flag 10" in done.stderr
        assert "Traceback" not in done.stderr


def test_hash_only_proposals_need_an_expected_hash_to_vote(cli: Cli) -> None:
    """A proposal storing only a hash shows no call, and voting on it needs --expect-hash."""
    people = _convert(cli)
    proposed = cli.gateway().propose(fallback_call(), hash_only=True)
    n = str(proposed.sequence_number)
    refused = cli.run("multisig", "approve", n, "--key-file", str(people.alice_key))
    assert refused.returncode == 1
    assert "stores only a hash" in refused.stderr
    done = cli.run(
        "multisig", "approve", n, "--key-file", str(people.alice_key),
        "--expect-hash", proposed.payload_hash_hex,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_reads_and_votes_on_missing_proposals_say_why(cli: Cli) -> None:
    """show on an unknown number and reject of an executed one exit 1 with the reason."""
    people = _convert(cli)
    missing = cli.run("multisig", "show", "9")
    assert missing.returncode == 1
    assert "Proposal 9 does not exist" in missing.stderr
    proposed = cli.gateway().propose(fallback_call())
    for key in (people.alice_key, people.bob_key):
        cli.run("multisig", "approve", str(proposed.sequence_number), "--key-file", str(key))
    cli.gateway().execute_head(proposed.sequence_number)
    late = cli.run(
        "multisig", "reject", str(proposed.sequence_number), "--key-file", str(people.carol_key)
    )
    assert late.returncode == 1
    assert "already resolved" in late.stderr


def test_missing_chain_settings_are_named(cli: Cli, tmp_path: Path) -> None:
    """Without SUPRA_RPC_URL the CLI names the variable and exits 2."""
    done = subprocess.run(
        [sys.executable, "-m", "chatops", "multisig", "show", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "SUPRA_RPC_URL": "", "SUPRA_CHAIN_ID": str(CHAIN_ID)},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SUPRA_RPC_URL is not set" in done.stderr
