"""Emulation of ``lottery_multi::cancellation``: the one entry that cancels a lottery with refund tracking."""

from __future__ import annotations

from chatops.devnet.contracts import lottery_registry, sales
from chatops.devnet.framework import Call, Specs, World

__all__ = ["SPECS", "cancel_lottery_admin"]

SPECS = Specs("cancellation")


@SPECS.entry("cancel_lottery_admin", ("u64", "u8", "u64"))
def cancel_lottery_admin(
    world: World, call: Call, lottery_id: int, reason_code: int, now_ts: int
) -> None:
    """Sales bookkeeping first, then the registry's checks (spec §4.2 order); aborts roll both back."""
    tickets_sold, proceeds_accum = sales.begin_refund(world, lottery_id)
    lottery_registry.apply_cancellation(
        world, call, lottery_id, reason_code, now_ts, tickets_sold, proceeds_accum
    )
