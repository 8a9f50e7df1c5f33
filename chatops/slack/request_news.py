"""Everywhere a request is shown, brought up to date when it is made or changes: its card in the
channel (and its thread), its cards in approvers' direct messages, the requester's news, App Home.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from approvals.errors import ApprovalError
from chatops.slack import keys
from chatops.slack.deps import SlackDeps
from chatops.slack.executor import Admission
from chatops.slack.web.direct import DirectMessages
from chatops.slack.web.home import HomeTab
from chatops.slack.web.reply_poster import Asker, ReplyPoster
from commands.reply import Reply

__all__ = ["OWN_REQUESTS_KEPT", "RequestNews"]

logger = logging.getLogger(__name__)

OWN_REQUESTS_KEPT = 20  # a person's latest requests listed on their App Home


class RequestNews:
    """The one place that tells Slack a request was made or changed. The card in the channel is
    posted or updated by the caller's worker; direct messages and App Home tabs are posted from
    the courier, so a click's worker never waits on them."""

    def __init__(self, deps: SlackDeps, poster: ReplyPoster) -> None:
        self.deps = deps
        self.poster = poster
        self.home = HomeTab(
            deps.client,
            deps.store,
            flow=deps.flow,
            policy=deps.policy,
            directory=deps.directory,
            courier=deps.courier,
            incidents=deps.incidents.store if deps.incidents is not None else None,
        )
        self.direct = DirectMessages(
            deps.client,
            deps.store,
            policy=deps.policy,
            directory=deps.directory,
            to_approvers=deps.dm_approvers,
            to_requester=deps.dm_requester,
        )

    def _later(self, work: Callable[[], object], label: str) -> None:
        def guarded() -> None:
            try:
                work()
            except (redis.RedisError, ApprovalError) as exc:
                logger.warning("%s not done: %s", label, exc)

        if self.deps.courier.submit(guarded, label=label) is not Admission.ACCEPTED:
            logger.warning("%s dropped: the courier is full or closing", label)

    def created(self, reply: Reply, to: Asker) -> None:
        """A new request (``reply`` is its pending card) asked for by ``to``: its card in the
        channel, then its approvers' direct messages, the requester's App Home list, every tab."""
        request_id = reply.request_id
        if request_id is None:
            raise ValueError("not a request")
        self.poster.approval(reply, channel=to.channel, asker=to)
        mine = keys.slack_user_requests_key(to.user)
        with self.deps.store.pipeline() as pipe:  # MULTI: the list never holds more than it keeps
            pipe.lpush(mine, request_id)
            pipe.ltrim(mine, 0, OWN_REQUESTS_KEPT - 1)
            pipe.execute()
        if self.direct.to_approvers:
            service = self.deps.flow.service
            self._later(
                lambda: self.direct.card_to_approvers(service.get(request_id), reply),
                f"cards of request {request_id}",
            )
        self.home.refresh_later()

    def changed(self, request_id: str, *, actor: str | None, channel: str) -> Reply:
        """Someone acted on the request (or the sweeper expired it): its card shows where it stands
        now, and so do the approvers' cards and App Home; the requester is told how it ended.
        Returns the request as shown."""
        shown = self.deps.flow.show(request_id)
        self.poster.approval(shown, channel=channel, actor=actor)
        direct = self.direct
        if direct.to_approvers or direct.to_requester:
            service = self.deps.flow.service

            def tell() -> None:
                direct.update_cards(request_id, shown, actor)
                direct.tell_requester(service.get(request_id), shown, actor)

            self._later(tell, f"news of request {request_id}")
        self.home.refresh_later()
        return shown
