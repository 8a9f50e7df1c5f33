"""The contracts' status codes by name (spec §2): a lottery's lifecycle status and its dVRF request's,
with the names chain JSON and the replies use, in one place.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["LotteryStatus", "VrfStatus", "status_name"]


class _Named(IntEnum):
    @property
    def label(self) -> str:
        """``DrawRequested``: the name as the spec writes it and the replies show it."""
        return self.name.title().replace("_", "")

    @property
    def key(self) -> str:
        """``draw_requested``: the name as chain JSON spells it (``views::status_overview`` keys)."""
        return self.name.lower()


class LotteryStatus(_Named):
    """``lottery_registry`` status (u8)."""

    DRAFT = 0
    ACTIVE = 1
    CLOSING = 2
    DRAW_REQUESTED = 3
    DRAWN = 4
    PAYOUT = 5
    FINALIZED = 6
    CANCELED = 7


class VrfStatus(_Named):
    """``draw`` VRF request status (u8)."""

    IDLE = 0
    REQUESTED = 1
    FULFILLED = 2
    FAILED = 3


def status_name(code: int) -> str:
    """A lottery status code's label (``DrawRequested``), or ``unknown (9)`` for a code we do not know."""
    try:
        return LotteryStatus(code).label
    except ValueError:
        return f"unknown ({code})"
