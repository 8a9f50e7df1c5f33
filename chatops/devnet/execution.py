"""Running the package's functions as the Move VM would: resolve, decode arguments, check the prologue,
execute an entry function with rollback, answer a view, and word each failure as a node does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatops.chain import movetypes
from chatops.devnet.framework import (
    PACKAGE_ADDRESS,
    Call,
    FunctionSpec,
    MissingDataError,
    MoveAbortError,
    World,
    addr,
)
from chatops.devnet.records import EXECUTED_SUCCESSFULLY, Account
from chatops.devnet.transactions import (
    DecodedTransaction,
    TransactionRejectedError,
    auth_key_for,
    short_address,
    signature_valid,
)

__all__ = [
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
    "prepare_values",
    "resolve",
    "run_view",
]

logger = logging.getLogger(__name__)

RawEvents = list[tuple[str, dict[str, Any]]]


class ViewError(Exception):
    """A ``POST /view`` the node answers with HTTP 400 ``{"message": ...}``."""


def abort_vm_status(error: MoveAbortError) -> str:
    """Aptos ``explain_vm_status`` for an abort in a module with no error map: a bare hex code."""
    return f"Move abort in {short_address(error.address)}::{error.module}: {error.code:#x}"


def missing_data_vm_status(spec: FunctionSpec, error: MissingDataError) -> str:
    """An execution failure the way Aptos prints it, plus the status name so the bot can tell."""
    return (
        f"Execution failed in {short_address(PACKAGE_ADDRESS)}::{spec.module}::{spec.name} "
        f"at code offset 0: MISSING_DATA ({error.resource})"
    )


@dataclass
class Prepared:
    """An entry call resolved from a transaction: either runnable or already failed (prefail)."""

    spec: FunctionSpec | None
    args: list[Any] | None
    args_json: list[Any]
    prefail: str | None


def resolve(specs: Mapping[str, FunctionSpec], function: str) -> FunctionSpec | None:
    """The package function named ``module::name`` or ``0xPACKAGE::module::name``, if it exists."""
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


def prepare_bcs(specs: Mapping[str, FunctionSpec], tx: DecodedTransaction) -> Prepared:
    """An entry call from a signed transaction's BCS arguments."""
    raw_json: list[Any] = ["0x" + arg.hex() for arg in tx.args]
    spec = None
    if tx.module_address == PACKAGE_ADDRESS:
        spec = specs.get(f"{tx.module}::{tx.function}")
    if spec is None or spec.kind != "entry":
        return Prepared(None, None, raw_json, "FUNCTION_RESOLUTION_FAILURE")
    if tx.ty_args:
        return Prepared(spec, None, raw_json, "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH")
    if spec.signers and len(tx.signers) != spec.signers:
        return Prepared(spec, None, raw_json, "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH")
    if len(tx.args) != len(spec.params):
        return Prepared(spec, None, raw_json, "NUMBER_OF_ARGUMENTS_MISMATCH")
    try:
        values = [movetypes.decode_bcs(t, a) for t, a in zip(spec.params, tx.args, strict=True)]
    except movetypes.MoveTypeError:
        return Prepared(spec, None, raw_json, "FAILED_TO_DESERIALIZE_ARGUMENT")
    args_json = [movetypes.to_json(t, v) for t, v in zip(spec.params, values, strict=True)]
    return Prepared(spec, values, args_json, None)


def execute(
    world: World, spec: FunctionSpec, args: list[Any], signers: list[str], now_s: int
) -> tuple[World, str, RawEvents]:
    """Run one entry function on ``world``: (the World to keep, vm_status, events).

    On failure the World to keep is the snapshot taken before the call, so nothing it did remains.
    """
    snapshot = world.snapshot()
    call = Call(signers=signers, now_s=now_s)
    try:
        spec.fn(world, call, *args)
    except MoveAbortError as exc:
        return snapshot, abort_vm_status(exc), []
    except MissingDataError as exc:
        return snapshot, missing_data_vm_status(spec, exc), []
    except Exception:  # an emulator bug must not kill the node: logged, the tx fails
        logger.exception("devnet: %s::%s raised unexpectedly", spec.module, spec.name)
        return (
            snapshot,
            f"Execution failed in {short_address(PACKAGE_ADDRESS)}::{spec.module}::{spec.name} "
            "at code offset 0: UNKNOWN_INVARIANT_VIOLATION_ERROR",
            [],
        )
    return world, EXECUTED_SUCCESSFULLY, call.events


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
        return list(spec.fn(world, *values))
    except MoveAbortError as exc:
        raise ViewError(abort_vm_status(exc)) from exc
    except MissingDataError as exc:
        raise ViewError(missing_data_vm_status(spec, exc)) from exc


def function_key(function: str) -> str:
    """``module::name`` of ``module::name`` or ``0xADDR::module::name``."""
    parts = function.split("::")
    return "::".join(parts[-2:])


def function_id(function: str) -> str:
    """The function id as a transaction's payload shows it (short package address)."""
    return f"{short_address(PACKAGE_ADDRESS)}::{function_key(function)}"


def gas(prepared: Prepared, n_events: int) -> int:
    """A deterministic stand-in for gas: a base cost plus events and argument size."""
    size = sum(len(json.dumps(arg)) for arg in prepared.args_json)
    return 7 + 3 * n_events + size // 32
