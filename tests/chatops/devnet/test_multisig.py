"""The devnet's 0x1::multisig_account over real HTTP: conversion, proposals, votes, the Multisig payload,
strict order, timeouts, the pending cap, events and aborts as multisig_account.md describes them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainAbortError, TransactionFailedError, TransactionRejectedError
from chatops.chain.multisig import MultisigGateway, convert_to_multisig
from chatops.chain.multisig_bcs import (
    MultisigPayload,
    conversion_call,
    payload_hash,
    proposal_payload,
    sign_conversion,
)
from chatops.chain.signer import LocalKeySigner
from chatops.chain.transactions import RAW_TRANSACTION_SALT
from chatops.devnet.multisig_account import DEFAULT_FEATURES, MULTISIG_V2_ENHANCEMENT
from chatops.devnet.server import DevnetServer
from tests.chatops.devnet.multisig_support import (
    MULTISIG,
    TIMEOUT_S,
    A,
    MultisigDevnet,
    fallback_call,
    fund,
    multisig_devnet,
)

ZERO = "0x" + "0" * 64


@pytest.fixture
def chain() -> Iterator[MultisigDevnet]:
    with multisig_devnet() as world:
        yield world


def _propose(chain: MultisigDevnet, asset_id: int = 1) -> int:
    payload = proposal_payload(chain.gateway.entry_function(fallback_call(asset_id)))
    info = chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", payload))
    [(_name, data)] = [
        e for e in chain.events(info) if e[0] == "multisig_account::CreateTransaction"
    ]
    return int(data["sequence_number"])


def _approve(chain: MultisigDevnet, n: int, *people: LocalKeySigner) -> None:
    for person in people:
        chain.send(person, "approve_transaction", ("address", A), ("u64", n))


def _self_admin(function: str, *args: TypedArg) -> ChainCall:
    """A self-administration call of 0x1::multisig_account (it runs with A as signer)."""
    return ChainCall(function=f"{MULTISIG}::{function}", args=args)


def _propose_call(chain: MultisigDevnet, call: ChainCall) -> None:
    payload = proposal_payload(chain.gateway.entry_function(call))
    chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", payload))


# --- conversion --------------------------------------------------------------------------------


def test_conversion_zeroes_the_auth_key_and_stores_owners_threshold_timeout(
    chain: MultisigDevnet,
) -> None:
    """After the conversion the package account's key is zero and the views show the account."""
    assert chain.client.account(A).authentication_key == ZERO
    address = ("address", A)
    assert chain.view("owners", address) == [chain.owners]
    assert chain.view("num_signatures_required", address) == ["3"]
    assert chain.view("timeout_duration", address) == [str(TIMEOUT_S)]
    assert chain.view("last_resolved_sequence_number", address) == ["0"]
    assert chain.view("next_sequence_number", address) == ["1"]
    assert chain.view("get_pending_transactions", address) == [[]]


def test_old_package_key_can_no_longer_sign_anything(chain: MultisigDevnet) -> None:
    """A transaction signed with the revoked package key is refused before execution."""
    with pytest.raises(TransactionRejectedError) as caught:
        chain.client.submit_entry(
            chain.package,
            f"{A}::price_feed::set_fallback",
            [("u64", 1), ("bool", True), ("u8", 1)],
            simulate_first=False,
            chain_now_s=chain.now_s(),
        )
    assert caught.value.status == "INVALID_AUTH_KEY"
    assert "Nothing was committed" in str(caught.value)


def test_conversion_emits_no_event_and_uses_the_package_sequence_number() -> None:
    """The conversion transaction has no events; the package account's sequence number moves once."""
    with multisig_devnet(convert=False) as world:
        before = world.client.account(A).sequence_number
        info = convert_to_multisig(
            world.client, world.package, world.owners, 3, timeout_s=600, chain_now_s=world.now_s()
        )
        assert info.events == []
        assert world.client.account(A).sequence_number == before + 1


