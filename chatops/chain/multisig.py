"""The package account as an on-chain multisig account (``0x1::multisig_account``): convert it, propose
calls, read proposals and the queue, vote, execute the head and clear it, every outcome read from the
chain (its views and events), never from the bot's own records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from aptos_sdk.transactions import EntryFunction

from chatops.chain import movetypes
from chatops.chain.aborts import AbortInfo, describe
from chatops.chain.calls import ChainCall
from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainAbortError, ChainError, ChainResponseError
from chatops.chain.models import EventRecord, TransactionInfo
from chatops.chain.multisig_bcs import (
    MIN_TIMEOUT_S,
    MULTISIG_MODULE,
    MultisigPayload,
    PayloadDecodeError,
    approve_call,
    conversion_call,
    create_transaction_call,
    create_transaction_with_hash_call,
    decode_proposal_payload,
    execute_rejected_call,
    payload_hash,
    proposal_payload,
    reject_call,
    sign_conversion,
)
from chatops.chain.signer import Signer, normalize_address
from chatops.chain.transactions import build_entry_function

__all__ = [
    "TWO_PERSON_HUMANS",
    "Cleared",
    "DecodedArg",
    "DecodedCall",
    "ExecutionOutcome",
    "HashMismatchError",
    "MultisigError",
    "MultisigGateway",
    "MultisigSettings",
    "NotAnOwnerError",
    "NotQueueHeadError",
    "Proposal",
    "ProposalNotFoundError",
    "ProposalState",
    "Proposed",
    "QueueView",
    "ThresholdCheck",
    "Voted",
    "check_threshold",
    "convert_to_multisig",
    "parse_hash",
]

logger = logging.getLogger(__name__)

# The approval policy's two-person rule: the bot's yes plus this many humans' must be needed.
TWO_PERSON_HUMANS: Final = 2
_ZERO_AUTH_KEY: Final = "0x" + "0" * 64
_INVALID_SEQUENCE_NUMBER: Final = 0x10011
_TABLE_NOT_FOUND: Final = 0x6507
_SUCCEEDED: Final = "TransactionExecutionSucceeded"
_FAILED: Final = "TransactionExecutionFailed"
_CLEARED: Final = "ExecuteRejectedTransaction"
_CREATED: Final = "CreateTransaction"


# --- errors ------------------------------------------------------------------------------------


class MultisigError(ChainError):
    """A multisig operation refused here, before anything was sent (the message says why)."""


class ProposalNotFoundError(MultisigError):
    """The proposal does not exist: never created, or already resolved (executed or cleared)."""

    def __init__(self, sequence_number: int, message: str) -> None:
        super().__init__(message)
        self.sequence_number = sequence_number


class NotQueueHeadError(MultisigError):
    """An execution or a clearing names a proposal that is not at the head of the queue: the chain
    would act on the head instead, so nothing was sent."""


class HashMismatchError(MultisigError):
    """The proposal's payload hash is not the one the person was shown: nothing was signed."""


class NotAnOwnerError(MultisigError):
    """The key's account is not an owner of the multisig account, so the chain would refuse it."""


# --- values ------------------------------------------------------------------------------------


def parse_hash(text: str) -> bytes:
    """A 32-byte hash from hex (``0x`` optional); raises ValueError with a plain message."""
    value = text.strip().lower().removeprefix("0x")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{text.strip()!r} is not a 32-byte hex hash (64 hex digits)")
    return bytes.fromhex(value)


@dataclass(frozen=True)
class MultisigSettings:
    """Who the owners are, how many yes votes a proposal needs, how long one lives (seconds)."""

    owners: tuple[str, ...]
    threshold: int
    timeout_s: int


@dataclass(frozen=True)
class DecodedArg:
    """One argument of a proposed call: its Move type from the module's ABI on chain and its value,
    or only its raw BCS bytes when the type is unknown or the bytes do not decode."""

    raw: bytes
    type: str | None = None
    value: Any = None

    def words(self) -> str:
        if self.type is None:
            return f"0x{self.raw.hex()} (undecoded bytes)"
        shown = movetypes.to_json(self.type, self.value)
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        return f"{self.type} {shown}"


