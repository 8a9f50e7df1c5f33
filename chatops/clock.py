"""The only source of "now": a ``Clock`` protocol, the system clock (aware UTC) and ``wall_clock_ms``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "SystemClock", "wall_clock_ms"]


class Clock(Protocol):
    def now(self) -> datetime: ...

    def now_s(self) -> int: ...


class SystemClock:
    """Wall-clock time; tests inject their own ``Clock`` instead of patching this one."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def now_s(self) -> int:
        return int(time.time())


def wall_clock_ms() -> int:
    """This process's wall clock in ms: rate limits are about real time, whatever clock the chain
    keeps. Approvals do not use it: they run on the Redis server's TIME."""
    return int(time.time() * 1000)
