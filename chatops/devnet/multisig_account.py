"""Emulates supra_framework's ``0x1::multisig_account`` (Supra's fork, with timeouts): the resource, its
entry functions, views, aborts and events, and the hooks the VM calls around a Multisig transaction.

Read from aptos-core@dev ``multisig_account.move`` (shared/reference/multisig_account.md): the same
checks in the same order, so the same call aborts with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from chatops.chain.multisig_bcs import (
    MAX_PENDING_PROPOSALS,
    MIN_TIMEOUT_S,
    conversion_message,
)
from chatops.devnet.framework import (
    FRAMEWORK_ADDRESS,
    ZERO_AUTH_KEY,
    Call,
    ChainContext,
    FunctionSpec,
    MissingDataError,
    MoveAbortError,
    Specs,
    World,
    addr,
    hexb,
    opt,
    sha3,
    u64,
)

__all__ = [
    "ABORT_IF_MULTISIG_PAYLOAD_MISMATCH",
    "DEFAULT_FEATURES",
    "MODULE_EVENT_MIGRATION",
    "MULTISIG_ACCOUNTS",
    "MULTISIG_V2_ENHANCEMENT",
    "RESOURCE",
    "SPECS",
    "MultisigAccount",
    "MultisigTransaction",
    "failed_execution_cleanup",
    "multisig_account_of",
    "next_transaction_payload",
    "specs",
    "successful_execution_cleanup",
    "validate_multisig_transaction",
]

MODULE = "multisig_account"
SPECS = Specs(MODULE, address=FRAMEWORK_ADDRESS)
RESOURCE = "0x1::multisig_account::MultisigAccount"
_EVENT = "0x1::multisig_account::"

# On-chain feature flags the module reads (aptos_features.rs); the devnet turns them all on.
MULTISIG_ACCOUNTS = 10
MULTISIG_V2_ENHANCEMENT = 55
MODULE_EVENT_MIGRATION = 57
ABORT_IF_MULTISIG_PAYLOAD_MISMATCH = 70
DEFAULT_FEATURES = frozenset(
    {
        MULTISIG_ACCOUNTS,
        MULTISIG_V2_ENHANCEMENT,
        MODULE_EVENT_MIGRATION,
        ABORT_IF_MULTISIG_PAYLOAD_MISMATCH,
    }
)

# std::error categories: a code is (category << 16) | reason.
_INVALID_ARGUMENT = 0x1
_INVALID_STATE = 0x3
_PERMISSION_DENIED = 0x5
_NOT_FOUND = 0x6
_UNAVAILABLE = 0xD

# reason -> (category, name, the module's doc comment): the node prints NAME(0xCODE): comment.
_ERRORS: dict[int, tuple[int, str, str]] = {
    1: (_INVALID_ARGUMENT, "EDUPLICATE_OWNER", "Owner list cannot contain the same address more than once."),
    2002: (_INVALID_STATE, "EACCOUNT_NOT_MULTISIG", "Specified account is not a multisig account."),
    2003: (_PERMISSION_DENIED, "ENOT_OWNER", "Account executing this operation is not an owner of the multisig account."),
    4: (_INVALID_ARGUMENT, "EPAYLOAD_CANNOT_BE_EMPTY", "Transaction payload cannot be empty."),
    5: (_INVALID_STATE, "ENOT_ENOUGH_OWNERS", "Multisig account must have at least one owner."),
    2006: (_NOT_FOUND, "ETRANSACTION_NOT_FOUND", "Transaction with specified id cannot be found."),
    2008: (_INVALID_ARGUMENT, "EPAYLOAD_DOES_NOT_MATCH_HASH", "Provided target function does not match the hash stored in the on-chain transaction."),
    2009: (_INVALID_ARGUMENT, "ENOT_ENOUGH_APPROVALS", "Transaction has not received enough approvals to be executed."),
    2010: (_INVALID_ARGUMENT, "EPAYLOAD_DOES_NOT_MATCH", "Provided target function does not match the payload stored in the on-chain transaction."),
    10: (_INVALID_STATE, "ENOT_ENOUGH_REJECTIONS", "Transaction has not received enough rejections to be officially rejected."),
    11: (_INVALID_ARGUMENT, "EINVALID_SIGNATURES_REQUIRED", "Number of signatures required must be more than zero and at most the total number of owners."),
    12: (_INVALID_ARGUMENT, "EINVALID_PAYLOAD_HASH", "Payload hash must be exactly 32 bytes (sha3-256)."),
    13: (_INVALID_ARGUMENT, "EOWNER_CANNOT_BE_MULTISIG_ACCOUNT_ITSELF", "The multisig account itself cannot be an owner."),
    14: (_UNAVAILABLE, "EMULTISIG_ACCOUNTS_NOT_ENABLED_YET", "Multisig accounts has not been enabled on this current network yet."),
    15: (_INVALID_ARGUMENT, "ENUMBER_OF_METADATA_KEYS_AND_VALUES_DONT_MATCH", "The number of metadata keys and values don't match."),
    16: (_INVALID_ARGUMENT, "EDUPLICATE_METADATA_KEY", "The specified metadata contains duplicate attributes (keys)."),
    17: (_INVALID_ARGUMENT, "EINVALID_SEQUENCE_NUMBER", "The sequence number provided is invalid. It must be between [1, next pending transaction - 1]."),
    18: (_INVALID_ARGUMENT, "EOWNERS_TO_REMOVE_NEW_OWNERS_OVERLAP", "Provided owners to remove and new owners overlap."),
    19: (_INVALID_STATE, "EMAX_PENDING_TRANSACTIONS_EXCEEDED", "The number of pending transactions has exceeded the maximum allowed."),
    20: (_INVALID_STATE, "EMULTISIG_V2_ENHANCEMENT_NOT_ENABLED", "The multisig v2 enhancement feature is not enabled."),
    21: (_INVALID_ARGUMENT, "ETRANSACTION_TIMED_OUT", "The transaction has timed out and cannot be executed."),
    22: (_INVALID_ARGUMENT, "EINVALID_TIMEOUT_DURATION", "Timeout duration must be at least 300 seconds."),
}  # fmt: skip

# 0x1::account and 0x1::ed25519 aborts met while verifying the conversion proof.
_ACCOUNT_ERRORS: dict[int, tuple[str, str]] = {
    7: ("EWRONG_CURRENT_PUBLIC_KEY", "Specified current public key is not correct"),
    8: ("EINVALID_PROOF_OF_KNOWLEDGE", "Specified proof of knowledge required to prove ownership of a public key is invalid"),
    12: ("EINVALID_SCHEME", "Specified scheme required to proceed with the smart contract operation - can only be ED25519_SCHEME(0) OR MULTI_ED25519_SCHEME(1)"),
}  # fmt: skip
_ED25519_ERRORS: dict[int, tuple[str, str]] = {
    1: ("E_WRONG_PUBKEY_SIZE", "Wrong number of bytes were given as input when deserializing an Ed25519 public key."),
    2: ("E_WRONG_SIGNATURE_SIZE", "Wrong number of bytes were given as input when deserializing an Ed25519 signature."),
}  # fmt: skip
_ED25519_SCHEME = 0
_MULTI_ED25519_SCHEME = 1
_TABLE_NOT_FOUND = 0x6507


def _abort(reason: int) -> MoveAbortError:
    category, name, description = _ERRORS[reason]
    return MoveAbortError(
        MODULE, (category << 16) | reason, FRAMEWORK_ADDRESS, name=name, description=description
    )


def _abort_in(module: str, reason: int, table: dict[int, tuple[str, str]]) -> MoveAbortError:
    name, description = table[reason]
    code = (_INVALID_ARGUMENT << 16) | reason
    return MoveAbortError(module, code, FRAMEWORK_ADDRESS, name=name, description=description)


def _table_not_found() -> MoveAbortError:
    return MoveAbortError("table", _TABLE_NOT_FOUND, FRAMEWORK_ADDRESS)


# --- state -------------------------------------------------------------------------------------


@dataclass
class MultisigTransaction:
    """A pending proposal: exactly one of ``payload`` and ``payload_hash`` is set; ``votes`` keeps the
    SimpleMap's insertion order."""

    payload: bytes | None
    payload_hash: bytes | None
    votes: dict[str, bool]
    creator: str
    creation_time_secs: int

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": opt(None if self.payload is None else hexb(self.payload)),
            "payload_hash": opt(None if self.payload_hash is None else hexb(self.payload_hash)),
            "votes": {"data": [{"key": k, "value": v} for k, v in self.votes.items()]},
            "creator": self.creator,
            "creation_time_secs": u64(self.creation_time_secs),
        }


