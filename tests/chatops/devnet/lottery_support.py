"""Shared helpers for the in-process tests of the lottery modules: a transactional target and a seeded world."""

from __future__ import annotations

from typing import Any

from chatops.devnet.contracts import all_specs, draw
from chatops.devnet.framework import PACKAGE_ADDRESS, Call, FunctionSpec, World
from chatops.devnet.seed import seed

NOW = 1_750_000_000
_SPECS: dict[str, FunctionSpec] = {}


def specs() -> dict[str, FunctionSpec]:
    if not _SPECS:
        _SPECS.update(all_specs())
    return _SPECS


class WorldTarget:
    """Runs entry functions atomically like the devnet executor (snapshot, restore on any exception)."""

    def __init__(self, now_s: int = NOW) -> None:
        self.world = World()
        self._now = now_s
        self.events: list[tuple[str, dict[str, Any]]] = []

    @property
    def now_s(self) -> int:
        return self._now

    def _run(self, call: Call, fn: Any, *args: Any) -> None:
        before = self.world.snapshot()
        try:
            fn(self.world, call, *args)
        except Exception:
            self.world = before
            raise
        self.events.extend(call.events)

    def apply(self, function: str, args: list[Any], signers: list[str] | None = None) -> None:
        spec = specs()[function]
        assert spec.kind == "entry"
        assert len(args) == len(spec.params), function
        call = Call(signers=list(signers or [PACKAGE_ADDRESS]), now_s=self._now)
        self._run(call, spec.fn, *args)

    def advance(self, secs: int) -> None:
        self._now += secs

    def fulfill_vrf(self, lottery_id: int) -> None:
        self._run(Call(signers=[], now_s=self._now), draw.fulfill, lottery_id)

    def read(self, function: str, *args: Any) -> list[Any]:
        spec = specs()[function]
        assert spec.kind == "read"
        result: list[Any] = spec.fn(self.world, *args)
        return result

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def seeded() -> WorldTarget:
    target = WorldTarget()
    seed(target)
    target.events.clear()
    return target


def create_active(target: WorldTarget, lottery_id: int, config: Any) -> None:
    """Create a draft from ``config`` (a lottery_registry.Config) and activate it."""
    target.apply("lottery_registry::create_draft_admin", [lottery_id, config.bcs()])
    target.apply("lottery_registry::advance_status", [lottery_id, 1])


def buy(
    target: WorldTarget, lottery_id: int, buyer: str, quantity: int, ts: int, block: int = 1
) -> None:
    target.apply("sales::purchase_tickets_public", [lottery_id, quantity, ts, block], [buyer])
