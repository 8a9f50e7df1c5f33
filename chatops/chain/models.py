"""Lenient pydantic models of Supra RPC v3 responses (transactions, events, accounts, blocks):
``extra="allow"`` because the node adds fields between versions; u64 strings are coerced to int."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AccountInfo",
    "BlockHeaderRef",
    "BlockInfo",
    "EventGuid",
    "EventPage",
    "EventRecord",
    "GasPriceEstimate",
    "MoveOutput",
    "Timestamp",
    "TransactionHeader",
    "TransactionInfo",
    "TransactionOutput",
    "TxStatus",
]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class TxStatus(StrEnum):
    """Transaction status as the node reports it; only Success, Fail and Invalid are final."""

    SUCCESS = "Success"
    FAIL = "Fail"
    INVALID = "Invalid"
    PENDING = "Pending"
    PENDING_AFTER_EXECUTION = "PendingAfterExecution"

    @property
    def is_final(self) -> bool:
        return self in (TxStatus.SUCCESS, TxStatus.FAIL, TxStatus.INVALID)


class Timestamp(_Lenient):
    """A point in time in microseconds since the Unix epoch.

    It arrives as a bare microsecond integer or as ``{microseconds_since_unix_epoch,
    utc_date_time}``.
    """

    microseconds_since_unix_epoch: int
    utc_date_time: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_bare_number(cls, value: Any) -> Any:
        if isinstance(value, int | str) and not isinstance(value, bool):
            return {"microseconds_since_unix_epoch": value}
        if isinstance(value, dict) and "timestamp" in value and len(value) == 1:
            return {"microseconds_since_unix_epoch": value["timestamp"]}
        return value

    @property
    def seconds(self) -> int:
        return self.microseconds_since_unix_epoch // 1_000_000


class EventGuid(_Lenient):
    creation_number: int = 0
    account_address: str = "0x0"


class EventRecord(_Lenient):
    """One event; ``block_height`` and ``transaction_hash`` are set when it comes from /events."""

    guid: EventGuid | None = None
    sequence_number: int = 0
    type: str
    data: Any = None
    block_height: int | None = None
    transaction_hash: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        # /rpc/v3/events wraps the EventV1 as {"event": {...}, "block_height", "transaction_hash"}.
        if isinstance(value, dict) and isinstance(value.get("event"), dict):
            outer = {k: v for k, v in value.items() if k != "event"}
            return {**value["event"], **outer}
        return value


@dataclass(frozen=True)
class EventPage:
    """One page of /events; ``next_cursor`` is the opaque x-supra-cursor (None on the last page)."""

    events: list[EventRecord]
    next_cursor: str | None


class MoveOutput(_Lenient):
    gas_used: int = 0
    events: list[EventRecord] = Field(default_factory=list)
    vm_status: str = ""


class TransactionOutput(_Lenient):
    move: MoveOutput | None = Field(default=None, alias="Move")


class TransactionHeader(_Lenient):
    chain_id: int | None = None
    sender: Any = None
    sequence_number: int | None = None
    gas_unit_price: int | None = None
    max_gas_amount: int | None = None
    expiration_timestamp: Timestamp | None = None

    @property
    def sender_address(self) -> str | None:
        if isinstance(self.sender, dict):
            value = self.sender.get("Move")
            return value if isinstance(value, str) else None
        return self.sender if isinstance(self.sender, str) else None


class BlockHeaderRef(_Lenient):
    hash: str | None = None
    height: int
    timestamp: Timestamp | None = None


class TransactionInfo(_Lenient):
    """TransactionInfo / TransactionV3: what simulate and GET /transactions/{hash} return."""

    hash: str = ""
    status: TxStatus
    txn_type: str | None = None
    header: TransactionHeader | None = None
    block_header: BlockHeaderRef | None = None
    payload: Any = None
    authenticator: Any = None
    output: TransactionOutput | None = None

    @property
    def vm_status(self) -> str:
        move = self.output.move if self.output is not None else None
        return move.vm_status if move is not None else ""

    @property
    def gas_used(self) -> int:
        move = self.output.move if self.output is not None else None
        return move.gas_used if move is not None else 0

    @property
    def events(self) -> list[EventRecord]:
        move = self.output.move if self.output is not None else None
        return list(move.events) if move is not None else []

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class AccountInfo(_Lenient):
    sequence_number: int
    authentication_key: str


class BlockInfo(_Lenient):
    """The latest block's header fields (GET /rpc/v3/block is ``{"header": {...}, ...}``)."""

    height: int
    hash: str
    timestamp: Timestamp

    @model_validator(mode="before")
    @classmethod
    def _from_header(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("header"), dict):
            return {**value["header"], **{k: v for k, v in value.items() if k != "header"}}
        return value


class GasPriceEstimate(_Lenient):
    mean_gas_price: int
    median_gas_price: int
    max_gas_price: int
    min_configured_gas_price: int
