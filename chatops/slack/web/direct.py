"""Direct messages about requests, when the policy turns them on: each eligible approver gets a new
request's card (the same Approve and Deny), and the requester hears how their request ended.
"""

from __future__ import annotations

import logging
from typing import cast

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from approvals.models import ApprovalRequest
from approvals.policy import Policy, Role
from chatops.slack import keys
from chatops.slack.blocks.approval import approval_messages
from chatops.slack.blocks.mrkdwn import fit
from chatops.slack.directory import Directory, DirectoryUnavailableError
from commands.reply import Reply

__all__ = ["TOLD_STATES", "DirectMessages"]

logger = logging.getLogger(__name__)

# The states a requester is told about: approved, denied, expired or run (and an unknown outcome).
TOLD_STATES = frozenset(
    {"approved", "denied", "expired", "succeeded", "failed", "needs-reconciliation"}
)
_TOLD_TTL_S = 7 * 24 * 3600


class DirectMessages:
    """Cards in approvers' direct messages (recorded, so each is updated as the request changes)
    and the requester's news; ``to_approvers`` and ``to_requester`` are the policy's switches."""

    def __init__(
        self,
        client: WebClient,
        store: redis.Redis,
        *,
        policy: Policy,
        directory: Directory,
        to_approvers: bool,
        to_requester: bool,
    ) -> None:
        self._client = client
        self._store = store
        self._policy = policy
        self._directory = directory
        self.to_approvers = to_approvers
        self.to_requester = to_requester

    def approvers_of(self, request: ApprovalRequest) -> list[str]:
        """Who may approve ``request``: the policy's approvers by name and the members of its
        approver groups, but not its requester, nor guests, bots or other workspaces' users."""
        named = {u for u in self._policy.users if self._policy.may_approve(u)}
        for group, role in self._policy.groups.items():
            if role is Role.APPROVER:
                try:
                    named |= self._directory.members(group)
                except DirectoryUnavailableError as exc:
                    logger.warning("approvers of %s not messaged: %s", group, exc)
        eligible = []
        for user in sorted(named - {request.requester, *request.approvers}):
            try:
                if self._directory.person(user).is_eligible:
                    eligible.append(user)
            except DirectoryUnavailableError:
                continue
        return eligible

    def card_to_approvers(self, request: ApprovalRequest, shown: Reply) -> list[str]:
        """Post ``shown`` (the pending request's card, with its buttons) to each eligible approver,
        once each across replicas; returns who got it."""
        if not self.to_approvers:
            return []
        card, *rest = approval_messages(shown, request_id=request.id, state="pending", can_act=True)
        key = keys.slack_dm_key(request.id)
        sent = []
        for user in self.approvers_of(request):
            if not self._store.hsetnx(key, user, ""):
                continue  # another replica has it
            try:
                posted = self._client.chat_postMessage(
                    channel=user, text=card.text, blocks=card.blocks
                )
                channel, ts = str(posted["channel"]), str(posted["ts"])
                for message in rest:
                    self._client.chat_postMessage(
                        channel=channel, thread_ts=ts, text=message.text, blocks=message.blocks
                    )
            except SlackApiError as exc:
                self._store.hdel(key, user)
                logger.warning("card to %s not sent: %s", user, exc.response.get("error"))
                continue
            self._store.hset(key, user, f"{channel} {ts}")
            sent.append(user)
        return sent

    def update_cards(self, request_id: str, shown: Reply, actor: str | None) -> None:
        """Show where the request stands now on each approver's card (no buttons once decided)."""
        state = shown.state or ""
        card = approval_messages(
            shown, request_id=request_id, state=state, can_act=state == "pending", actor=actor
        )[0]
        cards = cast(dict[bytes, bytes], self._store.hgetall(keys.slack_dm_key(request_id)))
        for user, where in cards.items():
            if not where:
                continue
            channel, _, ts = where.decode().partition(" ")
            try:
                self._client.chat_update(channel=channel, ts=ts, text=card.text, blocks=card.blocks)
            except SlackApiError as exc:
                error = exc.response.get("error")
                logger.warning("card of %s not updated: %s", user.decode(), error)

    def tell_requester(self, request: ApprovalRequest, shown: Reply, actor: str | None) -> bool:
        """Tell the requester their request was approved, denied, expired or has run: once per
        state, across replicas. True when a message was sent."""
        state = shown.state or ""
        if not self.to_requester or state not in TOLD_STATES:
            return False
        told = keys.slack_told_key(request.id, state)
        if not self._store.set(told, "1", nx=True, ex=_TOLD_TTL_S):
            return False
        card, *_ = approval_messages(
            shown, request_id=request.id, state=state, can_act=False, actor=actor
        )
        text = f"Your request {fit(request.id, 60)} is {fit(state, 40)}."
        try:
            self._client.chat_postMessage(channel=request.requester, text=text, blocks=card.blocks)
        except SlackApiError as exc:
            self._store.delete(told)
            logger.warning(
                "requester %s not told: %s", request.requester, exc.response.get("error")
            )
            return False
        return True
