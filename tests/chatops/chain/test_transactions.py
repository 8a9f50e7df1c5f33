"""Entry-function building: type tags, function ids, argument encoding and the approval hash."""

from __future__ import annotations

import pytest
from aptos_sdk.bcs import Serializer

from chatops.chain import transactions
from chatops.chain.movetypes import MoveTypeError

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
SET_FALLBACK = f"{PACKAGE}::price_feed::set_fallback"


def _tag_bytes(type_str: str) -> bytes:
    ser = Serializer()
    transactions.parse_type_tag(type_str).serialize(ser)
    return ser.output()


def test_primitive_type_tags_use_move_variant_numbers() -> None:
    """Primitive type tags serialise to their Move TypeTag variant byte."""
    assert _tag_bytes("bool") == b"\x00"
    assert _tag_bytes("u8") == b"\x01"
    assert _tag_bytes("u64") == b"\x02"
    assert _tag_bytes("address") == b"\x04"
    assert _tag_bytes("u256") == b"\x0a"


def test_vector_type_tag_wraps_its_element() -> None:
    """vector<u8> is the vector variant (6) followed by the u8 tag."""
    assert _tag_bytes("vector<u8>") == b"\x06\x01"
    assert _tag_bytes("vector<vector<u64>>") == b"\x06\x06\x02"


def test_struct_type_tag_parses_generics() -> None:
    """A struct tag starts with variant 7 and carries its module and name."""
    encoded = _tag_bytes("0x1::coin::CoinStore<0x1::supra_coin::SupraCoin>")
    assert encoded[0] == 7
    assert b"supra_coin" in encoded


def test_bad_type_string_is_rejected() -> None:
    """A type string that is neither primitive, vector nor struct raises ValueError."""
    with pytest.raises(ValueError, match="not a Move type"):
        transactions.parse_type_tag("u63")


@pytest.mark.parametrize("bad", ["price_feed::set_fallback", "0x1::coin", "0x1::::f", "abc::m::f"])
def test_bad_function_ids_are_rejected(bad: str) -> None:
    """Function ids must be 0xADDR::module::function."""
    with pytest.raises(ValueError, match="function id"):
        transactions.split_function_id(bad)


def test_arguments_are_checked_against_their_move_types() -> None:
    """A value that does not fit its Move type fails before anything is signed."""
    with pytest.raises(MoveTypeError):
        transactions.build_entry_function(SET_FALLBACK, [("u8", 256)])


def test_entry_function_hash_ignores_seq_gas_and_expiry_but_not_args() -> None:
    """The approval hash depends only on the call, not on sequence number, gas or expiry."""
    call = transactions.build_entry_function(SET_FALLBACK, [("u64", 1), ("bool", True), ("u8", 3)])
    same = transactions.build_entry_function(SET_FALLBACK, [("u64", 1), ("bool", True), ("u8", 3)])
    other = transactions.build_entry_function(
        SET_FALLBACK, [("u64", 1), ("bool", False), ("u8", 3)]
    )
    assert transactions.entry_function_hash(call) == transactions.entry_function_hash(same)
    assert transactions.entry_function_hash(call) != transactions.entry_function_hash(other)
    assert len(transactions.entry_function_hash(call)) == 66


def test_short_sender_address_is_padded() -> None:
    """A short sender address is left-padded to 32 bytes in the raw transaction."""
    call = transactions.build_entry_function(SET_FALLBACK, [("u64", 1), ("bool", True), ("u8", 3)])
    raw = transactions.build_raw_transaction(
        "0x1", 0, call, max_gas_amount=1, gas_unit_price=1, expiration_timestamp_s=1, chain_id=6
    )
    assert transactions.raw_transaction_bytes(raw)[:32] == bytes(31) + b"\x01"
