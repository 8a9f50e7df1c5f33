"""MultisigGateway against the devnet over HTTP: proposals read from the chain, votes bound to a hash,
executions of the head only, outcomes read from events, and the threshold policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatops.chain.errors import ChainAbortError, TransactionRejectedError
from chatops.chain.multisig import (
    Cleared,
    ExecutionOutcome,
    HashMismatchError,
    MultisigError,
    MultisigGateway,
    NotAnOwnerError,
    NotQueueHeadError,
    ProposalNotFoundError,
    ProposalState,
    check_threshold,
    parse_hash,
)
from chatops.chain.signer import LocalKeySigner
from tests.chatops.devnet.multisig_support import (
    MULTISIG,
    TIMEOUT_S,
    A,
    MultisigDevnet,
    fallback_call,
    multisig_devnet,
)

REFERENCE_HASH = "0x289254e3148a512eee14603081e69dbf19b186c4dc6bc7e2cff93554ca5267b9"


@pytest.fixture
def chain() -> Iterator[MultisigDevnet]:
    with multisig_devnet() as world:
        yield world


def _approved(chain: MultisigDevnet, asset_id: int = 1) -> int:
    proposed = chain.gateway.propose(fallback_call(asset_id))
    chain.gateway.approve(proposed.sequence_number, signer=chain.alice)
    chain.gateway.approve(proposed.sequence_number, signer=chain.bob)
    return proposed.sequence_number


def test_a_proposal_reads_back_decoded_from_the_chain(chain: MultisigDevnet) -> None:
    """propose gives the number and hash; proposal(n) decodes the call with the ABI's types."""
    now = chain.now_s()
    proposed = chain.gateway.propose(fallback_call())
    assert proposed.sequence_number == 1
    assert proposed.payload_hash_hex == REFERENCE_HASH
    proposal = chain.gateway.proposal(1)
    assert proposal.call is not None
    assert proposal.call.typed
    assert proposal.call.words() == f"{A}::price_feed::set_fallback(u64 1, bool true, u8 2)"
    assert proposal.payload_hash_hex == REFERENCE_HASH
    assert proposal.votes == {chain.bot.address: True}
    assert (proposal.approvals, proposal.rejections, proposal.threshold) == (1, 0, 3)
    assert proposal.creator == chain.bot.address
    assert proposal.created_at_s == now
    assert proposal.expires_at_s == now + TIMEOUT_S
    assert proposal.is_head
    assert proposal.state is ProposalState.PENDING


def test_propose_simulates_first_and_proposes_nothing_that_would_abort(
    chain: MultisigDevnet,
) -> None:
    """A call that would abort raises its abort by name and leaves the queue empty."""
    with pytest.raises(ChainAbortError) as caught:
        chain.gateway.propose(fallback_call(asset_id=999))
    assert caught.value.name == "E_PRICE_FEED_NOT_FOUND"
    assert chain.gateway.queue().proposals == ()


def test_vote_with_a_different_expected_hash_signs_nothing(chain: MultisigDevnet) -> None:
    """approve refuses before signing when the hash is not the one expected; no vote lands."""
    n = chain.gateway.propose(fallback_call()).sequence_number
    with pytest.raises(HashMismatchError, match="nothing was signed"):
        chain.gateway.approve(n, signer=chain.alice, expect_hash=b"\x01" * 32)
    assert chain.gateway.proposal(n).votes == {chain.bot.address: True}
    voted = chain.gateway.approve(n, signer=chain.alice, expect_hash=parse_hash(REFERENCE_HASH))
    assert voted.approved
    assert chain.gateway.proposal(n).votes[chain.alice.address] is True


def test_a_stranger_cannot_vote(chain: MultisigDevnet) -> None:
    """A key whose account is not an owner is refused before signing."""
    n = chain.gateway.propose(fallback_call()).sequence_number
    stranger = LocalKeySigner.generate()
    with pytest.raises(NotAnOwnerError):
        chain.gateway.approve(n, signer=stranger)


def test_unknown_and_resolved_proposals_are_told_apart(chain: MultisigDevnet) -> None:
    """A never-created number and an executed one raise ProposalNotFoundError with their reason."""
    with pytest.raises(ProposalNotFoundError, match="does not exist"):
        chain.gateway.proposal(5)
    n = _approved(chain)
    chain.gateway.execute_head(n)
    with pytest.raises(ProposalNotFoundError, match="already resolved"):
        chain.gateway.proposal(n)
    with pytest.raises(ProposalNotFoundError, match="already resolved"):
        chain.gateway.can_execute(n)