@dataclass(frozen=True)
class DecodedCall:
    """The entry function a proposal runs, decoded from its payload bytes."""

    function_id: str
    args: tuple[DecodedArg, ...]
    typed: bool

    def words(self) -> str:
        """``0xbc95…::price_feed::set_fallback(u64 1, bool true, u8 2)``: what an approver reads."""
        rendered = ", ".join(arg.words() for arg in self.args)
        return f"{self.function_id}({rendered})"


class ProposalState(StrEnum):
    """Where a pending proposal stands now."""

    PENDING = "pending"  # live; lacks approvals, or waits behind the head
    EXECUTABLE = "executable"  # the head, with enough approvals, live
    REJECTED = "rejected"  # the head, with k rejections: clear it
    EXPIRED = "expired"  # past its timeout: it can never execute; clear it


@dataclass(frozen=True)
class Proposal:
    """A pending proposal as the chain holds it, with its call decoded and its votes counted.

    ``payload_hash`` is ``sha3_256(0x00 ‖ BCS(EntryFunction))``, computed for a stored payload and
    stored for a hash-only one: the value an approver compares. ``approvals`` and ``rejections`` count
    current owners only (as the chain does); the executor's yes is implied at execution.
    """

    sequence_number: int
    payload: bytes | None
    payload_hash: bytes
    call: DecodedCall | None
    decode_error: str | None
    creator: str
    created_at_s: int
    expires_at_s: int
    votes: Mapping[str, bool]
    approvals: int
    rejections: int
    threshold: int
    is_head: bool
    state: ProposalState

    @property
    def hash_only(self) -> bool:
        return self.payload is None

    @property
    def payload_hash_hex(self) -> str:
        return "0x" + self.payload_hash.hex()


@dataclass(frozen=True)
class QueueView:
    """The pending proposals in order. Only the head can execute or be cleared, so a head that is
    not executable blocks every proposal behind it."""

    last_resolved: int
    next_sequence_number: int
    proposals: tuple[Proposal, ...]
    now_s: int

    @property
    def head(self) -> Proposal | None:
        return self.proposals[0] if self.proposals else None

    @property
    def blocked_by(self) -> Proposal | None:
        """The head when it cannot run (pending, rejected or expired) and others wait behind it."""
        head = self.head
        if head is None or head.state is ProposalState.EXECUTABLE or len(self.proposals) < 2:
            return None
        return head


@dataclass(frozen=True)
class Proposed:
    """A proposal the chain accepted: its number and the payload hash approvers must see."""

    sequence_number: int
    payload_hash: bytes
    tx_hash: str

    @property
    def payload_hash_hex(self) -> str:
        return "0x" + self.payload_hash.hex()


@dataclass(frozen=True)
class Voted:
    sequence_number: int
    approved: bool
    tx_hash: str


@dataclass(frozen=True)
class Cleared:
    """A head removed without running (rejected or timed out): ExecuteRejectedTransaction."""

    sequence_number: int
    num_rejections: int
    tx_hash: str


@dataclass(frozen=True)
class ExecutionOutcome:
    """What executing a proposal did, read from its events (the transaction's own status is
    Success either way). ``abort`` names a Move abort of the inner call; ``events`` are the inner
    call's own events (the multisig module's are left out)."""

    sequence_number: int
    tx_hash: str
    succeeded: bool
    num_approvals: int
    executor: str
    error_type: str | None = None
    abort_location: str | None = None
    error_code: int | None = None
    abort: AbortInfo | None = None
    events: tuple[tuple[str, dict[str, Any]], ...] = field(default=())

    def describe(self) -> str:
        if self.succeeded:
            return f"proposal {self.sequence_number} executed ({self.num_approvals} approvals)"
        if self.abort is not None:
            reason = self.abort.render()
        elif self.error_type == "VMError":
            reason = f"the VM refused the call (status {self.error_code})"
        else:
            reason = f"{self.error_type} {self.error_code} in {self.abort_location}"
        return f"proposal {self.sequence_number} was consumed but its call failed: {reason}"


