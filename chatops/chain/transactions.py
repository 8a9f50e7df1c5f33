"""Entry-function transactions in Supra's wire format, built on aptos-sdk 0.11's BCS types. No I/O
here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from aptos_sdk import ed25519
from aptos_sdk.account_address import AccountAddress
from aptos_sdk.authenticator import Authenticator, Ed25519Authenticator
from aptos_sdk.bcs import Serializer
from aptos_sdk.transactions import (
    EntryFunction,
    ModuleId,
    RawTransaction,
    SignedTransaction,
    TransactionPayload,
)
from aptos_sdk.type_tag import StructTag, TypeTag
from nacl.signing import VerifyKey

from chatops.chain.movetypes import encode_bcs
from chatops.chain.signer import Signer

__all__ = [
    "RAW_TRANSACTION_SALT",
    "SUPRA_MOVE_VARIANT",
    "build_entry_function",
    "build_raw_transaction",
    "entry_function_hash",
    "parse_type_tag",
    "raw_transaction_bytes",
    "signed_body",
    "signing_message",
    "simulation_body",
    "split_function_id",
]

RAW_TRANSACTION_SALT = hashlib.sha3_256(b"SUPRA::RawTransaction").digest()
SUPRA_MOVE_VARIANT = 1
_ZERO_SIGNATURE = bytes(64)


class _PrimitiveTag:
    """A primitive TypeTag value: only the variant byte. aptos-sdk 0.11's U64Tag etc. also write a
    value (they double as script arguments), which is wrong for an entry function's type arguments."""

    def __init__(self, variant: int) -> None:
        self._variant = variant

    def variant(self) -> int:
        return self._variant

    def serialize(self, serializer: Serializer) -> None:
        return

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _PrimitiveTag) and self._variant == other._variant

    def __hash__(self) -> int:
        return hash(("primitive", self._variant))


_PRIMITIVE_TAGS: dict[str, _PrimitiveTag] = {
    "bool": _PrimitiveTag(TypeTag.BOOL),
    "u8": _PrimitiveTag(TypeTag.U8),
    "u16": _PrimitiveTag(TypeTag.U16),
    "u32": _PrimitiveTag(TypeTag.U32),
    "u64": _PrimitiveTag(TypeTag.U64),
    "u128": _PrimitiveTag(TypeTag.U128),
    "u256": _PrimitiveTag(TypeTag.U256),
    "address": _PrimitiveTag(TypeTag.ACCOUNT_ADDRESS),
    "signer": _PrimitiveTag(TypeTag.SIGNER),
}


class _VectorTag:
    """vector<T> as a TypeTag value (aptos-sdk 0.11 has no vector tag)."""

    def __init__(self, inner: TypeTag) -> None:
        self.inner = inner

    def variant(self) -> int:
        return TypeTag.VECTOR

    def serialize(self, serializer: Serializer) -> None:
        self.inner.serialize(serializer)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _VectorTag) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash(("vector", str(self.inner.value)))


def parse_type_tag(type_str: str) -> TypeTag:
    """A TypeTag from a Move type string: primitives, ``vector<T>`` or a struct like ``0x1::m::S<T>``."""
    text = type_str.strip()
    primitive = _PRIMITIVE_TAGS.get(text)
    if primitive is not None:
        return TypeTag(primitive)
    if text.startswith("vector<") and text.endswith(">"):
        return TypeTag(_VectorTag(parse_type_tag(text[len("vector<") : -1])))
    if text.count("::") < 2:
        raise ValueError(f"not a Move type: {type_str!r}")
    return TypeTag(StructTag.from_str(text))


def split_function_id(function_id: str) -> tuple[str, str, str]:
    """``0xADDR::module::function`` -> (address, module, function); raises ValueError otherwise."""
    parts = function_id.strip().split("::")
    if len(parts) != 3 or not all(parts) or not parts[0].startswith("0x"):
        raise ValueError(f"not a function id (0xADDR::module::function): {function_id!r}")
    return parts[0], parts[1], parts[2]


def build_entry_function(
    function_id: str, args: Sequence[tuple[str, Any]], type_args: Sequence[str] = ()
) -> EntryFunction:
    """An EntryFunction whose arguments are BCS-encoded by their Move type strings (movetypes)."""
    address, module, function = split_function_id(function_id)
    module_id = ModuleId(AccountAddress.from_str_relaxed(address), module)
    encoded = [encode_bcs(type_str, value) for type_str, value in args]
    return EntryFunction(module_id, function, [parse_type_tag(t) for t in type_args], encoded)


def entry_function_hash(entry_function: EntryFunction) -> str:
    """sha3_256(bcs(EntryFunction)) as hex: what an approval binds to (independent of seq, gas, expiry)."""
    ser = Serializer()
    entry_function.serialize(ser)
    return "0x" + hashlib.sha3_256(ser.output()).hexdigest()


def build_raw_transaction(
    sender: str,
    sequence_number: int,
    payload: EntryFunction | TransactionPayload,
    *,
    max_gas_amount: int,
    gas_unit_price: int,
    expiration_timestamp_s: int,
    chain_id: int,
) -> RawTransaction:
    """A RawTransaction carrying one entry function, or a whole payload (``MultisigPayload``)."""
    return RawTransaction(
        AccountAddress.from_str_relaxed(sender),
        sequence_number,
        payload if isinstance(payload, TransactionPayload) else TransactionPayload(payload),
        max_gas_amount,
        gas_unit_price,
        expiration_timestamp_s,
        chain_id,
    )


def raw_transaction_bytes(raw: RawTransaction) -> bytes:
    """bcs(RawTransaction)."""
    ser = Serializer()
    raw.serialize(ser)
    return ser.output()


def signing_message(raw: RawTransaction) -> bytes:
    """What the sender signs: the Supra salt hash followed by bcs(RawTransaction).

    The Supra adapter is two rules: the signing message is sha3_256(b"SUPRA::RawTransaction") +
    bcs(raw), and a body (``signed_body``) is uleb128(1) (SupraTransaction::Move) +
    bcs(SignedTransaction).
    """
    return RAW_TRANSACTION_SALT + raw_transaction_bytes(raw)


def _body(raw: RawTransaction, public_key: bytes, signature: bytes) -> bytes:
    authenticator = Authenticator(
        Ed25519Authenticator(ed25519.PublicKey(VerifyKey(public_key)), ed25519.Signature(signature))
    )
    ser = Serializer()
    ser.uleb128(SUPRA_MOVE_VARIANT)
    SignedTransaction(raw, authenticator).serialize(ser)
    return ser.output()


def signed_body(raw: RawTransaction, signer: Signer) -> bytes:
    """The BCS body for ``POST /rpc/v3/transactions/submit``."""
    return _body(raw, signer.public_key, signer.sign(signing_message(raw)))


def simulation_body(raw: RawTransaction, public_key: bytes) -> bytes:
    """The BCS body for ``POST /rpc/v3/transactions/simulate``: the signature is 64 zero bytes."""
    return _body(raw, public_key, _ZERO_SIGNATURE)