@dataclass
class MultisigAccount:
    """The ``MultisigAccount`` resource. ``transactions`` holds pending proposals only: a resolved
    one is deleted (its history lives in events)."""

    owners: list[str]
    num_signatures_required: int
    timeout_duration: int
    metadata: dict[str, bytes] = field(default_factory=dict)
    transactions: dict[int, MultisigTransaction] = field(default_factory=dict)
    last_executed_sequence_number: int = 0
    next_sequence_number: int = 1

    def tally(self, transaction: MultisigTransaction) -> tuple[int, int]:
        """(approvals, rejections), counting current owners' votes only."""
        approvals = rejections = 0
        for owner in self.owners:
            vote = transaction.votes.get(owner)
            if vote is True:
                approvals += 1
            elif vote is False:
                rejections += 1
        return approvals, rejections

    def pending(self) -> int:
        return self.next_sequence_number - self.last_executed_sequence_number - 1


def multisig_account_of(world: World, address: str) -> MultisigAccount | None:
    found = world.accounts.get(addr(address), {}).get(RESOURCE)
    return found if isinstance(found, MultisigAccount) else None


def _existing(world: World, address: str) -> MultisigAccount:
    """``assert_multisig_account_exists`` then the borrow (entry functions abort with 2002)."""
    account = multisig_account_of(world, address)
    if account is None:
        raise _abort(2002)
    return account


