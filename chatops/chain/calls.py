"""A chain call as data (function id, typed arguments, one canonical encoding) and the ``Outcome``
of a committed one: the same ``ChainCall`` is previewed, hashed into the approval, simulated and
submitted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from chatops.chain.movetypes import from_json, to_json

__all__ = ["ChainCall", "Events", "Outcome", "TypedArg", "calls_digest", "find_event"]

Events = tuple[tuple[str, dict[str, Any]], ...]
"""(type, data) of each event a transaction emitted, or would emit when simulated, in order."""


def find_event(events: Events, struct_suffix: str) -> dict[str, Any] | None:
    """The first event whose type ends with ``struct_suffix`` (e.g. ``::PriceFeedClampEvent``)."""
    for type_name, data in events:
        if type_name.endswith(struct_suffix):
            return data
    return None


class TypedArg(BaseModel):
    """One Move argument: its type string and its value in chain JSON (u64 as a decimal string)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    value: Any

    @classmethod
    def of(cls, type_str: str, python_value: Any) -> TypedArg:
        """Build from the Python representation (ints, bytes, ...); validates it against the type."""
        return cls(type=type_str, value=to_json(type_str, python_value))

    def python(self) -> Any:
        return from_json(self.type, self.value)

    def cli(self) -> str:
        """The Supra CLI ``--args`` form (spec §1.4): ``u64:42``, ``hex:0x..``, ``u64:[4,6]``.

        ``Option<T>`` has no CLI syntax; it is rendered as ``option:<json>`` so a person sees it
        must go through a JSON args file instead.
        """
        kind = self.type
        if kind == "vector<u8>":
            return f"hex:{self.value}"
        if kind.startswith("vector<") and kind.endswith(">"):
            inner = kind[len("vector<") : -1]
            items = ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in self.value)
            return f"{inner}:[{items}]"
        if "Option<" in kind:
            return f"option:{json.dumps(self.value, separators=(',', ':'))}"
        if kind.endswith("String"):
            return f"string:{self.value}"
        return f"{kind}:{str(self.value).lower() if isinstance(self.value, bool) else self.value}"


class ChainCall(BaseModel):
    """An entry-function call (``module::function`` at the package address) or a read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    function: str
    args: tuple[TypedArg, ...] = ()

    @field_validator("function")
    @classmethod
    def _module_function(cls, value: str) -> str:
        parts = value.split("::")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError("function must be module::name or 0xADDR::module::name")
        return value

    def function_id(self, package_address: str) -> str:
        """The fully-qualified id, ``0xADDR::module::name`` (spec §1.3)."""
        return value if (value := self.function).count("::") == 2 else f"{package_address}::{value}"

    def canonical(self) -> dict[str, Any]:
        return {"function": self.function, "args": [[a.type, a.value] for a in self.args]}

    def describe(self, package_address: str | None = None) -> str:
        """``price_feed::set_fallback(u64:1, bool:true, u8:3)``, how the call reads to an approver;
        with ``package_address`` the function is named by its full id (for a hand-off)."""
        rendered = ", ".join(f"{a.type}:{json.dumps(a.value)}" for a in self.args)
        name = self.function_id(package_address) if package_address else self.function
        return f"{name}({rendered})"


@dataclass(frozen=True)
class Outcome:
    """A committed transaction as the step sees it (an abort raises instead)."""

    call: ChainCall
    tx_hash: str
    events: Events = ()

    def event(self, struct_suffix: str) -> dict[str, Any] | None:
        """The first event whose type ends with ``struct_suffix`` (e.g. ``::PriceFeedClampEvent``)."""
        return find_event(self.events, struct_suffix)


def calls_digest(calls: list[ChainCall] | tuple[ChainCall, ...]) -> str:
    """sha256 of the canonical JSON of the calls (sorted keys, no spaces): the approval binds to it."""
    payload = json.dumps([c.canonical() for c in calls], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