def _convert_with(
    world: MultisigDevnet,
    owners: list[str],
    threshold: int,
    timeout_s: int,
    *,
    signed_threshold: int | None = None,
) -> None:
    seq = world.client.account(A).sequence_number
    proof = sign_conversion(
        world.package,
        chain_id=world.client.expected_chain_id,
        sequence_number=seq,
        owners=owners,
        num_signatures_required=signed_threshold or threshold,
    )
    call = conversion_call(A, owners, threshold, proof, timeout_s=timeout_s)
    world.client.submit_entry(
        world.package,
        call.function,
        [(a.type, a.python()) for a in call.args],
        chain_now_s=world.now_s(),
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("short-timeout", "EINVALID_TIMEOUT_DURATION"),
        ("threshold-above-owners", "EINVALID_SIGNATURES_REQUIRED"),
        ("zero-threshold", "EINVALID_SIGNATURES_REQUIRED"),
        ("account-owns-itself", "EOWNER_CANNOT_BE_MULTISIG_ACCOUNT_ITSELF"),
        ("duplicate-owner", "EDUPLICATE_OWNER"),
        ("proof-for-other-threshold", "EINVALID_PROOF_OF_KNOWLEDGE"),
    ],
)
def test_bad_conversions_abort_by_name_and_change_nothing(case: str, expected: str) -> None:
    """Each bad conversion aborts with the module's code, and the package key keeps control."""
    with multisig_devnet(convert=False) as world:
        owners, threshold, timeout, signed = world.owners, 3, 600, None
        if case == "short-timeout":
            timeout = 299
        elif case == "threshold-above-owners":
            threshold = 5
        elif case == "zero-threshold":
            threshold = 0
        elif case == "account-owns-itself":
            owners = [*world.owners, A]
        elif case == "duplicate-owner":
            owners = [*world.owners, world.alice.address]
        else:
            signed = 2
        key_before = world.client.account(A).authentication_key
        with pytest.raises(ChainAbortError) as caught:
            _convert_with(world, owners, threshold, timeout, signed_threshold=signed)
        assert caught.value.name == expected
        assert world.client.account(A).authentication_key == key_before != ZERO


def test_proof_signed_like_a_transaction_is_refused() -> None:
    """A proof signed over the SUPRA:: salted message (as a transaction would be) does not verify."""
    with multisig_devnet(convert=False) as world:
        seq = world.client.account(A).sequence_number
        proof = sign_conversion(
            world.package,
            chain_id=world.client.expected_chain_id,
            sequence_number=seq,
            owners=world.owners,
            num_signatures_required=3,
        )
        salted = world.package.sign(RAW_TRANSACTION_SALT + proof.message)
        bad = type(proof)(proof.message, proof.public_key, salted)
        call = conversion_call(A, world.owners, 3, bad, timeout_s=600)
        with pytest.raises(ChainAbortError) as caught:
            world.client.submit_entry(
                world.package,
                call.function,
                [(a.type, a.python()) for a in call.args],
                chain_now_s=world.now_s(),
            )
        assert caught.value.name == "EINVALID_PROOF_OF_KNOWLEDGE"


def test_a_converted_account_cannot_be_converted_again(chain: MultisigDevnet) -> None:
    """Converting twice fails: the proof's key no longer matches the zero auth key."""
    other = chain.bot
    proof = sign_conversion(
        chain.package,
        chain_id=chain.client.expected_chain_id,
        sequence_number=chain.client.account(A).sequence_number,
        owners=chain.owners,
        num_signatures_required=3,
    )
    call = conversion_call(A, chain.owners, 3, proof, timeout_s=600)
    with pytest.raises(ChainAbortError) as caught:
        chain.client.submit_entry(
            other,
            call.function,
            [(a.type, a.python()) for a in call.args],
            chain_now_s=chain.now_s(),
        )
    assert caught.value.name == "EWRONG_CURRENT_PUBLIC_KEY"


# --- proposals and votes -------------------------------------------------------------------------


