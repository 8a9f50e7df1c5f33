"""Lenient response models: both timestamp forms, u64 strings, extra fields and the events wrapper."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chatops.chain.models import BlockInfo, EventRecord, TransactionInfo, TxStatus

TX: dict[str, Any] = {
    "hash": "0xabc",
    "txn_type": "user",
    "status": "Fail",
    "header": {
        "chain_id": 6,
        "sender": {"Move": "0xbc95"},
        "sequence_number": "12",
        "gas_unit_price": 100,
        "max_gas_amount": 500000,
        "expiration_timestamp": {
            "microseconds_since_unix_epoch": 1_841_875_694_000_000,
            "utc_date_time": "x",
        },
    },
    "block_header": {"hash": "0xb", "height": 5526696, "timestamp": 1_700_000_000_123_456},
    "payload": {"Move": {"function": "0x1::m::f"}},
    "output": {
        "Move": {
            "gas_used": "73",
            "events": [
                {
                    "guid": {"creation_number": "2", "account_address": "0x1"},
                    "sequence_number": "4",
                    "type": "0x1::m::E",
                    "data": {"a": "1"},
                }
            ],
            "vm_status": "Move abort in 0x1::table: 0x6507",
        }
    },
    "future_field": [1, 2],
}


def test_transaction_info_reads_the_supra_shape() -> None:
    """A TransactionV3 parses with string u64s, a bare-number block timestamp and unknown fields."""
    info = TransactionInfo.model_validate(TX)
    assert info.status is TxStatus.FAIL
    assert info.is_final
    assert info.vm_status == "Move abort in 0x1::table: 0x6507"
    assert info.gas_used == 73
    assert info.events[0].sequence_number == 4
    assert info.events[0].guid is not None
    assert info.events[0].guid.creation_number == 2
    assert info.header is not None
    assert info.header.sequence_number == 12
    assert info.header.sender_address == "0xbc95"
    assert info.header.expiration_timestamp is not None
    assert info.header.expiration_timestamp.seconds == 1_841_875_694
    assert info.block_header is not None
    assert info.block_header.timestamp is not None
    assert info.block_header.timestamp.microseconds_since_unix_epoch == 1_700_000_000_123_456


def test_pending_transaction_without_output_is_not_final() -> None:
    """A Pending transaction with null output and block_header parses and is not final."""
    info = TransactionInfo.model_validate(
        {"hash": "0x1", "status": "PendingAfterExecution", "output": None, "block_header": None}
    )
    assert not info.is_final
    assert info.vm_status == ""
    assert info.events == []


def test_unknown_status_is_rejected() -> None:
    """A status outside the five known ones fails validation rather than being guessed."""
    with pytest.raises(ValidationError):
        TransactionInfo.model_validate({"hash": "0x1", "status": "Maybe"})


def test_event_record_flattens_the_events_endpoint_wrapper() -> None:
    """/events items {event, block_height, transaction_hash} flatten into one EventRecord."""
    record = EventRecord.model_validate(
        {
            "event": {
                "guid": {"creation_number": "0", "account_address": "0x0"},
                "sequence_number": "0",
                "type": "0xbc::history::E",
                "data": {"id": "5"},
            },
            "block_height": 123,
            "transaction_hash": "0xfeed",
        }
    )
    assert (record.type, record.block_height, record.transaction_hash) == (
        "0xbc::history::E",
        123,
        "0xfeed",
    )
    assert record.data == {"id": "5"}


def test_block_info_reads_the_header_with_either_timestamp_form() -> None:
    """GET /block's header parses whether timestamp is an object or a bare microsecond count."""
    as_object = BlockInfo.model_validate(
        {
            "header": {
                "height": 9,
                "hash": "0x9",
                "timestamp": {"microseconds_since_unix_epoch": 2_000_000},
            }
        }
    )
    as_number = BlockInfo.model_validate(
        {"header": {"height": 9, "hash": "0x9", "timestamp": "2000000"}}
    )
    assert as_object.timestamp.seconds == as_number.timestamp.seconds == 2
    assert as_object.height == 9
