"""Regenerate tests/data/multisig_vectors.json: the bytes of Supra's on-chain multisig, fixed two ways.

Proposal payloads, their hash and the conversion proof are built by hand from the layout in
shared/reference/multisig_account.md (§2.1, §6), byte by byte; the transactions (create, vote, the
Multisig payload, the conversion call) are built and signed with Supra's own Python SDK
(supra-sdk 0.1.1, which has ``Multisig``). Where both describe the same bytes they are checked equal,
and the reference's published figures (the 72-byte set_fallback payload, its hash 2892…67b9, the
279-byte proof for 4 owners) are asserted. Nothing here imports chatops.

Not run by the test suite. To regenerate (as for make_supra_vectors.py):

    .venv/bin/pip download supra-sdk==0.1.1 --no-deps --ignore-requires-python -d /tmp/supra
    unzip -o -q /tmp/supra/supra_sdk-0.1.1-py3-none-any.whl -d /tmp/supra/unpacked
    PYTHONPATH=/tmp/supra/unpacked .venv/bin/python tests/data/make_multisig_vectors.py

tests/chatops/chain/test_multisig_bcs.py rebuilds every vector with chatops.chain and compares bytes.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from supra_sdk import ed25519
from supra_sdk.account_address import AccountAddress
from supra_sdk.bcs import Serializer
from supra_sdk.transactions import (
    EntryFunction,
    Multisig,
    MultisigTransactionPayload,
    RawTransaction,
    SignedTransaction,
    SupraTransaction,
    TransactionArgument,
    TransactionPayload,
)

OUT = Path(__file__).with_name("multisig_vectors.json")
PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
# Test-only keys, never used on any network: the package account's key (the one in
# supra_signed_tx_vectors.json), the bot's and two approvers'.
PACKAGE_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
BOT_KEY = "1111111111111111111111111111111111111111111111111111111111111111"
ALICE_KEY = "2222222222222222222222222222222222222222222222222222222222222222"
BOB_KEY = "3333333333333333333333333333333333333333333333333333333333333333"
CHAIN_ID = 6
EXPIRATION_S = 1_841_875_694
# The reference's figures (multisig_account.md §6 and §2.1).
REFERENCE_PAYLOAD_HASH = "289254e3148a512eee14603081e69dbf19b186c4dc6bc7e2cff93554ca5267b9"
REFERENCE_WRONG_HASH_PREFIX = "67f71dd5"
REFERENCE_PROOF_LENGTH_4_OWNERS = 279


def address_of(key_hex: str) -> str:
    public = bytes(SigningKey(bytes.fromhex(key_hex)).verify_key)
    return "0x" + hashlib.sha3_256(public + b"\x00").hexdigest()


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def name(text: str) -> bytes:
    return uleb(len(text)) + text.encode()


def addr32(address: str) -> bytes:
    return bytes.fromhex(address.removeprefix("0x").rjust(64, "0"))


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def entry_by_hand(address: str, module: str, function: str, args: list[bytes]) -> bytes:
    """BCS(EntryFunction) written out: address, module, function, no type args, args."""
    body = addr32(address) + name(module) + name(function) + uleb(0) + uleb(len(args))
    return body + b"".join(uleb(len(a)) + a for a in args)


def bcs_bytes(value: bytes) -> bytes:
    return uleb(len(value)) + value


def set_fallback_args() -> list[bytes]:
    return [u64(1), b"\x01", b"\x02"]


def sdk_entry(address: str, module: str, function: str, args: list[bytes]) -> EntryFunction:
    return EntryFunction.natural(
        f"{address}::{module}",
        function,
        [],
        [TransactionArgument(a, Serializer.fixed_bytes) for a in args],
    )


def bcs_of(value: Any) -> bytes:
    ser = Serializer()
    value.serialize(ser)
    return ser.output()


def signed(
    key_hex: str, sender: str, sequence_number: int, payload: TransactionPayload
) -> dict[str, Any]:
    key = ed25519.PrivateKey.from_str(key_hex)
    raw = RawTransaction(
        AccountAddress.from_str(sender),
        sequence_number,
        payload,
        500_000,
        100,
        EXPIRATION_S,
        CHAIN_ID,
    )
    signed_tx = SignedTransaction(raw, raw.sign(key))
    assert signed_tx.verify()
    simulated = SignedTransaction(raw, raw.sign_simulated(key.public_key()))
    return {
        "sender": sender,
        "sequence_number": sequence_number,
        "raw_transaction_hex": bcs_of(raw).hex(),
        "signing_message_hex": raw.keyed().hex(),
        "submit_body_hex": SupraTransaction(signed_tx).to_bytes().hex(),
        "simulate_body_hex": SupraTransaction(simulated).to_bytes().hex(),
    }


def main() -> int:
    bot, alice, bob = address_of(BOT_KEY), address_of(ALICE_KEY), address_of(BOB_KEY)
    carol = "0x" + "ca" * 32
    owners = [bot, alice, bob, carol]

    # 1. The proposal payload and its hash (§6), by hand and by the SDK.
    entry_bytes = entry_by_hand(PACKAGE, "price_feed", "set_fallback", set_fallback_args())
    payload = b"\x00" + entry_bytes
    entry = sdk_entry(PACKAGE, "price_feed", "set_fallback", set_fallback_args())
    assert bcs_of(MultisigTransactionPayload(entry)) == payload, "SDK and hand layout differ"
    assert len(payload) == 72
    digest = hashlib.sha3_256(payload).hexdigest()
    assert digest == REFERENCE_PAYLOAD_HASH, digest
    assert hashlib.sha3_256(entry_bytes).hexdigest().startswith(REFERENCE_WRONG_HASH_PREFIX)

    # 2. The proposals: create_transaction(A, payload) and create_transaction_with_hash(A, hash).
    create_args = [addr32(PACKAGE), bcs_bytes(payload)]
    create = entry_by_hand("0x1", "multisig_account", "create_transaction", create_args)
    assert create_args[1][:1] == b"\x48"  # uleb(72): the reference's "0x48 ‖ 72 bytes"
    with_hash_args = [addr32(PACKAGE), bcs_bytes(bytes.fromhex(digest))]
    with_hash = entry_by_hand(
        "0x1", "multisig_account", "create_transaction_with_hash", with_hash_args
    )
    assert with_hash_args[1][:1] == b"\x20"

    def call_vector(
        function: str, args: list[bytes], by_hand: bytes, key: str, sender: str, seq: int
    ) -> dict[str, Any]:
        sdk = sdk_entry("0x1", "multisig_account", function, args)
        assert bcs_of(sdk) == by_hand, function
        return {
            "function_id": f"0x1::multisig_account::{function}",
            "entry_function_hex": by_hand.hex(),
            **signed(key, sender, seq, TransactionPayload(sdk)),
        }

    approve_args = [addr32(PACKAGE), u64(1)]
    approve = entry_by_hand("0x1", "multisig_account", "approve_transaction", approve_args)
    reject = entry_by_hand("0x1", "multisig_account", "reject_transaction", approve_args)
    clear = entry_by_hand(
        "0x1", "multisig_account", "execute_rejected_transaction", [addr32(PACKAGE)]
    )

    # 3. The Multisig transaction payload (§6 BCS layout), stored and inline.
    stored_payload = b"\x03" + addr32(PACKAGE) + b"\x00"
    inline_payload = b"\x03" + addr32(PACKAGE) + b"\x01" + payload
    assert bcs_of(TransactionPayload(Multisig(AccountAddress.from_str(PACKAGE)))) == stored_payload
    assert (
        bcs_of(
            TransactionPayload(
                Multisig(AccountAddress.from_str(PACKAGE), MultisigTransactionPayload(entry))
            )
        )
        == inline_payload
    )

    # 4. The conversion proof (§2.1), by hand, signed without any salt.
    type_info = (
        addr32("0x1")
        + name("multisig_account")
        + name("MultisigAccountCreationWithAuthKeyRevocationMessage")
    )
    assert type_info[32:33] == b"\x10"
    assert type_info[32 + 17 : 32 + 18] == b"\x33"
    package_seq = 46
    inner = bytes([CHAIN_ID]) + addr32(PACKAGE) + u64(package_seq) + uleb(len(owners))
    inner += b"".join(addr32(o) for o in owners) + u64(3)
    message = type_info + inner
    assert len(message) == REFERENCE_PROOF_LENGTH_4_OWNERS, len(message)
    package_key = SigningKey(bytes.fromhex(PACKAGE_KEY))
    signature = package_key.sign(message).signature
    public_key = bytes(package_key.verify_key)
    conversion_args = [
        addr32(PACKAGE),
        uleb(len(owners)) + b"".join(addr32(o) for o in owners),
        u64(3),
        b"\x00",
        bcs_bytes(public_key),
        bcs_bytes(signature),
        uleb(0),
        uleb(0),
        u64(3600),
    ]
    conversion_entry = entry_by_hand(
        "0x1",
        "multisig_account",
        "create_with_existing_account_and_revoke_auth_key",
        conversion_args,
    )

    data = {
        "note": (
            "Generated by tests/data/make_multisig_vectors.py: payloads, hash and conversion proof by hand "
            "from shared/reference/multisig_account.md's layout; transactions signed with supra-sdk 0.1.1. "
            "Keys are test-only."
        ),
        "package": PACKAGE,
        "chain_id": CHAIN_ID,
        "expiration_timestamp_s": EXPIRATION_S,
        "keys": {"package": PACKAGE_KEY, "bot": BOT_KEY, "alice": ALICE_KEY, "bob": BOB_KEY},
        "owners": owners,
        "proposal": {
            "call": {
                "function_id": f"{PACKAGE}::price_feed::set_fallback",
                "args": [["u64", 1], ["bool", True], ["u8", 2]],
            },
            "entry_function_hex": entry_bytes.hex(),
            "payload_hex": payload.hex(),
            "payload_hash_hex": digest,
        },
        "create_transaction": call_vector(
            "create_transaction", create_args, create, BOT_KEY, bot, 0
        ),
        "create_transaction_with_hash": call_vector(
            "create_transaction_with_hash", with_hash_args, with_hash, BOT_KEY, bot, 1
        ),
        "approve_transaction": call_vector(
            "approve_transaction", approve_args, approve, ALICE_KEY, alice, 0
        ),
        "reject_transaction": call_vector(
            "reject_transaction", approve_args, reject, BOB_KEY, bob, 0
        ),
        "execute_rejected_transaction": call_vector(
            "execute_rejected_transaction", [addr32(PACKAGE)], clear, BOT_KEY, bot, 2
        ),
        "execute_stored": {
            "payload_hex": stored_payload.hex(),
            **signed(
                BOT_KEY, bot, 3, TransactionPayload(Multisig(AccountAddress.from_str(PACKAGE)))
            ),
        },
        "execute_inline": {
            "payload_hex": inline_payload.hex(),
            **signed(
                BOT_KEY,
                bot,
                4,
                TransactionPayload(
                    Multisig(AccountAddress.from_str(PACKAGE), MultisigTransactionPayload(entry))
                ),
            ),
        },
        "conversion": {
            "sequence_number": package_seq,
            "num_signatures_required": 3,
            "timeout_s": 3600,
            "message_hex": message.hex(),
            "public_key_hex": public_key.hex(),
            "signature_hex": signature.hex(),
            "entry_function_hex": conversion_entry.hex(),
            **signed(
                PACKAGE_KEY,
                PACKAGE,
                package_seq,
                TransactionPayload(
                    sdk_entry(
                        "0x1",
                        "multisig_account",
                        "create_with_existing_account_and_revoke_auth_key",
                        conversion_args,
                    )
                ),
            ),
        },
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