def test_create_transaction_stores_the_payload_with_the_creators_yes(chain: MultisigDevnet) -> None:
    """A proposal stores the payload, the creator's yes without a Vote event, and both create events."""
    payload = proposal_payload(chain.gateway.entry_function(fallback_call()))
    now = chain.now_s()
    info = chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", payload))
    names = [name for name, _ in chain.events(info)]
    assert names == [
        "multisig_account::CreateTransaction",
        "multisig_account::CreateTransactionEvent",
    ]
    module_event, handle_event = chain.events(info)
    assert module_event[1]["multisig_account"] == A
    assert "multisig_account" not in handle_event[1]
    assert handle_event[1]["sequence_number"] == "1"
    [stored] = chain.view("get_transaction", ("address", A), ("u64", 1))
    assert stored["payload"] == {"vec": ["0x" + payload.hex()]}
    assert stored["payload_hash"] == {"vec": []}
    assert stored["votes"] == {"data": [{"key": chain.bot.address, "value": True}]}
    assert stored["creator"] == chain.bot.address
    assert stored["creation_time_secs"] == str(now)
    module_guid, handle_guid = (e.guid for e in info.events)
    assert module_guid is not None
    assert (module_guid.creation_number, module_guid.account_address) == (0, "0x0")
    assert handle_guid is not None
    assert handle_guid.account_address == A


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [
        ("create_transaction", (("vector<u8>", b""),), "EPAYLOAD_CANNOT_BE_EMPTY"),
        ("create_transaction_with_hash", (("vector<u8>", b"\x01" * 31),), "EINVALID_PAYLOAD_HASH"),
        ("approve_transaction", (("u64", 7),), "ETRANSACTION_NOT_FOUND"),
        ("execute_rejected_transaction", (), "EINVALID_SEQUENCE_NUMBER"),
    ],
)
def test_bad_calls_abort_by_name(
    chain: MultisigDevnet, function: str, args: tuple[tuple[str, object], ...], expected: str
) -> None:
    """Empty payloads, short hashes, votes on missing proposals and clearing an empty queue abort."""
    with pytest.raises(ChainAbortError) as caught:
        chain.send(chain.bot, function, ("address", A), *args)
    assert caught.value.name == expected


def test_only_owners_may_propose_or_vote(chain: MultisigDevnet) -> None:
    """A non-owner's proposal and vote abort ENOT_OWNER."""
    stranger = LocalKeySigner.generate()
    chain.fund(stranger)
    n = _propose(chain)
    for function, arg in (
        ("create_transaction", ("vector<u8>", b"\x00\x01")),
        ("approve_transaction", ("u64", n)),
    ):
        with pytest.raises(ChainAbortError) as caught:
            chain.send(stranger, function, ("address", A), arg)
        assert caught.value.name == "ENOT_OWNER"


def test_proposals_on_an_account_that_is_not_multisig_abort() -> None:
    """Before conversion, proposing aborts EACCOUNT_NOT_MULTISIG and views fail with MISSING_DATA."""
    with multisig_devnet(convert=False) as world:
        with pytest.raises(ChainAbortError) as caught:
            world.send(world.bot, "create_transaction", ("address", A), ("vector<u8>", b"\x00"))
        assert caught.value.name == "EACCOUNT_NOT_MULTISIG"
        response = world.http.post(
            "/rpc/v3/view",
            json={"function": f"{MULTISIG}::owners", "type_arguments": [], "arguments": [A]},
        )
        assert response.status_code == 400
        assert "MISSING_DATA" in response.json()["message"]


def test_a_revote_overwrites_and_the_vote_view_reads_it(chain: MultisigDevnet) -> None:
    """An owner's no then yes leaves a yes; the vote view answers (voted, approved)."""
    n = _propose(chain)
    chain.send(chain.alice, "reject_transaction", ("address", A), ("u64", n))
    assert chain.view("vote", ("address", A), ("u64", n), ("address", chain.alice.address)) == [
        True,
        False,
    ]
    info = chain.send(chain.alice, "approve_transaction", ("address", A), ("u64", n))
    assert [name for name, _ in chain.events(info)] == [
        "multisig_account::Vote",
        "multisig_account::VoteEvent",
    ]
    assert chain.view("vote", ("address", A), ("u64", n), ("address", chain.alice.address)) == [
        True,
        True,
    ]
    assert chain.view("vote", ("address", A), ("u64", n), ("address", chain.bob.address)) == [
        False,
        False,
    ]


