"""Multisig mode end to end through the console's path (the runner ``chatops console`` drives) on a
devnet over HTTP: the package account converted, every call a proposal, people approving with their
own keys through ``chatops multisig approve``, the bot executing exactly once on the chain's word,
a stale head cleared so the next one runs, and Redis approvals executing nothing."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from approvals import keys
from approvals.models import Status
from chatops.chain.errors import TransactionRejectedError
from chatops.chain.multisig import ProposalState
from chatops.chain.multisig_bcs import MultisigPayload
from chatops.chain.signer import LocalKeySigner
from chatops.config import ConfigError, load_settings
from chatops.devnet.server import DevnetServer
from chatops.notify.journal import Journal
from chatops.policy_file import PolicyFileError
from chatops.wiring import build_app
from commands.reply import Reply
from tests.chatops.devnet.multisig_support import CHAIN_ID, A
from tests.chatops.flow.multisig_bot import (
    TIMEOUT_S,
    MultisigBot,
    converted_devnet,
    multisig_bot,
    policy_text,
)

FALLBACK = "/feed fallback 1 on 3 spike"
ACTIVATE = "/lottery activate 2 reason=ready"
STOP = "/refund stop mass DoS on sales"
DRAFT, ACTIVE = 0, 1


@pytest.fixture
def bot(tmp_path: Path, redis_server: str, redis: redis_lib.Redis) -> Iterator[MultisigBot]:
    with multisig_bot(tmp_path, redis_server) as world:
        yield world


def _requested(bot: MultisigBot, line: str = FALLBACK, user: str = "alice") -> str:
    reply = bot.run(line, user)
    assert reply.ok, reply
    assert reply.state == Status.PENDING
    assert reply.request_id is not None
    return reply.request_id


def _status(bot: MultisigBot, lottery_id: int) -> int:
    return int(bot.view("views::get_lottery_status", ("u64", lottery_id))[0]["status"])


def _field(reply: Reply, label: str) -> str:
    return next(f.value for f in reply.fields if f.label == label)


def test_the_old_package_key_can_no_longer_sign(bot: MultisigBot) -> None:
    """After conversion the package account's authentication key is zero: a transaction signed with
    its old key is refused by the node, and nothing changes on chain."""
    assert bot.cli.client.account(A).authentication_key == "0x" + "0" * 64
    before = len(bot.cli.server.ledger.transactions)
    with pytest.raises(TransactionRejectedError) as refused:
        bot.cli.client.submit_entry(
            bot.cli.package,
            f"{A}::price_feed::set_fallback",
            [("u64", 1), ("bool", True), ("u8", 3)],
            simulate_first=False,
            chain_now_s=bot.chain.now_s(),
        )
    assert refused.value.status == "INVALID_AUTH_KEY"
    assert len(bot.cli.server.ledger.transactions) == before
    assert not bot.fallback_active()


def test_a_request_becomes_a_proposal_with_its_number_hash_expiry_and_votes(
    bot: MultisigBot,
) -> None:
    """A privileged step is simulated as the account, stored, and proposed on chain: the card gives
    the proposal's number, the payload hash the chain holds, its timeout (creation + the account's
    timeout) and the bot's yes; nothing runs."""
    reply = bot.run(FALLBACK, "alice")
    assert reply.ok, reply
    assert reply.request_id is not None
    [ref] = bot.refs(reply.request_id)
    proposal = bot.chain.proposal(ref.number)
    assert ref.payload_hash == proposal.payload_hash_hex
    assert ref.expires_s == proposal.created_at_s + TIMEOUT_S == proposal.expires_at_s
    assert proposal.call is not None
    assert proposal.call.words() == f"{A}::price_feed::set_fallback(u64 1, bool true, u8 3)"
    shown = _field(reply, f"Proposal {ref.number}")
    assert proposal.payload_hash_hex in shown
    assert "1 of 3 approvals on chain (chatops)" in shown
    assert _field(reply, "Simulation").startswith("succeeds")
    assert reply.data is not None
    assert reply.data["approval"] == "on-chain"
    assert f"/ops approve {reply.request_id}" in reply.follow_ups[0]
    assert not bot.fallback_active()
    history = [e.event for e in bot.flow.service.history(bot.request(reply.request_id))]
    assert history == ["created", "proposed"]


def test_an_unprivileged_write_is_a_proposal_too(bot: MultisigBot) -> None:
    """A step that needs no second person off-chain (activating a lottery) still needs the chain's
    approvals: it asks for a reason and becomes a proposal instead of being sent."""
    refused = bot.run("/lottery activate 2", "alice")
    assert not refused.ok
    assert "multisig account" in refused.title
    assert 'reason="why this is needed"' in refused.title
    request_id = _requested(bot, ACTIVATE)
    [ref] = bot.refs(request_id)
    assert bot.chain.proposal(ref.number).call is not None
    assert _status(bot, 2) == DRAFT  # nothing was sent


