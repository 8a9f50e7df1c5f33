"""Publishes each person's App Home tab, and publishes again the tabs of everyone who opened it when a
request or an incident changes. Every call here runs on the courier, never on a listener's thread.
"""

from __future__ import annotations

import logging
from typing import cast

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest
from approvals.policy import Policy
from chatops.flow import ApprovalFlow
from chatops.flow.render import shown_state
from chatops.notify.incident_store import IncidentStore
from chatops.slack import keys
from chatops.slack.blocks.home import HOME_ITEMS, home_view
from chatops.slack.directory import Directory, DirectoryUnavailableError
from chatops.slack.executor import Admission, Executor

__all__ = ["REFRESH_MARKER_MS", "HomeTab"]

logger = logging.getLogger(__name__)

# Changes made while a round of publishing waits on the courier share it (views.publish is Tier 4:
# 100 a minute); the marker outlives a lost round by this long at most.
REFRESH_MARKER_MS = 60_000
_PENDING_READ = 50  # pending requests read to find the ones waiting for one approver


class HomeTab:
    """The App Home tab of each person who opens it: for an approver, the requests waiting for them
    (with Approve and Deny); for everyone, their own requests and the open incidents."""

    def __init__(
        self,
        client: WebClient,
        store: redis.Redis,
        *,
        flow: ApprovalFlow,
        policy: Policy,
        directory: Directory,
        courier: Executor,
        incidents: IncidentStore | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._flow = flow
        self._policy = policy
        self._directory = directory
        self._courier = courier
        self._incidents = incidents

    def opened(self, user: str) -> None:
        """``user`` opened the tab: remember them (their tab follows changes from now on) and
        publish it now."""
        self._store.sadd(keys.HOME_VIEWERS, user)
        self.publish(user)

    def refresh_later(self) -> None:
        """Publish every opened tab again, soon, from the courier; changes made (on any replica)
        while a round waits to start share it, and a change made once it started gets another."""
        try:
            if not self._store.set(keys.HOME_REFRESH, "1", nx=True, px=REFRESH_MARKER_MS):
                return
        except redis.RedisError:
            logger.warning("App Home not refreshed: Redis unavailable")
            return
        if (
            self._courier.submit(self._refresh_all, label="App Home refresh")
            is not Admission.ACCEPTED
        ):
            self._store.delete(keys.HOME_REFRESH)  # the next change asks again
            logger.warning("App Home refresh dropped: the courier is full or closing")

    def _refresh_all(self) -> None:
        self._store.delete(keys.HOME_REFRESH)  # from here on, a change asks for a round of its own
        viewers = cast(set[bytes], self._store.smembers(keys.HOME_VIEWERS))
        for user in sorted(v.decode() for v in viewers):
            self.publish(user)

    def publish(self, user: str) -> None:
        """Build ``user``'s tab and publish it; a failure is logged, never raised."""
        try:
            view = self._view(user)
            self._client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            logger.warning("App Home of %s not published: %s", user, exc.response.get("error"))
        except (redis.RedisError, ApprovalError) as exc:
            logger.warning("App Home of %s not published: %s", user, exc)

    def _view(self, user: str) -> dict[str, object]:
        service = self._flow.service
        now_ms = service.now_ms_for_display()
        note = ""
        waiting: list[ApprovalRequest] | None = None
        try:
            person = self._directory.person(user)
        except DirectoryUnavailableError as exc:
            note = f"{exc} Open the tab again to see what waits for you."
        else:
            if person.is_eligible and self._policy.may_approve(user, person.groups):
                _count, pending = service.pending(0, _PENDING_READ)
                waiting = [
                    r
                    for r in pending
                    if r.requester != user
                    and user not in r.approvers
                    and not r.is_expired_at(now_ms)
                ]
        mine: list[tuple[ApprovalRequest, str]] = []
        ids = cast(
            list[bytes], self._store.lrange(keys.slack_user_requests_key(user), 0, HOME_ITEMS)
        )
        for raw in ids:
            try:
                request = service.get(raw.decode())
            except ApprovalError:  # gone (retention), or the number was reused: not theirs
                continue
            mine.append((request, shown_state(request, now_ms)))
        incidents = self._incidents.recent(limit=HOME_ITEMS + 1) if self._incidents else []
        return home_view(waiting=waiting, mine=mine, incidents=incidents, note=note, now_ms=now_ms)
