"""Events API listeners: approver-group changes, App Home opened, and ``@chatops`` mentions in
incident threads."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import redis
from slack_bolt import Ack, App

from chatops.runner import error_reply
from chatops.slack.executor import Admission
from chatops.slack.invocations import RESTARTING_TEXT, STORE_DOWN_TEXT, Invocations
from chatops.slack.web.reply_poster import Asker
from commands.errors import CommandError
from commands.invocation import Invocation

__all__ = ["register"]

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(app: App, invocations: Invocations) -> None:
    """Listen to ``subteam_members_changed``, ``app_home_opened`` and ``app_mention``."""
    deps = invocations.deps

    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict[str, Any]) -> None:
        """The person opened chatops's Home tab: it is published from the courier."""
        ack()
        user = str(event.get("user", ""))
        if event.get("tab", "home") != "home" or not user:
            return
        home = invocations.news.home
        if deps.courier.submit(lambda: home.opened(user), label=f"App Home of {user}") is not (
            Admission.ACCEPTED
        ):
            logger.warning("App Home of %s not published: the courier is full or closing", user)

    @app.event("subteam_members_changed")
    def on_group_change(ack: Ack, event: dict[str, Any]) -> None:
        # In memory and instant: once Slack has its ack, no later request sees the old members.
        invocations.directory.invalidate_group(str(event.get("subteam_id", "")))
        ack()

    @app.event("app_mention")
    def on_mention(ack: Ack, event: dict[str, Any]) -> None:
        """``@chatops ...`` inside an incident's thread becomes a note on its timeline (slash
        commands cannot be used in threads)."""
        ack()
        incidents, thread = deps.incidents, event.get("thread_ts")
        if incidents is None or not thread:
            return
        channel, user = str(event.get("channel", "")), str(event.get("user", ""))
        to = Asker(user=user, channel=channel, command="a mention", thread_ts=str(thread))
        refusal = "Not added to the incident"
        try:
            incident_id = incidents.store.incident_for_thread(channel, str(thread))
        except redis.RedisError:
            invocations.tell(to, f"{refusal}: {STORE_DOWN_TEXT}")
            return
        if incident_id is None:
            return
        text = _MENTION.sub("", str(event.get("text", ""))).strip() or "(mentioned)"

        def note() -> None:
            # The same role as /incident note typed: the runner's check, not one of our own.
            inv = Invocation(
                user=user,
                command="/incident",
                text=f"note {incident_id}",
                channel=channel,
                thread=str(thread),
            )
            try:
                groups = invocations.groups_of(user)
                deps.runner.authorize(inv, deps.runner.find(inv), groups=groups)
                incidents.note(incident_id, text, at_s=int(time.time()), by=user)
            except CommandError as exc:  # rendered as the runner renders it, in the one renderer
                invocations.poster.reply_error(f"{refusal}: {error_reply(exc).title}", to)
            except redis.RedisError:
                invocations.poster.reply_error(f"{refusal}: {STORE_DOWN_TEXT}", to)

        refused = invocations.admit(
            note,
            f"note on incident {incident_id} (by {user})",
            owner=user,
            on_dropped=lambda: invocations.poster.reply_error(f"{refusal}: {RESTARTING_TEXT}", to),
        )
        if refused is not None:
            invocations.tell(to, f"{refusal}: {refused}")