def test_at_most_twenty_proposals_are_pending(chain: MultisigDevnet) -> None:
    """The 21st pending proposal aborts EMAX_PENDING_TRANSACTIONS_EXCEEDED; capacity reads 0."""
    for _ in range(20):
        chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", b"\x00\x01"))
    assert chain.view("available_transaction_queue_capacity", ("address", A)) == ["0"]
    with pytest.raises(ChainAbortError) as caught:
        chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", b"\x00\x01"))
    assert caught.value.name == "EMAX_PENDING_TRANSACTIONS_EXCEEDED"


# --- execution ---------------------------------------------------------------------------------


def test_approved_proposal_runs_as_the_package_account(chain: MultisigDevnet) -> None:
    """With two humans' yes, the bot's Multisig transaction runs set_fallback as A and consumes it."""
    n = _propose(chain)
    _approve(chain, n, chain.alice, chain.bob)
    bot_seq = chain.client.account(chain.bot.address).sequence_number
    package_seq = chain.client.account(A).sequence_number
    info = chain.execute(chain.bot)
    assert info.status == "Success"
    names = [name for name, _ in chain.events(info)]
    assert names == [
        "price_feed::PriceFeedFallbackEvent",
        "multisig_account::TransactionExecutionSucceeded",
        "multisig_account::TransactionExecutionSucceededEvent",
    ]
    succeeded = chain.events(info)[1][1]
    assert succeeded["executor"] == chain.bot.address
    assert succeeded["num_approvals"] == "3"
    assert succeeded["sequence_number"] == str(n)
    assert chain.client.account(chain.bot.address).sequence_number == bot_seq + 1
    assert chain.client.account(A).sequence_number == package_seq
    assert chain.view("last_resolved_sequence_number", ("address", A)) == [str(n)]
    with pytest.raises(ChainAbortError) as caught:
        chain.view("get_transaction", ("address", A), ("u64", n))
    assert caught.value.code == 0x6507
    [feed] = chain.client.view(f"{A}::price_feed::get_price_view", [("u64", 1)])
    assert feed["fallback_active"] is True
    assert info.payload["Move"]["type"] == "multisig_payload"


def test_too_few_approvals_is_a_discard(chain: MultisigDevnet) -> None:
    """The bot plus one human is refused before execution: no event, no sequence number used."""
    n = _propose(chain)
    _approve(chain, n, chain.alice)
    bot_seq = chain.client.account(chain.bot.address).sequence_number
    height = chain.client.latest_block().height
    with pytest.raises(TransactionRejectedError) as caught:
        chain.execute(chain.bot)
    assert caught.value.status == "MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS"
    assert chain.client.account(chain.bot.address).sequence_number == bot_seq
    assert chain.client.latest_block().height == height
    assert chain.view("can_be_executed", ("address", A), ("u64", n)) == [False]


def test_the_executor_approves_implicitly(chain: MultisigDevnet) -> None:
    """With the bot's and alice's yes, bob executing is the third yes (a Vote event records it)."""
    n = _propose(chain)
    _approve(chain, n, chain.alice)
    assert chain.view(
        "can_execute", ("address", chain.bob.address), ("address", A), ("u64", n)
    ) == [True]
    assert chain.view("can_be_executed", ("address", A), ("u64", n)) == [False]
    info = chain.execute(chain.bob)
    names = [name for name, _ in chain.events(info)]
    assert "multisig_account::Vote" in names
    vote = dict(chain.events(info))["multisig_account::Vote"]
    assert (vote["owner"], vote["approved"]) == (chain.bob.address, True)
    assert (
        dict(chain.events(info))["multisig_account::TransactionExecutionSucceeded"]["num_approvals"]
        == "3"
    )


