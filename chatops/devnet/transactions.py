"""Decode and verify the BCS transactions a Supra client submits (``SupraTransaction::Move``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aptos_sdk import ed25519
from aptos_sdk.account_address import AccountAddress
from aptos_sdk.authenticator import (
    AccountAuthenticator,
    Authenticator,
    Ed25519Authenticator,
    MultiAgentAuthenticator,
)
from aptos_sdk.bcs import Deserializer, Serializer
from aptos_sdk.transactions import (
    EntryFunction,
    RawTransaction,
    TransactionPayload,
)

from chatops.chain.multisig_bcs import MultisigPayload, proposal_payload
from chatops.devnet.framework import addr, short_address

__all__ = [
    "MULTI_AGENT_SALT",
    "RAW_TRANSACTION_SALT",
    "SUPRA_MOVE_VARIANT",
    "DecodedTransaction",
    "TransactionRejectedError",
    "auth_key_for",
    "decode_submission",
    "keccak256",
    "short_address",
    "signing_message",
    "transaction_hash",
]

SUPRA_MOVE_VARIANT = 1
RAW_TRANSACTION_SALT = hashlib.sha3_256(b"SUPRA::RawTransaction").digest()
# Aptos salts a multi-agent raw transaction with the ``RawTransactionWithData`` type name; Supra's fork
# renames the ``APTOS::`` prefix for every hashed type, so the devnet expects ``SUPRA::`` here too.
MULTI_AGENT_SALT = hashlib.sha3_256(b"SUPRA::RawTransactionWithData").digest()


class TransactionRejectedError(Exception):
    """The node refuses the transaction before execution (mempool/prologue): HTTP 400, nothing committed.

    ``status_code`` is the Aptos ``StatusCode`` name a real node reports (e.g. ``INVALID_SIGNATURE``).
    """

    def __init__(self, status_code: str, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


# --- keccak256 -----------------------------------------------------------------------------------
# The chain's tx hash is keccak256(bcs(SignedTransaction)) (supra_rpc.md §1.3). hashlib only has
# SHA3 (different padding) and pycryptodome is not a dependency, so this is a small pure-Python
# Keccak-f[1600]; it hashes a few hundred bytes per transaction, which costs well under a millisecond.

_KECCAK_RC = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
_KECCAK_ROT = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)
_MASK64 = (1 << 64) - 1


def _rol(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK64 if shift else value


def _keccak_f(state: list[list[int]]) -> None:
    for rc in _KECCAK_RC:
        c = [state[x][0] ^ state[x][1] ^ state[x][2] ^ state[x][3] ^ state[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        for x in range(5):
            for y in range(5):
                state[x][y] ^= d[x]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(state[x][y], _KECCAK_ROT[x][y])
        for x in range(5):
            for y in range(5):
                state[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        state[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (the Ethereum variant, padding 0x01), as the chain hashes transactions."""
    rate = 136
    padded = bytearray(data)
    padded.append(0x01)
    padded.extend(b"\x00" * (-len(padded) % rate))
    padded[-1] |= 0x80
    state = [[0] * 5 for _ in range(5)]
    for offset in range(0, len(padded), rate):
        block = padded[offset : offset + rate]
        for i in range(rate // 8):
            lane = int.from_bytes(block[8 * i : 8 * i + 8], "little")
            state[i % 5][i // 5] ^= lane
        _keccak_f(state)
    return b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


# --- decoding ------------------------------------------------------------------------------------


def auth_key_for(public_key: bytes) -> str:
    """The single-Ed25519 authentication key: ``sha3_256(pubkey || 0x00)``, as 0x + 64 hex."""
    return "0x" + hashlib.sha3_256(public_key + b"\x00").hexdigest()


def transaction_hash(signed_bcs: bytes) -> str:
    """``0x`` + keccak256 of ``bcs(SignedTransaction)`` (without the SupraTransaction variant byte)."""
    return "0x" + keccak256(signed_bcs).hex()


def signing_message(raw: RawTransaction, secondary_signers: list[str] | None = None) -> bytes:
    """The bytes an Ed25519 key signs: Supra salt + BCS of the raw (or multi-agent) transaction."""
    ser = Serializer()
    if secondary_signers is None:
        raw.serialize(ser)
        return RAW_TRANSACTION_SALT + ser.output()
    ser.u8(0)  # RawTransactionWithData::MultiAgent
    raw.serialize(ser)
    ser.uleb128(len(secondary_signers))
    for signer in secondary_signers:
        ser.fixed_bytes(bytes.fromhex(addr(signer)[2:]))
    return MULTI_AGENT_SALT + ser.output()


@dataclass(frozen=True)
class SignerKey:
    """One signer of the transaction: its address, Ed25519 public key and signature."""

    address: str
    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class DecodedTransaction:
    """A submitted transaction, decoded but not yet checked against the ledger.

    For a ``TransactionPayload::Multisig``, ``multisig_address`` is set, ``multisig_payload`` holds the
    payload sent inline (``0x00 ‖ BCS(EntryFunction)``, None to run the stored one) and the module and
    function fields describe that inline call (empty without one).
    """

    raw: RawTransaction
    hash: str
    sender: str
    sequence_number: int
    max_gas_amount: int
    gas_unit_price: int
    expiration_timestamp_s: int
    chain_id: int
    module_address: str
    module: str
    function: str
    ty_args: tuple[str, ...]
    args: tuple[bytes, ...]
    keys: tuple[SignerKey, ...]
    multi_agent: bool
    raw_bytes: bytes = b""
    multisig_address: str | None = None
    multisig_payload: bytes | None = None

    @property
    def is_multisig(self) -> bool:
        return self.multisig_address is not None

    @property
    def signers(self) -> list[str]:
        """Signer addresses in Move order: the sender, then the secondary signers."""
        return [key.address for key in self.keys]

    @property
    def function_id(self) -> str:
        if not self.module:
            return ""
        return f"{short_address(self.module_address)}::{self.module}::{self.function}"

    def message(self) -> bytes:
        """What every signer's signature must cover: the bytes as sent, salted (never re-encoded)."""
        if not self.raw_bytes:
            return signing_message(self.raw, self.signers[1:] if self.multi_agent else None)
        if not self.multi_agent:
            return RAW_TRANSACTION_SALT + self.raw_bytes
        ser = Serializer()
        ser.u8(0)  # RawTransactionWithData::MultiAgent
        ser.fixed_bytes(self.raw_bytes)
        ser.uleb128(len(self.keys) - 1)
        for key in self.keys[1:]:
            ser.fixed_bytes(bytes.fromhex(addr(key.address)[2:]))
        return MULTI_AGENT_SALT + ser.output()

    def authenticator_json(self) -> dict[str, Any]:
        """The ``authenticator`` of TransactionV3 (``{"Move": {...}}``)."""

        def ed(key: SignerKey) -> dict[str, Any]:
            return {
                "Ed25519": {
                    "public_key": "0x" + key.public_key.hex(),
                    "signature": "0x" + key.signature.hex(),
                }
            }

        if not self.multi_agent:
            return {"Move": ed(self.keys[0])}
        return {
            "Move": {
                "MultiAgent": {
                    "sender": ed(self.keys[0]),
                    "secondary_signer_addresses": [k.address for k in self.keys[1:]],
                    "secondary_signers": [ed(k) for k in self.keys[1:]],
                }
            }
        }


def _ed25519_of(account_auth: Any) -> tuple[bytes, bytes]:
    inner = account_auth.authenticator if isinstance(account_auth, AccountAuthenticator) else None
    if not isinstance(inner, Ed25519Authenticator):
        raise TransactionRejectedError(
            "INVALID_AUTH_KEY", "the devnet accepts only Ed25519 account authenticators"
        )
    return inner.public_key.key.encode(), inner.signature.data()


def _raw_transaction(des: Deserializer) -> RawTransaction:
    """A RawTransaction whose payload is an entry function or a ``TransactionPayload::Multisig``
    (aptos-sdk 0.11 reads neither variant 3 nor anything after it)."""
    sender = AccountAddress.deserialize(des)
    sequence_number = des.u64()
    variant = des.uleb128()
    payload: TransactionPayload
    if variant == TransactionPayload.SCRIPT_FUNCTION:
        payload = TransactionPayload(EntryFunction.deserialize(des))
    elif variant == MultisigPayload.MULTISIG:
        payload = MultisigPayload.deserialize_body(des)
    else:
        raise TransactionRejectedError(
            "FEATURE_UNDER_GATING", "the devnet executes entry-function and multisig payloads only"
        )
    return RawTransaction(
        sender, sequence_number, payload, des.u64(), des.u64(), des.u64(), des.u8()
    )


def decode_submission(body: bytes) -> DecodedTransaction:
    """Parse ``uleb128(1) || bcs(SignedTransaction)``; raise ``TransactionRejectedError`` if malformed.

    Entry-function and Multisig payloads with Ed25519 or MultiAgent(Ed25519...) authenticators are
    accepted: that is all the bot sends (scripts, module bundles and fee payers are out of scope).

    The devnet accepts exactly what ``POST /rpc/v3/transactions/{submit,simulate}`` accepts with
    ``Content-Type: application/x.supra.signed_transaction+bcs``: ``uleb128(1)`` then an Aptos
    ``SignedTransaction`` whose signatures cover ``sha3_256(b"SUPRA::RawTransaction") || bcs(raw)``.
    """
    des = Deserializer(body)
    try:
        variant = des.uleb128()
    except Exception as exc:
        raise TransactionRejectedError("DESERIALIZATION_ERROR", "empty transaction body") from exc
    if variant != SUPRA_MOVE_VARIANT:
        raise TransactionRejectedError(
            "UNKNOWN_TRANSACTION_TYPE", f"SupraTransaction variant {variant} is not Move (1)"
        )
    start = len(body) - des.remaining()
    try:
        raw = _raw_transaction(des)
        raw_end = len(body) - des.remaining()
        auth = Authenticator.deserialize(des)
    except TransactionRejectedError:
        raise
    except Exception as exc:  # any BCS failure is a malformed body for the client
        raise TransactionRejectedError(
            "DESERIALIZATION_ERROR", f"cannot decode signed transaction: {exc}"
        ) from exc
    if des.remaining():
        raise TransactionRejectedError("DESERIALIZATION_ERROR", "trailing bytes after transaction")
    signed_bytes = body[start:]
    sender = addr(str(raw.sender))
    keys: list[SignerKey]
    multi_agent = False
    if isinstance(auth.authenticator, Ed25519Authenticator):
        inner = auth.authenticator
        keys = [SignerKey(sender, inner.public_key.key.encode(), inner.signature.data())]
    elif isinstance(auth.authenticator, MultiAgentAuthenticator):
        multi_agent = True
        pub, sig = _ed25519_of(auth.authenticator.sender)
        keys = [SignerKey(sender, pub, sig)]
        for address, account_auth in auth.authenticator.secondary_signers:
            pub, sig = _ed25519_of(account_auth)
            keys.append(SignerKey(addr(str(address)), pub, sig))
    else:
        raise TransactionRejectedError(
            "INVALID_AUTH_KEY", "the devnet accepts Ed25519 and MultiAgent authenticators only"
        )
    payload = raw.payload
    multisig_address: str | None = None
    multisig_payload: bytes | None = None
    entry: EntryFunction | None
    if isinstance(payload, MultisigPayload):
        multisig_address = payload.multisig_address
        entry = payload.entry
        multisig_payload = None if entry is None else proposal_payload(entry)
    else:
        entry = payload.value
    return DecodedTransaction(
        raw=raw,
        hash=transaction_hash(signed_bytes),
        sender=sender,
        sequence_number=raw.sequence_number,
        max_gas_amount=raw.max_gas_amount,
        gas_unit_price=raw.gas_unit_price,
        expiration_timestamp_s=raw.expiration_timestamps_secs,
        chain_id=raw.chain_id,
        module_address=addr(str(entry.module.address)) if entry else (multisig_address or ""),
        module=entry.module.name if entry else "",
        function=entry.function if entry else "",
        ty_args=tuple(str(tag) for tag in entry.ty_args) if entry else (),
        args=tuple(entry.args) if entry else (),
        keys=tuple(keys),
        multi_agent=multi_agent,
        raw_bytes=body[start:raw_end],
        multisig_address=multisig_address,
        multisig_payload=multisig_payload,
    )


def signature_valid(tx: DecodedTransaction, key: SignerKey) -> bool:
    """Whether ``key.signature`` is a valid Ed25519 signature of the transaction's message."""
    try:
        public = ed25519.PublicKey.from_str("0x" + key.public_key.hex())
    except ValueError:  # nacl rejects a malformed point: such a key verifies nothing
        return False
    return public.verify(tx.message(), ed25519.Signature(key.signature))
