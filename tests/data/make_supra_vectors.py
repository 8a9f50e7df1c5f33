"""Regenerate tests/data/supra_signed_tx_vectors.json with Supra's own Python SDK (supra-sdk 0.1.1)."""

# Not run by the test suite and not a project dependency (it needs Python >= 3.12 by metadata, but
# imports on 3.11). To regenerate:
#
#     .venv/bin/pip download supra-sdk==0.1.1 --no-deps --ignore-requires-python -d /tmp/supra
#     unzip -o -q /tmp/supra/supra_sdk-0.1.1-py3-none-any.whl -d /tmp/supra/unpacked
#     PYTHONPATH=/tmp/supra/unpacked .venv/bin/python tests/data/make_supra_vectors.py
#
# tests/chatops/chain/test_signer.py rebuilds every vector with chatops.chain.transactions and
# compares bytes.

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from supra_sdk import ed25519
from supra_sdk.account_address import AccountAddress
from supra_sdk.bcs import Serializer
from supra_sdk.transactions import (
    EntryFunction,
    RawTransaction,
    SignedTransaction,
    SupraTransaction,
    TransactionArgument,
    TransactionPayload,
)
from supra_sdk.type_tag import StructTag, TypeTag

OUT = Path(__file__).with_name("supra_signed_tx_vectors.json")
PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"

# supra-python-sdk tests/unit/test_transactions.py @af75427, test_entry_function_with_corpus.
CORPUS_SENDER_KEY = "9bf49a6a0755f953811fce125f2683d50429c3bb49e074147e0089a52eae155f"
CORPUS_RECEIVER_KEY = "0564f879d27ae3c02ce82834acfa8c793a629f2ca0de6919610be82f411326be"
CORPUS_SIGNED_TRANSACTION = (
    "7deeccb1080854f499ec8b4c1b213b82c5e34b925cf6875fec02d4b77adbd2d60b000000000000000200000000000000"
    "0000000000000000000000000000000000000000000000000104636f696e087472616e73666572010700000000000000"
    "000000000000000000000000000000000000000000000000010a73757072615f636f696e095375707261436f696e0002"
    "202d133ddd281bb6205558357cc6ac75661817e9aaeac3afebc32842759cbf7fa9088813000000000000d00700000000"
    "00000100000000000000d202964900000000040020b9c6ee1630ef3e711144a648db06bbb2284f7274cfbee53ffcee50"
    "3cc1a49200404ffb672206aef488d96715761a198c0f67b6f788f6a671e0c36197ea663a3ee7cf36265eaec4be75806a"
    "37ba350925bb4758ce2b7bd0e07a5f7ece49fc784d0f"
)
# A fixed test-only key for our own vectors (never used on any network).
OUR_TEST_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def _option_u64(serializer: Serializer, value: int | None) -> None:
    if value is None:
        serializer.uleb128(0)
    else:
        serializer.uleb128(1)
        serializer.u64(value)


def _bcs(value: Any) -> bytes:
    ser = Serializer()
    value.serialize(ser)
    return ser.output()


def vector(
    name: str,
    description: str,
    *,
    private_key: str,
    sender: str | None,
    function_id: str,
    type_args: list[str],
    args: list[tuple[str, Any, Any]],
    sequence_number: int,
    max_gas_amount: int,
    gas_unit_price: int,
    expiration_timestamp_s: int,
    chain_id: int,
) -> dict[str, Any]:
    """Build one vector with supra_sdk; ``args`` holds (move type, JSON value, supra_sdk encoder)."""
    key = ed25519.PrivateKey.from_str(private_key)
    address = (
        AccountAddress.from_str(sender)
        if sender is not None
        else AccountAddress.from_key(key.public_key())
    )
    module, function = function_id.rsplit("::", 1)
    payload = EntryFunction.natural(
        module,
        function,
        [TypeTag(StructTag.from_str(t)) for t in type_args],
        [TransactionArgument(value, encoder) for _, value, encoder in args],
    )
    raw = RawTransaction(
        address,
        sequence_number,
        TransactionPayload(payload),
        max_gas_amount,
        gas_unit_price,
        expiration_timestamp_s,
        chain_id,
    )
    signed = SignedTransaction(raw, raw.sign(key))
    assert signed.verify()
    simulated = SignedTransaction(raw, raw.sign_simulated(key.public_key()))
    return {
        "name": name,
        "description": description,
        "private_key": private_key,
        "sender": str(address) if sender is None else sender,
        "function_id": function_id,
        "type_args": type_args,
        "args": [
            [type_str, value if not isinstance(value, AccountAddress) else str(value)]
            for type_str, value, _ in args
        ],
        "sequence_number": sequence_number,
        "max_gas_amount": max_gas_amount,
        "gas_unit_price": gas_unit_price,
        "expiration_timestamp_s": expiration_timestamp_s,
        "chain_id": chain_id,
        "raw_transaction_hex": _bcs(raw).hex(),
        "signing_message_hex": raw.keyed().hex(),
        "signed_transaction_hex": _bcs(signed).hex(),
        "submit_body_hex": SupraTransaction(signed).to_bytes().hex(),
        "simulate_body_hex": SupraTransaction(simulated).to_bytes().hex(),
    }


def main() -> int:
    receiver = AccountAddress.from_key(
        ed25519.PrivateKey.from_str(CORPUS_RECEIVER_KEY).public_key()
    )
    corpus = vector(
        "supra_sdk_corpus_coin_transfer",
        "supra-python-sdk's own corpus vector (test_entry_function_with_corpus): 0x1::coin::transfer<SupraCoin>",
        private_key=CORPUS_SENDER_KEY,
        sender=None,
        function_id="0x1::coin::transfer",
        type_args=["0x1::supra_coin::SupraCoin"],
        args=[("address", receiver, Serializer.struct), ("u64", 5000, Serializer.u64)],
        sequence_number=11,
        max_gas_amount=2000,
        gas_unit_price=1,
        expiration_timestamp_s=1234567890,
        chain_id=4,
    )
    if corpus["signed_transaction_hex"] != CORPUS_SIGNED_TRANSACTION:
        raise SystemExit("supra_sdk no longer reproduces its own published corpus")
    corpus["published_signed_transaction_hex"] = CORPUS_SIGNED_TRANSACTION
    set_fallback = vector(
        "lottery_multi_price_feed_set_fallback",
        "price_feed::set_fallback(asset 1, active true, reason 3) from the package account (rotated key)",
        private_key=OUR_TEST_KEY,
        sender=PACKAGE,
        function_id=f"{PACKAGE}::price_feed::set_fallback",
        type_args=[],
        args=[
            ("u64", 1, Serializer.u64),
            ("bool", True, Serializer.bool),
            ("u8", 3, Serializer.u8),
        ],
        sequence_number=7,
        max_gas_amount=500_000,
        gas_unit_price=100,
        expiration_timestamp_s=1_841_875_694,
        chain_id=6,
    )
    register_feed = vector(
        "lottery_multi_price_feed_register_feed",
        "price_feed::register_feed with Option<u64> arguments (Some 300, None), derived sender address",
        private_key=OUR_TEST_KEY,
        sender=None,
        function_id=f"{PACKAGE}::price_feed::register_feed",
        type_args=[],
        args=[
            ("u64", 7, Serializer.u64),
            ("u64", 1_250_000_000, Serializer.u64),
            ("u8", 8, Serializer.u8),
            ("0x1::option::Option<u64>", 300, _option_u64),
            ("0x1::option::Option<u64>", None, _option_u64),
            ("u64", 1_764_000_000, Serializer.u64),
        ],
        sequence_number=0,
        max_gas_amount=200_000,
        gas_unit_price=100,
        expiration_timestamp_s=1_764_000_300,
        chain_id=6,
    )
    data = {
        "note": (
            "Generated by tests/data/make_supra_vectors.py with supra-sdk 0.1.1 (Supra's Python SDK, imported "
            "from its unpacked wheel on Python 3.11). The corpus vector equals the SDK's published "
            "signed_transaction_input. Keys are test-only. submit_body = uleb128(1) + signed_transaction; "
            "simulate_body uses a 64-zero-byte signature."
        ),
        "vectors": [corpus, set_fallback, register_feed],
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {len(data['vectors'])} vectors to {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