def test_non_owner_cannot_execute(chain: MultisigDevnet) -> None:
    """A stranger's Multisig transaction is discarded NOT_MULTISIG_OWNER."""
    n = _propose(chain)
    _approve(chain, n, chain.alice, chain.bob)
    stranger = LocalKeySigner.generate()
    chain.fund(stranger)
    with pytest.raises(TransactionRejectedError) as caught:
        chain.execute(stranger)
    assert caught.value.status == "NOT_MULTISIG_OWNER"


def test_inner_abort_is_an_outer_success_with_a_failed_event(chain: MultisigDevnet) -> None:
    """An inner abort consumes the proposal, keeps nothing of the call and reports only by event."""
    n = _propose(chain, asset_id=999)  # no such price feed
    _approve(chain, n, chain.alice, chain.bob)
    info = chain.execute(chain.bot)
    assert info.status == "Success"
    assert info.vm_status == "Executed successfully"
    names = [name for name, _ in chain.events(info)]
    assert names == [
        "multisig_account::TransactionExecutionFailed",
        "multisig_account::TransactionExecutionFailedEvent",
    ]
    error = chain.events(info)[0][1]["execution_error"]
    assert error == {
        "abort_location": A.removeprefix("0x") + "::price_feed",
        "error_type": "MoveAbort",
        "error_code": str(0x1902),
    }
    assert chain.view("last_resolved_sequence_number", ("address", A)) == [str(n)]


def test_only_the_head_executes(chain: MultisigDevnet) -> None:
    """A fully approved second proposal waits behind a pending first one; execution runs the head."""
    first = _propose(chain, asset_id=1)
    second = _propose(chain, asset_id=2)
    _approve(chain, second, chain.alice, chain.bob)
    assert chain.view("can_be_executed", ("address", A), ("u64", second)) == [False]
    with pytest.raises(TransactionRejectedError):
        chain.execute(chain.bot)
    _approve(chain, first, chain.alice, chain.bob)
    info = chain.execute(chain.bot)
    assert dict(chain.events(info))["multisig_account::TransactionExecutionSucceeded"][
        "sequence_number"
    ] == str(first)
    assert chain.view("can_be_executed", ("address", A), ("u64", second)) == [True]


def test_timed_out_head_blocks_until_cleared(chain: MultisigDevnet) -> None:
    """Past its timeout the head fails as insufficient approvals; one owner clears it; the next runs."""
    first = _propose(chain, asset_id=1)
    _approve(chain, first, chain.alice, chain.bob)
    chain.advance(TIMEOUT_S + 1)
    second = _propose(chain, asset_id=2)
    _approve(chain, second, chain.alice, chain.bob)
    with pytest.raises(TransactionRejectedError) as caught:
        chain.execute(chain.bot)
    assert caught.value.status == "MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS"
    assert chain.view("can_be_rejected", ("address", A), ("u64", first)) == [True]
    info = chain.send(chain.carol, "execute_rejected_transaction", ("address", A))
    names = [name for name, _ in chain.events(info)]
    assert names == [
        "multisig_account::Vote",
        "multisig_account::VoteEvent",
        "multisig_account::ExecuteRejectedTransaction",
        "multisig_account::ExecuteRejectedTransactionEvent",
    ]
    cleared = chain.events(info)[2][1]
    assert (cleared["sequence_number"], cleared["num_rejections"]) == (str(first), "1")
    info = chain.execute(chain.bot)
    assert dict(chain.events(info))["multisig_account::TransactionExecutionSucceeded"][
        "sequence_number"
    ] == str(second)


def test_live_window_is_inclusive(chain: MultisigDevnet) -> None:
    """At exactly creation + timeout a proposal still executes; one second later it cannot."""
    n = _propose(chain)
    _approve(chain, n, chain.alice, chain.bob)
    chain.advance(TIMEOUT_S)
    assert chain.view("can_be_executed", ("address", A), ("u64", n)) == [True]
    chain.advance(1)
    assert chain.view("can_be_executed", ("address", A), ("u64", n)) == [False]


