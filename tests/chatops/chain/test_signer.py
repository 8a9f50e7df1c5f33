"""Signing: byte-for-byte parity with Supra's Python SDK, and a local key that never leaks."""

from __future__ import annotations

import json
import logging
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import VerifyKey

from chatops.chain import transactions
from chatops.chain.signer import LocalKeySigner, Signer, SignerKeyError, address_from_public_key

VECTORS_FILE = Path(__file__).resolve().parents[2] / "data" / "supra_signed_tx_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
CORPUS_KEY = "9bf49a6a0755f953811fce125f2683d50429c3bb49e074147e0089a52eae155f"
CORPUS_ADDRESS = "0x7deeccb1080854f499ec8b4c1b213b82c5e34b925cf6875fec02d4b77adbd2d6"
PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"


def _rebuild(vector: dict[str, Any]) -> tuple[LocalKeySigner, Any]:
    signer = LocalKeySigner.from_hex(vector["private_key"], account_address=vector["sender"])
    entry = transactions.build_entry_function(
        vector["function_id"], [(t, v) for t, v in vector["args"]], vector["type_args"]
    )
    raw = transactions.build_raw_transaction(
        signer.address,
        vector["sequence_number"],
        entry,
        max_gas_amount=vector["max_gas_amount"],
        gas_unit_price=vector["gas_unit_price"],
        expiration_timestamp_s=vector["expiration_timestamp_s"],
        chain_id=vector["chain_id"],
    )
    return signer, raw


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_bytes_match_supra_sdk(vector: dict[str, Any]) -> None:
    """Raw transaction, signing message, submit body and simulate body equal supra-sdk's bytes."""
    signer, raw = _rebuild(vector)
    assert transactions.raw_transaction_bytes(raw).hex() == vector["raw_transaction_hex"]
    assert transactions.signing_message(raw).hex() == vector["signing_message_hex"]
    assert transactions.signed_body(raw, signer).hex() == vector["submit_body_hex"]
    assert transactions.simulation_body(raw, signer.public_key).hex() == vector["simulate_body_hex"]


def test_corpus_vector_is_supra_sdks_published_one() -> None:
    """The corpus body is 0x01 followed by the signed_transaction_input published in supra-sdk's tests."""
    corpus = next(v for v in VECTORS if "published_signed_transaction_hex" in v)
    signer, raw = _rebuild(corpus)
    body = transactions.signed_body(raw, signer)
    assert body[0] == 1
    assert body[1:].hex() == corpus["published_signed_transaction_hex"]


def test_aptos_salt_would_not_match() -> None:
    """The signing message uses the SUPRA salt; the Aptos salt gives a different message."""
    import hashlib

    _, raw = _rebuild(VECTORS[0])
    message = transactions.signing_message(raw)
    assert message.startswith(hashlib.sha3_256(b"SUPRA::RawTransaction").digest())
    assert not message.startswith(hashlib.sha3_256(b"APTOS::RawTransaction").digest())


def test_signature_verifies_against_public_key() -> None:
    """A LocalKeySigner signature verifies with its public key over the exact message."""
    signer = LocalKeySigner.generate()
    message = b"SUPRA message"
    VerifyKey(signer.public_key).verify(message, signer.sign(message))
    assert len(signer.sign(message)) == 64


def test_address_is_derived_from_public_key() -> None:
    """Without an explicit address, the address is sha3_256(pubkey || 0x00) (supra-sdk corpus sender)."""
    signer = LocalKeySigner.from_hex(CORPUS_KEY)
    assert signer.address == CORPUS_ADDRESS
    assert address_from_public_key(signer.public_key) == CORPUS_ADDRESS


def test_explicit_address_overrides_derivation_for_rotated_keys() -> None:
    """A rotated-key account (the package account) keeps its configured address, normalised."""
    signer = LocalKeySigner.from_hex(
        CORPUS_KEY, account_address=PACKAGE.upper().replace("0X", "0x")
    )
    assert signer.address == PACKAGE


@pytest.mark.parametrize(
    "content",
    [CORPUS_KEY, "0x" + CORPUS_KEY, "ed25519-priv-0x" + CORPUS_KEY, f"  {CORPUS_KEY.upper()}\n"],
)
def test_key_file_formats(tmp_path: Path, content: str) -> None:
    """Plain hex, 0x and ed25519-priv-0x prefixes and surrounding whitespace all load."""
    path = tmp_path / "key"
    path.write_text(content, encoding="ascii")
    assert LocalKeySigner.from_key_file(path).address == CORPUS_ADDRESS


def test_bad_key_file_error_does_not_echo_the_content(tmp_path: Path) -> None:
    """A malformed key file raises SignerKeyError whose message omits the file's content."""
    path = tmp_path / "key"
    secret = CORPUS_KEY[:-2]
    path.write_text(secret, encoding="ascii")
    with pytest.raises(SignerKeyError) as caught:
        LocalKeySigner.from_key_file(path)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_missing_key_file_raises_signer_key_error(tmp_path: Path) -> None:
    """A missing key file is a SignerKeyError naming only the file."""
    with pytest.raises(SignerKeyError, match="key file"):
        LocalKeySigner.from_key_file(tmp_path / "absent.key")


def test_private_key_absent_from_repr_str_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Neither repr, str nor a log line of the signer contains the private key."""
    signer = LocalKeySigner.from_hex(CORPUS_KEY)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("signer %s %r", signer, signer)
    for text in (repr(signer), str(signer), caplog.text):
        assert CORPUS_KEY not in text.lower()
        assert CORPUS_ADDRESS in text
    assert not hasattr(signer, "__dict__")


def test_signer_cannot_be_pickled() -> None:
    """Pickling a LocalKeySigner is refused, so the key cannot leak through serialisation."""
    with pytest.raises(TypeError, match="private key"):
        pickle.dumps(LocalKeySigner.generate())


def test_generated_key_round_trips_through_a_0600_file(tmp_path: Path) -> None:
    """write_key_file creates a 0600 file that loads back to the same account."""
    signer = LocalKeySigner.generate()
    path = tmp_path / "admin.key"
    signer.write_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii").startswith("ed25519-priv-0x")
    assert LocalKeySigner.from_key_file(path).address == signer.address


def test_local_key_signer_satisfies_the_signer_protocol() -> None:
    """LocalKeySigner is a Signer (runtime-checkable Protocol)."""
    assert isinstance(LocalKeySigner.generate(), Signer)


def test_wrong_seed_length_is_rejected() -> None:
    """A seed that is not 32 bytes is refused."""
    with pytest.raises(SignerKeyError):
        LocalKeySigner(b"\x01" * 31)


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    """write_key_file refuses an existing path and leaves its content as it was."""
    path = tmp_path / "admin.key"
    path.write_text("keep me", encoding="ascii")
    with pytest.raises(SignerKeyError, match="never overwritten"):
        LocalKeySigner.generate().write_key_file(path)
    assert path.read_text(encoding="ascii") == "keep me"
