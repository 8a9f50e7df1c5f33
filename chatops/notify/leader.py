"""Leader leases: one replica among many runs each singleton loop (the watcher, the monitors, the
expiry sweeper, retention), with a fencing token its writes carry."""

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
    ``loop`` names the lease (``keys.loop_lease_key``); the watcher's keeps its own keys."""

    def __init__(self, client: redis.Redis, owner: str, ttl_ms: int, loop: str = "watcher") -> None:
        self.owner = owner
        self.ttl_ms = ttl_ms
        self.loop = loop
        self._keys = (
            [keys.WATCHER_LEASE, keys.WATCHER_FENCE]
            if loop == "watcher"
            else [keys.loop_lease_key(loop), keys.loop_fence_key(loop)]
        )
        self._r = client
        self._acquire = load_script(client, "leader_acquire")
        self._release = load_script(client, "leader_release")
        self.fence = 0

    def acquire(self) -> int:
        """Take or renew the lease; the fence token, or 0 if another replica holds it."""
        self.fence = int(self._acquire(keys=self._keys, args=[self.owner, self.ttl_ms]))
        return self.fence

    def release(self) -> None:
        if self.fence:
            self._release(keys=self._keys[:1], args=[f"{self.owner}|{self.fence}"])
            self.fence = 0


def check_fence(result: Any) -> int:
    """A fenced script's result, or ``LeadershipLostError`` when it refused a stale fence (-1)."""
    if int(result) < 0:
        raise LeadershipLostError("Another watcher holds the lease; this one stops writing.")
    return int(result)
