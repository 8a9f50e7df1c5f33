"""The devnet's chain: World state, clock, accounts, blocks, committed transactions and the event
log. It knows no HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chatops.chain import movetypes
from chatops.devnet import contracts, multisig_account, multisig_vm, vrf
from chatops.devnet.event_log import EventLog
from chatops.devnet.execution import (
    Executed,
    Prepared,
    check_prologue,
    execute,
    function_id,
    function_key,
    gas,
    prepare_bcs,
    prepare_values,
    resolve,
    run_view,
)
from chatops.devnet.framework import (
    FRAMEWORK_ADDRESS,
    PACKAGE_ADDRESS,
    AccountState,
    ChainContext,
    FunctionSpec,
    World,
    addr,
    sha3,
)
from chatops.devnet.journal import read_journal, write_journal
from chatops.devnet.records import (
    DEFAULT_CHAIN_ID,
    EXECUTED_SUCCESSFULLY,
    Account,
    Block,
    EventRecord,
    TxRecord,
    normalize_type,
)
from chatops.devnet.seed import seed as run_seed
from chatops.devnet.transactions import DecodedTransaction, auth_key_for

__all__ = ["Ledger", "TransactionFailedError", "default_specs"]


def default_specs() -> dict[str, FunctionSpec]:
    """The package's functions and the framework modules the devnet emulates (0x1::multisig_account)."""
    return {**contracts.all_specs(), **multisig_account.specs()}


class TransactionFailedError(Exception):
    """``apply``/``fulfill_vrf`` committed a Fail (the seed treats any failure as a bug)."""

    def __init__(self, record: TxRecord) -> None:
        super().__init__(f"{record.function}: {record.vm_status}")
        self.record = record


