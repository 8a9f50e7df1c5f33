"""A singleton loop's leader lease (the watcher's, the multisig executor's): one leader among
replicas, with a fencing token its writes carry."""

from __future__ import annotations

from typing import Any

import redis

from chatops.notify import keys
from chatops.notify.scripts import load_script

__all__ = ["LeaderLease", "LeadershipLostError", "check_fence"]


class LeadershipLostError(Exception):
    """Another replica took the lease (a newer fence); this one must stop writing."""


class LeaderLease:
    """A Redis lease with a fencing token: at most one holder; a new holder gets a higher token.

    Every write of the leader carries ``fence`` and is refused once a newer leader took the lease.
    The watcher's keys unless others are named (each singleton loop has a lease of its own)."""

    def __init__(
        self,
        client: redis.Redis,
        owner: str,
        ttl_ms: int,
        *,
        lease_key: str = keys.WATCHER_LEASE,
        fence_key: str = keys.WATCHER_FENCE,
    ) -> None:
        self.owner = owner
        self.ttl_ms = ttl_ms
        self.lease_key = lease_key
        self.fence_key = fence_key
        self._r = client
        self._acquire = load_script(client, "leader_acquire")
        self._release = load_script(client, "leader_release")
        self.fence = 0

    def acquire(self) -> int:
        """Take or renew the lease; the fence token, or 0 if another replica holds it."""
        self.fence = int(
            self._acquire(keys=[self.lease_key, self.fence_key], args=[self.owner, self.ttl_ms])
        )
        return self.fence

    def release(self) -> None:
        if self.fence:
            self._release(keys=[self.lease_key], args=[f"{self.owner}|{self.fence}"])
            self.fence = 0


def check_fence(result: Any) -> int:
    """A fenced script's result, or ``LeadershipLostError`` when it refused a stale fence (-1)."""
    if int(result) < 0:
        raise LeadershipLostError("Another watcher holds the lease; this one stops writing.")
    return int(result)