# --- the threshold policy ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdCheck:
    """``problems`` refuse a configuration; ``warnings`` are worth a second look."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def check_threshold(
    owners: Sequence[str],
    threshold: int,
    *,
    bot: str,
    account: str,
    timeout_s: int,
    humans_required: int = TWO_PERSON_HUMANS,
) -> ThresholdCheck:
    """Whether ``threshold`` of ``owners`` keeps the two-person rule with the bot as an owner.

    The bot proposes (the creator's yes is automatic) and executes (the executor's yes is implied),
    but both are the same owner, so it brings one yes: ``threshold`` must be at least one more than
    the humans the policy asks for, else the bot and one human pass alone.
    """
    problems: list[str] = []
    warnings: list[str] = []
    normalized: list[str] = []
    for owner in owners:
        try:
            normalized.append(normalize_address(owner))
        except ValueError:
            problems.append(f"{owner!r} is not an account address")
    if len(set(normalized)) != len(normalized):
        problems.append("an owner is listed twice")
    bot_address = normalize_address(bot)
    if normalize_address(account) in normalized:
        problems.append("the account itself cannot be one of its owners")
    if bot_address not in normalized:
        problems.append(f"the bot's address {bot_address} must be one of the owners")
    needed = humans_required + 1
    if threshold < needed:
        problems.append(
            f"a threshold of {threshold} lets the bot and {max(threshold - 1, 0)} human(s) pass; "
            f"the policy asks for {humans_required} people, so it must be at least {needed} "
            "(the bot's yes as proposer and executor counts once)"
        )
    if threshold > len(normalized):
        problems.append(f"a threshold of {threshold} exceeds the {len(normalized)} owners")
    if timeout_s < MIN_TIMEOUT_S:
        problems.append(f"the timeout must be at least {MIN_TIMEOUT_S} s (the chain's minimum)")
    humans = len([o for o in normalized if o != bot_address])
    if not problems and humans == threshold - 1:
        warnings.append(
            f"every one of the {humans} humans must approve each proposal: "
            "one lost key stops the account until the owners change"
        )
    return ThresholdCheck(tuple(problems), tuple(warnings))


def convert_to_multisig(
    client: ChainClient,
    package_signer: Signer,
    owners: Sequence[str],
    threshold: int,
    *,
    timeout_s: int,
    wait_timeout_s: float = 30.0,
    chain_now_s: int | None = None,
) -> TransactionInfo:
    """Convert the signer's account in place into a multisig account and revoke its key.

    The account sends the conversion itself, so the proof signs its current sequence number (the
    chain checks it at execution). Afterwards its authentication key is zero: the key can sign
    nothing, and only proposals approved by ``threshold`` owners act as the account.

    Raises:
        ChainAbortError: the chain refused the proof or the owners (by name, nothing changed).
        ChainError: the node failed; read the account's key to see whether it was converted.
    """
    sequence_number = client.account(package_signer.address).sequence_number
    proof = sign_conversion(
        package_signer,
        chain_id=client.expected_chain_id,
        sequence_number=sequence_number,
        owners=owners,
        num_signatures_required=threshold,
    )
    call = conversion_call(package_signer.address, owners, threshold, proof, timeout_s=timeout_s)
    return client.submit_entry(
        package_signer,
        call.function,
        [(a.type, a.python()) for a in call.args],
        wait_timeout_s=wait_timeout_s,
        chain_now_s=chain_now_s,
    )


# --- events ------------------------------------------------------------------------------------


def _is_multisig_event(event: EventRecord, name: str) -> bool:
    """A ``0x1::multisig_account::<name>`` module event (whatever form the address is printed in)."""
    address, _, rest = event.type.partition("::")
    if rest != f"multisig_account::{name}":
        return False
    try:
        return normalize_address(address) == normalize_address("0x1")
    except ValueError:
        return False


def _find_event(
    events: Iterable[EventRecord], names: Sequence[str], account: str
) -> tuple[str, dict[str, Any]] | None:
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        for name in names:
            if _is_multisig_event(event, name) and _same(data.get("multisig_account"), account):
                return name, data
    return None


def _same(address: Any, account: str) -> bool:
    try:
        return isinstance(address, str) and normalize_address(address) == account
    except ValueError:
        return False


def _outcome(
    name: str, data: dict[str, Any], tx_hash: str, inner: tuple[tuple[str, dict[str, Any]], ...]
) -> ExecutionOutcome:
    n = movetypes.as_int(data.get("sequence_number"), 0)
    approvals = movetypes.as_int(data.get("num_approvals"), 0)
    executor = str(data.get("executor", ""))
    if name == _SUCCEEDED:
        return ExecutionOutcome(n, tx_hash, True, approvals, executor, events=inner)
    raw_error = data.get("execution_error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    error_type = str(error.get("error_type", ""))
    location = str(error.get("abort_location", ""))
    code = movetypes.as_int(error.get("error_code"), 0)
    abort = None
    if error_type == "MoveAbort":
        # ModuleId's Display: "<64 hex>::module", which describe() reads like "0x…::module".
        module = location if location.startswith("0x") else f"0x{location}"
        abort = describe(module, code)
    return ExecutionOutcome(
        n,
        tx_hash,
        False,
        approvals,
        executor,
        error_type=error_type,
        abort_location=location,
        error_code=code,
        abort=abort,
        events=inner,
    )


# --- the gateway ------------------------------------------------------------------------------


class MultisigGateway:
    """One multisig account (the converted package account) seen through one ``ChainClient``.

    ``signer`` is whoever acts through this gateway: the bot (propose, execute, clear), or a person
    (approve, reject); ``approve``/``reject`` also take another signer. Without one the gateway
    only reads (show a proposal, the queue) and refuses to act. Calls named
    ``module::function`` are taken at ``package_address`` (by default the account itself).

    Guarantees: every read comes from the chain (views, and events for outcomes), so what the bot
    believes never decides a vote; an execution or a clearing names the proposal it means and is
    refused unless that proposal is the head, and an execution carries its call inline, so a retry
    after an unknown outcome cannot run the next proposal instead (the chain consumes a proposal
    once, refuses a payload that is not the head's, and commits one transaction per sequence
    number); a vote is refused before signing if the hash differs from the one expected.
    """

    def __init__(
        self,
        client: ChainClient,
        account: str,
        signer: Signer | None = None,
        *,
        package_address: str | None = None,
        clock_s: Callable[[], int] | None = None,
        wait_timeout_s: float = 30.0,
    ) -> None:
        self.client = client
        self.account = normalize_address(account)
        self._signer = signer
        self.package_address = normalize_address(package_address or account)
        self._clock_s = clock_s
        self._wait_timeout_s = wait_timeout_s
        self._abis: dict[tuple[str, str], dict[str, Any] | None] = {}

    @property
    def signer(self) -> Signer:
        """The acting account's signer; a read-only gateway has none and refuses to act."""
        if self._signer is None:
            raise MultisigError("This gateway only reads: it has no key to sign with.")
        return self._signer

    # --- reads ---------------------------------------------------------------------------------

    def _view(self, name: str, *args: tuple[str, Any]) -> list[Any]:
        return self.client.view(f"{MULTISIG_MODULE}::{name}", list(args))

    def now_s(self) -> int:
        """The chain's clock (the latest block), which decides timeouts."""
        if self._clock_s is not None:
            return self._clock_s()
        return self.client.latest_block().timestamp.seconds

    def is_multisig(self) -> bool:
        """Whether the account is a multisig account yet (its authentication key is then zero)."""
        return self.client.account(self.account).authentication_key == _ZERO_AUTH_KEY

    def settings(self) -> MultisigSettings:
        """Owners, threshold and timeout as the chain holds them now."""
        address = ("address", self.account)
        [owners] = self._view("owners", address)
        [threshold] = self._view("num_signatures_required", address)
        [timeout] = self._view("timeout_duration", address)
        return MultisigSettings(
            tuple(normalize_address(o) for o in owners),
            movetypes.as_int(threshold),
            movetypes.as_int(timeout),
        )

    def _bounds(self) -> tuple[int, int]:
        address = ("address", self.account)
        [last] = self._view("last_resolved_sequence_number", address)
        [next_n] = self._view("next_sequence_number", address)
        return movetypes.as_int(last), movetypes.as_int(next_n)

    def _abi_params(self, entry: EntryFunction) -> list[str] | None:
        """The parameter types of the entry function (signers dropped), from the module's ABI."""
        address = normalize_address(str(entry.module.address))
        key = (address, entry.module.name)
        if key not in self._abis:
            try:
                self._abis[key] = self.client.module_abi(address, entry.module.name)
            except ChainResponseError:
                self._abis[key] = None
        abi = self._abis[key]
        functions = abi.get("exposed_functions", []) if abi else []
        for function in functions:
            if isinstance(function, dict) and function.get("name") == entry.function:
                params = [str(p) for p in function.get("params", [])]
                return [p for p in params if p not in ("signer", "&signer")]
        return None

    def decode(self, payload: bytes) -> DecodedCall:
        """The call a proposal payload runs, its arguments typed by the module's ABI on chain.

        Raises:
            PayloadDecodeError: the bytes are not a MultisigTransactionPayload.
        """
        entry = decode_proposal_payload(payload)
        address = normalize_address(str(entry.module.address))
        function_id = f"{address}::{entry.module.name}::{entry.function}"
        params = self._abi_params(entry)
        if params is None or len(params) != len(entry.args) or entry.ty_args:
            args = tuple(DecodedArg(raw) for raw in entry.args)
            return DecodedCall(function_id, args, typed=False)
        decoded: list[DecodedArg] = []
        for type_str, raw in zip(params, entry.args, strict=True):
            try:
                decoded.append(DecodedArg(raw, type_str, movetypes.decode_bcs(type_str, raw)))
            except movetypes.MoveTypeError:
                decoded.append(DecodedArg(raw))
        typed = all(arg.type is not None for arg in decoded)
        return DecodedCall(function_id, tuple(decoded), typed=typed)

    def _proposal_from(
        self,
        n: int,
        raw: Mapping[str, Any],
        settings: MultisigSettings,
        last_resolved: int,
        now_s: int,
    ) -> Proposal:
        stored = _option_bytes(raw.get("payload"))
        stored_hash = _option_bytes(raw.get("payload_hash"))
        digest = payload_hash(stored) if stored is not None else (stored_hash or b"")
        call: DecodedCall | None = None
        error: str | None = None
        if stored is not None:
            try:
                call = self.decode(stored)
            except PayloadDecodeError as exc:
                error = str(exc)
        votes = {
            normalize_address(str(item["key"])): bool(item["value"])
            for item in (raw.get("votes") or {}).get("data", [])
        }
        approvals = sum(1 for o in settings.owners if votes.get(o) is True)
        rejections = sum(1 for o in settings.owners if votes.get(o) is False)
        created = movetypes.as_int(raw.get("creation_time_secs"), 0)
        expires = created + settings.timeout_s
        is_head = n == last_resolved + 1
        if now_s - created > settings.timeout_s:
            state = ProposalState.EXPIRED
        elif is_head and rejections >= settings.threshold:
            state = ProposalState.REJECTED
        elif is_head and approvals >= settings.threshold:
            state = ProposalState.EXECUTABLE
        else:
            state = ProposalState.PENDING
        return Proposal(
            sequence_number=n,
            payload=stored,
            payload_hash=digest,
            call=call,
            decode_error=error,
            creator=normalize_address(str(raw.get("creator", "0x0"))),
            created_at_s=created,
            expires_at_s=expires,
            votes=votes,
            approvals=approvals,
            rejections=rejections,
            threshold=settings.threshold,
            is_head=is_head,
            state=state,
        )

    def proposal(self, n: int) -> Proposal:
        """Proposal ``n`` as the chain holds it now.

        Raises:
            ProposalNotFoundError: never created, or already executed or cleared.
        """
        [raw] = self._view_on(n, "get_transaction", ("address", self.account))
        last_resolved, _ = self._bounds()
        return self._proposal_from(n, raw, self.settings(), last_resolved, self.now_s())

    def _view_on(self, n: int, name: str, *args: tuple[str, Any]) -> list[Any]:
        """A view about proposal ``n`` (its number is the last argument); the chain's aborts for an
        unknown or resolved number become ``ProposalNotFoundError`` saying which."""
        try:
            return self._view(name, *args, ("u64", n))
        except ChainAbortError as exc:
            if exc.code in (_INVALID_SEQUENCE_NUMBER, _TABLE_NOT_FOUND):
                raise self._not_found(n) from exc
            raise

    def _not_found(self, n: int) -> ProposalNotFoundError:
        last_resolved, next_n = self._bounds()
        if 0 < n <= last_resolved:
            why = "was already resolved (executed, or cleared without running)"
        else:
            why = f"does not exist (the last proposal is {next_n - 1})"
        return ProposalNotFoundError(n, f"Proposal {n} {why}.")

    def queue(self) -> QueueView:
        """Every pending proposal in execution order, and what blocks the queue."""
        [raws] = self._view("get_pending_transactions", ("address", self.account))
        last_resolved, next_n = self._bounds()
        settings = self.settings()
        now_s = self.now_s()
        proposals = tuple(
            self._proposal_from(last_resolved + 1 + i, raw, settings, last_resolved, now_s)
            for i, raw in enumerate(raws)
        )
        return QueueView(last_resolved, next_n, proposals, now_s)

    def can_execute(self, n: int, executor: str | None = None) -> bool:
        """The chain's ``can_execute``: ``n`` is the head, live, and has enough approvals counting
        the executor's implied yes (the bot's by default).

        Raises:
            ProposalNotFoundError: ``n`` was never created or is already resolved.
        """
        owner = normalize_address(executor or self.signer.address)
        [result] = self._view_on(n, "can_execute", ("address", owner), ("address", self.account))
        return bool(result)

    # --- proposing -----------------------------------------------------------------------------

    def entry_function(self, call: ChainCall) -> EntryFunction:
        return build_entry_function(
            call.function_id(self.package_address), [(a.type, a.python()) for a in call.args]
        )

    def simulate(self, call: ChainCall) -> TransactionInfo:
        """Run ``call`` as the account would, changing nothing: a simulated Multisig transaction
        with the payload inline (simulation skips the multisig checks).

        Raises:
            ChainAbortError: the call would abort (by name).
        """
        return self.client.simulate_payload(
            self.signer,
            MultisigPayload(self.account, self.entry_function(call)),
            label=call.function_id(self.package_address),
            chain_now_s=self.now_s(),
        )

    def propose(
        self, call: ChainCall, *, hash_only: bool = False, simulate: bool = True
    ) -> Proposed:
        """Propose ``call`` (simulated first unless ``simulate`` is false); the proposer's yes is
        recorded by the chain. ``hash_only`` stores only the payload hash: approvers then cannot read
        the call from the chain, and the executor must send it again.

        Raises:
            ChainAbortError: the simulation aborted (nothing proposed), or the chain refused the
                proposal (not an owner, 20 already pending...).
        """
        entry = self.entry_function(call)
        payload = proposal_payload(entry)
        digest = payload_hash(payload)
        if simulate:
            self.simulate(call)
        create = (
            create_transaction_with_hash_call(self.account, digest)
            if hash_only
            else create_transaction_call(self.account, payload)
        )
        info = self._send(create, self.signer)
        found = _find_event(info.events, (_CREATED,), self.account)
        if found is None:
            raise ChainResponseError(
                f"Transaction {info.hash} proposed {call.function} but emitted no CreateTransaction."
            )
        n = movetypes.as_int(found[1].get("sequence_number"), 0)
        logger.info("proposed %s as multisig proposal %d", call.function, n)
        return Proposed(n, digest, info.hash)

    def _send(self, call: ChainCall, signer: Signer) -> TransactionInfo:
        return self.client.submit_entry(
            signer,
            call.function,
            [(a.type, a.python()) for a in call.args],
            wait_timeout_s=self._wait_timeout_s,
            chain_now_s=self.now_s(),
        )

    # --- voting --------------------------------------------------------------------------------

    def _vote(
        self, n: int, approve: bool, signer: Signer | None, expect_hash: bytes | None
    ) -> Voted:
        voter = signer if signer is not None else self.signer
        proposal = self.proposal(n)
        if expect_hash is not None and expect_hash != proposal.payload_hash:
            raise HashMismatchError(
                f"Proposal {n}'s payload hash is {proposal.payload_hash_hex}, not the expected "
                f"0x{expect_hash.hex()}: nothing was signed."
            )
        if normalize_address(voter.address) not in self.settings().owners:
            raise NotAnOwnerError(
                f"{voter.address} is not an owner of {self.account}: nothing was signed."
            )
        call = approve_call(self.account, n) if approve else reject_call(self.account, n)
        info = self._send(call, voter)
        return Voted(n, approve, info.hash)

    def approve(
        self, n: int, *, signer: Signer | None = None, expect_hash: bytes | None = None
    ) -> Voted:
        """Vote yes on proposal ``n`` with ``signer``'s own key (a re-vote overwrites a no).

        Raises:
            ProposalNotFoundError, HashMismatchError, NotAnOwnerError: refused before signing.
        """
        return self._vote(n, True, signer, expect_hash)

    def reject(
        self, n: int, *, signer: Signer | None = None, expect_hash: bytes | None = None
    ) -> Voted:
        """Vote no on proposal ``n``; with k rejections the head can be cleared."""
        return self._vote(n, False, signer, expect_hash)

    # --- executing and clearing ----------------------------------------------------------------

    def _require_head(self, n: int, action: str) -> None:
        last_resolved, next_n = self._bounds()
        if n <= last_resolved:
            raise ProposalNotFoundError(
                n, f"Proposal {n} was already resolved; nothing was sent to {action} it."
            )
        if n >= next_n:
            raise ProposalNotFoundError(n, f"Proposal {n} does not exist; nothing was sent.")
        if n != last_resolved + 1:
            raise NotQueueHeadError(
                f"Proposal {n} is not at the head of the queue: {last_resolved + 1} is, and the "
                f"chain would {action} that one instead. Nothing was sent."
            )

    def execute_head(
        self,
        expected: int,
        *,
        call: ChainCall | None = None,
        before_send: Callable[[int, int], None] | None = None,
    ) -> ExecutionOutcome:
        """Execute proposal ``expected``, which must be the head, and return what the chain says
        happened to it. A hash-only proposal needs its ``call`` (checked against the hash first).
        ``before_send`` sees the executor's sequence number and expiration just before the signed
        transaction leaves (``ChainClient.submit_payload``); raising there sends nothing.

        The call is always sent inline. A Multisig transaction names no proposal and the chain runs
        whatever is at the head when it lands; with the payload inline the chain refuses it (a discard)
        if another owner executed or cleared ``expected`` in the meantime and the new head is another
        call (payload check, flag 70; the hash check for a hash-only head).

        The transaction succeeds even when the inner call aborts: the proposal is consumed either way
        and the outcome comes from TransactionExecutionSucceeded/Failed, never from the status.

        Raises:
            ProposalNotFoundError, NotQueueHeadError, HashMismatchError, MultisigError: refused
                before sending (already resolved, not the head, not executable...).
            TransactionRejectedError: the chain's multisig prologue refused it (discarded).
            ChainError: the node failed; call ``outcome_of`` or retry ``execute_head`` (safe: a
                consumed proposal is no longer the head, so the retry is refused).
        """
        self._require_head(expected, "execute")
        proposal = self.proposal(expected)
        entry: EntryFunction | None = None
        if proposal.payload is not None:
            entry = _stored_entry(expected, proposal.payload)
        elif proposal.hash_only:
            if call is None:
                raise MultisigError(
                    f"Proposal {expected} stores only a hash: give the call to send with it."
                )
            entry = self.entry_function(call)
            if payload_hash(proposal_payload(entry)) != proposal.payload_hash:
                raise HashMismatchError(
                    f"The call given does not hash to proposal {expected}'s "
                    f"{proposal.payload_hash_hex}: nothing was sent."
                )
        if not self.can_execute(expected):
            raise MultisigError(self._why_not_executable(proposal))
        info = self.client.submit_payload(
            self.signer,
            MultisigPayload(self.account, entry),
            label=f"{MULTISIG_MODULE} proposal {expected}",
            simulate_first=False,  # a simulation runs no multisig check and needs the payload
            wait_timeout_s=self._wait_timeout_s,
            chain_now_s=self.now_s(),
            before_send=before_send,
        )
        outcome = self._outcome_in(info)
        if outcome is None:
            raise ChainResponseError(
                f"Transaction {info.hash} executed proposal {expected} but emitted no outcome event."
            )
        if outcome.sequence_number != expected:  # the same call proposed twice, raced
            logger.warning(
                "meant to execute proposal %d, the chain executed %d (the same call)",
                expected,
                outcome.sequence_number,
            )
        logger.info("%s", outcome.describe())
        return outcome

    def _why_not_executable(self, proposal: Proposal) -> str:
        n = proposal.sequence_number
        if proposal.state is ProposalState.EXPIRED:
            return (
                f"Proposal {n} timed out at {proposal.expires_at_s} and can never execute; "
                "clear it (execute_rejected_transaction) to unblock the queue."
            )
        executor_yes = 0 if proposal.votes.get(normalize_address(self.signer.address)) else 1
        return (
            f"Proposal {n} has {proposal.approvals} of {proposal.threshold} approvals "
            f"({proposal.approvals + executor_yes} counting the executor's): nothing was sent."
        )

    def _outcome_in(self, info: TransactionInfo) -> ExecutionOutcome | None:
        found = _find_event(info.events, (_SUCCEEDED, _FAILED), self.account)
        if found is None:
            return None
        inner = tuple(
            (event.type, dict(event.data or {}))
            for event in info.events
            if "::multisig_account::" not in event.type
        )
        return _outcome(found[0], found[1], info.hash, inner)

    def clear_rejected(self, expected: int) -> Cleared:
        """Remove proposal ``expected`` (the head) without running it: rejected by k owners, or
        timed out. The caller's own rejection is implied by the chain.

        Raises:
            ProposalNotFoundError, NotQueueHeadError, MultisigError: refused before sending.
        """
        self._require_head(expected, "clear")
        [clearable] = self._view_on(
            expected,
            "can_reject",
            ("address", normalize_address(self.signer.address)),
            ("address", self.account),
        )
        if not clearable:
            proposal = self.proposal(expected)
            raise MultisigError(
                f"Proposal {expected} is live until {proposal.expires_at_s} and has "
                f"{proposal.rejections} of {proposal.threshold} rejections: it cannot be cleared yet."
            )
        info = self._send(execute_rejected_call(self.account), self.signer)
        found = _find_event(info.events, (_CLEARED,), self.account)
        if found is None:
            raise ChainResponseError(
                f"Transaction {info.hash} emitted no ExecuteRejectedTransaction."
            )
        return Cleared(
            movetypes.as_int(found[1].get("sequence_number"), 0),
            movetypes.as_int(found[1].get("num_rejections"), 0),
            info.hash,
        )

    # --- reconciliation ------------------------------------------------------------------------

    def outcome_of(
        self, n: int, *, start_height: int = 0, page_limit: int = 100
    ) -> ExecutionOutcome | Cleared | None:
        """How proposal ``n`` was resolved, from the chain's events since ``start_height``: executed
        (succeeded or failed), cleared, or None if it is still pending (or the events were pruned)."""
        for name in (_SUCCEEDED, _FAILED, _CLEARED):
            cursor: str | None = None
            while True:
                page = self.client.events(
                    f"{MULTISIG_MODULE}::{name}",
                    start_height=start_height,
                    limit=page_limit,
                    cursor=cursor,
                )
                for event in page.events:
                    data = event.data if isinstance(event.data, dict) else {}
                    if not _same(data.get("multisig_account"), self.account):
                        continue
                    if movetypes.as_int(data.get("sequence_number"), 0) != n:
                        continue
                    tx_hash = event.transaction_hash or ""
                    if name == _CLEARED:
                        return Cleared(n, movetypes.as_int(data.get("num_rejections"), 0), tx_hash)
                    return _outcome(name, data, tx_hash, ())
                if page.next_cursor is None or not page.events:
                    break
                cursor = page.next_cursor
        return None


def _stored_entry(n: int, payload: bytes) -> EntryFunction:
    """Proposal ``n``'s stored payload as the entry function to send inline; it must re-encode to the
    very bytes stored (else the chain would see a different payload)."""
    try:
        entry = decode_proposal_payload(payload)
    except PayloadDecodeError as exc:
        raise MultisigError(
            f"Proposal {n}'s payload is not a call ({exc}): it can never run. Reject it and clear "
            "it; nothing was sent."
        ) from exc
    if proposal_payload(entry) != payload:
        raise MultisigError(
            f"Proposal {n}'s payload does not re-encode to the bytes stored; nothing was sent."
        )
    return entry


def _option_bytes(value: Any) -> bytes | None:
    """``Option<vector<u8>>`` in chain JSON (``{"vec": ["0x…"]}``) as bytes or None."""
    if not isinstance(value, dict):
        return None
    items = value.get("vec") or []
    if not items:
        return None
    text = str(items[0])
    return bytes.fromhex(text.removeprefix("0x"))