def test_a_multi_call_plan_becomes_consecutive_proposals_and_runs_in_order(
    bot: MultisigBot,
) -> None:
    """The emergency stop's two calls are two consecutive proposals; once both are approved on chain
    the bot executes them in order, one transaction each."""
    request_id = _requested(bot, STOP)
    first, second = bot.refs(request_id)
    assert second.number == first.number + 1
    bot.approved_by_two(request_id)
    done, _changed = bot.executor.round()
    assert [rid for rid, _ in done] == [request_id]
    assert done[0][1].state == Status.SUCCEEDED, done[0][1]
    assert len(bot.request(request_id).tx_hashes) == 2
    assert not bot.view("feature_switch::is_enabled", ("u64", 1), ("bool", True))[0]


def test_a_forced_approved_state_in_redis_executes_nothing(
    bot: MultisigBot, redis: redis_lib.Redis
) -> None:
    """Redis says approved (forced by hand) but the chain has only the bot's yes: the executor's
    round, bob's /ops approve and /ops execute all send nothing, and the request is not taken."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    number = int(request_id.split("-")[0])
    redis.hset(keys.request_key(number), mapping={"state": "approved", "approvers": "bob,carol"})
    before = len(bot.cli.server.ledger.transactions)

    done, _changed = bot.executor.round()
    approve = bot.run(f"/ops approve {request_id}", "bob")
    execute = bot.run(f"/ops execute {ref.number}", "bob")

    assert done == []
    assert "Approve request" in approve.title  # it shows how to approve on chain; it runs nothing
    assert not execute.ok
    assert execute.title == (
        f"Not executed: proposal {ref.number} has 1 of 3 approvals on chain. Nothing was sent."
    )
    assert len(bot.cli.server.ledger.transactions) == before
    assert not bot.fallback_active()
    assert bot.request(request_id).state == Status.APPROVED
    assert bot.chain.proposal(ref.number).approvals == 1


def test_the_approve_command_is_the_one_the_approvers_cli_runs(bot: MultisigBot) -> None:
    """/ops approve records nothing: it gives the exact command for the approver's machine and the
    Supra CLI equivalent; run as shown, with bob's own key, it counts on chain."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    shown = bot.run(f"/ops approve {request_id}", "bob")
    assert shown.ok
    assert shown.ephemeral
    command = _field(shown, f"Proposal {ref.number}, chatops")
    assert command == (
        f"chatops multisig approve {ref.number} --key-file YOUR_KEY --expect-hash "
        f"{ref.payload_hash}"
    )
    assert _field(shown, f"Proposal {ref.number}, Supra CLI") == (
        "supra move tool run --profile YOUR_PROFILE --function-id "
        f"0x1::multisig_account::approve_transaction --args address:{A} u64:{ref.number}"
    )
    assert bot.request(request_id).approvers == ()
    argv = command.replace("YOUR_KEY", str(bot.keys["bob"])).split()[1:]
    done = bot.cli.run(*argv)
    assert done.returncode == 0, done.stderr
    assert bot.chain.proposal(ref.number).votes[bot.addresses["bob"]] is True