def _borrow(world: World, address: str) -> MultisigAccount:
    """``borrow_global`` without the assert (views): a missing resource is MISSING_DATA."""
    account = multisig_account_of(world, address)
    if account is None:
        raise MissingDataError(RESOURCE)
    return account


def _assert_owner(account: MultisigAccount, owner: str) -> None:
    if addr(owner) not in account.owners:
        raise _abort(2003)


def _context(call: Call) -> ChainContext:
    if call.chain is None:
        raise RuntimeError("0x1::multisig_account needs the chain's context")
    return call.chain


def _enabled(call: Call, flag: int) -> bool:
    return flag in _context(call).features


def _emit(
    call: Call, multisig: str, name: str, fields: dict[str, Any], *, module_event: bool = True
) -> None:
    """Both styles, as the module does under flag 57: the ``#[event]`` struct (with the account) and
    the legacy handle event ``<Name>Event`` on the account's handle (without it)."""
    if module_event and _enabled(call, MODULE_EVENT_MIGRATION):
        call.emit(f"{_EVENT}{name}", {"multisig_account": multisig, **fields}, module_event=True)
    call.emit(f"{_EVENT}{name}Event", dict(fields), handle_account=multisig)


# --- creation ----------------------------------------------------------------------------------


def _validate_owners(owners: list[str], multisig: str) -> None:
    seen: set[str] = set()
    for owner in owners:
        if owner == multisig:
            raise _abort(13)
        if owner in seen:
            raise _abort(1)
        seen.add(owner)


def _metadata(keys: list[str], values: list[bytes]) -> dict[str, bytes]:
    if len(keys) != len(values):
        raise _abort(15)
    metadata: dict[str, bytes] = {}
    for key, value in zip(keys, values, strict=True):
        if key in metadata:
            raise _abort(16)
        metadata[key] = value
    return metadata


def _verify_signed_message(
    call: Call, account: str, scheme: int, public_key: bytes, signature: bytes, message: bytes
) -> None:
    """``account::verify_signed_message``: the key must be the account's current one, and the
    signature strict Ed25519 over the BCS message (no salt)."""
    state = _context(call).account(account)
    if state is None:
        raise MissingDataError("0x1::account::Account")
    if scheme == _ED25519_SCHEME:
        if len(public_key) != 32:
            raise _abort_in("ed25519", 1, _ED25519_ERRORS)
        if "0x" + sha3(public_key + b"\x00").hex() != state.authentication_key:
            raise _abort_in("account", 7, _ACCOUNT_ERRORS)
        if len(signature) != 64:
            raise _abort_in("ed25519", 2, _ED25519_ERRORS)
        try:
            VerifyKey(public_key).verify(message, signature)
        except (BadSignatureError, ValueError) as exc:
            raise _abort_in("account", 8, _ACCOUNT_ERRORS) from exc
    elif scheme == _MULTI_ED25519_SCHEME:
        # MultiEd25519 keys hash with scheme byte 1; the devnet verifies no MultiEd25519 signature.
        if "0x" + sha3(public_key + b"\x01").hex() != state.authentication_key:
            raise _abort_in("account", 7, _ACCOUNT_ERRORS)
        raise _abort_in("account", 8, _ACCOUNT_ERRORS)
    else:
        raise _abort_in("account", 12, _ACCOUNT_ERRORS)