def test_clearing_needs_k_rejections_or_a_timeout(chain: MultisigDevnet) -> None:
    """A live head with fewer than k rejections cannot be cleared; with k (the caller's implied) it can."""
    n = _propose(chain)
    with pytest.raises(ChainAbortError) as caught:
        chain.send(chain.alice, "execute_rejected_transaction", ("address", A))
    assert caught.value.name == "ENOT_ENOUGH_REJECTIONS"
    chain.send(chain.alice, "reject_transaction", ("address", A), ("u64", n))
    chain.send(chain.bob, "reject_transaction", ("address", A), ("u64", n))
    info = chain.send(chain.carol, "execute_rejected_transaction", ("address", A))
    assert (
        dict(chain.events(info))["multisig_account::ExecuteRejectedTransaction"]["num_rejections"]
        == "3"
    )


def test_can_be_rejected_is_true_for_a_timed_out_proposal_behind_the_head(
    chain: MultisigDevnet,
) -> None:
    """The module's precedence quirk: a timed-out non-head proposal answers can_be_rejected true."""
    _propose(chain, asset_id=1)
    second = _propose(chain, asset_id=2)
    chain.advance(TIMEOUT_S + 1)
    assert chain.view("can_be_rejected", ("address", A), ("u64", second)) == [True]


def test_execute_rejected_transactions_clears_a_range(chain: MultisigDevnet) -> None:
    """Once timed out, two proposals are cleared by one call up to the final number."""
    _propose(chain, asset_id=1)
    second = _propose(chain, asset_id=2)
    chain.advance(TIMEOUT_S + 1)
    chain.send(chain.alice, "execute_rejected_transactions", ("address", A), ("u64", second))
    assert chain.view("last_resolved_sequence_number", ("address", A)) == [str(second)]


def test_hash_only_proposal_needs_the_matching_payload_inline(chain: MultisigDevnet) -> None:
    """A hash-only proposal refuses no payload or a wrong one, and runs the one that hashes right."""
    entry = chain.gateway.entry_function(fallback_call())
    digest = payload_hash(proposal_payload(entry))
    chain.send(chain.bot, "create_transaction_with_hash", ("address", A), ("vector<u8>", digest))
    _approve(chain, 1, chain.alice, chain.bob)
    for sent in (None, chain.gateway.entry_function(fallback_call(reason=3))):
        with pytest.raises(TransactionRejectedError) as caught:
            chain.execute(chain.bot, sent)
        assert caught.value.status == "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH_HASH"
    info = chain.execute(chain.bot, entry)
    assert "multisig_account::TransactionExecutionSucceeded" in dict(chain.events(info))


def test_a_different_inline_payload_than_the_stored_one_is_refused(chain: MultisigDevnet) -> None:
    """Under flag 70, sending a payload that differs from the stored one is a discard."""
    n = _propose(chain)
    _approve(chain, n, chain.alice, chain.bob)
    with pytest.raises(TransactionRejectedError) as caught:
        chain.execute(chain.bot, chain.gateway.entry_function(fallback_call(reason=9)))
    assert caught.value.status == "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH"


def test_a_call_the_vm_cannot_resolve_fails_inside_as_a_vm_error(chain: MultisigDevnet) -> None:
    """A proposal naming no existing function is consumed with a VMError FUNCTION_RESOLUTION_FAILURE."""
    _propose_call(chain, ChainCall(function="price_feed::no_such_function"))
    _approve(chain, 1, chain.alice, chain.bob)
    info = chain.execute(chain.bot)
    assert info.status == "Success"
    error = dict(chain.events(info))["multisig_account::TransactionExecutionFailed"][
        "execution_error"
    ]
    assert error == {"abort_location": "", "error_type": "VMError", "error_code": "1091"}


def test_undecodable_stored_payload_fails_the_outer_transaction_and_stays(
    chain: MultisigDevnet,
) -> None:
    """Garbage accepted at proposal time fails execution outright; the proposal keeps blocking."""
    chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", b"\x07garbage"))
    _approve(chain, 1, chain.alice, chain.bob)
    seq = chain.client.account(chain.bot.address).sequence_number
    with pytest.raises(TransactionFailedError) as caught:
        chain.execute(chain.bot)
    assert "FAILED_TO_DESERIALIZE_ARGUMENT" in caught.value.vm_status
    assert chain.client.account(chain.bot.address).sequence_number == seq + 1
    assert chain.view("last_resolved_sequence_number", ("address", A)) == ["0"]


