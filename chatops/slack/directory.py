"""Who a Slack user is, for authorization: user-group memberships (cached, refreshed on
``subteam_members_changed``) and whether the account may act at all (no guests, bots, deleted or
external Slack Connect users).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["Directory", "Person"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    user_id: str
    groups: tuple[str, ...]
    is_eligible: bool
    why_not: str = ""


class Directory:
    """Caches ``usergroups.users.list`` for the policy's groups and ``users.info`` per user."""

    def __init__(
        self, client: WebClient, group_ids: list[str], *, team_id: str | None, ttl_s: float = 300.0
    ) -> None:
        self._client = client
        self._group_ids = group_ids
        self._team_id = team_id
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._members: dict[str, frozenset[str]] = {}
        self._members_at: dict[str, float] = {}
        self._users: dict[str, tuple[float, bool, str]] = {}

    def invalidate_group(self, group_id: str) -> None:
        """Drop a group's cached members (``subteam_members_changed``)."""
        with self._lock:
            self._members.pop(group_id, None)
            self._members_at.pop(group_id, None)

    def _group_members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._members.get(group_id)
            if cached is not None and now - self._members_at[group_id] < self._ttl_s:
                return cached
        try:
            users: list[Any] = self._client.usergroups_users_list(usergroup=group_id).get(
                "users", []
            )
        except SlackApiError as exc:
            logger.warning(
                "usergroups.users.list failed for %s: %s", group_id, exc.response.get("error")
            )
            users = []
        members = frozenset(str(u) for u in users)
        with self._lock:
            self._members[group_id] = members
            self._members_at[group_id] = now
        return members

    def _account(self, user_id: str) -> tuple[bool, str]:
        now = time.monotonic()
        with self._lock:
            cached = self._users.get(user_id)
            if cached is not None and now - cached[0] < self._ttl_s:
                return cached[1], cached[2]
        try:
            user: dict[str, Any] = self._client.users_info(user=user_id).get("user", {})
        except SlackApiError as exc:
            return False, f"could not look the user up ({exc.response.get('error')})"
        why = ""
        if user.get("deleted"):
            why = "the account is deactivated"
        elif user.get("is_bot") or user.get("is_app_user"):
            why = "bots cannot act"
        elif user.get("is_restricted") or user.get("is_ultra_restricted"):
            why = "guests cannot act"
        elif user.get("is_stranger") or (
            self._team_id and user.get("team_id") not in (None, self._team_id)
        ):
            why = "external (Slack Connect) users cannot act"
        with self._lock:
            self._users[user_id] = (now, not why, why)
        return not why, why

    def person(self, user_id: str) -> Person:
        eligible, why = self._account(user_id)
        groups = tuple(g for g in self._group_ids if user_id in self._group_members(g))
        return Person(user_id=user_id, groups=groups, is_eligible=eligible, why_not=why)
