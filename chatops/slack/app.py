"""``build_bolt_app(deps)``: the one factory of the Bolt app, wiring the guard, the listeners and the
invocation path; nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from slack_bolt import App

from chatops.slack import keys
from chatops.slack.deps import SlackDeps
from chatops.slack.gate import keep_bodies_out_of_bolt_logs
from chatops.slack.invocations import Invocations
from chatops.slack.listeners import approvals, commands, events
from chatops.slack.middleware.guard import make_guard
from chatops.slack.request_news import RequestNews
from chatops.slack.web.reply_poster import ReplyPoster
from commands.reply import Reply

__all__ = [
    "build_bolt_app",
    "forget_requests",
    "home_refresher",
    "refresh_requests",
    "report_outcome",
]


def build_bolt_app(deps: SlackDeps) -> App:
    """The Bolt app; HTTP or Socket Mode is the caller's choice of adapter.

    Slack's 3-second rule: every listener acks first and hands the work to ``deps.executor``.
    """
    # No signing secret is Socket Mode, whose envelopes the app-level token's WebSocket vouches for;
    # HTTP mode always has one (make_wsgi's gate checks it first, Bolt again).
    if deps.signing_secret is not None and not deps.signing_secret.strip():
        raise ValueError("a blank signing secret verifies nothing")
    keep_bodies_out_of_bolt_logs()
    app = App(
        client=deps.client,
        signing_secret=deps.signing_secret,
        request_verification_enabled=deps.signing_secret is not None,
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    app.middleware(make_guard(deps))
    invocations = Invocations(deps)
    commands.register(app, invocations)
    approvals.register(app, invocations)
    events.register(app, invocations)
    return app


def refresh_requests(deps: SlackDeps, request_ids: list[str]) -> None:
    """Update everywhere Slack shows requests whose state changed off-line (expired by the
    sweeper, or flagged for reconciliation), so a request never looks approvable after it
    expired, and its requester hears of it."""
    news = RequestNews(deps, ReplyPoster(deps.client, deps.store, deps.metrics))
    for request_id in request_ids:
        channel = news.poster.channel_of(request_id)
        if channel is not None:
            news.changed(request_id, actor=None, channel=channel)


def report_outcome(deps: SlackDeps, request_id: str, reply: Reply) -> None:
    """A request that finished away from Slack (executed on the chain's word by ``chatops serve``):
    everywhere it is shown says where it stands, and the result goes to its thread."""
    news = RequestNews(deps, ReplyPoster(deps.client, deps.store, deps.metrics))
    channel = news.poster.channel_of(request_id)
    if channel is None:
        return
    news.changed(request_id, actor=None, channel=channel)
    news.poster.thread_note(request_id, reply)


def home_refresher(deps: SlackDeps) -> Callable[[], None]:
    """What to call when an incident changes: every open App Home tab is published again."""
    return RequestNews(deps, ReplyPoster(deps.client, deps.store, deps.metrics)).home.refresh_later


def forget_requests(store: redis.Redis, request_ids: list[str]) -> None:
    """Drop what Slack kept of requests that retention deleted: their messages and their cards
    in direct messages."""
    if request_ids:
        store.delete(
            *(keys.slack_message_key(i) for i in request_ids),
            *(keys.slack_dm_key(i) for i in request_ids),
        )