def test_execute_head_runs_once_and_reads_the_outcome_from_events(chain: MultisigDevnet) -> None:
    """The head executes, the outcome comes from TransactionExecutionSucceeded, a retry is refused."""
    n = _approved(chain)
    outcome = chain.gateway.execute_head(n)
    assert isinstance(outcome, ExecutionOutcome)
    assert outcome.succeeded
    assert (outcome.sequence_number, outcome.num_approvals) == (n, 3)
    assert outcome.executor == chain.bot.address
    assert [t.split("::")[-1] for t, _ in outcome.events] == ["PriceFeedFallbackEvent"]
    seq = chain.client.account(chain.bot.address).sequence_number
    with pytest.raises(ProposalNotFoundError, match="already resolved; nothing was sent"):
        chain.gateway.execute_head(n)
    assert chain.client.account(chain.bot.address).sequence_number == seq


def test_execute_head_refuses_a_proposal_behind_the_head(chain: MultisigDevnet) -> None:
    """Naming proposal 2 while 1 is pending sends nothing: the chain would run 1."""
    chain.gateway.propose(fallback_call(asset_id=1))
    second = _approved(chain, asset_id=2)
    seq = chain.client.account(chain.bot.address).sequence_number
    with pytest.raises(NotQueueHeadError, match="1 is"):
        chain.gateway.execute_head(second)
    assert chain.client.account(chain.bot.address).sequence_number == seq


def test_execute_head_without_enough_approvals_sends_nothing(chain: MultisigDevnet) -> None:
    """The bot and one human are not enough: refused with the counts, nothing sent."""
    n = chain.gateway.propose(fallback_call()).sequence_number
    chain.gateway.approve(n, signer=chain.alice)
    assert not chain.gateway.can_execute(n)
    with pytest.raises(MultisigError, match="2 of 3 approvals"):
        chain.gateway.execute_head(n)
    assert chain.gateway.proposal(n).state is ProposalState.PENDING


def test_an_inner_abort_is_reported_by_name(chain: MultisigDevnet) -> None:
    """A proposal whose call aborts is consumed; the outcome names the abort from the event."""
    bad = chain.gateway.propose(fallback_call(asset_id=999), simulate=False).sequence_number
    chain.gateway.approve(bad, signer=chain.alice)
    chain.gateway.approve(bad, signer=chain.bob)
    outcome = chain.gateway.execute_head(bad)
    assert not outcome.succeeded
    assert outcome.error_type == "MoveAbort"
    assert outcome.abort is not None
    assert outcome.abort.name == "E_PRICE_FEED_NOT_FOUND"
    assert "E_PRICE_FEED_NOT_FOUND" in outcome.describe()
    assert "consumed" in outcome.describe()
    assert chain.gateway.queue().last_resolved == bad


def test_hash_only_proposals_need_the_call_to_execute(chain: MultisigDevnet) -> None:
    """A hash-only proposal shows no call; executing needs the call, checked against the hash."""
    proposed = chain.gateway.propose(fallback_call(), hash_only=True)
    proposal = chain.gateway.proposal(proposed.sequence_number)
    assert proposal.hash_only
    assert proposal.call is None
    assert proposal.payload_hash_hex == REFERENCE_HASH
    chain.gateway.approve(proposed.sequence_number, signer=chain.alice)
    chain.gateway.approve(proposed.sequence_number, signer=chain.bob)
    with pytest.raises(MultisigError, match="stores only a hash"):
        chain.gateway.execute_head(proposed.sequence_number)
    with pytest.raises(HashMismatchError):
        chain.gateway.execute_head(proposed.sequence_number, call=fallback_call(reason=7))
    assert chain.gateway.execute_head(proposed.sequence_number, call=fallback_call()).succeeded


