"""Running the package's functions as the Move VM would: resolve, decode arguments, check the prologue,
execute an entry function with rollback, answer a view, and word each failure as a node does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chatops.chain import movetypes
from chatops.devnet.framework import (
    PACKAGE_ADDRESS,
    ZERO_AUTH_KEY,
    Call,
    ChainContext,
    Emitted,
    FunctionSpec,
    MissingDataError,
    MoveAbortError,
    World,
    addr,
    short_address,
)
from chatops.devnet.records import EXECUTED_SUCCESSFULLY, Account
from chatops.devnet.transactions import (
    DecodedTransaction,
    TransactionRejectedError,
    auth_key_for,
    signature_valid,
)

__all__ = [
    "Executed",
    "InnerFailure",
    "Prepared",
    "ViewError",
    "abort_vm_status",
    "check_prologue",
    "execute",
    "function_id",
    "function_key",
    "gas",
    "missing_data_vm_status",
    "prepare_bcs",
    "prepare_entry",
    "prepare_values",
    "resolve",
    "run_view",
]

logger = logging.getLogger(__name__)

# Aptos StatusCode numbers of the failures ``prepare_*`` reports by name (vm_status.rs): a call that
# fails them inside a multisig execution is reported as ExecutionError{"VMError", "", number}.
STATUS_CODES = {
    "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH": 1076,
    "FUNCTION_RESOLUTION_FAILURE": 1091,
    "NUMBER_OF_ARGUMENTS_MISMATCH": 1098,
    "FAILED_TO_DESERIALIZE_ARGUMENT": 1100,
    "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH": 1101,
    "UNKNOWN_INVARIANT_VIOLATION_ERROR": 2000,
    "MISSING_DATA": 4008,
}


class ViewError(Exception):
    """A ``POST /view`` the node answers with HTTP 400 ``{"message": ...}``."""


def abort_vm_status(error: MoveAbortError) -> str:
    """Aptos ``explain_vm_status``: a bare hex code for a module with no error map (lottery_multi),
    ``NAME(0xCODE): description`` for one that ships it (the framework)."""
    where = f"Move abort in {short_address(error.address)}::{error.module}"
    if error.name is None:
        return f"{where}: {error.code:#x}"
    return f"{where}: {error.name}({error.code:#x}): {error.description}"


def missing_data_vm_status(spec: FunctionSpec, error: MissingDataError) -> str:
    """An execution failure the way Aptos prints it, plus the status name so the bot can tell."""
    return (
        f"Execution failed in {short_address(spec.address)}::{spec.module}::{spec.name} "
        f"at code offset 0: MISSING_DATA ({error.resource})"
    )


@dataclass(frozen=True)
class InnerFailure:
    """A failed call as a multisig execution reports it (the VM's ``ExecutionError``): error type
    ``MoveAbort``, ``MoveExecutionFailure`` or ``VMError``, where (``<64 hex>::module``) and the code."""

    error_type: str
    abort_location: str
    error_code: int

    def to_json(self) -> dict[str, Any]:
        return {
            "abort_location": self.abort_location,
            "error_type": self.error_type,
            "error_code": str(self.error_code),
        }


def _location(address: str, module: str) -> str:
    """``ModuleId``'s Display: the address as 64 hex digits without 0x, then ``::module``."""
    return f"{addr(address)[2:]}::{module}"


@dataclass
class Executed:
    """One executed call: the World to keep, its vm_status, its events, the authentication-key
    rotations it asked for (applied only on success) and, when it failed, how."""

    world: World
    vm_status: str
    events: list[Emitted] = field(default_factory=list)
    auth_key_rotations: dict[str, str] = field(default_factory=dict)
    failure: InnerFailure | None = None

    @property
    def success(self) -> bool:
        return self.vm_status == EXECUTED_SUCCESSFULLY

    @classmethod
    def prefailed(cls, world: World, status: str) -> Executed:
        """A call the VM refused before running it (unknown function, bad arguments...)."""
        return cls(
            world, status, failure=InnerFailure("VMError", "", STATUS_CODES.get(status, 2000))
        )


@dataclass
class Prepared:
    """An entry call resolved from a transaction: either runnable or already failed (prefail)."""

    spec: FunctionSpec | None
    args: list[Any] | None
    args_json: list[Any]
    prefail: str | None


def resolve(specs: Mapping[str, FunctionSpec], function: str) -> FunctionSpec | None:
    """The function named ``module::name`` (the package's), ``0xPACKAGE::module::name`` or
    ``0x1::module::name`` (a module at another address), if it exists."""
    parts = function.split("::")
    if len(parts) == 3:
        try:
            address = addr(parts[0])
        except ValueError:
            return None
        if address != PACKAGE_ADDRESS:
            return specs.get(f"{short_address(address)}::{parts[1]}::{parts[2]}")
        parts = parts[1:]
    if len(parts) != 2:
        return None
    return specs.get(f"{parts[0]}::{parts[1]}")


def prepare_values(specs: Mapping[str, FunctionSpec], function: str, args: list[Any]) -> Prepared:
    """An entry call from movetypes Python values (the seed's and the tests' direct calls)."""
    spec = resolve(specs, function)
    if spec is None or spec.kind != "entry":
        return Prepared(None, None, [], "FUNCTION_RESOLUTION_FAILURE")
    if len(args) != len(spec.params):
        return Prepared(spec, None, [], "NUMBER_OF_ARGUMENTS_MISMATCH")
    try:
        args_json = [movetypes.to_json(t, v) for t, v in zip(spec.params, args, strict=True)]
    except movetypes.MoveTypeError:
        return Prepared(spec, None, [], "FAILED_TO_DESERIALIZE_ARGUMENT")
    return Prepared(spec, list(args), args_json, None)


def prepare_entry(
    specs: Mapping[str, FunctionSpec],
    module_address: str,
    module: str,
    function: str,
    ty_args: tuple[str, ...],
    args: tuple[bytes, ...],
    signer_count: int,
) -> Prepared:
    """An entry call from BCS arguments, as ``signer_count`` accounts sign it (the VM's checks)."""
    raw_json: list[Any] = ["0x" + arg.hex() for arg in args]
    spec = resolve(specs, f"{module_address}::{module}::{function}")
    if spec is None or spec.kind != "entry":
        return Prepared(None, None, raw_json, "FUNCTION_RESOLUTION_FAILURE")
    if ty_args:
        return Prepared(spec, None, raw_json, "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH")
    if spec.signers and signer_count != spec.signers:
        return Prepared(spec, None, raw_json, "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH")
    if len(args) != len(spec.params):
        return Prepared(spec, None, raw_json, "NUMBER_OF_ARGUMENTS_MISMATCH")
    try:
        values = [movetypes.decode_bcs(t, a) for t, a in zip(spec.params, args, strict=True)]
    except movetypes.MoveTypeError:
        return Prepared(spec, None, raw_json, "FAILED_TO_DESERIALIZE_ARGUMENT")
    args_json = [movetypes.to_json(t, v) for t, v in zip(spec.params, values, strict=True)]
    return Prepared(spec, values, args_json, None)


def prepare_bcs(specs: Mapping[str, FunctionSpec], tx: DecodedTransaction) -> Prepared:
    """An entry call from a signed transaction's BCS arguments."""
    return prepare_entry(
        specs,
        tx.module_address,
        tx.module,
        tx.function,
        tx.ty_args,
        tx.args,
        len(tx.signers),
    )


def execute(
    world: World,
    spec: FunctionSpec,
    args: list[Any],
    signers: list[str],
    now_s: int,
    *,
    chain: ChainContext | None = None,
) -> Executed:
    """Run one entry function on ``world``.

    On failure the World to keep is the snapshot taken before the call, so nothing it did remains,
    and neither do its events or key rotations.
    """
    snapshot = world.snapshot()
    call = Call(signers=signers, now_s=now_s, chain=chain)
    try:
        spec.fn(world, call, *args)
    except MoveAbortError as exc:
        failure = InnerFailure("MoveAbort", _location(exc.address, exc.module), exc.code)
        return Executed(snapshot, abort_vm_status(exc), failure=failure)
    except MissingDataError as exc:
        failure = InnerFailure(
            "MoveExecutionFailure",
            _location(spec.address, spec.module),
            STATUS_CODES["MISSING_DATA"],
        )
        return Executed(snapshot, missing_data_vm_status(spec, exc), failure=failure)
    except Exception:  # an emulator bug must not kill the node: logged, the tx fails
        logger.exception("devnet: %s::%s raised unexpectedly", spec.module, spec.name)
        return Executed(
            snapshot,
            f"Execution failed in {short_address(spec.address)}::{spec.module}::{spec.name} "
            "at code offset 0: UNKNOWN_INVARIANT_VIOLATION_ERROR",
            failure=InnerFailure("VMError", "", STATUS_CODES["UNKNOWN_INVARIANT_VIOLATION_ERROR"]),
        )
    return Executed(world, EXECUTED_SUCCESSFULLY, call.events, call.auth_key_rotations)


def check_prologue(
    tx: DecodedTransaction,
    *,
    chain_id: int,
    now_s: int,
    accounts: Mapping[str, Account],
    simulate: bool,
) -> None:
    """The mempool/prologue checks a node runs before executing; raise to reject with 400."""
    if tx.chain_id != chain_id:
        raise TransactionRejectedError(
            "BAD_CHAIN_ID", f"transaction chain id {tx.chain_id} != {chain_id}"
        )
    if tx.expiration_timestamp_s <= now_s:
        raise TransactionRejectedError(
            "TRANSACTION_EXPIRED",
            f"expiration {tx.expiration_timestamp_s} <= chain time {now_s}",
        )
    for key in tx.keys:
        known = accounts.get(key.address)
        expected = known.authentication_key if known is not None else key.address
        if expected == ZERO_AUTH_KEY:
            raise TransactionRejectedError(
                "INVALID_AUTH_KEY",
                f"the authentication key of {key.address} is zero (revoked, e.g. converted to a "
                "multisig account): no key can sign for it",
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
    expected_seq = accounts[tx.sender].sequence_number if tx.sender in accounts else 0
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


def run_view(
    specs: Mapping[str, FunctionSpec],
    world: World,
    function: str,
    type_arguments: list[Any],
    arguments: list[Any],
    *,
    strict: bool,
    context: ChainContext | None = None,
) -> list[Any]:
    """``POST /view``: run a read function on ``world``; ``ViewError`` is a 400."""
    spec = resolve(specs, function)
    if spec is None:
        raise ViewError(f"FUNCTION_RESOLUTION_FAILURE: function {function} does not exist")
    if spec.kind != "read" or (strict and not spec.is_view):
        raise ViewError(
            f"Invalid view function: function {function_id(function)} is not marked as a "
            "view function (INVALID_MAIN_FUNCTION_SIGNATURE)"
        )
    if type_arguments:
        raise ViewError("NUMBER_OF_TYPE_ARGUMENTS_MISMATCH: the function takes no type arguments")
    if len(arguments) != len(spec.params):
        raise ViewError(
            f"NUMBER_OF_ARGUMENTS_MISMATCH: expected {len(spec.params)} arguments, got {len(arguments)}"
        )
    try:
        values = [movetypes.from_json(t, v) for t, v in zip(spec.params, arguments, strict=True)]
    except movetypes.MoveTypeError as exc:
        raise ViewError(f"FAILED_TO_DESERIALIZE_ARGUMENT: {exc}") from exc
    try:
        if spec.uses_chain:
            if context is None:
                raise ViewError(f"{function} needs the chain's context, which was not given")
            return list(spec.fn(world, context, *values))
        return list(spec.fn(world, *values))
    except MoveAbortError as exc:
        raise ViewError(abort_vm_status(exc)) from exc
    except MissingDataError as exc:
        raise ViewError(missing_data_vm_status(spec, exc)) from exc


def function_key(function: str) -> str:
    """How the specs key a function: ``module::name`` for the package's (given as ``module::name``
    or ``0xPACKAGE::module::name``), ``0x1::module::name`` for one at another address."""
    parts = function.split("::")
    if len(parts) == 3:
        try:
            address = addr(parts[0])
        except ValueError:
            address = PACKAGE_ADDRESS
        if address != PACKAGE_ADDRESS:
            return f"{short_address(address)}::{parts[1]}::{parts[2]}"
    return "::".join(parts[-2:])


def function_id(function: str) -> str:
    """The function id as a transaction's payload shows it (short address)."""
    key = function_key(function)
    return key if key.count("::") == 2 else f"{short_address(PACKAGE_ADDRESS)}::{key}"


def gas(prepared: Prepared, n_events: int) -> int:
    """A deterministic stand-in for gas: a base cost plus events and argument size."""
    size = sum(len(json.dumps(arg)) for arg in prepared.args_json)
    return 7 + 3 * n_events + size // 32
