"""A mutable clock for the approval service: tests move time by hand instead of sleeping."""

from __future__ import annotations

__all__ = ["ManualClock"]

START_MS = 1_800_000_000_000


class ManualClock:
    """``now_ms`` for ``ApprovalService``; ``advance`` moves it forward."""

    def __init__(self, start_ms: int = START_MS) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms
