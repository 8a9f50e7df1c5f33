"""The guard in front of every listener: only our workspace, organisation and app, and each delivery
handled once across replicas and restarts (``first_seen`` also drops the Approve button's duplicates).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from slack_bolt import BoltRequest, BoltResponse

from chatops.slack import keys
from chatops.slack.deps import SlackDeps

__all__ = ["SEEN_TTL_S", "Middleware", "first_seen", "make_guard"]

logger = logging.getLogger(__name__)

SEEN_TTL_S = 3600

Middleware = Callable[[BoltRequest, BoltResponse, Callable[[], BoltResponse]], BoltResponse]


def _retry_num(req: BoltRequest) -> int:
    """Slack's ``x-slack-retry-num`` (0 on a first delivery; Bolt's Socket Mode adapter always sets
    it, to ``retry_attempt``, so its mere presence means nothing)."""
    values = req.headers.get("x-slack-retry-num") or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


def first_seen(store: redis.Redis, marker: str) -> bool:
    """True once per marker across replicas and restarts (SET NX with a TTL)."""
    return bool(store.set(keys.slack_event_key(marker), "1", nx=True, ex=SEEN_TTL_S))


def make_guard(deps: SlackDeps) -> Middleware:
    """The guard for ``app.middleware``; it times each ack (``chatops_ack_seconds``)."""

    def guard(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        """Only our workspace and app; Slack's retries of the same delivery never run twice."""
        started = time.monotonic()
        context = req.context
        if context.team_id != deps.team_id:
            logger.warning(
                "request from another workspace refused", extra={"team": context.team_id}
            )
            return BoltResponse(status=200, body="This workspace is not allowed to use chatops.")
        if context.enterprise_id not in (None, deps.enterprise_id):
            return BoltResponse(status=200, body="This organisation is not allowed to use chatops.")
        if deps.app_id and req.body.get("api_app_id") != deps.app_id:
            return BoltResponse(status=200, body="")
        event_id = req.body.get("event_id")
        if event_id:
            # Events carry an id: a retry whose first delivery never reached us still runs once.
            try:
                first = first_seen(deps.store, f"event:{event_id}")
            except redis.RedisError:  # handled anyway: whatever it would record fails on its own
                logger.warning(
                    "Redis unavailable: event %s handled without de-duplication", event_id
                )
                first = True
            if not first:
                return BoltResponse(status=200, body="")
        elif _retry_num(req) > 0:
            # Nothing else carries an id to de-duplicate on, so a redelivery is acked and dropped.
            return BoltResponse(status=200, body="")
        response = next()
        deps.metrics.ack_seconds.observe(time.monotonic() - started)
        return response

    return guard
