"""What the bot signed for an approved request, recorded before each transaction leaves: its sequence
number and its expiration (chain seconds).

Reconciliation needs these two facts. A transaction whose sequence number the chain has not consumed
yet may still be in some node's mempool, and it can land until its expiration has passed on the
chain's clock; only then is "nothing was sent" true. The expiration is chain time, which the devnet
moves by hand and a real chain only roughly shares with the Redis clock, so it is recorded as the
transaction carries it rather than inferred from when the request was audited.

One Redis hash per request (sequence number -> expiration). It sits beside the request's hash rather
than in it because the request hash is written only by the approvals' Lua transitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, cast

import redis

from approvals.errors import StoreUnavailableError
from approvals.keys import PREFIX

__all__ = ["RETENTION_S", "Submission", "SubmissionLog", "submissions_key"]

# Long past any reconciliation (a request waits for it at most days); bounds what is left behind.
RETENTION_S: Final = 30 * 24 * 3600


def submissions_key(request_id: str) -> str:
    """Hash sequence number -> expiration_timestamp_secs of each transaction signed for the request."""
    return f"{PREFIX}:approval:{request_id}:submissions"


@dataclass(frozen=True, order=True)
class Submission:
    """One signed transaction of a request, as recorded just before it was sent."""

    sequence_number: int
    expires_s: int  # the transaction's expiration_timestamp_secs, on the chain's clock


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailableError(
            "The approvals store (Redis) is unavailable, so the transaction was not recorded and "
            "not sent; try again in a moment."
        ) from exc


class SubmissionLog:
    """The per-request record of signed transactions on the approvals' Redis."""

    def __init__(self, client: redis.Redis, *, retention_s: int = RETENTION_S) -> None:
        self.client = client
        self.retention_s = retention_s

    def record(self, request_id: str, submission: Submission) -> None:
        """Record ``submission`` before it is sent; if this raises, it must not be sent.

        Raises:
            StoreUnavailableError: Redis did not take the write.
        """
        key = submissions_key(request_id)
        with _reachable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(key, str(submission.sequence_number), str(submission.expires_s))
            pipe.expire(key, self.retention_s)
            pipe.execute()

    def read(self, request_id: str) -> list[Submission]:
        """Every recorded submission of the request, by sequence number (empty if none was)."""
        with _reachable():
            raw = cast(
                dict[bytes | str, bytes | str], self.client.hgetall(submissions_key(request_id))
            )
        return sorted(Submission(int(seq), int(expires)) for seq, expires in raw.items())