@SPECS.entry(
    "create_with_existing_account_and_revoke_auth_key",
    (
        "address",
        "vector<address>",
        "u64",
        "u8",
        "vector<u8>",
        "vector<u8>",
        "vector<0x1::string::String>",
        "vector<vector<u8>>",
        "u64",
    ),
    signers=0,
)
def create_with_existing_account_and_revoke_auth_key(
    world: World,
    call: Call,
    multisig_address: str,
    owners: list[str],
    num_signatures_required: int,
    account_scheme: int,
    account_public_key: bytes,
    signed_message: bytes,
    metadata_keys: list[str],
    metadata_values: list[bytes],
    timeout_duration: int,
) -> None:
    """Convert an existing account in place; its authentication key becomes zero."""
    if timeout_duration < MIN_TIMEOUT_S:
        raise _abort(22)
    chain = _context(call)
    multisig = addr(multisig_address)
    state = chain.account(multisig)
    message = conversion_message(
        chain_id=chain.chain_id,
        account=multisig,
        sequence_number=state.sequence_number if state is not None else 0,
        owners=owners,
        num_signatures_required=num_signatures_required,
    )
    _verify_signed_message(
        call, multisig, account_scheme, account_public_key, signed_message, message
    )
    if not _enabled(call, MULTISIG_ACCOUNTS):
        raise _abort(14)
    if not 0 < num_signatures_required <= len(owners):
        raise _abort(11)
    owner_list = [addr(o) for o in owners]
    _validate_owners(owner_list, multisig)
    # A second conversion never gets here: the first revoked the key its proof needs.
    account = MultisigAccount(owner_list, num_signatures_required, timeout_duration)
    account.metadata = _metadata(metadata_keys, metadata_values)
    world.accounts.setdefault(multisig, {})[RESOURCE] = account
    call.rotate_authentication_key(multisig, ZERO_AUTH_KEY)


# --- self-administration (run with the multisig account as signer) --------------------------


def _update_owner_schema(
    call: Call,
    world: World,
    multisig: str,
    new_owners: list[str],
    to_remove: list[str],
    new_k: int | None,
) -> None:
    account = _existing(world, multisig)
    new_owners = [addr(o) for o in new_owners]
    to_remove = [addr(o) for o in to_remove]
    if any(owner in to_remove for owner in new_owners):
        raise _abort(18)
    if new_owners:
        account.owners.extend(new_owners)
        _validate_owners(account.owners, multisig)
        _emit(call, multisig, "AddOwners", {"owners_added": new_owners})
    if to_remove:
        removed: list[str] = []
        for owner in to_remove:
            if owner in account.owners:
                index = account.owners.index(owner)
                account.owners[index], account.owners[-1] = (
                    account.owners[-1],
                    account.owners[index],
                )
                removed.append(account.owners.pop())
        if removed:
            _emit(call, multisig, "RemoveOwners", {"owners_removed": removed})
    if new_k is not None:
        if new_k <= 0:
            raise _abort(11)
        old = account.num_signatures_required
        if new_k != old:
            account.num_signatures_required = new_k
            _emit(
                call,
                multisig,
                "UpdateSignaturesRequired",
                {
                    "old_num_signatures_required": u64(old),
                    "new_num_signatures_required": u64(new_k),
                },
            )
    if len(account.owners) < account.num_signatures_required:
        raise _abort(5)


@SPECS.entry("add_owner", ("address",), visibility="private")
def add_owner(world: World, call: Call, new_owner: str) -> None:
    _update_owner_schema(call, world, call.sender, [new_owner], [], None)


@SPECS.entry("add_owners", ("vector<address>",), visibility="private")
def add_owners(world: World, call: Call, new_owners: list[str]) -> None:
    _update_owner_schema(call, world, call.sender, new_owners, [], None)


@SPECS.entry(
    "add_owners_and_update_signatures_required", ("vector<address>", "u64"), visibility="private"
)
def add_owners_and_update_signatures_required(
    world: World, call: Call, new_owners: list[str], k: int
) -> None:
    _update_owner_schema(call, world, call.sender, new_owners, [], k)


@SPECS.entry("remove_owner", ("address",), visibility="private")
def remove_owner(world: World, call: Call, owner: str) -> None:
    _update_owner_schema(call, world, call.sender, [], [owner], None)


@SPECS.entry("remove_owners", ("vector<address>",), visibility="private")
def remove_owners(world: World, call: Call, owners: list[str]) -> None:
    _update_owner_schema(call, world, call.sender, [], owners, None)


@SPECS.entry("swap_owner", ("address", "address"), visibility="private")
def swap_owner(world: World, call: Call, to_swap_in: str, to_swap_out: str) -> None:
    _update_owner_schema(call, world, call.sender, [to_swap_in], [to_swap_out], None)


@SPECS.entry("swap_owners", ("vector<address>", "vector<address>"), visibility="private")
def swap_owners(world: World, call: Call, to_swap_in: list[str], to_swap_out: list[str]) -> None:
    _update_owner_schema(call, world, call.sender, to_swap_in, to_swap_out, None)


