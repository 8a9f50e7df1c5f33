"""Module ABIs as ``GET /rpc/v3/accounts/{address}/modules/{name}`` shows them (Aptos
``MoveModuleBytecode``), built from the declared functions: what a client reads to decode a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatops.devnet.framework import FunctionSpec, addr, short_address

__all__ = ["module_abi"]


def _function(spec: FunctionSpec) -> dict[str, Any]:
    entry = spec.kind == "entry"
    return {
        "name": spec.name,
        "visibility": spec.visibility,
        "is_entry": entry,
        "is_view": spec.is_view,
        "generic_type_params": [],
        "params": ["&signer"] * (spec.signers if entry else 0) + list(spec.params),
        "return": list(spec.returns),
    }


def module_abi(
    specs: Mapping[str, FunctionSpec], address: str, module: str
) -> dict[str, Any] | None:
    """The module's ABI (no bytecode: the devnet runs Python), or None when no such module exists."""
    account = addr(address)
    functions = [s for s in specs.values() if s.address == account and s.module == module]
    if not functions:
        return None
    return {
        "bytecode": "0x",
        "abi": {
            "address": short_address(account),
            "name": module,
            "friends": [],
            "exposed_functions": [_function(s) for s in sorted(functions, key=lambda s: s.name)],
            "structs": [],
        },
    }