def test_queue_shows_an_expired_head_blocking_until_it_is_cleared(chain: MultisigDevnet) -> None:
    """An expired head blocks an executable proposal; clear_rejected removes it; the next runs."""
    first = _approved(chain, asset_id=1)
    chain.advance(TIMEOUT_S + 1)
    second = _approved(chain, asset_id=2)
    queue = chain.gateway.queue()
    assert [p.sequence_number for p in queue.proposals] == [first, second]
    assert queue.head is not None
    assert queue.head.state is ProposalState.EXPIRED
    assert queue.blocked_by == queue.head
    assert queue.proposals[1].state is ProposalState.PENDING  # approved, but not the head
    with pytest.raises(MultisigError, match="timed out"):
        chain.gateway.execute_head(first)
    cleared = chain.gateway.clear_rejected(first)
    assert cleared == Cleared(first, 1, cleared.tx_hash)
    assert chain.gateway.queue().head is not None
    assert chain.gateway.queue().proposals[0].state is ProposalState.EXECUTABLE
    assert chain.gateway.execute_head(second).succeeded


def test_a_live_head_cannot_be_cleared(chain: MultisigDevnet) -> None:
    """Without k rejections or a timeout, clear_rejected refuses and sends nothing."""
    n = chain.gateway.propose(fallback_call()).sequence_number
    with pytest.raises(MultisigError, match="cannot be cleared yet"):
        chain.gateway.clear_rejected(n)
    chain.gateway.reject(n, signer=chain.alice)
    chain.gateway.reject(n, signer=chain.bob)
    assert chain.gateway.proposal(n).state is ProposalState.PENDING  # 2 of 3 rejections
    chain.gateway.reject(n, signer=chain.carol)
    assert chain.gateway.proposal(n).state is ProposalState.REJECTED
    # The bot's implied rejection when it clears replaces its yes as the creator: 4 noes.
    assert chain.gateway.clear_rejected(n).num_rejections == 4


def test_outcome_of_finds_how_a_proposal_was_resolved(chain: MultisigDevnet) -> None:
    """After a lost answer, outcome_of reads executed, failed or cleared from the event log."""
    start = chain.client.latest_block().height
    ok = _approved(chain, asset_id=1)
    chain.gateway.execute_head(ok)
    failing = chain.gateway.propose(fallback_call(asset_id=999), simulate=False).sequence_number
    chain.gateway.approve(failing, signer=chain.alice)
    chain.gateway.approve(failing, signer=chain.bob)
    chain.gateway.execute_head(failing)
    stale = chain.gateway.propose(fallback_call(asset_id=2)).sequence_number
    pending = chain.gateway.propose(fallback_call(asset_id=2, reason=4)).sequence_number
    chain.advance(TIMEOUT_S + 1)
    chain.gateway.clear_rejected(stale)
    succeeded = chain.gateway.outcome_of(ok, start_height=start)
    assert isinstance(succeeded, ExecutionOutcome)
    assert succeeded.succeeded
    failed = chain.gateway.outcome_of(failing, start_height=start)
    assert isinstance(failed, ExecutionOutcome)
    assert failed.abort is not None
    assert failed.abort.name == "E_PRICE_FEED_NOT_FOUND"
    assert isinstance(chain.gateway.outcome_of(stale, start_height=start), Cleared)
    assert chain.gateway.outcome_of(pending, start_height=start) is None


def test_an_undecodable_payload_is_shown_as_such_and_never_sent(chain: MultisigDevnet) -> None:
    """A proposal holding bytes that are no call reads with a decode error and is not executed."""
    chain.send(chain.bot, "create_transaction", ("address", A), ("vector<u8>", b"\x05junk"))
    proposal = chain.gateway.proposal(1)
    assert proposal.call is None
    assert proposal.decode_error is not None
    chain.gateway.approve(1, signer=chain.alice)
    chain.gateway.approve(1, signer=chain.bob)
    seq = chain.client.account(chain.bot.address).sequence_number
    with pytest.raises(MultisigError, match="can never run"):
        chain.gateway.execute_head(1)
    assert chain.client.account(chain.bot.address).sequence_number == seq


def test_execution_carries_the_call_so_a_moved_head_is_refused(chain: MultisigDevnet) -> None:
    """The bot's execution is bound to its call: if the head became another call, the chain refuses."""
    first = _approved(chain, asset_id=1)
    second = _approved(chain, asset_id=2)
    chain.execute(chain.carol)  # another owner executes the head first
    stale = chain.gateway.proposal(second)
    # What execute_head(first) would send, had it checked the head just before carol acted:
    entry = chain.gateway.entry_function(fallback_call(asset_id=1))
    with pytest.raises(TransactionRejectedError) as caught:
        chain.execute(chain.bot, entry)
    assert caught.value.status == "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH"
    assert chain.gateway.proposal(second) == stale
    assert chain.gateway.outcome_of(first) is not None