@SPECS.entry(
    "swap_owners_and_update_signatures_required",
    ("vector<address>", "vector<address>", "u64"),
    visibility="private",
)
def swap_owners_and_update_signatures_required(
    world: World, call: Call, new_owners: list[str], to_remove: list[str], k: int
) -> None:
    _update_owner_schema(call, world, call.sender, new_owners, to_remove, k)


@SPECS.entry("update_signatures_required", ("u64",), visibility="private")
def update_signatures_required(world: World, call: Call, k: int) -> None:
    _update_owner_schema(call, world, call.sender, [], [], k)


def _simple_map(metadata: dict[str, bytes]) -> dict[str, Any]:
    return {"data": [{"key": k, "value": hexb(v)} for k, v in metadata.items()]}


@SPECS.entry(
    "update_metadata", ("vector<0x1::string::String>", "vector<vector<u8>>"), visibility="private"
)
def update_metadata(world: World, call: Call, keys: list[str], values: list[bytes]) -> None:
    if len(keys) != len(values):
        raise _abort(15)
    account = _existing(world, call.sender)
    old = account.metadata
    account.metadata = _metadata(keys, values)
    _emit(
        call,
        call.sender,
        "MetadataUpdated",
        {"old_metadata": _simple_map(old), "new_metadata": _simple_map(account.metadata)},
    )


@SPECS.entry("update_timeout_duration", ("u64",), visibility="private")
def update_timeout_duration(world: World, call: Call, timeout_duration: int) -> None:
    """Supra's: re-times every pending proposal, since the live window uses the current value."""
    if timeout_duration < MIN_TIMEOUT_S:
        raise _abort(22)
    account = _existing(world, call.sender)
    old = account.timeout_duration
    account.timeout_duration = timeout_duration
    _emit(
        call,
        call.sender,
        "TimeoutDurationUpdated",
        {
            "executor": call.sender,
            "old_timeout_duration": u64(old),
            "new_timeout_duration": u64(timeout_duration),
        },
        module_event=False,  # Supra added only the handle event
    )


# --- proposals and votes -----------------------------------------------------------------------


def _add_transaction(
    call: Call, world: World, multisig: str, transaction: MultisigTransaction
) -> None:
    account = _existing(world, multisig)
    if _enabled(call, MULTISIG_V2_ENHANCEMENT) and account.pending() >= MAX_PENDING_PROPOSALS:
        raise _abort(19)
    transaction.votes[transaction.creator] = True  # the creator's yes, with no Vote event
    sequence_number = account.next_sequence_number
    account.next_sequence_number += 1
    account.transactions[sequence_number] = transaction
    _emit(
        call,
        multisig,
        "CreateTransaction",
        {
            "creator": transaction.creator,
            "sequence_number": u64(sequence_number),
            "transaction": transaction.to_json(),
        },
    )


@SPECS.entry("create_transaction", ("address", "vector<u8>"))
def create_transaction(world: World, call: Call, multisig_account: str, payload: bytes) -> None:
    """Store ``payload`` as is: the chain decodes it only at execution."""
    if not payload:
        raise _abort(4)
    multisig = addr(multisig_account)
    _assert_owner(_existing(world, multisig), call.sender)
    transaction = MultisigTransaction(payload, None, {}, call.sender, call.now_s)
    _add_transaction(call, world, multisig, transaction)


@SPECS.entry("create_transaction_with_hash", ("address", "vector<u8>"))
def create_transaction_with_hash(
    world: World, call: Call, multisig_account: str, payload_hash: bytes
) -> None:
    if len(payload_hash) != 32:
        raise _abort(12)
    multisig = addr(multisig_account)
    _assert_owner(_existing(world, multisig), call.sender)
    transaction = MultisigTransaction(None, payload_hash, {}, call.sender, call.now_s)
    _add_transaction(call, world, multisig, transaction)


def _vote(world: World, call: Call, multisig_account: str, n: int, approved: bool) -> None:
    multisig = addr(multisig_account)
    account = _existing(world, multisig)
    _assert_owner(account, call.sender)
    transaction = account.transactions.get(n)
    if transaction is None:
        raise _abort(2006)
    transaction.votes[call.sender] = approved  # a re-vote overwrites, in place
    _emit(
        call,
        multisig,
        "Vote",
        {"owner": call.sender, "sequence_number": u64(n), "approved": approved},
    )


@SPECS.entry("approve_transaction", ("address", "u64"))
def approve_transaction(world: World, call: Call, multisig_account: str, n: int) -> None:
    _vote(world, call, multisig_account, n, True)


@SPECS.entry("reject_transaction", ("address", "u64"))
def reject_transaction(world: World, call: Call, multisig_account: str, n: int) -> None:
    _vote(world, call, multisig_account, n, False)


@SPECS.entry("vote_transanction", ("address", "u64", "bool"))
def vote_transanction(
    world: World, call: Call, multisig_account: str, n: int, approved: bool
) -> None:
    """[sic]: the original name, kept by the module and not gated."""
    _vote(world, call, multisig_account, n, approved)


def _require_v2(call: Call) -> None:
    if not _enabled(call, MULTISIG_V2_ENHANCEMENT):
        raise _abort(20)


@SPECS.entry("vote_transaction", ("address", "u64", "bool"))
def vote_transaction(
    world: World, call: Call, multisig_account: str, n: int, approved: bool
) -> None:
    _require_v2(call)
    _vote(world, call, multisig_account, n, approved)


@SPECS.entry("vote_transactions", ("address", "u64", "u64", "bool"))
def vote_transactions(
    world: World, call: Call, multisig_account: str, first: int, final: int, approved: bool
) -> None:
    _require_v2(call)
    for n in range(first, final + 1):
        _vote(world, call, multisig_account, n, approved)


def _vote_of(account: MultisigAccount, n: int, owner: str) -> tuple[bool, bool]:
    """The ``vote`` view: (voted, approved); aborts outside [1, next) and for a resolved id."""
    if not 0 < n < account.next_sequence_number:
        raise _abort(17)
    transaction = account.transactions.get(n)
    if transaction is None:
        raise _table_not_found()
    vote = transaction.votes.get(addr(owner))
    return vote is not None, vote is True


def _timed_out(account: MultisigAccount, transaction: MultisigTransaction, now_s: int) -> bool:
    """Supra's live window is inclusive and uses the account's current timeout."""
    return account.timeout_duration < now_s - transaction.creation_time_secs


def _remove_head(account: MultisigAccount) -> tuple[MultisigTransaction, int, int]:
    n = account.last_executed_sequence_number + 1
    transaction = account.transactions.pop(n)
    account.last_executed_sequence_number = n
    approvals, rejections = account.tally(transaction)
    return transaction, approvals, rejections


@SPECS.entry("execute_rejected_transaction", ("address",))
def execute_rejected_transaction(world: World, call: Call, multisig_account: str) -> None:
    """Remove the queue head: rejected by k owners, or timed out. Under flag 55 the caller's
    rejection is recorded first (with its Vote event)."""
    multisig = addr(multisig_account)
    account = _existing(world, multisig)
    _assert_owner(account, call.sender)
    n = account.last_executed_sequence_number + 1
    if _enabled(call, MULTISIG_V2_ENHANCEMENT):
        voted, approved = _vote_of(account, n, call.sender)
        if not (voted and not approved):
            _vote(world, call, multisig, n, False)
    head = account.transactions.get(n)
    if head is None:
        raise _table_not_found()
    _, _, rejections = _remove_head(account)
    if not (rejections >= account.num_signatures_required or _timed_out(account, head, call.now_s)):
        raise _abort(10)
    _emit(
        call,
        multisig,
        "ExecuteRejectedTransaction",
        {
            "sequence_number": u64(n),
            "num_rejections": u64(rejections),
            "executor": call.sender,
        },
    )


@SPECS.entry("execute_rejected_transactions", ("address", "u64"))
def execute_rejected_transactions(
    world: World, call: Call, multisig_account: str, final: int
) -> None:
    _require_v2(call)
    account = _existing(world, addr(multisig_account))
    if not account.last_executed_sequence_number < final < account.next_sequence_number:
        raise _abort(17)
    while account.last_executed_sequence_number < final:
        execute_rejected_transaction(world, call, multisig_account)
        account = _existing(world, addr(multisig_account))


# --- views -------------------------------------------------------------------------------------


@SPECS.read("metadata", ("address",), returns=("0x1::simple_map::SimpleMap",), is_view=True)
def metadata(world: World, multisig_account: str) -> list[Any]:
    return [_simple_map(_borrow(world, multisig_account).metadata)]


@SPECS.read("timeout_duration", ("address",), returns=("u64",), is_view=True)
def timeout_duration(world: World, multisig_account: str) -> list[Any]:
    return [u64(_borrow(world, multisig_account).timeout_duration)]


@SPECS.read("num_signatures_required", ("address",), returns=("u64",), is_view=True)
def num_signatures_required(world: World, multisig_account: str) -> list[Any]:
    return [u64(_borrow(world, multisig_account).num_signatures_required)]


@SPECS.read("owners", ("address",), returns=("vector<address>",), is_view=True)
def owners(world: World, multisig_account: str) -> list[Any]:
    return [list(_borrow(world, multisig_account).owners)]


@SPECS.read("is_owner", ("address", "address"), returns=("bool",), is_view=True)
def is_owner(world: World, owner: str, multisig_account: str) -> list[Any]:
    return [addr(owner) in _borrow(world, multisig_account).owners]


def _valid_transaction(account: MultisigAccount, n: int) -> MultisigTransaction:
    if not 0 < n < account.next_sequence_number:
        raise _abort(17)
    transaction = account.transactions.get(n)
    if transaction is None:
        raise _table_not_found()
    return transaction


@SPECS.read(
    "get_transaction",
    ("address", "u64"),
    returns=("0x1::multisig_account::MultisigTransaction",),
    is_view=True,
)
def get_transaction(world: World, multisig_account: str, n: int) -> list[Any]:
    return [_valid_transaction(_borrow(world, multisig_account), n).to_json()]


@SPECS.read(
    "get_pending_transactions",
    ("address",),
    returns=("vector<0x1::multisig_account::MultisigTransaction>",),
    is_view=True,
)
def get_pending_transactions(world: World, multisig_account: str) -> list[Any]:
    account = _borrow(world, multisig_account)
    first = account.last_executed_sequence_number + 1
    return [[account.transactions[n].to_json() for n in range(first, account.next_sequence_number)]]


def next_transaction_payload(world: World, multisig_account: str, provided: bytes) -> bytes:
    """The stored head payload, else the provided one (the VM reads it to run a Multisig tx)."""
    account = _borrow(world, multisig_account)
    head = account.transactions.get(account.last_executed_sequence_number + 1)
    if head is None:
        raise _table_not_found()
    return head.payload if head.payload is not None else provided


@SPECS.read(
    "get_next_transaction_payload", ("address", "vector<u8>"), returns=("vector<u8>",), is_view=True
)
def get_next_transaction_payload(world: World, multisig_account: str, provided: bytes) -> list[Any]:
    return [hexb(next_transaction_payload(world, multisig_account, provided))]


def _can_be_executed(account: MultisigAccount, n: int, now_s: int, executor: str | None) -> bool:
    transaction = _valid_transaction(account, n)
    approvals, _ = account.tally(transaction)
    if executor is not None and transaction.votes.get(addr(executor)) is not True:
        approvals += 1  # can_execute: the executor's implicit yes
    owner_ok = executor is None or addr(executor) in account.owners
    return (
        owner_ok
        and n == account.last_executed_sequence_number + 1
        and approvals >= account.num_signatures_required
        and not _timed_out(account, transaction, now_s)
    )


def _can_be_rejected(account: MultisigAccount, n: int, now_s: int, rejector: str | None) -> bool:
    """The module's precedence, copied: ``(owner && head && rejections >= k) || timed_out``, so a
    timed-out proposal that is not the head still answers true."""
    transaction = _valid_transaction(account, n)
    _, rejections = account.tally(transaction)
    if rejector is not None and transaction.votes.get(addr(rejector)) is not False:
        rejections += 1
    owner_ok = rejector is None or addr(rejector) in account.owners
    return (
        owner_ok
        and n == account.last_executed_sequence_number + 1
        and rejections >= account.num_signatures_required
    ) or _timed_out(account, transaction, now_s)


@SPECS.read("can_be_executed", ("address", "u64"), returns=("bool",), is_view=True, uses_chain=True)
def can_be_executed(
    world: World, context: ChainContext, multisig_account: str, n: int
) -> list[Any]:
    return [_can_be_executed(_borrow(world, multisig_account), n, context.now_s, None)]


@SPECS.read(
    "can_execute",
    ("address", "address", "u64"),
    returns=("bool",),
    is_view=True,
    uses_chain=True,
)
def can_execute(
    world: World, context: ChainContext, owner: str, multisig_account: str, n: int
) -> list[Any]:
    return [_can_be_executed(_borrow(world, multisig_account), n, context.now_s, owner)]


@SPECS.read("can_be_rejected", ("address", "u64"), returns=("bool",), is_view=True, uses_chain=True)
def can_be_rejected(
    world: World, context: ChainContext, multisig_account: str, n: int
) -> list[Any]:
    return [_can_be_rejected(_borrow(world, multisig_account), n, context.now_s, None)]


@SPECS.read(
    "can_reject", ("address", "address", "u64"), returns=("bool",), is_view=True, uses_chain=True
)
def can_reject(
    world: World, context: ChainContext, owner: str, multisig_account: str, n: int
) -> list[Any]:
    return [_can_be_rejected(_borrow(world, multisig_account), n, context.now_s, owner)]


@SPECS.read("last_resolved_sequence_number", ("address",), returns=("u64",), is_view=True)
def last_resolved_sequence_number(world: World, multisig_account: str) -> list[Any]:
    return [u64(_borrow(world, multisig_account).last_executed_sequence_number)]