def test_owner_changes_run_through_a_proposal(chain: MultisigDevnet) -> None:
    """add_owners_and_update_signatures_required runs as A through the queue, with its events."""
    dave = LocalKeySigner.generate()
    _propose_call(
        chain,
        _self_admin(
            "add_owners_and_update_signatures_required",
            TypedArg.of("vector<address>", [dave.address]),
            TypedArg.of("u64", 4),
        ),
    )
    _approve(chain, 1, chain.alice, chain.bob)
    info = chain.execute(chain.bot)
    names = [name for name, _ in chain.events(info)]
    assert names[:4] == [
        "multisig_account::AddOwners",
        "multisig_account::AddOwnersEvent",
        "multisig_account::UpdateSignaturesRequired",
        "multisig_account::UpdateSignaturesRequiredEvent",
    ]
    assert chain.view("owners", ("address", A)) == [[*chain.owners, dave.address]]
    assert chain.view("num_signatures_required", ("address", A)) == ["4"]


def test_removing_an_owner_uses_swap_remove_and_drops_their_votes(chain: MultisigDevnet) -> None:
    """remove_owner swaps the last owner into the gap, and that owner's pending vote stops counting."""
    _propose_call(chain, _self_admin("remove_owner", TypedArg.of("address", chain.alice.address)))
    pending = _propose(chain, asset_id=2)
    _approve(chain, pending, chain.alice)
    _approve(chain, 1, chain.bob, chain.carol)
    chain.execute(chain.bot)
    assert chain.view("owners", ("address", A)) == [
        [chain.bot.address, chain.carol.address, chain.bob.address]
    ]
    can = chain.view(
        "can_execute", ("address", chain.bot.address), ("address", A), ("u64", pending)
    )
    assert can == [False]


def test_owner_changes_called_directly_need_the_account_as_signer(chain: MultisigDevnet) -> None:
    """Sent as an ordinary transaction by an owner, add_owner acts on the sender, not a multisig."""
    with pytest.raises(ChainAbortError) as caught:
        chain.send(chain.alice, "add_owner", ("address", chain.bob.address))
    assert caught.value.name == "EACCOUNT_NOT_MULTISIG"


def test_a_shorter_timeout_retimes_pending_proposals(chain: MultisigDevnet) -> None:
    """update_timeout_duration applies to proposals already pending (the current value decides)."""
    _propose_call(chain, _self_admin("update_timeout_duration", TypedArg.of("u64", 300)))
    pending = _propose(chain)
    _approve(chain, 1, chain.alice, chain.bob)
    info = chain.execute(chain.bot)
    names = [name for name, _ in chain.events(info)]
    assert names[0] == "multisig_account::TimeoutDurationUpdatedEvent"  # no module event
    chain.advance(301)
    assert chain.view("can_be_rejected", ("address", A), ("u64", pending)) == [True]


def test_simulation_runs_the_inline_call_as_the_account_without_checks(
    chain: MultisigDevnet,
) -> None:
    """A simulated Multisig transaction runs the call as A with no proposal and no multisig events."""
    entry = chain.gateway.entry_function(fallback_call(asset_id=999))
    with pytest.raises(ChainAbortError) as caught:
        chain.client.simulate_payload(
            chain.bot, MultisigPayload(A, entry), label="preview", chain_now_s=chain.now_s()
        )
    assert caught.value.name == "E_PRICE_FEED_NOT_FOUND"
    ok = chain.client.simulate_payload(
        chain.bot,
        MultisigPayload(A, chain.gateway.entry_function(fallback_call())),
        label="ok",
        chain_now_s=chain.now_s(),
    )
    assert [e.type.split("::")[-1] for e in ok.events] == ["PriceFeedFallbackEvent"]
    with pytest.raises(TransactionRejectedError) as missing:
        chain.client.simulate_payload(
            chain.bot, MultisigPayload(A), label="stored", chain_now_s=chain.now_s()
        )
    assert missing.value.status == "MISSING_DATA"


