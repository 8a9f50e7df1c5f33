"""Shared helpers for the in-process tests of the devnet's ops modules (roles, history, ...)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from chatops.devnet.contracts.history import LotterySummary
from chatops.devnet.framework import PACKAGE_ADDRESS, Call, MoveAbortError, World, addr

ADMIN = PACKAGE_ADDRESS
STRANGER = addr("0xbeef")
OPERATOR = addr("0xb0b")
SCHEMA_PATH = Path("/work/shared/reference/lottery_multi_views.schema.json")


def admin(now_s: int = 0) -> Call:
    """A transaction signed by the package account."""
    return Call(signers=[ADMIN], now_s=now_s)


def published(*inits: Callable[[World, Call], None]) -> World:
    """A World in which the package account ran ``inits`` (``init_*`` entries), in order."""
    world = World()
    for init in inits:
        init(world, admin())
    return world


def stranger() -> Call:
    """A transaction signed by an account with no role (not the package account)."""
    return signed_by(STRANGER)


def signed_by(*signers: str) -> Call:
    return Call(signers=list(signers), now_s=0)


@contextmanager
def aborts(module: str, code: int) -> Iterator[None]:
    """Expect a Move abort raised from ``module`` with ``code``."""
    with pytest.raises(MoveAbortError) as info:
        yield
    assert (info.value.module, hex(info.value.code)) == (module, hex(code))


def normalise(value: Any) -> Any:
    """Chain JSON -> the project schema's form: decimal u64 strings become integers."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def validate(def_name: str, value: Any) -> None:
    """Validate chain JSON against ``$defs/<def_name>`` of the shared view schema."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    sub = {"$defs": schema["$defs"], "$ref": f"#/$defs/{def_name}"}
    jsonschema.validate(normalise(value), sub)


def names(call: Call) -> list[str]:
    """The struct names of the events a call emitted, in order."""
    return [struct for struct, _ in call.events]


def summary(lottery_id: int = 42, finalized_at: int = 1732100000) -> LotterySummary:
    """A finalized-looking summary with distinct field values."""
    return LotterySummary(
        lottery_id, 6, b"lottery", b"daily", 1, 10, 1000, 800, 700, 100, 2, 0, 2,
        b"\x11" * 32, b"\x22" * 32, b"\x33" * 32, b"\x44" * 32, 1, 10, 20, finalized_at,
    )  # fmt: skip