@SPECS.read("next_sequence_number", ("address",), returns=("u64",), is_view=True)
def next_sequence_number(world: World, multisig_account: str) -> list[Any]:
    return [u64(_borrow(world, multisig_account).next_sequence_number)]


@SPECS.read("tx_creation_time_secs", ("address", "u64"), returns=("u64",), is_view=True)
def tx_creation_time_secs(world: World, multisig_account: str, n: int) -> list[Any]:
    transaction = _borrow(world, multisig_account).transactions.get(n)
    if transaction is None:
        raise _table_not_found()
    return [u64(transaction.creation_time_secs)]


@SPECS.read("vote", ("address", "u64", "address"), returns=("bool", "bool"), is_view=True)
def vote(world: World, multisig_account: str, n: int, owner: str) -> list[Any]:
    voted, approved = _vote_of(_borrow(world, multisig_account), n, owner)
    return [voted, approved]


@SPECS.read("available_transaction_queue_capacity", ("address",), returns=("u64",), is_view=True)
def available_transaction_queue_capacity(world: World, multisig_account: str) -> list[Any]:
    pending = _borrow(world, multisig_account).pending()
    return [u64(max(MAX_PENDING_PROPOSALS - pending, 0))]


# --- what the VM calls around a Multisig transaction -------------------------------------------


def validate_multisig_transaction(
    world: World, context: ChainContext, owner: str, multisig_account: str, payload: bytes
) -> None:
    """The multisig prologue: raises the ``MoveAbortError`` the module would (the VM then discards
    the transaction). ``payload`` is what the executor sent (empty when it sent none)."""
    account = _existing(world, multisig_account)
    _assert_owner(account, owner)
    n = account.last_executed_sequence_number + 1
    if n not in account.transactions:
        raise _abort(2006)
    executor = owner if MULTISIG_V2_ENHANCEMENT in context.features else None
    if not _can_be_executed(account, n, context.now_s, executor):
        raise _abort(2009)
    transaction = account.transactions[n]
    if _timed_out(account, transaction, context.now_s):
        raise _abort(21)  # shadowed by 2009 above, as in the module
    if transaction.payload_hash is not None and sha3(payload) != transaction.payload_hash:
        raise _abort(2008)
    if (
        ABORT_IF_MULTISIG_PAYLOAD_MISMATCH in context.features
        and transaction.payload is not None
        and payload
        and payload != transaction.payload
    ):
        raise _abort(2010)


def _cleanup_common(call: Call, world: World, executor: str, multisig: str) -> tuple[int, int]:
    """Remove the head and count its approvals, adding the executor's implicit yes under flag 55."""
    account = _existing(world, multisig)
    n = account.last_executed_sequence_number + 1
    implicit = account.transactions[n].votes.get(executor) is not True
    _, approvals, _ = _remove_head(account)
    if _enabled(call, MULTISIG_V2_ENHANCEMENT) and implicit:
        _emit(
            call,
            multisig,
            "Vote",
            {"owner": executor, "sequence_number": u64(n), "approved": True},
        )
        approvals += 1
    return n, approvals


def successful_execution_cleanup(
    world: World, call: Call, executor: str, multisig_account: str, payload: bytes
) -> None:
    """After the inner call succeeded: the proposal is consumed, TransactionExecutionSucceeded."""
    multisig = addr(multisig_account)
    n, approvals = _cleanup_common(call, world, addr(executor), multisig)
    _emit(
        call,
        multisig,
        "TransactionExecutionSucceeded",
        {
            "executor": addr(executor),
            "sequence_number": u64(n),
            "transaction_payload": hexb(payload),
            "num_approvals": u64(approvals),
        },
    )


def failed_execution_cleanup(
    world: World,
    call: Call,
    executor: str,
    multisig_account: str,
    payload: bytes,
    execution_error: dict[str, Any],
) -> None:
    """After the inner call failed: the proposal is consumed all the same, and only this event
    (TransactionExecutionFailed, with the error) tells; the outer transaction still succeeds."""
    multisig = addr(multisig_account)
    n, approvals = _cleanup_common(call, world, addr(executor), multisig)
    _emit(
        call,
        multisig,
        "TransactionExecutionFailed",
        {
            "executor": addr(executor),
            "sequence_number": u64(n),
            "transaction_payload": hexb(payload),
            "num_approvals": u64(approvals),
            "execution_error": execution_error,
        },
    )


def specs() -> dict[str, FunctionSpec]:
    """The module's functions keyed ``0x1::multisig_account::name``."""
    return SPECS.by_key()
