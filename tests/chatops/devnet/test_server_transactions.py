"""Devnet transaction decoding, hashing, the in-process Ledger and the admin key file."""

from __future__ import annotations

import hashlib
import stat
import time
from pathlib import Path

import pytest

from chatops.devnet import resources
from chatops.devnet.execution import ViewError
from chatops.devnet.framework import (
    PACKAGE_ADDRESS,
    Call,
    FunctionSpec,
    MissingDataError,
    World,
)
from chatops.devnet.ledger import Ledger, TransactionFailedError
from chatops.devnet.server import DevnetServer, load_or_create_admin_key
from chatops.devnet.transactions import (
    TransactionRejectedError,
    decode_submission,
    keccak256,
    signature_valid,
)
from tests.chatops.devnet.server_support import (
    address_of,
    new_key,
    raw_transaction,
    sign_single,
)

A = PACKAGE_ADDRESS
START = 1_800_000_000


def test_keccak256_matches_known_vectors() -> None:
    """The pure-Python Keccak-256 gives the Ethereum digests (not SHA3-256) for standard inputs."""
    assert (
        keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert (
        keccak256(b"abc").hex()
        == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )
    assert keccak256(b"").hex() != hashlib.sha3_256(b"").hexdigest()
    long_input = b"a" * 300  # crosses two 136-byte rate blocks
    assert keccak256(long_input) != keccak256(long_input + b"a")


def test_decode_reads_sender_function_args_and_hash() -> None:
    """A signed body decodes to its sender, function and BCS args; the hash is keccak of the signed tx."""
    key = new_key()
    raw = raw_transaction(
        address_of(key),
        7,
        "price_feed::set_fallback",
        [("u64", 1), ("bool", True), ("u8", 3)],
        expiration_s=START,
    )
    body = sign_single(raw, key)
    tx = decode_submission(body)
    assert tx.sender == address_of(key)
    assert tx.sequence_number == 7
    assert (tx.module_address, tx.module, tx.function) == (A, "price_feed", "set_fallback")
    assert tx.args == ((1).to_bytes(8, "little"), b"\x01", b"\x03")
    assert tx.hash == "0x" + keccak256(body[1:]).hex()
    assert signature_valid(tx, tx.keys[0])


def test_decode_rejects_other_variants_and_garbage() -> None:
    """A non-Move SupraTransaction variant, an empty body or truncated bytes are rejected."""
    key = new_key()
    raw = raw_transaction(address_of(key), 0, "price_feed::set_fallback", [], expiration_s=START)
    body = sign_single(raw, key)
    for bad in (b"\x02" + body[1:], b"", body[:-5], body + b"\x00"):
        with pytest.raises(TransactionRejectedError):
            decode_submission(bad)


def test_zero_signature_does_not_verify() -> None:
    """The simulation signature (64 zero bytes) is never a valid signature."""
    key = new_key()
    raw = raw_transaction(address_of(key), 0, "price_feed::set_fallback", [], expiration_s=START)
    tx = decode_submission(sign_single(raw, key, zero=True))
    assert not signature_valid(tx, tx.keys[0])


def test_ledger_call_rolls_back_aborts_and_apply_raises() -> None:
    """A failing call restores the World, records Fail, bumps the sequence; apply raises on it."""
    ledger = Ledger(start_time_s=START)
    before = ledger.view("price_feed::get_price_view", [], ["1"], strict=False)
    record = ledger.call("price_feed::update_price", [1, 2_000_000, START], [address_of(new_key())])
    assert record.status == "Fail"
    assert record.vm_status == f"Move abort in {A}::price_feed: 0x1202"
    assert ledger.view("price_feed::get_price_view", [], ["1"], strict=False) == before
    with pytest.raises(TransactionFailedError):
        ledger.apply("price_feed::clear_clamp", [1, START])


def test_missing_data_is_reported_as_execution_failure() -> None:
    """MissingDataError becomes a Fail whose vm_status is an execution failure naming MISSING_DATA."""

    def borrow(world: World, call: Call) -> None:
        raise MissingDataError("price_feed::PriceFeedRegistry")

    specs = {"price_feed::touch": FunctionSpec("price_feed", "touch", "entry", (), borrow)}
    ledger = Ledger(start_time_s=START, seed=False, specs=specs)
    record = ledger.call("price_feed::touch", [])
    assert record.status == "Fail"
    assert record.vm_status.startswith(f"Execution failed in {A}::price_feed::touch at code offset")
    assert "MISSING_DATA" in record.vm_status


def test_missing_data_view_is_a_400_message() -> None:
    """A read borrowing an unpublished resource raises ViewError carrying MISSING_DATA."""
    ledger = Ledger(start_time_s=START, seed=False)
    with pytest.raises(ViewError, match="MISSING_DATA"):
        ledger.view("price_feed::get_price_view", [], ["1"], strict=False)


def test_unseeded_ledger_starts_empty_at_genesis() -> None:
    """seed=False gives genesis only: block 0 at the given time, no module state."""
    ledger = Ledger(start_time_s=START, seed=False)
    assert ledger.latest_block.height == 0
    assert ledger.now_s == START
    assert ledger.world.modules == {}


def test_table_handles_are_stable_across_ledgers() -> None:
    """Handles derive from the resource path, so two runs (or a restart) agree on them."""
    first = resources.account_resource(Ledger(start_time_s=START), A, f"{A}::sales::SalesLedger")
    second = resources.account_resource(
        Ledger(start_time_s=START + 5), A, f"{A}::sales::SalesLedger"
    )
    assert first is not None
    assert second is not None
    assert first["data"]["states"] == second["data"]["states"]


def test_admin_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    """A missing key file is generated hex-encoded with mode 0600 and read back as the same key."""
    path = tmp_path / "keys" / "admin.key"
    key = load_or_create_admin_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == "0x" + bytes(key).hex()
    assert bytes(load_or_create_admin_key(path)) == bytes(key)


def test_startup_with_seed_is_fast() -> None:
    """A seeded devnet serves within well under two seconds."""
    started = time.monotonic()
    with DevnetServer(admin_public_key=bytes(new_key().public_key().key.encode())) as devnet:
        assert devnet.url.startswith("http://127.0.0.1:")
        assert devnet.ledger.world.modules
    assert time.monotonic() - started < 1.5