class Ledger:
    """The emulated chain. Thread-safe: every public method holds ``self.lock``.

    ``admin_public_key`` (Ed25519, 32 bytes) becomes the package account's authentication key, as
    if the account had rotated to it; without it the package account keeps its own address as key.
    If ``state_file`` exists the chain is rebuilt from it (``seed`` and ``start_time_s`` are then
    ignored: the journal's genesis and seeded transactions are replayed instead). ``features`` are
    the on-chain feature flags framework code reads (all the multisig ones on by default).

    One ``Ledger`` is one emulated Supra chain hosting ``lottery_multi``. It executes entry
    functions atomically, records Success/Fail transactions in their own blocks, fulfils dVRF
    requests, and keeps a JSON journal from which the whole chain is rebuilt by replay (``--state
    FILE``). It knows no HTTP.
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
        features: frozenset[int] = multisig_account.DEFAULT_FEATURES,
    ) -> None:
        self.lock = threading.RLock()
        self.chain_id = chain_id
        self.vrf_delay_s = vrf_delay_s
        self.features = features
        self.specs = specs if specs is not None else default_specs()
        self.state_file = state_file
        self.admin_auth_key = auth_key_for(admin_public_key) if admin_public_key else None
        self.world = World()
        self.accounts: dict[str, Account] = {}
        self.blocks: list[Block] = []
        self.transactions: dict[str, TxRecord] = {}
        self.account_txs: dict[str, list[str]] = {}
        self.log = EventLog()
        self._journal: list[dict[str, Any]] = []
        self._replaying = False
        self._vrf_failed: set[tuple[int, int]] = set()
        self._batch = False
        with self.lock:
            if state_file is not None and state_file.exists():
                self._load(state_file)
            else:
                self._genesis(int(time.time()) if start_time_s is None else start_time_s)
                if seed:
                    self._batch = True
                    try:
                        run_seed(self)
                    finally:
                        self._batch = False
                    self._auto_fulfil()
                self._save()

    @property
    def events(self) -> list[EventRecord]:
        """Every committed event in commit order."""
        return self.log.events

    # --- genesis, clock and blocks -----------------------------------------------------------

    def _genesis(self, start_time_s: int) -> None:
        self._now_s = start_time_s
        self._journal = [{"kind": "genesis", "time_s": start_time_s}]
        self.blocks = [Block(0, start_time_s, "0x" + "0" * 64)]
        self._account(PACKAGE_ADDRESS)
        self._account(FRAMEWORK_ADDRESS)

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

    def _account_state(self, address: str) -> AccountState | None:
        account = self.accounts.get(addr(address))
        if account is None:
            return None
        return AccountState(account.sequence_number, account.authentication_key)

    def context(self) -> ChainContext:
        """What framework code reads of this chain (chain id, time, flags, accounts)."""
        return ChainContext(self.chain_id, self._now_s, self.features, self._account_state)

    def _execute(self, prepared: Prepared, signers: list[str]) -> Executed:
        if prepared.prefail is not None or prepared.spec is None or prepared.args is None:
            return Executed.prefailed(self.world, prepared.prefail or "FUNCTION_RESOLUTION_FAILURE")
        return execute(
            self.world, prepared.spec, prepared.args, signers, self._now_s, chain=self.context()
        )

    def _commit(
        self,
        *,
        tx_hash: str,
        prepared: Prepared,
        function: str | None,
        signers: list[str],
        sender: str | None,
        meta: dict[str, Any],
        txn_type: str = "user",
    ) -> TxRecord:
        executed = self._execute(prepared, signers)
        return self._keep(
            tx_hash=tx_hash,
            executed=executed,
            function=function,
            arguments=prepared.args_json,
            sender=sender,
            meta=meta,
            txn_type=txn_type,
            gas_used=gas(prepared, len(executed.events)),
        )

    def _keep(
        self,
        *,
        tx_hash: str,
        executed: Executed,
        function: str | None,
        arguments: list[Any],
        sender: str | None,
        meta: dict[str, Any],
        gas_used: int,
        txn_type: str = "user",
        multisig_address: str | None = None,
    ) -> TxRecord:
        """Commit an executed transaction in its own block: state, key rotations, events, the
        sender's sequence number and the record."""
        self.world = executed.world
        if executed.success:
            for address, key in executed.auth_key_rotations.items():
                self._account(address).authentication_key = key
        block = self._new_block([tx_hash])
        events = [
            self.log.emit(
                struct,
                data,
                block.height,
                tx_hash,
                handle_account=emitted.handle_account,
                module_event=emitted.module_event,
            )
            for emitted in executed.events
            for struct, data in (emitted,)
        ]
        seq: int | None = None
        if sender is not None:
            account = self._account(sender)
            seq = account.sequence_number
            account.sequence_number += 1
            self.account_txs.setdefault(account.address, []).append(tx_hash)
        record = TxRecord(
            hash=tx_hash,
            status="Success" if executed.success else "Fail",
            vm_status=executed.vm_status,
            sender=sender,
            sequence_number=seq,
            function=function,
            arguments=arguments,
            events=events,
            gas_used=gas_used,
            block_height=block.height,
            txn_type=txn_type,
            chain_id=self.chain_id,
            gas_unit_price=int(meta.get("gas_unit_price", 100)),
            max_gas_amount=int(meta.get("max_gas_amount", 500_000)),
            expiration_timestamp_s=int(meta.get("expiration_timestamp_s", self._now_s + 300)),
            authenticator=meta.get("authenticator"),
            block=block,
            multisig_address=multisig_address,
        )
        self.transactions[tx_hash] = record
        return record

    def _commit_multisig(
        self,
        *,
        tx_hash: str,
        sender: str,
        account: str,
        payload: bytes | None,
        meta: dict[str, Any],
    ) -> TxRecord:
        """Run a (validated) Multisig transaction and commit it: the executor's sequence number is
        used and the outer status is Success even when the inner call failed."""
        executed, prepared = multisig_vm.execute_multisig(
            self.world, self.specs, self.context(), sender, account, payload
        )
        function = arguments = None
        if prepared is not None and prepared.spec is not None:
            function = function_id(prepared.spec.key)
            arguments = prepared.args_json
        return self._keep(
            tx_hash=tx_hash,
            executed=executed,
            function=function,
            arguments=arguments or [],
            sender=sender,
            meta=meta,
            gas_used=7 + 3 * len(executed.events) + len(payload or b"") // 32,
            multisig_address=account,
        )

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
            prepared = prepare_values(self.specs, function, args)
            entry = {
                "kind": "call",
                "time_s": self._now_s,
                "function": function_key(function),
                "args": prepared.args_json if prepared.prefail is None else None,
                "signers": signers,
            }
            tx_hash = self._system_hash(entry)
            entry["hash"] = tx_hash
            record = self._commit(
                tx_hash=tx_hash,
                prepared=prepared,
                function=function_id(function),
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
        entry: dict[str, Any] = {"kind": "vrf", "time_s": self._now_s, "lottery_id": lottery_id}
        tx_hash = tx_hash or self._system_hash(entry)
        entry["hash"] = tx_hash
        record = self._commit(
            tx_hash=tx_hash,
            prepared=Prepared(vrf.callback_spec(lottery_id), [], [], None),
            function=vrf.CALLBACK_FUNCTION_ID,
            signers=[vrf.SUPRA_VRF_ADDRESS],
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
        for _ in range(100):  # each pass fulfils what is due; bounded against a misbehaving module
            due = vrf.due_requests(
                self.world, now_s=self._now_s, delay_s=self.vrf_delay_s, failed=self._vrf_failed
            )
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
        check_prologue(
            tx, chain_id=self.chain_id, now_s=self._now_s, accounts=self.accounts, simulate=simulate
        )

    @staticmethod
    def _meta(tx: DecodedTransaction) -> dict[str, Any]:
        return {
            "gas_unit_price": tx.gas_unit_price,
            "max_gas_amount": tx.max_gas_amount,
            "expiration_timestamp_s": tx.expiration_timestamp_s,
            "authenticator": tx.authenticator_json(),
        }

    def _submit_multisig(self, tx: DecodedTransaction, account: str) -> TxRecord:
        multisig_vm.validate(self.world, self.context(), tx.sender, account, tx.multisig_payload)
        meta = self._meta(tx)
        record = self._commit_multisig(
            tx_hash=tx.hash,
            sender=tx.sender,
            account=account,
            payload=tx.multisig_payload,
            meta=meta,
        )
        self._record(
            {
                "kind": "multisig",
                "time_s": self._now_s,
                "hash": tx.hash,
                "sender": tx.sender,
                "multisig_address": account,
                "payload": None if tx.multisig_payload is None else tx.multisig_payload.hex(),
                "meta": meta,
            }
        )
        self._after_change()
        return record

    def submit(self, tx: DecodedTransaction) -> TxRecord:
        """Validate, execute and commit a signed transaction (synchronously); 400-style errors raise.

        A Multisig transaction whose multisig prologue fails is discarded the same way: a 400 with
        the node's status name, nothing committed and the sender's sequence number unused.
        """
        with self.lock:
            if tx.hash in self.transactions:
                return self.transactions[tx.hash]
            self._validate(tx, simulate=False)
            if tx.multisig_address is not None:
                return self._submit_multisig(tx, tx.multisig_address)
            prepared = prepare_bcs(self.specs, tx)
            meta = self._meta(tx)
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
                    "function": function_key(tx.function_id),
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
            )
            mark = self.log.mark()
            self.world = self.world.snapshot()
            try:
                if tx.multisig_address is not None:
                    record = self._simulate_multisig(tx, tx.multisig_address)
                else:
                    record = self._commit(
                        tx_hash=tx.hash,
                        prepared=prepare_bcs(self.specs, tx),
                        function=tx.function_id,
                        signers=tx.signers,
                        sender=tx.sender,
                        meta=self._meta(tx),
                    )
            finally:
                self.transactions.pop(tx.hash, None)
                (
                    self.world,
                    self.blocks,
                    self.accounts,
                    self.account_txs,
                ) = saved
                self.log.rollback(mark)
            record.block = None
            record.block_height = None
            return record

    def _simulate_multisig(self, tx: DecodedTransaction, account: str) -> TxRecord:
        """The inline payload run as ``account``, no multisig check and no cleanup (the VM's
        simulation), recorded as the executor's transaction."""
        executed, prepared = multisig_vm.simulate_multisig(
            self.world, self.specs, self.context(), account, tx.multisig_payload
        )
        return self._keep(
            tx_hash=tx.hash,
            executed=executed,
            function=function_id(prepared.spec.key) if prepared.spec is not None else None,
            arguments=prepared.args_json,
            sender=tx.sender,
            meta=self._meta(tx),
            gas_used=gas(prepared, len(executed.events)),
            multisig_address=account,
        )

    # --- reads ---------------------------------------------------------------------------------

    def view(
        self, function: str, type_arguments: list[Any], arguments: list[Any], *, strict: bool
    ) -> list[Any]:
        """``POST /view``: run a read function on the current state; ``ViewError`` is a 400."""
        with self.lock:
            return run_view(
                self.specs,
                self.world,
                function,
                type_arguments,
                arguments,
                strict=strict,
                context=self.context(),
            )

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
            event = self.log.emit(normalized, data, block.height, tx_hash)
            self._devnet_tx(tx_hash, block, [event])
            self._record(entry)
            self._save()
            return event

    def fund(self, address: str, *, tx_hash: str | None = None) -> TxRecord:
        """The testnet faucet: create ``address`` (if new) in a block of its own, as a transfer
        would; the devnet has no coins, so there is nothing else to give."""
        with self.lock:
            address = addr(address)
            entry: dict[str, Any] = {"kind": "fund", "time_s": self._now_s, "address": address}
            tx_hash = tx_hash or self._system_hash(entry)
            entry["hash"] = tx_hash
            self._account(address)
            record = self._devnet_tx(tx_hash, self._new_block([tx_hash]), [])
            self._record(entry)
            self._save()
            return record

    def _devnet_tx(self, tx_hash: str, block: Block, events: list[EventRecord]) -> TxRecord:
        """Record a transaction the devnet commits itself (the faucet, an injected event): it
        succeeds, sends nothing as anyone and calls no function."""
        record = TxRecord(
            hash=tx_hash,
            status="Success",
            vm_status=EXECUTED_SUCCESSFULLY,
            sender=None,
            sequence_number=None,
            function=None,
            arguments=[],
            events=events,
            gas_used=0,
            block_height=block.height,
            txn_type="devnet",
            chain_id=self.chain_id,
            block=block,
        )
        self.transactions[tx_hash] = record
        return record

    # --- persistence ---------------------------------------------------------------------------

    def _record(self, entry: dict[str, Any]) -> None:
        if not self._replaying:
            self._journal.append(entry)

    def _save(self) -> None:
        if self.state_file is None or self._replaying or self._batch:
            return
        write_journal(self.state_file, self.chain_id, self._journal)

    def _load(self, path: Path) -> None:
        """Rebuild the chain by replaying the journal (transactions re-execute at their block times)."""
        entries = read_journal(path)
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
        elif kind == "fund":
            self.fund(entry["address"], tx_hash=entry["hash"])
        elif kind == "multisig":
            payload = entry.get("payload")
            self._commit_multisig(
                tx_hash=entry["hash"],
                sender=entry["sender"],
                account=entry["multisig_address"],
                payload=bytes.fromhex(payload) if payload is not None else None,
                meta=entry.get("meta") or {},
            )
        elif kind in ("call", "tx"):
            spec = resolve(self.specs, entry["function"])
            if entry.get("prefail") or entry.get("args") is None or spec is None:
                prepared = Prepared(
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
                prepared = Prepared(spec, values, entry["args"], None)
            signers = list(entry["signers"])
            self._commit(
                tx_hash=entry["hash"],
                prepared=prepared,
                function=entry.get("function_id") or function_id(entry["function"]),
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
