"""How the VM runs a ``TransactionPayload::Multisig``: the multisig prologue (a failure discards the
transaction), the stored or provided payload, the inner call with the multisig account as signer, and
the cleanup that consumes the proposal whether the inner call succeeded or failed.

Follows aptos_vm.rs ``execute_multisig_transaction`` and ``simulate_multisig_transaction``
(shared/reference/multisig_account.md §4, §6, §7).
"""

from __future__ import annotations

from collections.abc import Mapping

from chatops.chain.multisig_bcs import PayloadDecodeError, decode_proposal_payload
from chatops.devnet import multisig_account
from chatops.devnet.execution import Executed, Prepared, execute, prepare_entry
from chatops.devnet.framework import (
    Call,
    ChainContext,
    FunctionSpec,
    MissingDataError,
    MoveAbortError,
    World,
    addr,
)
from chatops.devnet.records import EXECUTED_SUCCESSFULLY
from chatops.devnet.transactions import TransactionRejectedError

__all__ = [
    "PROLOGUE_STATUSES",
    "execute_multisig",
    "inner_call",
    "provided_payload",
    "simulate_multisig",
    "validate",
]

# errors.rs: the multisig prologue's aborts become these statuses; any other abort is 2015.
PROLOGUE_STATUSES: dict[int, str] = {
    0x307D2: "ACCOUNT_NOT_MULTISIG",
    0x507D3: "NOT_MULTISIG_OWNER",
    0x607D6: "MULTISIG_TRANSACTION_NOT_FOUND",
    0x107D9: "MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS",
    0x107D8: "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH_HASH",
    0x107DA: "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH",
}
_UNEXPECTED = "UNEXPECTED_ERROR_FROM_KNOWN_MOVE_FUNCTION"
_STATUS_DETAIL = {
    "ACCOUNT_NOT_MULTISIG": "{account} is not a multisig account",
    "NOT_MULTISIG_OWNER": "{sender} is not an owner of {account}",
    "MULTISIG_TRANSACTION_NOT_FOUND": "{account} has no pending proposal to execute",
    "MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS": (
        "the proposal at the head of {account}'s queue lacks approvals or has timed out"
    ),
    "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH_HASH": (
        "the payload sent does not match the hash the proposal stores"
    ),
    "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH": (
        "the payload sent differs from the payload the proposal stores"
    ),
}


def provided_payload(payload: bytes | None, features: frozenset[int]) -> bytes:
    """What the prologue and ``get_next_transaction_payload`` receive when the executor sent ``payload``
    (``None``: run the stored one): empty under flag 70, else the BCS of an empty vector."""
    if payload is not None:
        return payload
    return b"" if multisig_account.ABORT_IF_MULTISIG_PAYLOAD_MISMATCH in features else b"\x00"


def validate(
    world: World, context: ChainContext, sender: str, account: str, payload: bytes | None
) -> None:
    """The multisig prologue; raises ``TransactionRejectedError`` (a discard: nothing committed, no
    gas, no sequence number used) with the status a node reports."""
    try:
        multisig_account.validate_multisig_transaction(
            world, context, sender, account, provided_payload(payload, context.features)
        )
    except MoveAbortError as exc:
        status = PROLOGUE_STATUSES.get(exc.code, _UNEXPECTED)
        detail = _STATUS_DETAIL.get(status, f"abort {exc.code:#x} in 0x1::multisig_account")
        raise TransactionRejectedError(
            status, detail.format(account=addr(account), sender=sender)
        ) from exc
    except MissingDataError as exc:
        raise TransactionRejectedError(
            "ACCOUNT_NOT_MULTISIG", f"{addr(account)} is not a multisig account"
        ) from exc


def inner_call(specs: Mapping[str, FunctionSpec], payload: bytes) -> Prepared:
    """The entry call a proposal payload names, prepared as the multisig account alone signs it.

    Raises:
        PayloadDecodeError: the bytes are not a ``MultisigTransactionPayload``.
    """
    entry = decode_proposal_payload(payload)
    return prepare_entry(
        specs,
        addr(str(entry.module.address)),
        entry.module.name,
        entry.function,
        tuple(str(tag) for tag in entry.ty_args),
        tuple(entry.args),
        1,
    )


def _run(prepared: Prepared, world: World, context: ChainContext, account: str) -> Executed:
    if prepared.prefail is not None or prepared.spec is None or prepared.args is None:
        return Executed.prefailed(world, prepared.prefail or "FUNCTION_RESOLUTION_FAILURE")
    return execute(
        world, prepared.spec, prepared.args, [addr(account)], context.now_s, chain=context
    )


def execute_multisig(
    world: World,
    specs: Mapping[str, FunctionSpec],
    context: ChainContext,
    sender: str,
    account: str,
    payload: bytes | None,
) -> tuple[Executed, Prepared | None]:
    """Run a validated Multisig transaction: the inner call as ``account``, then the cleanup.

    The outer transaction succeeds whether the inner call does or not (its changes are dropped and
    TransactionExecutionFailed carries the error). Only a stored payload that does not decode fails
    the outer transaction, leaving the proposal in place.
    """
    payload_bytes = multisig_account.next_transaction_payload(
        world, account, provided_payload(payload, context.features)
    )
    try:
        prepared = inner_call(specs, payload_bytes)
    except PayloadDecodeError:
        return Executed(world, "FAILED_TO_DESERIALIZE_ARGUMENT"), None
    inner = _run(prepared, world, context, account)
    cleanup = Call(signers=[addr(sender)], now_s=context.now_s, chain=context)
    kept = inner.world
    if inner.success:
        multisig_account.successful_execution_cleanup(kept, cleanup, sender, account, payload_bytes)
        events = [*inner.events, *cleanup.events]
        rotations = inner.auth_key_rotations
    else:
        failure = inner.failure
        error = (
            failure.to_json()
            if failure is not None
            else {"abort_location": "", "error_type": "VMError", "error_code": "2000"}
        )
        multisig_account.failed_execution_cleanup(
            kept, cleanup, sender, account, payload_bytes, error
        )
        events = list(cleanup.events)
        rotations = {}
    return Executed(kept, EXECUTED_SUCCESSFULLY, events, rotations), prepared


def simulate_multisig(
    world: World,
    specs: Mapping[str, FunctionSpec],
    context: ChainContext,
    account: str,
    payload: bytes | None,
) -> tuple[Executed, Prepared]:
    """Simulation skips every multisig check and runs the inline payload as ``account`` with no
    cleanup, so its status is the inner call's own; without a payload inline it cannot run."""
    if payload is None:
        raise TransactionRejectedError(
            "MISSING_DATA", "simulating a Multisig transaction needs its payload inline"
        )
    try:
        prepared = inner_call(specs, payload)
    except PayloadDecodeError as exc:
        raise TransactionRejectedError("FAILED_TO_DESERIALIZE_ARGUMENT", str(exc)) from exc
    return _run(prepared, world, context, account), prepared
