"""``chatops keygen`` and ``chatops multisig`` run as subprocesses against a devnet over HTTP: the package
account converted, people voting with their own keys, the bot executing once, a stale head cleared."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.chain.errors import TransactionRejectedError
from chatops.chain.multisig import NotQueueHeadError, ProposalNotFoundError
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.multisig_account import DEFAULT_FEATURES, MULTISIG_ACCOUNTS
from tests.chatops.devnet.multisig_support import CHAIN_ID, A, fallback_call
from tests.chatops.multisig_cli_support import TIMEOUT_S, Cli, cli_devnet, keygen_and_convert

ZERO = "0x" + "0" * 64


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with cli_devnet(tmp_path) as devnet:
        yield devnet


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
    people = keygen_and_convert(cli)
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
    people = keygen_and_convert(cli)
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
    done = cli.convert([cli.bot.address, alice, bob], 2, "--yes")
    assert done.returncode == 2
    assert "lets the bot and 1 human(s) pass" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert cli.client.account(A).authentication_key == key_before != ZERO


def test_convert_asks_first_and_a_no_sends_nothing(cli: Cli) -> None:
    """Without --yes, convert prints the plan and sends nothing unless the answer is yes."""
    _, alice = cli.keygen("alice")
    _, bob = cli.keygen("bob")
    done = cli.convert([cli.bot.address, alice, bob], 3, stdin="no\n")
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
    with cli_devnet(tmp_path, DEFAULT_FEATURES - {MULTISIG_ACCOUNTS}) as devnet:
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
    people = keygen_and_convert(cli)
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
    people = keygen_and_convert(cli)
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
