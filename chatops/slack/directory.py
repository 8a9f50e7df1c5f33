"""Who a Slack user is, for authorization: user-group memberships (cached, refreshed on
``subteam_members_changed``) and whether the account may act at all (no guests, bots, deleted or
external Slack Connect users). A failed lookup is never cached: the next request asks again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands.errors import CommandError

__all__ = ["Directory", "DirectoryUnavailableError", "Person"]

logger = logging.getLogger(__name__)


class DirectoryUnavailableError(CommandError):
    """Slack did not say who is in an approver group; nothing was done (the asker may try again)."""


@dataclass(frozen=True)
class Person:
    user_id: str
    groups: tuple[str, ...]
    is_eligible: bool
    why_not: str = ""


class Directory:
    """Caches ``usergroups.users.list`` for the policy's groups and ``users.info`` per user, each
    for ``ttl_s``; ``known`` answers from the cache alone, so an ack path may ask it."""

    def __init__(
        self, client: WebClient, group_ids: list[str], *, team_id: str | None, ttl_s: float = 300.0
    ) -> None:
        self._client = client
        self._group_ids = group_ids
        self._team_id = team_id
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._users: dict[str, tuple[float, bool, str]] = {}

    def invalidate_group(self, group_id: str) -> None:
        """Drop a group's cached members (``subteam_members_changed``)."""
        with self._lock:
            self._members.pop(group_id, None)

    def _fresh(self, at_s: float, now_s: float) -> bool:
        return now_s - at_s < self._ttl_s

    def members(self, group_id: str) -> frozenset[str]:
        """Who is in ``group_id``, from the cache while fresh.

        Raises:
            DirectoryUnavailableError: Slack did not answer (rate limit, outage, scope); nothing
                is cached, so the next request asks again.
        """
        now_s = time.monotonic()
        with self._lock:
            cached = self._members.get(group_id)
        if cached is not None and self._fresh(cached[0], now_s):
            return cached[1]
        try:
            users: list[Any] = self._client.usergroups_users_list(usergroup=group_id).get(
                "users", []
            )
        except (SlackApiError, OSError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
            why = str(error or type(exc).__name__)
            logger.warning("usergroups.users.list failed for %s: %s", group_id, why)
            raise DirectoryUnavailableError(
                f"Slack did not say who is in the approver groups ({why}). Nothing was done; "
                "try again in a moment."
            ) from None
        members = frozenset(str(u) for u in users)
        with self._lock:
            self._members[group_id] = (now_s, members)
        return members

    def _account(self, user_id: str) -> tuple[bool, str]:
        now_s = time.monotonic()
        with self._lock:
            cached = self._users.get(user_id)
        if cached is not None and self._fresh(cached[0], now_s):
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
            self._users[user_id] = (now_s, not why, why)
        return not why, why

    def person(self, user_id: str) -> Person:
        """Who ``user_id`` is, asking Slack for what the cache does not hold fresh.

        Raises:
            DirectoryUnavailableError: an approver group's members could not be listed.
        """
        eligible, why = self._account(user_id)
        groups = tuple(g for g in self._group_ids if user_id in self.members(g))
        return Person(user_id=user_id, groups=groups, is_eligible=eligible, why_not=why)

    def known(self, user_id: str) -> Person | None:
        """Who ``user_id`` is from fresh cache entries alone, or None when any is missing: no
        Web API call, for the checks made before a request is admitted."""
        now_s = time.monotonic()
        with self._lock:
            account = self._users.get(user_id)
            groups = [self._members.get(g) for g in self._group_ids]
        if account is None or not self._fresh(account[0], now_s):
            return None
        member_of: list[str] = []
        for group_id, cached in zip(self._group_ids, groups, strict=True):
            if cached is None or not self._fresh(cached[0], now_s):
                return None
            if user_id in cached[1]:
                member_of.append(group_id)
        return Person(user_id, tuple(member_of), is_eligible=account[1], why_not=account[2])