def test_is_multisig_follows_the_conversion() -> None:
    """is_multisig is false before the conversion and true after it."""
    with multisig_devnet(convert=False) as world:
        assert not world.gateway.is_multisig()
    with multisig_devnet() as world:
        assert world.gateway.is_multisig()
        assert world.gateway.settings().owners == tuple(world.owners)


def test_self_administration_calls_decode_with_the_framework_abi(chain: MultisigDevnet) -> None:
    """A proposal to change the owners decodes with 0x1::multisig_account's ABI."""
    from chatops.chain.calls import ChainCall, TypedArg

    call = ChainCall(
        function=f"{MULTISIG}::update_signatures_required", args=(TypedArg.of("u64", 4),)
    )
    chain.gateway.propose(call, simulate=False)
    proposal = chain.gateway.proposal(1)
    assert proposal.call is not None
    assert proposal.call.words() == (
        "0x0000000000000000000000000000000000000000000000000000000000000001"
        "::multisig_account::update_signatures_required(u64 4)"
    )


# --- the threshold policy ---------------------------------------------------------------------

BOT = "0x" + "b0" * 32
HUMANS = ["0x" + "a1" * 32, "0x" + "a2" * 32, "0x" + "a3" * 32]


def _check(
    threshold: int, owners: list[str] | None = None, timeout_s: int = 3600
) -> tuple[str, ...]:
    return check_threshold(
        owners if owners is not None else [BOT, *HUMANS],
        threshold,
        bot=BOT,
        account=A,
        timeout_s=timeout_s,
    ).problems


def test_threshold_letting_the_bot_and_one_human_pass_is_refused() -> None:
    """k = 2 with the bot proposing and executing means one human: refused, saying k >= 3."""
    [problem] = _check(2)
    assert "bot and 1 human(s) pass" in problem
    assert "at least 3" in problem
    assert _check(3) == ()


@pytest.mark.parametrize(
    ("owners", "threshold", "timeout", "fragment"),
    [
        ([*HUMANS], 3, 3600, "must be one of the owners"),
        ([BOT, *HUMANS], 5, 3600, "exceeds the 4 owners"),
        ([BOT, *HUMANS], 3, 299, "at least 300 s"),
        ([BOT, HUMANS[0], HUMANS[0]], 3, 3600, "listed twice"),
        ([BOT, *HUMANS, A], 3, 3600, "cannot be one of its owners"),
        ([BOT, "not-an-address"], 3, 3600, "not an account address"),
    ],
)
def test_bad_owner_lists_are_refused(
    owners: list[str], threshold: int, timeout: int, fragment: str
) -> None:
    """A missing bot, k above the owners, a short timeout, duplicates or A itself are refused."""
    problems = _check(threshold, owners, timeout)
    assert any(fragment in p for p in problems), problems


def test_every_human_needed_is_a_warning_not_a_refusal() -> None:
    """k = 3 with exactly two humans passes, with a warning that one lost key stops the account."""
    check = check_threshold([BOT, *HUMANS[:2]], 3, bot=BOT, account=A, timeout_s=600)
    assert check.problems == ()
    [warning] = check.warnings
    assert "one lost key" in warning


def test_parse_hash_accepts_hex_and_refuses_the_rest() -> None:
    """A 64-digit hex hash parses with or without 0x; anything else is refused plainly."""
    assert parse_hash(REFERENCE_HASH).hex() == REFERENCE_HASH[2:]
    assert parse_hash(REFERENCE_HASH[2:].upper()).hex() == REFERENCE_HASH[2:]
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_hash("0x1234")


def test_gateway_uses_the_account_as_package_by_default(chain: MultisigDevnet) -> None:
    """Calls named module::function are taken at the multisig account's address."""
    gateway = MultisigGateway(chain.client, A, chain.bot)
    entry = gateway.entry_function(fallback_call())
    assert (str(entry.module.address), entry.module.name) == (A, "price_feed")
