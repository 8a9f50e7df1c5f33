"""The devnet's chain: World state, clock, accounts, blocks, committed transactions and the event log.

One ``Ledger`` is one emulated Supra chain hosting ``lottery_multi``. It executes entry functions
atomically, records Success/Fail transactions in their own blocks, fulfils dVRF requests, and keeps
a JSON journal from which the whole chain is rebuilt by replay (``--state FILE``). It knows no HTTP.
"""

from __future__ import annotations

import bisect
import importlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatops.chain import movetypes
from chatops.devnet import contracts
from chatops.devnet.event_handles import next_free_creation_number, static_creation_number
from chatops.devnet.framework import (
    PACKAGE_ADDRESS,
    Call,
    FunctionSpec,
    MissingDataError,
    MoveAbortError,
    World,
    addr,
    sha3,
)
from chatops.devnet.transactions import (
    DecodedTransaction,
    TransactionRejectedError,
    auth_key_for,
    short_address,
    signature_valid,
)

__all__ = [
    "DEFAULT_CHAIN_ID",
    "EXECUTED_SUCCESSFULLY",
    "SUPRA_VRF_ADDRESS",
    "Account",
    "Block",
    "EventRecord",
    "Ledger",
    "TransactionFailedError",
    "TxRecord",
    "ViewError",
    "abort_vm_status",
    "normalize_type",
]

logger = logging.getLogger(__name__)

DEFAULT_CHAIN_ID = 255
EXECUTED_SUCCESSFULLY = "Executed successfully"
# spec §1.1 supra_addr: the dVRF deployment whose callback transactions fulfil draw requests.
SUPRA_VRF_ADDRESS = "0x186ba2ba88f4a14ca51f6ce42702c7ebdf6bfcf738d897cc98b986ded6f1219e"
FRAMEWORK_ADDRESS = addr("0x1")
JOURNAL_VERSION = 1
MAX_TTL_S = 3600


class ViewError(Exception):
    """A ``POST /view`` the node answers with HTTP 400 ``{"message": ...}``."""


class TransactionFailedError(Exception):
    """``apply``/``fulfill_vrf`` committed a Fail (the seed treats any failure as a bug)."""

    def __init__(self, record: TxRecord) -> None:
        super().__init__(f"{record.function}: {record.vm_status}")
        self.record = record


def abort_vm_status(error: MoveAbortError) -> str:
    """Aptos ``explain_vm_status`` for an abort in a module with no error map: a bare hex code."""
    return f"Move abort in {short_address(error.address)}::{error.module}: {error.code:#x}"


def missing_data_vm_status(spec: FunctionSpec, error: MissingDataError) -> str:
    """An execution failure the way Aptos prints it, plus the status name so the bot can tell."""
    return (
        f"Execution failed in {short_address(PACKAGE_ADDRESS)}::{spec.module}::{spec.name} "
        f"at code offset 0: MISSING_DATA ({error.resource})"
    )


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

    @property
    def success(self) -> bool:
        return self.status == "Success"

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
        payload: dict[str, Any] | None = None
        if self.function is not None:
            payload = {
                "Move": {
                    "type": "entry_function_payload",
                    "function": self.function,
                    "type_arguments": [],
                    "arguments": self.arguments,
                }
            }
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


@dataclass
class _Prepared:
    """An entry call resolved from a transaction: either runnable or already failed (prefail)."""

    spec: FunctionSpec | None
    args: list[Any] | None
    args_json: list[Any]
    prefail: str | None