def test_without_flag_55_the_executor_must_have_approved() -> None:
    """With the v2 enhancement off, an executor's yes is not implied and the pending cap is off."""
    features = DEFAULT_FEATURES - {MULTISIG_V2_ENHANCEMENT}
    with multisig_devnet(features=features) as world:
        n = _propose(world)
        _approve(world, n, world.alice)
        with pytest.raises(TransactionRejectedError):
            world.execute(world.bob)
        _approve(world, n, world.bob)
        info = world.execute(world.carol)
        assert "multisig_account::Vote" not in dict(world.events(info))
        assert (
            dict(world.events(info))["multisig_account::TransactionExecutionSucceeded"][
                "num_approvals"
            ]
            == "3"
        )


def test_module_abi_is_served_for_the_package_and_the_framework(chain: MultisigDevnet) -> None:
    """GET /accounts/{a}/modules/{m} lists entry functions with their parameter types."""
    feed = chain.client.module_abi(A, "price_feed")
    assert feed is not None
    [set_fallback] = [f for f in feed["exposed_functions"] if f["name"] == "set_fallback"]
    assert set_fallback["params"] == ["&signer", "u64", "bool", "u8"]
    assert set_fallback["is_entry"] is True
    multisig = chain.client.module_abi("0x1", "multisig_account")
    assert multisig is not None
    functions = {f["name"]: f for f in multisig["exposed_functions"]}
    assert functions["add_owner"]["visibility"] == "private"
    assert functions["can_execute"]["is_view"] is True
    assert chain.client.module_abi(A, "no_such_module") is None


def test_multisig_state_survives_a_restart(tmp_path: Path) -> None:
    """A devnet with --state rebuilds the converted account, its executed and pending proposals."""
    state = tmp_path / "chain.json"
    package = LocalKeySigner(hashlib.sha256(b"package").digest(), account_address=A)
    people = [LocalKeySigner(hashlib.sha256(bytes([i])).digest()) for i in range(3)]
    owners = [p.address for p in people]

    def serve() -> DevnetServer:
        return DevnetServer(
            admin_public_key=package.public_key, state_file=state, start_time_s=1_800_000_000
        )

    def send(
        client: ChainClient, who: LocalKeySigner, function: str, *args: tuple[str, object]
    ) -> None:
        now = client.latest_block().timestamp.seconds
        client.submit_entry(who, f"{MULTISIG}::{function}", list(args), chain_now_s=now)

    with serve() as server, ChainClient(server.url, chain_id=255) as client:
        for person in people:
            fund(server.url, person.address)
        now = client.latest_block().timestamp.seconds
        convert_to_multisig(client, package, owners, 3, timeout_s=600, chain_now_s=now)
        entry = proposal_payload(MultisigGateway(client, A).entry_function(fallback_call(reason=5)))
        send(client, people[0], "create_transaction", ("address", A), ("vector<u8>", entry))
        send(client, people[1], "approve_transaction", ("address", A), ("u64", 1))
        client.submit_payload(
            people[2],
            MultisigPayload(A),
            label="execute",
            simulate_first=False,
            chain_now_s=client.latest_block().timestamp.seconds,
        )
        send(client, people[0], "create_transaction", ("address", A), ("vector<u8>", b"\x00\x01"))
        send(client, people[1], "approve_transaction", ("address", A), ("u64", 2))
    with serve() as server, ChainClient(server.url, chain_id=255) as client:
        assert client.account(A).authentication_key == ZERO
        assert client.view(f"{MULTISIG}::last_resolved_sequence_number", [("address", A)]) == ["1"]
        [feed] = client.view(f"{A}::price_feed::get_price_view", [("u64", 1)])
        assert (feed["fallback_active"], feed["fallback_reason"]) == (True, 5)
        [pending] = client.view(f"{MULTISIG}::get_transaction", [("address", A), ("u64", 2)])
        assert [v["key"] for v in pending["votes"]["data"]] == owners[:2]
