"""The multisig's bytes, byte for byte against tests/data/multisig_vectors.json (the reference's layout,
built by hand, and Supra's SDK): payloads, hash, the Multisig payload, the calls, the conversion proof."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aptos_sdk.bcs import Deserializer, Serializer
from aptos_sdk.transactions import EntryFunction, TransactionPayload

from chatops.chain import transactions
from chatops.chain.calls import ChainCall
from chatops.chain.multisig_bcs import (
    ConversionProof,
    MultisigPayload,
    PayloadDecodeError,
    approve_call,
    conversion_call,
    conversion_message,
    create_transaction_call,
    create_transaction_with_hash_call,
    decode_proposal_payload,
    entry_function_bytes,
    execute_rejected_call,
    payload_hash,
    proposal_payload,
    reject_call,
    sign_conversion,
)
from chatops.chain.signer import LocalKeySigner

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "multisig_vectors.json").read_text()
)
PACKAGE = VECTORS["package"]
KEYS = VECTORS["keys"]
# multisig_account.md §6: the reference's own figure for set_fallback(1, true, 2).
REFERENCE_HASH = "289254e3148a512eee14603081e69dbf19b186c4dc6bc7e2cff93554ca5267b9"


def _signer(name: str, address: str | None = None) -> LocalKeySigner:
    return LocalKeySigner.from_hex(KEYS[name], account_address=address)


def _set_fallback() -> EntryFunction:
    call = VECTORS["proposal"]["call"]
    return transactions.build_entry_function(call["function_id"], [(t, v) for t, v in call["args"]])


def _entry(call: ChainCall) -> EntryFunction:
    return transactions.build_entry_function(
        call.function_id(PACKAGE), [(a.type, a.python()) for a in call.args]
    )


def _assert_bodies(
    vector: dict[str, Any], signer: LocalKeySigner, payload: EntryFunction | TransactionPayload
) -> None:
    raw = transactions.build_raw_transaction(
        signer.address,
        int(vector["sequence_number"]),
        payload,
        max_gas_amount=500_000,
        gas_unit_price=100,
        expiration_timestamp_s=VECTORS["expiration_timestamp_s"],
        chain_id=VECTORS["chain_id"],
    )
    assert signer.address == vector["sender"]
    assert transactions.raw_transaction_bytes(raw).hex() == vector["raw_transaction_hex"]
    assert transactions.signing_message(raw).hex() == vector["signing_message_hex"]
    assert transactions.signed_body(raw, signer).hex() == vector["submit_body_hex"]
    assert transactions.simulation_body(raw, signer.public_key).hex() == vector["simulate_body_hex"]


def test_proposal_payload_is_variant_byte_then_entry_function() -> None:
    """The payload is 0x00 ‖ BCS(EntryFunction): 72 bytes for set_fallback(1, true, 2)."""
    entry = _set_fallback()
    assert entry_function_bytes(entry).hex() == VECTORS["proposal"]["entry_function_hex"]
    payload = proposal_payload(entry)
    assert payload.hex() == VECTORS["proposal"]["payload_hex"]
    assert payload[0] == 0
    assert len(payload) == 72


def test_payload_hash_is_the_reference_figure_and_not_the_entry_function_hash() -> None:
    """sha3_256 of the payload with its variant byte is 2892…67b9; the old approval hash differs."""
    entry = _set_fallback()
    digest = payload_hash(proposal_payload(entry))
    assert digest.hex() == VECTORS["proposal"]["payload_hash_hex"] == REFERENCE_HASH
    assert transactions.entry_function_hash(entry) != "0x" + REFERENCE_HASH
    assert hashlib.sha3_256(entry_function_bytes(entry)).digest() != digest


def test_decoding_a_payload_gives_back_the_entry_function() -> None:
    """A stored payload decodes to the same function and argument bytes."""
    entry = decode_proposal_payload(bytes.fromhex(VECTORS["proposal"]["payload_hex"]))
    assert (entry.module.name, entry.function) == ("price_feed", "set_fallback")
    assert entry_function_bytes(entry).hex() == VECTORS["proposal"]["entry_function_hex"]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x01" + b"\x00" * 40, bytes.fromhex("00" + "ab" * 10)],
    ids=["empty", "unknown-variant", "truncated"],
)
def test_undecodable_payload_raises_payload_decode_error(garbage: bytes) -> None:
    """Bytes that are not a MultisigTransactionPayload raise PayloadDecodeError (proposals may hold any)."""
    with pytest.raises(PayloadDecodeError):
        decode_proposal_payload(garbage)


def test_trailing_bytes_after_the_payload_are_refused() -> None:
    """A valid payload followed by extra bytes is refused, as the VM's from_bytes refuses it."""
    payload = bytes.fromhex(VECTORS["proposal"]["payload_hex"])
    with pytest.raises(PayloadDecodeError, match="trailing"):
        decode_proposal_payload(payload + b"\x00")


