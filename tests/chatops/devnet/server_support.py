"""Helpers for the devnet HTTP tests: a client-side Supra transaction builder on aptos_sdk directly,
and the devnet's command line."""

# Deliberately independent of ``chatops.devnet.transactions`` (the code under test): the salt, the
# SupraTransaction prefix and the signing are written out here the way a client does them.

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aptos_sdk import ed25519
from aptos_sdk.account_address import AccountAddress
from aptos_sdk.authenticator import (
    AccountAuthenticator,
    Authenticator,
    Ed25519Authenticator,
    MultiAgentAuthenticator,
)
from aptos_sdk.bcs import Serializer
from aptos_sdk.transactions import (
    EntryFunction,
    ModuleId,
    RawTransaction,
    SignedTransaction,
    TransactionPayload,
)

from chatops.chain import movetypes
from chatops.devnet.framework import PACKAGE_ADDRESS, addr

SALT = hashlib.sha3_256(b"SUPRA::RawTransaction").digest()
MULTI_SALT = hashlib.sha3_256(b"SUPRA::RawTransactionWithData").digest()
BCS_CONTENT_TYPE = "application/x.supra.signed_transaction+bcs"


def devnet_argv(port: int, admin_key_file: Path, *extra: str) -> list[str]:
    """``chatops devnet`` as an operator starts it: on ``port``, its admin key in ``admin_key_file``
    (made there if missing)."""
    return [
        sys.executable,
        "-m",
        "chatops",
        "devnet",
        "--port",
        str(port),
        "--admin-key-file",
        str(admin_key_file),
        *extra,
    ]


def new_key() -> ed25519.PrivateKey:
    """A fresh Ed25519 key (``PrivateKey.random`` avoids the AIP-80 warning of ``from_str``)."""
    return ed25519.PrivateKey.random()


def address_of(key: ed25519.PrivateKey) -> str:
    """The account address derived from a single Ed25519 key (= its authentication key)."""
    public = key.public_key().key.encode()
    return "0x" + hashlib.sha3_256(public + b"\x00").hexdigest()


def _account(address: str) -> AccountAddress:
    return AccountAddress(bytes.fromhex(addr(address)[2:]))


def raw_transaction(
    sender: str,
    seq: int,
    function: str,
    args: Sequence[tuple[str, Any]],
    *,
    chain_id: int = 255,
    expiration_s: int,
    module_address: str = PACKAGE_ADDRESS,
) -> RawTransaction:
    module, name = function.split("::")
    entry = EntryFunction(
        ModuleId(_account(module_address), module),
        name,
        [],
        [movetypes.encode_bcs(t, v) for t, v in args],
    )
    return RawTransaction(
        _account(sender), seq, TransactionPayload(entry), 500_000, 100, expiration_s, chain_id
    )


def _raw_bcs(raw: RawTransaction) -> bytes:
    ser = Serializer()
    raw.serialize(ser)
    return ser.output()


def sign_single(raw: RawTransaction, key: ed25519.PrivateKey, *, zero: bool = False) -> bytes:
    """``uleb128(1) || bcs(SignedTransaction)`` with an Ed25519 signature over the Supra salt."""
    if zero:
        signature = ed25519.Signature(b"\x00" * 64)
    else:
        signed = key.sign(SALT + _raw_bcs(raw))
        assert isinstance(signed, ed25519.Signature)
        signature = signed
    public = key.public_key()
    assert isinstance(public, ed25519.PublicKey)
    signed_tx = SignedTransaction(raw, Authenticator(Ed25519Authenticator(public, signature)))
    return b"\x01" + signed_tx.bytes()


def sign_multi_agent(
    raw: RawTransaction,
    sender_key: ed25519.PrivateKey,
    secondary: list[tuple[str, ed25519.PrivateKey]],
) -> bytes:
    """A MultiAgent transaction: every signer signs the salted ``RawTransactionWithData``."""
    ser = Serializer()
    ser.u8(0)
    raw.serialize(ser)
    ser.uleb128(len(secondary))
    for address, _ in secondary:
        ser.fixed_bytes(bytes.fromhex(addr(address)[2:]))
    message = MULTI_SALT + ser.output()

    def account_auth(key: ed25519.PrivateKey) -> AccountAuthenticator:
        public = key.public_key()
        signature = key.sign(message)
        assert isinstance(public, ed25519.PublicKey)
        assert isinstance(signature, ed25519.Signature)
        return AccountAuthenticator(Ed25519Authenticator(public, signature))

    auth = MultiAgentAuthenticator(
        account_auth(sender_key),
        [(_account(address), account_auth(key)) for address, key in secondary],
    )
    return b"\x01" + SignedTransaction(raw, Authenticator(auth)).bytes()


def view_request(function: str, *arguments: str) -> dict[str, Any]:
    """The body of ``POST /rpc/v3/view`` for the package's ``module::name`` (chain-JSON arguments)."""
    return {
        "function": f"{PACKAGE_ADDRESS}::{function}",
        "type_arguments": [],
        "arguments": list(arguments),
    }
