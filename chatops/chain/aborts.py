"""Move abort codes -> (NAME, meaning), from chatops/chain/abort_codes.json (generated from
contract_spec.md §8 by scripts/make_abort_codes.py, checked by a test). No I/O beyond reading
that file once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "VM_STATUS_TEXT",
    "AbortInfo",
    "describe",
    "describe_status",
    "known_aborts",
    "lookup_by_name",
    "parse_vm_status",
]

_FRAMEWORK_ADDRESS = 1

# std::error categories: a framework code is (category << 16) | reason.
_CATEGORIES = {
    0x1: "INVALID_ARGUMENT",
    0x2: "OUT_OF_RANGE",
    0x3: "INVALID_STATE",
    0x4: "UNAUTHENTICATED",
    0x5: "PERMISSION_DENIED",
    0x6: "NOT_FOUND",
    0x7: "ABORTED",
    0x8: "ALREADY_EXISTS",
    0x9: "RESOURCE_EXHAUSTED",
    0xA: "CANCELLED",
    0xB: "INTERNAL",
    0xC: "NOT_IMPLEMENTED",
    0xD: "UNAVAILABLE",
}

# contract_spec §0 fact 8: a failed "signer is the package account" check reports these codes, so the
# message must name that cause first. Keyed by (code, module or None for any module).
_SIGNER_CHECK: dict[tuple[int, str | None], str] = {
    (0x1202, None): "registry not initialised or signer is not the package account",
    (0x1202, "sales"): (
        "registry not initialised or signer is not the package account, or the lottery has no sales yet"
    ),
    (0x1B04, None): "history not authorised: signer is not the package account",
    (
        0x1A01,
        "automation",
    ): "automation registry not initialised or signer is not the package account",
}

# VM statuses that are not aborts (Aptos StatusCode names), worded for people: what failed
# transactions report in vm_status, and what a node answers when it refuses one before execution
# (the multisig prologue's statuses: multisig_account.md §4).
VM_STATUS_TEXT: dict[str, str] = {
    "OUT_OF_GAS": "ran out of gas (raise max_gas)",
    "MISSING_DATA": "a resource it needs does not exist (MISSING_DATA: module not initialised?)",
    "ARITHMETIC_ERROR": "an arithmetic overflow or underflow (ARITHMETIC_ERROR)",
    "SEQUENCE_NUMBER_TOO_OLD": "its sequence number was already used (SEQUENCE_NUMBER_TOO_OLD)",
    "SEQUENCE_NUMBER_TOO_NEW": "its sequence number is ahead of the account (SEQUENCE_NUMBER_TOO_NEW)",
    "TRANSACTION_EXPIRED": "it expired before execution (TRANSACTION_EXPIRED)",
    "INVALID_SIGNATURE": "its signature is invalid (INVALID_SIGNATURE)",
    "INVALID_AUTH_KEY": (
        "the key does not control the sender account, or the account's key was revoked "
        "(INVALID_AUTH_KEY)"
    ),
    "INSUFFICIENT_BALANCE_FOR_TRANSACTION_FEE": (
        "the sender cannot pay the gas fee (INSUFFICIENT_BALANCE_FOR_TRANSACTION_FEE)"
    ),
    "FAILED_TO_DESERIALIZE_ARGUMENT": (
        "an argument, or a multisig proposal's stored payload, could not be decoded "
        "(FAILED_TO_DESERIALIZE_ARGUMENT)"
    ),
    "ACCOUNT_NOT_MULTISIG": "the account is not a multisig account (ACCOUNT_NOT_MULTISIG)",
    "NOT_MULTISIG_OWNER": "the sender is not an owner of the multisig account (NOT_MULTISIG_OWNER)",
    "MULTISIG_TRANSACTION_NOT_FOUND": (
        "the multisig account has no pending proposal to execute (MULTISIG_TRANSACTION_NOT_FOUND)"
    ),
    "MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS": (
        "the proposal at the head of the queue has too few approvals, or has timed out and must "
        "be cleared with execute_rejected_transaction (MULTISIG_TRANSACTION_INSUFFICIENT_APPROVALS)"
    ),
    "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH_HASH": (
        "the payload sent does not match the proposal's stored hash "
        "(MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH_HASH)"
    ),
    "MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH": (
        "the payload sent differs from the proposal's stored payload "
        "(MULTISIG_TRANSACTION_PAYLOAD_DOES_NOT_MATCH)"
    ),
    "UNEXPECTED_ERROR_FROM_KNOWN_MOVE_FUNCTION": (
        "a framework check failed unexpectedly (UNEXPECTED_ERROR_FROM_KNOWN_MOVE_FUNCTION)"
    ),
}


def describe_status(status: str) -> str | None:
    """The wording of a VM status named in ``status`` (a name or a message holding it), if known."""
    return next((text for code, text in VM_STATUS_TEXT.items() if code in status), None)


_VM_ABORT = re.compile(
    r"Move abort in (?P<module>[^\s:]+::\w+): "
    r"(?:(?P<name>[A-Za-z_]\w*)\((?P<hex>0x[0-9a-fA-F]+|\d+)\)(?::\s?(?P<desc>.*))?"
    r"|(?P<bare>0x[0-9a-fA-F]+|\d+))\s*$",
    re.DOTALL,
)
_SCRIPT_ABORT = re.compile(r"Move abort:? code (?P<bare>0x[0-9a-fA-F]+|\d+)\s*$")


@dataclass(frozen=True)
class AbortInfo:
    """A decoded abort. ``module`` is ``payouts``-style for lottery_multi, ``0x1::table`` for the framework."""

    name: str | None
    code: int
    module: str
    meaning: str
    raised_in: tuple[str, ...] = ()

    @property
    def hex_code(self) -> str:
        return f"0x{self.code:X}"

    def render(self) -> str:
        """One plain sentence for Slack or a log line; never a bare number."""
        if self.name is None:
            return self.meaning
        return f"{self.name} ({self.hex_code}): {self.meaning}"


@dataclass(frozen=True)
class _Entry:
    name: str
    code: int
    modules: tuple[str, ...]
    meaning: str


@dataclass(frozen=True)
class _Table:
    by_code: dict[int, tuple[_Entry, ...]]
    other: dict[tuple[str, int], _Entry]
    by_name: dict[str, _Entry]


def _entry(raw: dict[str, Any], modules: tuple[str, ...]) -> _Entry:
    return _Entry(
        name=raw["name"], code=int(raw["code"], 16), modules=modules, meaning=raw["meaning"]
    )


@cache
def _table() -> _Table:
    text = resources.files("chatops.chain").joinpath("abort_codes.json").read_text(encoding="utf-8")
    data = json.loads(text)
    by_code: dict[int, tuple[_Entry, ...]] = {}
    by_name: dict[str, _Entry] = {}
    for raw in data["lottery_multi"]:
        entry = _entry(raw, tuple(raw["modules"]))
        by_code[entry.code] = (*by_code.get(entry.code, ()), entry)
        by_name[entry.name] = entry
    other: dict[tuple[str, int], _Entry] = {}
    for raw in data["other"]:
        entry = _entry(raw, (raw["module"],))
        other[(raw["module"], entry.code)] = entry
        by_name.setdefault(entry.name, entry)
    return _Table(by_code=by_code, other=other, by_name=by_name)


def _module_key(module: str) -> str:
    """``0x1::table`` for framework modules, the bare module name for everything else."""
    address, sep, name = module.strip().rpartition("::")
    if not sep:
        return name
    try:
        is_framework = int(address.removeprefix("0x"), 16) == _FRAMEWORK_ADDRESS
    except ValueError:
        is_framework = False
    return f"0x1::{name}" if is_framework else name


def _choose(entries: tuple[_Entry, ...], module: str) -> _Entry:
    """Pick among entries sharing a code (0x1A01): the one raised in ``module``, else the first."""
    for entry in entries:
        if module in entry.modules:
            return entry
    return entries[0]


def _meaning(entry: _Entry, module: str) -> str:
    return (
        _SIGNER_CHECK.get((entry.code, module))
        or _SIGNER_CHECK.get((entry.code, None))
        or entry.meaning
    )


def _unknown(module: str, code: int) -> str:
    if module.startswith("0x1::"):
        category = _CATEGORIES.get(code >> 16)
        if category is not None:
            return (
                f"framework abort 0x{code:X} in {module}: {category} (category {code >> 16}), "
                f"reason {code & 0xFFFF}"
            )
    return f"unknown abort code 0x{code:X} in module {module}"


def describe(module: str, code: int) -> AbortInfo:
    """Decode ``code`` raised in ``module`` (``payouts``, ``0xbc95…::payouts`` or ``0x1::table``)."""
    key = _module_key(module)
    table = _table()
    other = table.other.get((key, code))
    if other is not None:
        return AbortInfo(other.name, code, key, other.meaning, other.modules)
    entries = table.by_code.get(code)
    if entries is None or key.startswith("0x1::"):
        return AbortInfo(None, code, key, _unknown(key, code))
    entry = _choose(entries, key)
    return AbortInfo(entry.name, code, key, _meaning(entry, key), entry.modules)


def lookup_by_name(name: str) -> AbortInfo | None:
    """The abort with constant ``name`` (e.g. ``E_PAYOUT_BATCH_COOLDOWN``), or None if unknown."""
    entry = _table().by_name.get(name)
    if entry is None:
        return None
    module = entry.modules[0] if entry.modules and entry.modules[0] != "*" else "errors"
    return AbortInfo(entry.name, entry.code, module, _meaning(entry, module), entry.modules)


def known_aborts() -> list[AbortInfo]:
    """Every abort in the table, lottery_multi's first, in table order."""
    table = _table()
    result = [
        AbortInfo(e.name, e.code, e.modules[0] if e.modules else "errors", e.meaning, e.modules)
        for entries in table.by_code.values()
        for e in entries
    ]
    result.extend(
        AbortInfo(e.name, e.code, e.modules[0], e.meaning, e.modules) for e in table.other.values()
    )
    return result


def _int(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def parse_vm_status(vm_status: str) -> AbortInfo | None:
    """Decode a ``vm_status`` (or error message) holding a Move abort; None if it is not an abort.

    Accepts ``Move abort in 0xADDR::m: 0x1805``, ``…: 6149``, the named Aptos form
    ``…: E_X(0x1805): description`` and the script form ``Move abort: code 0x1805``. Our table wins
    over a name the chain prints; an unknown code keeps the chain's name and description.
    """
    text = vm_status.strip()
    match = _VM_ABORT.search(text)
    if match is None:
        script = _SCRIPT_ABORT.search(text)
        if script is None:
            return None
        return describe("script", _int(script["bare"]))
    code = _int(match["hex"] or match["bare"])
    info = describe(match["module"], code)
    if info.name is None and match["name"]:
        desc = (match["desc"] or "").strip()
        meaning = desc or f"abort code 0x{code:X} in module {info.module}"
        return AbortInfo(match["name"], code, info.module, meaning)
    return info
