"""The one path of an invocation from Slack, typed or clicked: the checks made before admission, the
executor, who the person is, the runner, and the reply delivered where it belongs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from approvals.errors import StoreUnavailableError
from chatops.runner import error_reply
from chatops.slack.deps import SlackDeps
from chatops.slack.executor import Admission
from chatops.slack.request_news import RequestNews
from chatops.slack.web.progress import ProgressMessage
from chatops.slack.web.reply_poster import Asker, ReplyPoster
from commands.errors import CommandError, PermissionDeniedError
from commands.invocation import Invocation
from commands.reply import Reply

__all__ = ["BUSY_TEXT", "RESTARTING_TEXT", "STORE_DOWN_TEXT", "Invocations"]

logger = logging.getLogger(__name__)

BUSY_TEXT = "chatops is busy; try again in a minute."
RESTARTING_TEXT = "chatops is restarting; try again in a moment. Nothing was run."
# Said to whoever clicked, submitted or mentioned when Redis failed under it: nothing was kept.
STORE_DOWN_TEXT = str(StoreUnavailableError())


class Invocations:
    """Runs what listeners hand it on the executor, through the same checks and the same runner
    whether it was typed or clicked, and posts the reply."""

    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps
        self.poster = ReplyPoster(deps.client, deps.store, deps.metrics)
        self.directory = deps.directory
        self.news = RequestNews(deps, self.poster)

    def refusal(self, admission: Admission) -> str:
        """What the asker is told when the executor did not take the work."""
        if admission is Admission.CLOSING:
            return RESTARTING_TEXT
        if admission is Admission.OWNER_BUSY:
            return (
                f"You already have {self.deps.per_user_limit} commands queued or running; "
                "try again when one has answered. Nothing was run."
            )
        return BUSY_TEXT

    def screen(self, inv: Invocation) -> Reply | None:
        """The refusal of ``inv`` that needs nothing but what is at hand (no Web API call, no chain):
        a restart, a text too long or a command unknown, and, once the directory has the person
        cached, an account that may not act or a step the policy does not give them. None: admit
        it, the worker checks all of it again."""
        if self.deps.executor.is_closing:
            return Reply.error(RESTARTING_TEXT)
        runner = self.deps.runner
        try:
            step = runner.find(inv)
            person = self.directory.known(inv.user)
            if person is None:
                return None
            if not person.is_eligible:
                raise PermissionDeniedError(f"You cannot use chatops: {person.why_not}.")
            runner.authorize(inv, step, groups=person.groups)
        except CommandError as exc:
            return error_reply(exc)
        return None

    def admit(
        self,
        work: Callable[[], None],
        label: str,
        *,
        on_dropped: Callable[[], None],
        owner: str | None = None,
        urgent: bool = False,
    ) -> str | None:
        """Hand ``work`` to the executor (constant work: an ack path may call it). Returns the
        refusal for the asker when it was not taken (full, the owner's share used, or closing),
        None when it was; ``on_dropped`` tells the asker if a shutdown drops it unstarted."""
        admission = self.deps.executor.submit(
            work, label=label, on_dropped=on_dropped, owner=owner, urgent=urgent
        )
        if admission is Admission.ACCEPTED:
            return None
        if admission is not Admission.CLOSING:
            self.deps.metrics.busy.inc()
        return self.refusal(admission)

    def tell(self, to: Asker, text: str) -> None:
        """Tell ``to`` something (a refusal) from the courier's own small pool, never from the
        caller's thread: a listener must not wait on the Web API. When even that pool is full,
        the line is logged and dropped."""

        def send() -> None:
            self.poster.reply_error(text, to)

        if self.deps.courier.submit(send, label=f"answer to {to.user}") is not Admission.ACCEPTED:
            logger.warning("answer to %s dropped: the courier is full or closing", to.user)

    def groups_of(self, user: str) -> tuple[str, ...]:
        """The person's approver groups, once Slack says the account may act at all.

        Raises:
            PermissionDeniedError: a guest, a bot, a deactivated or another workspace's account.
            DirectoryUnavailableError: Slack did not list an approver group's members.
        """
        person = self.directory.person(user)
        if not person.is_eligible:
            raise PermissionDeniedError(f"You cannot use chatops: {person.why_not}.")
        return person.groups

    def progress_message(
        self, *, channel: str, user: str, command: str, thread_ts: str | None = None
    ) -> ProgressMessage:
        """A progress message for work that may take long; only steps that report progress
        (multi-call procedures, waits) ever post it."""
        return ProgressMessage(
            self.deps.client,
            channel=channel,
            user=user,
            command=command,
            thread_ts=thread_ts,
            metrics=self.deps.metrics,
        )

    def run(
        self,
        inv: Invocation,
        to: Asker,
        *,
        progress: ProgressMessage | None,
        clicked: str | None = None,
    ) -> None:
        """One invocation, typed or clicked, through the same checks and the same runner: who the
        person is (no guests, bots or other workspaces' users), then the runner (the policy and
        the step); the reply goes to ``to``.
        ``clicked`` is a refusal's first words ("Not approved") when it came from a button or a
        form, whose answer goes to the person alone."""
        try:
            groups = self.groups_of(inv.user)
        except CommandError as exc:
            reply = error_reply(exc)
        else:
            reply = self.deps.runner.handle(
                inv,
                groups=groups,
                progress=progress.report if progress is not None else None,
                cancel=self.deps.executor.cancel,
            )
        if clicked is not None and not reply.ok and reply.request_id is None:
            reply = reply.model_copy(update={"title": f"{clicked}: {reply.title}"})
        if progress is not None:
            progress.finish(reply)  # its final state shows before the request's result note
        self._deliver(reply, to, clicked=clicked is not None)
        # Counted once the reply is handed to Slack (whose failures chatops_slack_errors_total has).
        metrics = self.deps.metrics
        if clicked is None:
            outcome = "ok" if reply.ok else "error"
            metrics.commands.labels(command=inv.command, outcome=outcome).inc()
        else:
            action = inv.text.split(maxsplit=1)[0]
            metrics.approvals.labels(action=action, outcome="ok" if reply.ok else "refused").inc()

    def _deliver(self, reply: Reply, to: Asker, *, clicked: bool) -> None:
        """A reply where it belongs. A new request gets its message (with the buttons); a reply
        about an existing request updates that message (and its thread), and a typed command also
        gets its answer; anything else, and whatever is only for the asker (a stale click, a
        refusal), goes to the asker alone."""
        poster = self.poster
        request_id = reply.request_id
        if request_id is None or reply.state is None or reply.ephemeral:
            poster.reply(reply, to)
            return
        # No record of a message at all (a card posted through a response_url has no ts but is
        # recorded): a new request, announced once.
        if reply.state == "pending" and poster.channel_of(request_id) is None:
            self.news.created(reply, to)
            return
        self._show_outcome(request_id, reply, to.channel, to.user)
        if not clicked:
            poster.reply(reply, to)

    def _show_outcome(self, request_id: str, reply: Reply, channel: str, actor: str) -> None:
        """After someone acted on a request: everywhere it is shown says where it stands now, and
        a final or failed outcome is noted in its thread (the request's timeline), whoever typed or
        clicked."""
        self.news.changed(request_id, actor=actor, channel=channel)
        if reply.state in ("succeeded", "failed") or not reply.ok:
            self.poster.thread_note(request_id, reply)
