"""Constants of the lottery_multi contracts that the bot's reads and checks share (spec §2, §6.3).

One place for each, so the status digest, the refund SLA and the winner pages agree with each other.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_VRF_ATTEMPTS",
    "REFUND_FIRST_BATCH_SLA_SECS",
    "REFUND_FULL_SLA_SECS",
    "WINNER_CHUNK_CAPACITY",
]

# Both refund deadlines run from the cancellation's canceled_ts (not from the first batch).
REFUND_FIRST_BATCH_SLA_SECS: Final = 43_200
REFUND_FULL_SLA_SECS: Final = 86_400
# Winner records per payouts::WinnerChunk (the only place winners are stored, spec §1.6).
WINNER_CHUNK_CAPACITY: Final = 64
# draw::max_vrf_attempts(): the auto-cancel threshold (unreachable in practice, spec fact 15).
MAX_VRF_ATTEMPTS: Final = 5
