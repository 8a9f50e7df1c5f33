"""Supra dVRF as the devnet plays it: which draw requests are due, and the callback that answers one."""

from __future__ import annotations

from collections.abc import Set

from chatops.devnet.contracts import draw
from chatops.devnet.framework import PACKAGE_ADDRESS, Call, FunctionSpec, World
from chatops.devnet.transactions import short_address

__all__ = ["CALLBACK_FUNCTION_ID", "SUPRA_VRF_ADDRESS", "callback_spec", "due_requests"]

SUPRA_VRF_ADDRESS = draw.SUPRA_VRF_ADDRESS
CALLBACK_FUNCTION_ID = f"{short_address(PACKAGE_ADDRESS)}::draw::vrf_callback"


def callback_spec(lottery_id: int) -> FunctionSpec:
    """The dVRF callback for ``lottery_id``, as an entry function the dVRF account sends unsigned."""

    def run(world: World, call: Call) -> None:
        draw.fulfill(world, call, lottery_id)

    return FunctionSpec("draw", "vrf_callback", "entry", (), run, signers=0)


def due_requests(
    world: World, *, now_s: int, delay_s: int, failed: Set[tuple[int, int]]
) -> list[tuple[int, int]]:
    """(lottery_id, request_ts) of each pending request whose ``request_ts + delay_s`` has come.

    ``failed`` holds the requests whose callback already failed; they are not retried.
    """
    return [
        (lottery_id, request_ts)
        for lottery_id, request_ts in draw.pending_requests(world)
        if request_ts + delay_s <= now_s and (lottery_id, request_ts) not in failed
    ]