@pytest.mark.parametrize(
    ("name", "signer_name", "call"),
    [
        (
            "create_transaction",
            "bot",
            lambda: create_transaction_call(
                PACKAGE, bytes.fromhex(VECTORS["proposal"]["payload_hex"])
            ),
        ),
        (
            "create_transaction_with_hash",
            "bot",
            lambda: create_transaction_with_hash_call(PACKAGE, bytes.fromhex(REFERENCE_HASH)),
        ),
        ("approve_transaction", "alice", lambda: approve_call(PACKAGE, 1)),
        ("reject_transaction", "bob", lambda: reject_call(PACKAGE, 1)),
        ("execute_rejected_transaction", "bot", lambda: execute_rejected_call(PACKAGE)),
    ],
)
def test_multisig_calls_match_the_vectors(name: str, signer_name: str, call: Any) -> None:
    """Each 0x1::multisig_account call encodes and signs to the vector's bytes."""
    vector = VECTORS[name]
    built: ChainCall = call()
    assert built.function == vector["function_id"]
    entry = _entry(built)
    assert entry_function_bytes(entry).hex() == vector["entry_function_hex"]
    _assert_bodies(vector, _signer(signer_name), entry)


def test_multisig_payload_for_the_stored_proposal() -> None:
    """Executing the stored payload sends 03 ‖ A ‖ 00, signed as the executor's own transaction."""
    payload = MultisigPayload(PACKAGE)
    ser = Serializer()
    payload.serialize(ser)
    assert ser.output().hex() == VECTORS["execute_stored"]["payload_hex"]
    _assert_bodies(VECTORS["execute_stored"], _signer("bot"), payload)


def test_multisig_payload_with_the_call_inline() -> None:
    """Sending the call inline is 03 ‖ A ‖ 01 ‖ payload, the same payload bytes the hash covers."""
    payload = MultisigPayload(PACKAGE, _set_fallback())
    assert payload.inline_payload() == bytes.fromhex(VECTORS["proposal"]["payload_hex"])
    ser = Serializer()
    payload.serialize(ser)
    assert ser.output().hex() == VECTORS["execute_inline"]["payload_hex"]
    _assert_bodies(VECTORS["execute_inline"], _signer("bot"), payload)


@pytest.mark.parametrize("name", ["execute_stored", "execute_inline"])
def test_multisig_payload_reads_back(name: str) -> None:
    """deserialize_body reads what serialize wrote (after the variant byte), inline call included."""
    data = bytes.fromhex(VECTORS[name]["payload_hex"])
    des = Deserializer(data)
    assert des.uleb128() == MultisigPayload.MULTISIG
    payload = MultisigPayload.deserialize_body(des)
    assert des.remaining() == 0
    assert payload.multisig_address == PACKAGE
    ser = Serializer()
    payload.serialize(ser)
    assert ser.output() == data


def test_conversion_message_is_the_referenced_layout() -> None:
    """The proof message is BCS(SignedMessage{TypeInfo, message}): 279 bytes with 4 owners."""
    conversion = VECTORS["conversion"]
    message = conversion_message(
        chain_id=VECTORS["chain_id"],
        account=PACKAGE,
        sequence_number=conversion["sequence_number"],
        owners=VECTORS["owners"],
        num_signatures_required=conversion["num_signatures_required"],
    )
    assert message.hex() == conversion["message_hex"]
    assert len(message) == 279


def test_conversion_proof_signs_the_raw_message_without_salt() -> None:
    """The package key signs the message itself (Ed25519, no SUPRA:: salt): the vector's signature."""
    conversion = VECTORS["conversion"]
    proof = sign_conversion(
        _signer("package", PACKAGE),
        chain_id=VECTORS["chain_id"],
        sequence_number=conversion["sequence_number"],
        owners=VECTORS["owners"],
        num_signatures_required=conversion["num_signatures_required"],
    )
    assert proof.message.hex() == conversion["message_hex"]
    assert proof.public_key.hex() == conversion["public_key_hex"]
    assert proof.signature.hex() == conversion["signature_hex"]
    assert not proof.message.startswith(transactions.RAW_TRANSACTION_SALT)


def test_conversion_call_matches_the_vector() -> None:
    """create_with_existing_account_and_revoke_auth_key encodes its nine arguments as the vector."""
    conversion = VECTORS["conversion"]
    proof = ConversionProof(
        bytes.fromhex(conversion["message_hex"]),
        bytes.fromhex(conversion["public_key_hex"]),
        bytes.fromhex(conversion["signature_hex"]),
    )
    call = conversion_call(
        PACKAGE,
        VECTORS["owners"],
        conversion["num_signatures_required"],
        proof,
        timeout_s=conversion["timeout_s"],
    )
    entry = _entry(call)
    assert entry_function_bytes(entry).hex() == conversion["entry_function_hex"]
    _assert_bodies(conversion, _signer("package", PACKAGE), entry)
