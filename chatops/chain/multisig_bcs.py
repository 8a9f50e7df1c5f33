"""The bytes of Supra's on-chain multisig (``0x1::multisig_account``): proposal payloads and their hash,
the ``TransactionPayload::Multisig`` an owner executes with, the conversion proof, and the calls.

Layouts follow shared/reference/multisig_account.md §2.1 and §6; tests/data/multisig_vectors.json pins
them byte for byte. No I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aptos_sdk.account_address import AccountAddress
from aptos_sdk.bcs import Deserializer, Serializer
from aptos_sdk.transactions import EntryFunction, TransactionPayload

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.signer import Signer, normalize_address

__all__ = [
    "CONVERSION_MESSAGE_STRUCT",
    "ED25519_SCHEME",
    "MAX_PENDING_PROPOSALS",
    "MIN_TIMEOUT_S",
    "MULTISIG_MODULE",
    "ConversionProof",
    "MultisigPayload",
    "PayloadDecodeError",
    "approve_call",
    "conversion_call",
    "conversion_message",
    "create_transaction_call",
    "create_transaction_with_hash_call",
    "decode_proposal_payload",
    "entry_function_bytes",
    "execute_rejected_call",
    "execute_rejected_many_call",
    "payload_hash",
    "proposal_payload",
    "reject_call",
    "sign_conversion",
]

MULTISIG_MODULE: Final = "0x1::multisig_account"
# The chain refuses shorter timeouts (EINVALID_TIMEOUT_DURATION) and more pending proposals
# (EMAX_PENDING_TRANSACTIONS_EXCEEDED): Supra's customisations of the Aptos module.
MIN_TIMEOUT_S: Final = 300
MAX_PENDING_PROPOSALS: Final = 20
ED25519_SCHEME: Final = 0
CONVERSION_MESSAGE_STRUCT: Final = "MultisigAccountCreationWithAuthKeyRevocationMessage"

_MULTISIG_VARIANT: Final = 3  # TransactionPayload::Multisig in Supra's fork
_ENTRY_FUNCTION_VARIANT: Final = 0  # MultisigTransactionPayload::EntryFunction, its only variant
_FRAMEWORK = AccountAddress.from_str_relaxed("0x1")


class PayloadDecodeError(ValueError):
    """Bytes stored as a proposal's payload are not a ``MultisigTransactionPayload`` (the chain only
    decodes them at execution, so a proposal can hold anything)."""


def _address(address: str) -> AccountAddress:
    return AccountAddress.from_str_relaxed(normalize_address(address))


def entry_function_bytes(entry: EntryFunction) -> bytes:
    """BCS(EntryFunction): module address, module and function names, type arguments, arguments."""
    ser = Serializer()
    entry.serialize(ser)
    return ser.output()


def proposal_payload(entry: EntryFunction) -> bytes:
    """BCS(MultisigTransactionPayload::EntryFunction(entry)) = ``0x00 ‖ BCS(EntryFunction)``.

    What ``create_transaction`` stores, what an execution sends inline and what the hash covers.
    """
    return bytes([_ENTRY_FUNCTION_VARIANT]) + entry_function_bytes(entry)


def payload_hash(payload: bytes) -> bytes:
    """``sha3_256(payload)`` of a proposal payload (``proposal_payload``): what the chain compares at
    execution for a hash-only proposal, and what an approver checks before voting. It is not the
    ``sha3_256(bcs(EntryFunction))`` of ``transactions.entry_function_hash``: the variant byte is in."""
    return hashlib.sha3_256(payload).digest()


def decode_proposal_payload(payload: bytes) -> EntryFunction:
    """The entry function of a stored proposal payload, decoded as the VM does at execution.

    Raises:
        PayloadDecodeError: not ``0x00 ‖ BCS(EntryFunction)`` with nothing after it.
    """
    des = Deserializer(payload)
    try:
        variant = des.uleb128()
    except Exception as exc:  # aptos_sdk raises bare Exceptions on short input
        raise PayloadDecodeError("the payload is empty") from exc
    if variant != _ENTRY_FUNCTION_VARIANT:
        raise PayloadDecodeError(f"unknown MultisigTransactionPayload variant {variant}")
    try:
        entry = EntryFunction.deserialize(des)
    except Exception as exc:  # aptos_sdk raises bare Exceptions on short or malformed input
        raise PayloadDecodeError("the payload is not a MultisigTransactionPayload") from exc
    if des.remaining():
        raise PayloadDecodeError("trailing bytes after the MultisigTransactionPayload")
    return entry


class MultisigPayload(TransactionPayload):
    """``TransactionPayload::Multisig{multisig_address, transaction_payload: Option<...>}``, variant 3.

    aptos-sdk 0.11 predates it, so this extends its ``TransactionPayload`` and serialises itself:
    ``03 ‖ address ‖ 00`` (run the stored payload) or ``03 ‖ address ‖ 01 ‖ 00 ‖ BCS(EntryFunction)``
    (the payload inline: required for a hash-only proposal, checked against a stored one).
    """

    MULTISIG: int = _MULTISIG_VARIANT

    def __init__(self, multisig_address: str, entry: EntryFunction | None = None) -> None:
        self.variant = _MULTISIG_VARIANT
        self.multisig_address = normalize_address(multisig_address)
        self.entry = entry
        self.value = (self.multisig_address, entry)

    def __str__(self) -> str:
        inner = "stored payload" if self.entry is None else str(self.entry)
        return f"Multisig({self.multisig_address}, {inner})"

    def inline_payload(self) -> bytes | None:
        """The provided ``proposal_payload`` bytes, or None when the stored one is to run."""
        return None if self.entry is None else proposal_payload(self.entry)

    def serialize(self, serializer: Serializer) -> None:
        serializer.uleb128(self.variant)
        _address(self.multisig_address).serialize(serializer)
        if self.entry is None:
            serializer.bool(False)
            return
        serializer.bool(True)
        serializer.uleb128(_ENTRY_FUNCTION_VARIANT)
        self.entry.serialize(serializer)

    @staticmethod
    def deserialize_body(deserializer: Deserializer) -> MultisigPayload:
        """Read what follows the variant byte (``TransactionPayload.deserialize`` stops at variant 2)."""
        address = "0x" + AccountAddress.deserialize(deserializer).address.hex()
        if not deserializer.bool():
            return MultisigPayload(address)
        variant = deserializer.uleb128()
        if variant != _ENTRY_FUNCTION_VARIANT:
            raise ValueError(f"unknown MultisigTransactionPayload variant {variant}")
        return MultisigPayload(address, EntryFunction.deserialize(deserializer))


# --- conversion proof ------------------------------------------------------------------------


def conversion_message(
    *,
    chain_id: int,
    account: str,
    sequence_number: int,
    owners: Sequence[str],
    num_signatures_required: int,
) -> bytes:
    """``BCS(SignedMessage{TypeInfo, MultisigAccountCreationWithAuthKeyRevocationMessage})``.

    What the account's current key signs to convert it in place: type info (0x1, module, struct),
    then chain id (u8), the account, its sequence number when the conversion executes, the owners in
    argument order and k. The chain rebuilds these bytes itself, so any difference fails the proof.
    """
    ser = Serializer()
    _FRAMEWORK.serialize(ser)
    ser.to_bytes(b"multisig_account")
    ser.to_bytes(CONVERSION_MESSAGE_STRUCT.encode())
    ser.u8(chain_id)
    _address(account).serialize(ser)
    ser.u64(sequence_number)
    ser.uleb128(len(owners))
    for owner in owners:
        _address(owner).serialize(ser)
    ser.u64(num_signatures_required)
    return ser.output()


@dataclass(frozen=True)
class ConversionProof:
    """The signed conversion message and the public key it verifies with (scheme 0, Ed25519)."""

    message: bytes
    public_key: bytes
    signature: bytes


def sign_conversion(
    signer: Signer,
    *,
    chain_id: int,
    sequence_number: int,
    owners: Sequence[str],
    num_signatures_required: int,
) -> ConversionProof:
    """The account's key signs ``conversion_message`` as it is: Ed25519 over the raw BCS bytes, with
    no ``SUPRA::`` salt and no prehash (``account::verify_signed_message``), unlike a transaction."""
    message = conversion_message(
        chain_id=chain_id,
        account=signer.address,
        sequence_number=sequence_number,
        owners=owners,
        num_signatures_required=num_signatures_required,
    )
    return ConversionProof(message, signer.public_key, signer.sign(message))


# --- calls to 0x1::multisig_account ----------------------------------------------------------


def _call(name: str, *args: TypedArg) -> ChainCall:
    return ChainCall(function=f"{MULTISIG_MODULE}::{name}", args=args)


def conversion_call(
    account: str,
    owners: Sequence[str],
    num_signatures_required: int,
    proof: ConversionProof,
    *,
    timeout_s: int,
) -> ChainCall:
    """``create_with_existing_account_and_revoke_auth_key``: convert ``account`` and zero its key.

    The call has no signer parameter: the proof is the authority, so any account may send it.
    """
    return _call(
        "create_with_existing_account_and_revoke_auth_key",
        TypedArg.of("address", normalize_address(account)),
        TypedArg.of("vector<address>", [normalize_address(o) for o in owners]),
        TypedArg.of("u64", num_signatures_required),
        TypedArg.of("u8", ED25519_SCHEME),
        TypedArg.of("vector<u8>", proof.public_key),
        TypedArg.of("vector<u8>", proof.signature),
        TypedArg.of("vector<0x1::string::String>", []),
        TypedArg.of("vector<vector<u8>>", []),
        TypedArg.of("u64", timeout_s),
    )


def _with_bytes(name: str, account: str, data: bytes) -> ChainCall:
    return _call(
        name, TypedArg.of("address", normalize_address(account)), TypedArg.of("vector<u8>", data)
    )


def create_transaction_call(account: str, payload: bytes) -> ChainCall:
    """Propose ``payload`` (``proposal_payload``) with the payload stored on chain."""
    return _with_bytes("create_transaction", account, payload)


def create_transaction_with_hash_call(account: str, digest: bytes) -> ChainCall:
    """Propose by hash only: the executor must then send the payload inline."""
    return _with_bytes("create_transaction_with_hash", account, digest)


def _on_proposal(name: str, account: str, sequence_number: int) -> ChainCall:
    return _call(
        name,
        TypedArg.of("address", normalize_address(account)),
        TypedArg.of("u64", sequence_number),
    )


def approve_call(account: str, sequence_number: int) -> ChainCall:
    return _on_proposal("approve_transaction", account, sequence_number)


def reject_call(account: str, sequence_number: int) -> ChainCall:
    return _on_proposal("reject_transaction", account, sequence_number)


def execute_rejected_call(account: str) -> ChainCall:
    """Remove the queue head: rejected by k owners, or timed out (the caller's rejection is implied)."""
    return _call("execute_rejected_transaction", TypedArg.of("address", normalize_address(account)))


def execute_rejected_many_call(account: str, final_sequence_number: int) -> ChainCall:
    """Remove every head up to ``final_sequence_number`` that may be removed (all or nothing)."""
    return _call(
        "execute_rejected_transactions",
        TypedArg.of("address", normalize_address(account)),
        TypedArg.of("u64", final_sequence_number),
    )