def test_a_wrong_expected_hash_is_refused_by_the_approvers_cli(bot: MultisigBot) -> None:
    """chatops multisig approve with a hash other than the proposal's signs nothing (exit 1): the
    proposal keeps only the bot's yes."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    wrong = "0x" + "ab" * 32
    done = bot.approve_on_chain("alice", ref.number, wrong)
    assert done.returncode == 1
    assert f"not the expected {wrong}" in done.stderr
    assert "nothing was signed" in done.stderr
    assert bot.chain.proposal(ref.number).votes == {bot.chain.signer.address: True}


def test_two_peoples_approvals_let_the_bot_execute_exactly_once(
    bot: MultisigBot, redis: redis_lib.Redis
) -> None:
    """alice and bob approve with their own keys; the executor's round on two replicas and a typed
    /ops execute race: one executes, the fallback is on with one event, the outcome comes from the
    chain's events and the journal has the execution."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    bot.approved_by_two(request_id)
    results: list[object] = []
    with bot.second_bot() as other:
        other_executor = other.flow.executor
        assert other_executor is not None
        runs = [
            lambda: results.append(bot.executor.round()),
            lambda: results.append(other_executor.round()),
            lambda: results.append(bot.run(f"/ops execute {ref.number}", "carol")),
        ]
        threads = [threading.Thread(target=run) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    executed = [r for r in results if isinstance(r, Reply) and r.ok] + [
        reply for r in results if isinstance(r, tuple) for _rid, reply in r[0]
    ]
    assert len(executed) == 1, results
    assert len(bot.events("PriceFeedFallbackEvent")) == 1
    assert bot.fallback_active()
    done = bot.request(request_id)
    assert done.state == Status.SUCCEEDED
    assert set(done.approvers) == {"alice", "bob"}
    [tx_hash] = done.tx_hashes
    outcome = bot.chain.outcome_of(ref.number)
    assert outcome is not None
    assert outcome.tx_hash == tx_hash
    executions = [e for e in Journal(redis).entries() if e.type == "Инцидент"]
    assert len(executions) == 1  # the price-feed fallback's row, with its transaction
    assert executions[0].links == (tx_hash,)
    assert {"alice", "bob"} <= set(executions[0].responsible.replace(",", " ").split())
    again = bot.run(f"/ops execute {ref.number}", "bob")
    assert not again.ok
    assert f"request {request_id}, which is succeeded" in again.title


def test_an_expired_proposal_is_cleared_and_the_next_one_then_runs(bot: MultisigBot) -> None:
    """A proposal that timed out blocks the queue: the next request, approved by two, does not run,
    /ops pending says what blocks, /ops execute and /ops clear of the wrong number are refused;
    /ops clear of the head removes it (its request ends expired) and the next one runs."""
    stale_id = _requested(bot)
    [stale] = bot.refs(stale_id)
    bot.cli.advance(TIMEOUT_S + 1)
    fresh_id = _requested(bot, ACTIVATE)
    [fresh] = bot.refs(fresh_id)
    bot.approved_by_two(fresh_id)

    assert bot.executor.round()[0] == []
    pending = bot.run("/ops pending", "dave")
    blocking = _field(pending, "Blocking")
    assert blocking.startswith(f"proposal {stale.number} (expired) blocks the 1 behind it")
    assert f"/ops clear {stale.number}" in blocking
    shown = bot.run(f"/ops show {fresh_id}", "dave")
    assert _field(shown, "Blocked by").startswith(f"proposal {stale.number} (expired)")
    not_head = bot.run(f"/ops execute {fresh.number}", "alice")
    assert not not_head.ok
    assert f"proposal {fresh.number} is not at the head of the queue" in not_head.title
    refused = bot.run(f"/ops clear {fresh.number}", "alice")
    assert not refused.ok
    assert "not at the head" in refused.title

    cleared = bot.run(f"/ops clear {stale.number}", "alice")
    assert cleared.ok, cleared
    assert cleared.title.startswith(f"Proposal {stale.number} cleared on chain (it timed out)")
    assert bot.request(stale_id).state == Status.EXPIRED
    assert not bot.fallback_active()
    done, _changed = bot.executor.round()
    assert [rid for rid, _ in done] == [fresh_id]
    assert bot.request(fresh_id).state == Status.SUCCEEDED
    assert _status(bot, 2) == ACTIVE


def test_a_denied_request_is_not_executed_and_the_bot_withdraws_its_yes(bot: MultisigBot) -> None:
    """bob denies: the request is final and the bot votes no on chain, so even with alice's and
    carol's yes the bot executes nothing; the reply says how owners remove the proposal."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    denied = bot.run(f"/ops deny {request_id} wrong asset", "bob")
    assert denied.ok, denied
    assert denied.state == Status.DENIED
    assert any(f"voted no on proposal {ref.number}" in line for line in denied.follow_ups)
    assert any(f"chatops multisig reject {ref.number}" in line for line in denied.follow_ups)
    assert bot.chain.proposal(ref.number).votes[bot.chain.signer.address] is False
    for person in ("alice", "carol"):
        done = bot.approve_on_chain(person, ref.number, ref.payload_hash)
        assert done.returncode == 0, done.stderr
    assert bot.executor.round()[0] == []
    refused = bot.run(f"/ops execute {ref.number}", "alice")
    assert not refused.ok
    assert "which is denied" in refused.title
    assert not bot.fallback_active()


def test_execution_refuses_when_the_preflight_no_longer_holds(bot: MultisigBot) -> None:
    """Approved on chain, but the fallback was switched on meanwhile by another proposal: the bot
    re-runs the preflight, sends nothing, ends the request failed and withdraws its yes."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    bot.approved_by_two(request_id)
    # Someone else's proposal, run first by the owners, makes the request's check fail.
    bot.cli.server.ledger.apply("price_feed::set_fallback", [1, True, 1])
    before = len(bot.events("PriceFeedFallbackEvent"))
    done, _changed = bot.executor.round()
    [(_rid, reply)] = done
    assert not reply.ok
    assert "preflight no longer holds" in reply.title
    assert any(f"voted no on proposal {ref.number}" in line for line in reply.follow_ups)
    assert len(bot.events("PriceFeedFallbackEvent")) == before
    assert bot.request(request_id).state == Status.FAILED
    assert bot.chain.proposal(ref.number).state is ProposalState.PENDING


def test_the_bot_refuses_to_start_when_the_chain_does_not_match_the_policy(
    tmp_path: Path, redis_server: str
) -> None:
    """A policy whose threshold differs from the account's, or names an address that is not an
    owner, stops the bot before anything starts, one line per problem."""
    with converted_devnet(tmp_path) as (cli, _keys, addresses):
        bot_key = tmp_path / "bot.key"
        cli.bot.write_key_file(bot_key)
        policy = tmp_path / "policy.yml"
        stranger = "0x" + "77" * 32
        text = policy_text({"alice": "[operator]"}, {**addresses, "mallory": stranger}).replace(
            "threshold: 3", "threshold: 4"
        )
        policy.write_text(text)
        settings = load_settings(
            {
                "SUPRA_RPC_URL": cli.server.url,
                "SUPRA_CHAIN_ID": str(CHAIN_ID),
                "LOTTERY_ADDRESS": A,
                "CHATOPS_SIGNER_KEY_FILE": str(bot_key),
                "CHATOPS_POLICY_FILE": str(policy),
                "REDIS_URL": redis_server,
            }
        )
        with pytest.raises(PolicyFileError) as refused, build_app(settings):
            pass
    problems = refused.value.problems
    assert (
        "multisig.threshold: the policy says 4, the account on chain needs 3 approvals" in problems
    )
    assert f"multisig.addresses.mallory: {stranger} is not an owner of {A} on chain" in problems


def test_the_bot_refuses_multisig_mode_on_an_unconverted_account_or_without_a_chain(
    tmp_path: Path, redis_server: str
) -> None:
    """A multisig: policy on a chain whose account still has its key, or with no chain configured
    (the embedded devnet), stops the bot at start, saying which."""
    package = LocalKeySigner(secrets.token_bytes(32), account_address=A)
    bot_key = tmp_path / "bot.key"
    LocalKeySigner.generate().write_key_file(bot_key)
    policy = tmp_path / "policy.yml"
    policy.write_text(
        policy_text({"alice": "[operator]"}, {"bob": "0x" + "b0" * 32, "carol": "0x" + "c0" * 32})
    )
    env = {
        "CHATOPS_SIGNER_KEY_FILE": str(bot_key),
        "CHATOPS_POLICY_FILE": str(policy),
        "REDIS_URL": redis_server,
    }
    with DevnetServer(admin_public_key=package.public_key, chain_id=CHAIN_ID) as server:
        chain = {"SUPRA_RPC_URL": server.url, "SUPRA_CHAIN_ID": str(CHAIN_ID), "LOTTERY_ADDRESS": A}
        with (
            pytest.raises(PolicyFileError) as unconverted,
            build_app(load_settings({**env, **chain})),
        ):
            pass
    assert unconverted.value.problems == (
        f"multisig: {A} is not a multisig account on this chain: convert it first (chatops "
        "multisig convert), or remove multisig: from the policy",
    )
    with pytest.raises(ConfigError) as no_chain, build_app(load_settings(env)):
        pass
    assert [var for var, _why in no_chain.value.problems] == ["SUPRA_RPC_URL"]


def test_reconcile_settles_from_the_chains_events_never_running_twice(bot: MultisigBot) -> None:
    """Two requests whose worker died after claiming them: the one whose proposal the worker had
    executed is settled succeeded from the chain's events; the one never sent is settled failed,
    and the bot withdraws its yes on its still-pending proposal. Nothing is sent again."""
    ran_id = _requested(bot)
    [ran] = bot.refs(ran_id)
    bot.approved_by_two(ran_id)
    bot.flow.service.chain_claim(ran_id, "dead-worker", ["alice", "bob"], lease_ms=1)
    outcome = bot.chain.execute_head(ran.number)  # what the worker sent before it died
    idle_id = _requested(bot, ACTIVATE)
    [idle] = bot.refs(idle_id)
    bot.flow.service.chain_claim(idle_id, "dead-worker", [], lease_ms=1)
    before = len(bot.cli.server.ledger.transactions)

    settled = bot.run(f"/ops reconcile {ran_id}", "bob")
    unsent = bot.run(f"/ops reconcile {idle_id}", "bob")

    assert settled.ok, settled
    assert settled.state == Status.SUCCEEDED
    assert bot.request(ran_id).tx_hashes == (outcome.tx_hash,)
    assert unsent.state == Status.FAILED
    assert f"proposal {idle.number} did not run and will not" in unsent.title
    assert any(f"voted no on proposal {idle.number}" in line for line in unsent.follow_ups)
    assert bot.chain.proposal(idle.number).votes[bot.chain.signer.address] is False
    assert len(bot.cli.server.ledger.transactions) == before + 1  # the bot's no vote only
    assert len(bot.events("PriceFeedFallbackEvent")) == 1
    assert _status(bot, 2) == DRAFT


def test_a_proposal_owners_ran_themselves_is_recorded_from_the_chain(bot: MultisigBot) -> None:
    """alice and bob approve, then carol executes the proposal from her own account, as any owner
    may: the executor's next look records the request succeeded from the chain's events, with
    carol's transaction, and sends nothing."""
    request_id = _requested(bot)
    [ref] = bot.refs(request_id)
    assert bot.executor.round() == ([], [request_id])  # the first look sees the new proposal
    for person in ("alice", "bob"):
        voted = bot.approve_on_chain(person, ref.number, ref.payload_hash)
        assert voted.returncode == 0, voted.stderr
    carol = LocalKeySigner.from_key_file(bot.keys["carol"])
    info = bot.cli.client.submit_payload(
        carol,
        MultisigPayload(A, None),
        label="carol executes",
        simulate_first=False,
        chain_now_s=bot.chain.now_s(),
    )
    before = len(bot.cli.server.ledger.transactions)
    done, _changed = bot.executor.round()
    [(settled_id, reply)] = done
    assert settled_id == request_id
    assert reply.ok
    assert "by owners, not the bot" in reply.title
    request = bot.request(request_id)
    assert (request.state, request.tx_hashes) == (Status.SUCCEEDED, (info.hash,))
    assert len(bot.cli.server.ledger.transactions) == before
    assert len(bot.events("PriceFeedFallbackEvent")) == 1


def test_a_large_call_is_proposed_by_its_hash_and_executed_with_the_call_inline(
    tmp_path: Path, redis_server: str, redis: redis_lib.Redis
) -> None:
    """With hash_only_from_bytes below the call's payload the chain stores only the hash: the CLI
    approves with the hash shown, and the bot executes sending the call inline."""
    with multisig_bot(
        tmp_path, redis_server, multisig_policy="  hash_only_from_bytes: 64\n"
    ) as bot:
        request_id = _requested(bot)
        [ref] = bot.refs(request_id)
        proposal = bot.chain.proposal(ref.number)
        assert proposal.hash_only
        assert proposal.payload_hash_hex == ref.payload_hash
        bot.approved_by_two(request_id)
        done, _changed = bot.executor.round()
        assert [reply.state for _rid, reply in done] == [Status.SUCCEEDED]
        assert bot.fallback_active()


def test_chatops_console_runs_multisig_mode_from_the_environment(bot: MultisigBot) -> None:
    """``chatops console`` processes wired from the environment (the bot's key, the policy with its
    multisig: section, the chain, Redis): alice's request becomes a proposal, alice and bob approve
    it with their own keys, bob's /ops execute runs it once."""
    env = {
        **os.environ,
        "SUPRA_RPC_URL": bot.cli.server.url,
        "SUPRA_CHAIN_ID": str(CHAIN_ID),
        "LOTTERY_ADDRESS": A,
        "CHATOPS_SIGNER_KEY_FILE": str(bot.bot_key),
        "CHATOPS_POLICY_FILE": str(bot.policy_file),
        "REDIS_URL": bot.redis_url,
    }

    def console(user: str, line: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "chatops", "console", "--as", user, "--json", "--run", line],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        reply: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return reply

    asked = console("alice", FALLBACK)
    assert asked["state"] == Status.PENDING
    [proposal] = asked["data"]["proposals"]
    for person in ("alice", "bob"):
        voted = bot.approve_on_chain(person, proposal["number"], proposal["payload_hash"])
        assert voted.returncode == 0, voted.stderr
    ran = console("bob", f"/ops execute {proposal['number']}")
    assert ran["ok"], ran
    assert ran["state"] == Status.SUCCEEDED
    assert bot.request(asked["request_id"]).state == Status.SUCCEEDED
    assert len(bot.events("PriceFeedFallbackEvent")) == 1