class Ledger:
    """The emulated chain. Thread-safe: every public method holds ``self.lock``.

    ``admin_public_key`` (Ed25519, 32 bytes) becomes the package account's authentication key, as
    if the account had rotated to it; without it the package account keeps its own address as key.
    If ``state_file`` exists the chain is rebuilt from it (``seed`` and ``start_time_s`` are then
    ignored: the journal's genesis and seeded transactions are replayed instead).
    """

    def __init__(
        self,
        *,
        admin_public_key: bytes | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        vrf_delay_s: int = 0,
        seed: bool = True,
        start_time_s: int | None = None,
        state_file: Path | None = None,
        specs: dict[str, FunctionSpec] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.chain_id = chain_id
        self.vrf_delay_s = vrf_delay_s
        self.specs = specs if specs is not None else contracts.all_specs()
        self.state_file = state_file
        self.admin_auth_key = auth_key_for(admin_public_key) if admin_public_key else None
        self.world = World()
        self.accounts: dict[str, Account] = {}
        self.blocks: list[Block] = []
        self.transactions: dict[str, TxRecord] = {}
        self.account_txs: dict[str, list[str]] = {}
        self.events: list[EventRecord] = []
        self._positions_by_type: dict[str, list[int]] = {}  # a node indexes events by type too
        self.handles: dict[tuple[str, str], int] = {}  # (account, event type) -> creation number
        self.handle_counters: dict[tuple[str, int], int] = {}
        self._next_creation: dict[str, int] = {}
        self._journal: list[dict[str, Any]] = []
        self._replaying = False
        self._vrf_failed: set[tuple[int, Any]] = set()
        self._batch = False
        with self.lock:
            if state_file is not None and state_file.exists():
                self._load(state_file)
            else:
                self._genesis(int(time.time()) if start_time_s is None else start_time_s)
                if seed:
                    self._batch = True
                    try:
                        self._run_seed()
                    finally:
                        self._batch = False
                    self._auto_fulfil()
                self._save()

    # --- genesis, clock and blocks -----------------------------------------------------------

    def _genesis(self, start_time_s: int) -> None:
        self._now_s = start_time_s
        self._journal = [{"kind": "genesis", "time_s": start_time_s}]
        self.blocks = [Block(0, start_time_s, "0x" + "0" * 64)]
        self._account(PACKAGE_ADDRESS)
        self._account(FRAMEWORK_ADDRESS)

    def _run_seed(self) -> None:
        try:
            seed_module = importlib.import_module("chatops.devnet.seed")
        except ModuleNotFoundError:
            logger.warning("devnet seed module not found: starting with an empty chain")
            return
        seed_module.seed(self)

    @property
    def now_s(self) -> int:
        """The devnet clock in Unix seconds; moves only through ``advance`` / ``set_time``."""
        return self._now_s

    @property
    def latest_block(self) -> Block:
        return self.blocks[-1]

    def _new_block(self, tx_hashes: list[str]) -> Block:
        block = Block(len(self.blocks), self._now_s, self.latest_block.hash, tx_hashes)
        self.blocks.append(block)
        return block

    def advance(self, secs: int) -> None:
        """Move the clock forward by ``secs`` (a new empty block carries the new time)."""
        with self.lock:
            if secs < 0:
                raise ValueError("the devnet clock only moves forward")
            self.set_time(self._now_s + secs)

    def set_time(self, now_s: int) -> None:
        """Set the clock to ``now_s`` (not earlier than now); due VRF requests are then fulfilled."""
        with self.lock:
            if now_s < self._now_s:
                raise ValueError(f"the devnet clock only moves forward (now {self._now_s})")
            if now_s != self._now_s:
                self._now_s = now_s
                self._new_block([])
                self._record({"kind": "clock", "time_s": now_s})
                self._auto_fulfil()
                self._save()

    # --- accounts ------------------------------------------------------------------------------

    def _account(self, address: str) -> Account:
        address = addr(address)
        account = self.accounts.get(address)
        if account is None:
            key = address
            if address == PACKAGE_ADDRESS and self.admin_auth_key is not None:
                key = self.admin_auth_key
            account = Account(address, 0, key)
            self.accounts[address] = account
        return account

    def get_account(self, address: str) -> Account | None:
        """The account if the chain has seen it (sent a transaction, holds resources, or genesis)."""
        with self.lock:
            address = addr(address)
            if address in self.accounts:
                return self.accounts[address]
            if self.world.accounts.get(address):
                return self._account(address)
            return None

    # --- execution -----------------------------------------------------------------------------

    def _spec(self, function: str) -> FunctionSpec | None:
        parts = function.split("::")
        if len(parts) == 3:
            try:
                if addr(parts[0]) != PACKAGE_ADDRESS:
                    return None
            except ValueError:
                return None
            parts = parts[1:]
        if len(parts) != 2:
            return None
        return self.specs.get(f"{parts[0]}::{parts[1]}")

    def _emit(self, struct: str, data: dict[str, Any], block: Block, tx_hash: str) -> EventRecord:
        event_type = normalize_type(
            struct if struct.count("::") >= 2 else f"{PACKAGE_ADDRESS}::{struct}"
        )
        account = event_type.split("::")[0]
        key = (account, event_type)
        creation = self.handles.get(key)
        if creation is None:
            creation = static_creation_number(event_type)
            if creation is None:
                creation = self._next_creation.get(account, next_free_creation_number())
                self._next_creation[account] = creation + 1
            self.handles[key] = creation
        seq = self.handle_counters.get((account, creation), 0)
        self.handle_counters[(account, creation)] = seq + 1
        record = EventRecord(event_type, data, creation, account, seq, block.height, tx_hash)
        self._positions_by_type.setdefault(event_type, []).append(len(self.events))
        self.events.append(record)
        return record

    def _truncate_events(self, length: int) -> None:
        """Drop the events a simulation emitted (and their index entries)."""
        for record in self.events[length:]:
            positions = self._positions_by_type[record.type]
            while positions and positions[-1] >= length:
                positions.pop()
        del self.events[length:]

    def _execute(
        self, spec: FunctionSpec, args: list[Any], signers: list[str]
    ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        """Run one entry function on the World; return (vm_status, events) and roll back on failure."""
        snapshot = self.world.snapshot()
        call = Call(signers=signers, now_s=self._now_s)
        try:
            spec.fn(self.world, call, *args)
        except MoveAbortError as exc:
            self.world = snapshot
            return abort_vm_status(exc), []
        except MissingDataError as exc:
            self.world = snapshot
            return missing_data_vm_status(spec, exc), []
        except Exception:  # an emulator bug must not kill the node: logged, the tx fails
            logger.exception("devnet: %s::%s raised unexpectedly", spec.module, spec.name)
            self.world = snapshot
            return (
                f"Execution failed in {short_address(PACKAGE_ADDRESS)}::{spec.module}::{spec.name} "
                "at code offset 0: UNKNOWN_INVARIANT_VIOLATION_ERROR"
            ), []
        return EXECUTED_SUCCESSFULLY, call.events

    def _commit(
        self,
        *,
        tx_hash: str,
        prepared: _Prepared,
        function: str | None,
        signers: list[str],
        sender: str | None,
        meta: dict[str, Any],
        txn_type: str = "user",
    ) -> TxRecord:
        raw_events: list[tuple[str, dict[str, Any]]] = []
        if prepared.prefail is not None or prepared.spec is None or prepared.args is None:
            vm_status = prepared.prefail or "FUNCTION_RESOLUTION_FAILURE"
        else:
            vm_status, raw_events = self._execute(prepared.spec, prepared.args, signers)
        block = self._new_block([tx_hash])
        events = [self._emit(struct, data, block, tx_hash) for struct, data in raw_events]
        seq: int | None = None
        if sender is not None:
            account = self._account(sender)
            seq = account.sequence_number
            account.sequence_number += 1
            self.account_txs.setdefault(account.address, []).append(tx_hash)
        record = TxRecord(
            hash=tx_hash,
            status="Success" if vm_status == EXECUTED_SUCCESSFULLY else "Fail",
            vm_status=vm_status,
            sender=sender,
            sequence_number=seq,
            function=function,
            arguments=prepared.args_json,
            events=events,
            gas_used=_gas(prepared, len(events)),
            block_height=block.height,
            txn_type=txn_type,
            chain_id=self.chain_id,
            gas_unit_price=int(meta.get("gas_unit_price", 100)),
            max_gas_amount=int(meta.get("max_gas_amount", 500_000)),
            expiration_timestamp_s=int(meta.get("expiration_timestamp_s", self._now_s + 300)),
            authenticator=meta.get("authenticator"),
            block=block,
        )
        self.transactions[tx_hash] = record
        return record

    def _prepare_values(self, function: str, args: list[Any]) -> _Prepared:
        spec = self._spec(function)
        if spec is None or spec.kind != "entry":
            return _Prepared(None, None, [], "FUNCTION_RESOLUTION_FAILURE")
        if len(args) != len(spec.params):
            return _Prepared(spec, None, [], "NUMBER_OF_ARGUMENTS_MISMATCH")
        try:
            args_json = [movetypes.to_json(t, v) for t, v in zip(spec.params, args, strict=True)]
        except movetypes.MoveTypeError:
            return _Prepared(spec, None, [], "FAILED_TO_DESERIALIZE_ARGUMENT")
        return _Prepared(spec, list(args), args_json, None)

    def _prepare_bcs(self, tx: DecodedTransaction) -> _Prepared:
        raw_json: list[Any] = ["0x" + arg.hex() for arg in tx.args]
        spec = None
        if tx.module_address == PACKAGE_ADDRESS:
            spec = self.specs.get(f"{tx.module}::{tx.function}")
        if spec is None or spec.kind != "entry":
            return _Prepared(None, None, raw_json, "FUNCTION_RESOLUTION_FAILURE")
        if tx.ty_args:
            return _Prepared(spec, None, raw_json, "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH")
        if spec.signers and len(tx.signers) != spec.signers:
            return _Prepared(spec, None, raw_json, "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH")
        if len(tx.args) != len(spec.params):
            return _Prepared(spec, None, raw_json, "NUMBER_OF_ARGUMENTS_MISMATCH")
        try:
            values = [movetypes.decode_bcs(t, a) for t, a in zip(spec.params, tx.args, strict=True)]
        except movetypes.MoveTypeError:
            return _Prepared(spec, None, raw_json, "FAILED_TO_DESERIALIZE_ARGUMENT")
        args_json = [movetypes.to_json(t, v) for t, v in zip(spec.params, values, strict=True)]
        return _Prepared(spec, values, args_json, None)

    def _system_hash(self, entry: dict[str, Any]) -> str:
        """A unique hash for a transaction that has no signed bytes (seed, dVRF, injected event)."""
        material = json.dumps(entry, sort_keys=True, default=str) + f"#{len(self.blocks)}"
        return "0x" + sha3(material.encode()).hex()

    # --- SeedTarget and direct calls ----------------------------------------------------------

    def apply(self, function: str, args: list[Any], signers: list[str] | None = None) -> None:
        """SeedTarget: ``call`` and raise ``TransactionFailedError`` if the transaction failed."""
        record = self.call(function, args, signers)
        if not record.success:
            raise TransactionFailedError(record)

    def call(self, function: str, args: list[Any], signers: list[str] | None = None) -> TxRecord:
        """Execute an entry function as a committed transaction signed by ``signers`` (no signature).

        ``function`` is ``module::name`` or a full id; ``args`` are movetypes Python values;
        ``signers`` default to the package account. The sender's sequence number advances as for a
        real transaction; a Fail is returned, not raised.
        """
        with self.lock:
            signers = [addr(s) for s in (signers if signers is not None else [PACKAGE_ADDRESS])]
            prepared = self._prepare_values(function, args)
            entry = {
                "kind": "call",
                "time_s": self._now_s,
                "function": _function_key(function),
                "args": prepared.args_json if prepared.prefail is None else None,
                "signers": signers,
            }
            tx_hash = self._system_hash(entry)
            entry["hash"] = tx_hash
            record = self._commit(
                tx_hash=tx_hash,
                prepared=prepared,
                function=_function_id(function),
                signers=signers,
                sender=signers[0] if signers else None,
                meta={},
            )
            self._record(entry)
            self._after_change()
            return record

    def fulfill_vrf(self, lottery_id: int) -> None:
        """SeedTarget: ``fulfill_vrf_tx`` and raise ``TransactionFailedError`` if it failed."""
        record = self.fulfill_vrf_tx(lottery_id)
        if not record.success:
            raise TransactionFailedError(record)

    def fulfill_vrf_tx(self, lottery_id: int) -> TxRecord:
        """Deliver the dVRF callback for ``lottery_id`` now, as a transaction from the dVRF account."""
        with self.lock:
            record = self._fulfil(lottery_id)
            self._after_change()
            return record

    def _fulfil(self, lottery_id: int, tx_hash: str | None = None) -> TxRecord:
        draw = importlib.import_module("chatops.devnet.contracts.draw")
        entry: dict[str, Any] = {"kind": "vrf", "time_s": self._now_s, "lottery_id": lottery_id}
        tx_hash = tx_hash or self._system_hash(entry)
        entry["hash"] = tx_hash

        def run(world: World, call: Call) -> None:
            draw.fulfill(world, call, lottery_id)

        spec = FunctionSpec("draw", "vrf_callback", "entry", (), run, signers=0)
        record = self._commit(
            tx_hash=tx_hash,
            prepared=_Prepared(spec, [], [], None),
            function=f"{short_address(PACKAGE_ADDRESS)}::draw::vrf_callback",
            signers=[SUPRA_VRF_ADDRESS],
            sender=None,
            meta={},
            txn_type="system",
        )
        self._record(entry)
        return record

    def _auto_fulfil(self) -> None:
        """Fulfil every pending dVRF request whose ``request time + vrf_delay_s`` has come.

        Suspended while seeding (the seed fulfils explicitly) and while replaying (the journal
        holds every fulfilment as its own entry).
        """
        if self._replaying or self._batch:
            return
        try:
            draw = importlib.import_module("chatops.devnet.contracts.draw")
        except ModuleNotFoundError:
            return
        pending_fn: Callable[[World], Any] | None = getattr(draw, "pending_requests", None)
        if pending_fn is None:
            return
        for _ in range(100):  # each pass fulfils what is due; bounded against a misbehaving module
            due = [
                (int(lottery_id), request_ts)
                for lottery_id, request_ts in _pending_pairs(pending_fn(self.world))
                if request_ts + self.vrf_delay_s <= self._now_s
                and (int(lottery_id), request_ts) not in self._vrf_failed
            ]
            if not due:
                return
            for lottery_id, request_ts in due:
                record = self._fulfil(lottery_id)
                if not record.success:
                    self._vrf_failed.add((lottery_id, request_ts))

    def _after_change(self) -> None:
        self._auto_fulfil()
        self._save()

    # --- user transactions ---------------------------------------------------------------------

    def _validate(self, tx: DecodedTransaction, *, simulate: bool) -> None:
        """The mempool/prologue checks a node runs before executing; raise to reject with 400."""
        if tx.chain_id != self.chain_id:
            raise TransactionRejectedError(
                "BAD_CHAIN_ID", f"transaction chain id {tx.chain_id} != {self.chain_id}"
            )
        if tx.expiration_timestamp_s <= self._now_s:
            raise TransactionRejectedError(
                "TRANSACTION_EXPIRED",
                f"expiration {tx.expiration_timestamp_s} <= chain time {self._now_s}",
            )
        for key in tx.keys:
            expected = (
                self._account(key.address).authentication_key
                if key.address in self.accounts
                else key.address
            )
            if auth_key_for(key.public_key) != expected:
                raise TransactionRejectedError(
                    "INVALID_AUTH_KEY", f"public key does not match the auth key of {key.address}"
                )
            valid = signature_valid(tx, key)
            if simulate and valid:
                raise TransactionRejectedError(
                    "INVALID_SIGNATURE", "Simulated transactions must not have a valid signature"
                )
            if not simulate and not valid:
                raise TransactionRejectedError("INVALID_SIGNATURE", "signature verification failed")
        expected_seq = self.accounts[tx.sender].sequence_number if tx.sender in self.accounts else 0
        if tx.sequence_number < expected_seq:
            raise TransactionRejectedError(
                "SEQUENCE_NUMBER_TOO_OLD",
                f"sequence number {tx.sequence_number} < account's {expected_seq}",
            )
        if tx.sequence_number > expected_seq:
            raise TransactionRejectedError(
                "SEQUENCE_NUMBER_TOO_NEW",
                f"sequence number {tx.sequence_number} > account's {expected_seq}",
            )

    def submit(self, tx: DecodedTransaction) -> TxRecord:
        """Validate, execute and commit a signed transaction (synchronously); 400-style errors raise."""
        with self.lock:
            if tx.hash in self.transactions:
                return self.transactions[tx.hash]
            self._validate(tx, simulate=False)
            prepared = self._prepare_bcs(tx)
            meta = {
                "gas_unit_price": tx.gas_unit_price,
                "max_gas_amount": tx.max_gas_amount,
                "expiration_timestamp_s": tx.expiration_timestamp_s,
                "authenticator": tx.authenticator_json(),
            }
            record = self._commit(
                tx_hash=tx.hash,
                prepared=prepared,
                function=tx.function_id,
                signers=tx.signers,
                sender=tx.sender,
                meta=meta,
            )
            self._record(
                {
                    "kind": "tx",
                    "time_s": self._now_s,
                    "hash": tx.hash,
                    "function": f"{tx.module}::{tx.function}",
                    "module_address": tx.module_address,
                    "function_id": tx.function_id,
                    "args": prepared.args_json,
                    "prefail": prepared.prefail,
                    "signers": tx.signers,
                    "meta": meta,
                }
            )
            self._after_change()
            return record

    def simulate(self, tx: DecodedTransaction) -> TxRecord:
        """Execute on a copy of the chain and return the would-be result; nothing is committed."""
        with self.lock:
            self._validate(tx, simulate=True)
            saved = (
                self.world,
                list(self.blocks),
                {
                    k: Account(v.address, v.sequence_number, v.authentication_key)
                    for k, v in self.accounts.items()
                },
                {k: list(v) for k, v in self.account_txs.items()},  # commit appends in place
                len(self.events),
                dict(self.handles),
                dict(self.handle_counters),
                dict(self._next_creation),
            )
            self.world = self.world.snapshot()
            try:
                record = self._commit(
                    tx_hash=tx.hash,
                    prepared=self._prepare_bcs(tx),
                    function=tx.function_id,
                    signers=tx.signers,
                    sender=tx.sender,
                    meta={
                        "gas_unit_price": tx.gas_unit_price,
                        "max_gas_amount": tx.max_gas_amount,
                        "expiration_timestamp_s": tx.expiration_timestamp_s,
                        "authenticator": tx.authenticator_json(),
                    },
                )
            finally:
                self.transactions.pop(tx.hash, None)
                (
                    self.world,
                    self.blocks,
                    self.accounts,
                    self.account_txs,
                    n_events,
                    self.handles,
                    self.handle_counters,
                    self._next_creation,
                ) = saved
                self._truncate_events(n_events)
            record.block = None
            record.block_height = None
            return record

    # --- reads ---------------------------------------------------------------------------------

    def view(
        self, function: str, type_arguments: list[Any], arguments: list[Any], *, strict: bool
    ) -> list[Any]:
        """``POST /view``: run a read function on the current state; ``ViewError`` is a 400."""
        with self.lock:
            spec = self._spec(function)
            if spec is None:
                raise ViewError(f"FUNCTION_RESOLUTION_FAILURE: function {function} does not exist")
            if spec.kind != "read" or (strict and not spec.is_view):
                raise ViewError(
                    f"Invalid view function: function {_function_id(function)} is not marked as a "
                    "view function (INVALID_MAIN_FUNCTION_SIGNATURE)"
                )
            if type_arguments:
                raise ViewError(
                    "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH: the function takes no type arguments"
                )
            if len(arguments) != len(spec.params):
                raise ViewError(
                    f"NUMBER_OF_ARGUMENTS_MISMATCH: expected {len(spec.params)} arguments, got {len(arguments)}"
                )
            try:
                values = [
                    movetypes.from_json(t, v) for t, v in zip(spec.params, arguments, strict=True)
                ]
            except movetypes.MoveTypeError as exc:
                raise ViewError(f"FAILED_TO_DESERIALIZE_ARGUMENT: {exc}") from exc
            try:
                return list(spec.fn(self.world, *values))
            except MoveAbortError as exc:
                raise ViewError(abort_vm_status(exc)) from exc
            except MissingDataError as exc:
                raise ViewError(missing_data_vm_status(spec, exc)) from exc

    def events_by_type(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        after: int = -1,
        limit: int = 20,
    ) -> tuple[list[tuple[int, EventRecord]], bool]:
        """Events of ``event_type`` in ``[start_height, end_height)`` after log position ``after``.

        Returns ``(position, event)`` pairs in commit order and whether more match past the page.
        """
        with self.lock:
            wanted = normalize_type(event_type)
            found: list[tuple[int, EventRecord]] = []
            positions = self._positions_by_type.get(wanted, [])
            for position in positions[bisect.bisect_right(positions, after) :]:
                event = self.events[position]
                if start_height is not None and event.block_height < start_height:
                    continue
                if end_height is not None and event.block_height >= end_height:
                    continue
                if len(found) == limit:
                    return found, True
                found.append((position, event))
            return found, False

    def transactions_of(
        self, address: str, start: int | None, count: int, ascending: bool = True
    ) -> list[TxRecord]:
        """The sender's committed transactions by sequence number (``start`` = first sequence number)."""
        with self.lock:
            records = [self.transactions[h] for h in self.account_txs.get(addr(address), [])]
            if not ascending:
                records.reverse()
            if start is not None:
                records = [
                    r
                    for r in records
                    if r.sequence_number is not None
                    and (r.sequence_number >= start if ascending else r.sequence_number <= start)
                ]
            return records[:count]

    def inject_event(
        self, event_type: str, data: dict[str, Any], *, tx_hash: str | None = None
    ) -> EventRecord:
        """Commit an event as if some transaction emitted it (devnet-only; a new block)."""
        with self.lock:
            normalized = normalize_type(event_type)
            entry: dict[str, Any] = {
                "kind": "event",
                "time_s": self._now_s,
                "type": normalized,
                "data": data,
            }
            tx_hash = tx_hash or self._system_hash(entry)
            entry["hash"] = tx_hash
            block = self._new_block([tx_hash])
            event = self._emit(normalized, data, block, tx_hash)
            self.transactions[tx_hash] = TxRecord(
                hash=tx_hash,
                status="Success",
                vm_status=EXECUTED_SUCCESSFULLY,
                sender=None,
                sequence_number=None,
                function=None,
                arguments=[],
                events=[event],
                gas_used=0,
                block_height=block.height,
                txn_type="devnet",
                chain_id=self.chain_id,
                block=block,
            )
            self._record(entry)
            self._save()
            return event

    # --- persistence ---------------------------------------------------------------------------

    def _record(self, entry: dict[str, Any]) -> None:
        if not self._replaying:
            self._journal.append(entry)

    def _save(self) -> None:
        """Write the journal with an atomic rename (a crash leaves the previous file intact)."""
        if self.state_file is None or self._replaying or self._batch:
            return
        path = self.state_file
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": JOURNAL_VERSION, "chain_id": self.chain_id, "entries": self._journal}
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, separators=(",", ":"))
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        """Rebuild the chain by replaying the journal (transactions re-execute at their block times)."""
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("version") != JOURNAL_VERSION:
            raise ValueError(
                f"{path}: unsupported devnet journal version {payload.get('version')!r}"
            )
        entries: list[dict[str, Any]] = payload["entries"]
        if not entries or entries[0].get("kind") != "genesis":
            raise ValueError(f"{path}: the journal does not start with genesis")
        self._genesis(int(entries[0]["time_s"]))
        self._replaying = True
        try:
            for entry in entries[1:]:
                self._replay(entry)
        finally:
            self._replaying = False
        self._journal = entries
        self._auto_fulfil()

    def _replay(self, entry: dict[str, Any]) -> None:
        kind = entry["kind"]
        time_s = int(entry["time_s"])
        if time_s != self._now_s and kind != "clock":
            self._now_s = time_s
        if kind == "clock":
            self.set_time(time_s)
        elif kind == "event":
            self.inject_event(entry["type"], entry["data"], tx_hash=entry["hash"])
        elif kind == "vrf":
            self._fulfil(int(entry["lottery_id"]), tx_hash=entry["hash"])
        elif kind in ("call", "tx"):
            spec = self._spec(entry["function"])
            if entry.get("prefail") or entry.get("args") is None or spec is None:
                prepared = _Prepared(
                    spec,
                    None,
                    entry.get("args") or [],
                    entry.get("prefail") or "FUNCTION_RESOLUTION_FAILURE",
                )
            else:
                values = [
                    movetypes.from_json(t, v)
                    for t, v in zip(spec.params, entry["args"], strict=True)
                ]
                prepared = _Prepared(spec, values, entry["args"], None)
            signers = list(entry["signers"])
            self._commit(
                tx_hash=entry["hash"],
                prepared=prepared,
                function=entry.get("function_id") or _function_id(entry["function"]),
                signers=signers,
                sender=signers[0] if signers else None,
                meta=entry.get("meta") or {},
            )
        else:
            raise ValueError(f"unknown devnet journal entry kind {kind!r}")

    # --- introspection -------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[Ledger]:
        """Hold the ledger lock (for a consistent multi-step read)."""
        with self.lock:
            yield self


def _function_key(function: str) -> str:
    parts = function.split("::")
    return "::".join(parts[-2:])


def _function_id(function: str) -> str:
    return f"{short_address(PACKAGE_ADDRESS)}::{_function_key(function)}"


def _gas(prepared: _Prepared, n_events: int) -> int:
    """A deterministic stand-in for gas: a base cost plus events and argument size."""
    size = sum(len(json.dumps(arg)) for arg in prepared.args_json)
    return 7 + 3 * n_events + size // 32


def _pending_pairs(pending: Any) -> list[tuple[int, int]]:
    """Accept ``draw.pending_requests`` as ``[(lottery_id, request_ts)]`` or ``{lottery_id: request_ts}``."""
    if isinstance(pending, dict):
        return [(int(k), int(v)) for k, v in pending.items()]
    pairs: list[tuple[int, int]] = []
    for item in pending:
        if isinstance(item, tuple | list):
            pairs.append((int(item[0]), int(item[1])))
        else:
            pairs.append((int(item), 0))
    return pairs
