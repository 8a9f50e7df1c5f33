"""The devnet chain's records as a node shows them: accounts, blocks, events and transactions.

Each renders its own Supra RPC v3 JSON; the ledger creates them and the server only serialises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chatops.devnet.framework import addr, sha3

__all__ = [
    "DEFAULT_CHAIN_ID",
    "EXECUTED_SUCCESSFULLY",
    "Account",
    "Block",
    "EventRecord",
    "TxRecord",
    "normalize_type",
    "timestamp_json",
]

DEFAULT_CHAIN_ID = 255
EXECUTED_SUCCESSFULLY = "Executed successfully"


def normalize_type(type_str: str) -> str:
    """``0xA::module::Struct`` with the address as 0x + 64 hex (accepts the trimmed form too)."""
    parts = type_str.strip().split("::")
    if len(parts) < 3:
        raise ValueError(f"not a fully qualified struct type: {type_str!r}")
    return "::".join([addr(parts[0]), *parts[1:]])


def timestamp_json(seconds: int) -> dict[str, Any]:
    """Supra's block/expiry timestamp object (``microseconds_since_unix_epoch`` + ``utc_date_time``)."""
    micros = seconds * 1_000_000
    when = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return {"microseconds_since_unix_epoch": micros, "utc_date_time": when}


@dataclass
class Account:
    """An account the chain knows: its next sequence number and authentication key."""

    address: str
    sequence_number: int = 0
    authentication_key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence_number": self.sequence_number,
            "authentication_key": self.authentication_key,
        }


@dataclass
class Block:
    """One block: each committed transaction (and each devnet clock move) gets its own."""

    height: int
    timestamp_s: int
    parent: str
    tx_hashes: list[str] = field(default_factory=list)

    @property
    def hash(self) -> str:
        material = f"{self.height}:{self.timestamp_s}:{self.parent}:{','.join(self.tx_hashes)}"
        return "0x" + sha3(material.encode()).hex()

    def header_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "height": self.height,
            "timestamp": timestamp_json(self.timestamp_s),
        }

    def to_json(self) -> dict[str, Any]:
        """``GET /rpc/v3/block``: the block header plus execution statistics."""
        return {
            "header": {
                "author": "0x" + "0" * 64,
                "hash": self.hash,
                "height": self.height,
                "parent": self.parent,
                "timestamp": timestamp_json(self.timestamp_s),
                "view": {"epoch": 1, "round": self.height},
            },
            "execution_statistics": {"total_transactions": len(self.tx_hashes)},
        }


@dataclass
class EventRecord:
    """An event in the global log, with the handle it was emitted on and where it was committed."""

    type: str
    data: dict[str, Any]
    creation_number: int
    account_address: str
    sequence_number: int
    block_height: int
    transaction_hash: str

    def event_json(self) -> dict[str, Any]:
        """EventV1: ``{guid, sequence_number, type, data}`` (u64 fields as strings)."""
        return {
            "guid": {
                "creation_number": str(self.creation_number),
                "account_address": self.account_address,
            },
            "sequence_number": str(self.sequence_number),
            "type": self.type,
            "data": self.data,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event_json(),
            "block_height": self.block_height,
            "transaction_hash": self.transaction_hash,
        }


@dataclass
class TxRecord:
    """A transaction as ``GET /rpc/v3/transactions/{hash}`` shows it."""

    hash: str
    status: str
    vm_status: str
    sender: str | None
    sequence_number: int | None
    function: str | None
    arguments: list[Any]
    events: list[EventRecord]
    gas_used: int
    block_height: int | None
    txn_type: str = "user"
    chain_id: int = DEFAULT_CHAIN_ID
    gas_unit_price: int = 100
    max_gas_amount: int = 500_000
    expiration_timestamp_s: int = 0
    authenticator: dict[str, Any] | None = None
    block: Block | None = None
    multisig_address: str | None = None

    @property
    def success(self) -> bool:
        return self.status == "Success"

    def _payload_json(self) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = None
        if self.function is not None:
            entry = {
                "type": "entry_function_payload",
                "function": self.function,
                "type_arguments": [],
                "arguments": self.arguments,
            }
        if self.multisig_address is not None:
            # Shown with the call it ran (stored or inline), or none when that could not be decoded.
            return {
                "Move": {
                    "type": "multisig_payload",
                    "multisig_address": self.multisig_address,
                    "transaction_payload": entry,
                }
            }
        return None if entry is None else {"Move": entry}

    def to_json(self) -> dict[str, Any]:
        """TransactionV3 (supra_rpc.md §1.3)."""
        header: dict[str, Any] | None = None
        if self.sender is not None:
            header = {
                "chain_id": self.chain_id,
                "sender": {"Move": self.sender},
                "sequence_number": self.sequence_number,
                "gas_unit_price": self.gas_unit_price,
                "max_gas_amount": self.max_gas_amount,
                "expiration_timestamp": timestamp_json(self.expiration_timestamp_s),
            }
        payload = self._payload_json()
        return {
            "hash": self.hash,
            "txn_type": self.txn_type,
            "status": self.status,
            "header": header,
            "block_header": self.block.header_json() if self.block is not None else None,
            "payload": payload,
            "authenticator": self.authenticator,
            "output": {
                "Move": {
                    "gas_used": self.gas_used,
                    "events": [event.event_json() for event in self.events],
                    "vm_status": self.vm_status,
                }
            },
        }
