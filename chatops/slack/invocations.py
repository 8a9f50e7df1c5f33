"""The one path of an invocation from Slack, typed or clicked: admission to the executor, who the
person is, the runner, and the reply delivered where it belongs. Listeners only build invocations.
"""

from __future__ import annotations

from collections.abc import Callable

from approvals.errors import StoreUnavailableError
from chatops.runner import error_reply
from chatops.slack.deps import SlackDeps
from chatops.slack.directory import Directory
from chatops.slack.executor import Admission
from chatops.slack.web.progress import ProgressMessage
from chatops.slack.web.reply_poster import ReplyPoster
from commands.errors import PermissionDeniedError
from commands.invocation import Invocation
from commands.reply import Reply

__all__ = ["BUSY_TEXT", "RESTARTING_TEXT", "STORE_DOWN_TEXT", "Invocations", "refusal"]

BUSY_TEXT = "chatops is busy; try again in a minute."
RESTARTING_TEXT = "chatops is restarting; try again in a moment. Nothing was run."
# Said to whoever clicked, submitted or mentioned when Redis failed under it: nothing was kept.
STORE_DOWN_TEXT = str(StoreUnavailableError())


def refusal(admission: Admission) -> str:
    """What the asker is told when the executor did not take the work."""
    return RESTARTING_TEXT if admission is Admission.CLOSING else BUSY_TEXT


class Invocations:
    """Runs what listeners hand it on the executor, through the same checks and the same runner
    whether it was typed or clicked, and posts the reply."""

    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps
        self.poster = ReplyPoster(deps.client, deps.store, deps.metrics)
        self.directory = Directory(deps.client, list(deps.policy.groups), team_id=deps.team_id)

    def admit(self, work: Callable[[], None], label: str, refuse: Callable[[str], None]) -> None:
        """Hand ``work`` to the executor; a full queue or a shutdown is answered through
        ``refuse``, never queued, and work dropped at shutdown is answered the same way."""
        executor = self.deps.executor
        admission = executor.submit(work, label=label, on_dropped=lambda: refuse(RESTARTING_TEXT))
        if admission is not Admission.ACCEPTED:
            if admission is Admission.BUSY:
                self.deps.metrics.busy.inc()
            refuse(refusal(admission))

    def groups_of(self, user: str) -> tuple[str, ...]:
        """The person's approver groups, once Slack says the account may act at all.

        Raises:
            PermissionDeniedError: a guest, a bot, a deactivated or another workspace's account.
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
        self, inv: Invocation, *, progress: ProgressMessage | None, clicked: str | None = None
    ) -> None:
        """One invocation, typed or clicked, through the same checks and the same runner: who the
        person is (no guests, bots or other workspaces' users), then the runner (the policy and
        the step).
        ``clicked`` is a refusal's first words ("Not approved") when it came from a button or a
        form, whose answer goes to the person alone."""
        try:
            groups = self.groups_of(inv.user)
        except PermissionDeniedError as exc:
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
        self._deliver(reply, channel=inv.channel, user=inv.user, clicked=clicked is not None)
        # Counted once the reply is handed to Slack (whose failures chatops_slack_errors_total has).
        metrics = self.deps.metrics
        if clicked is None:
            outcome = "ok" if reply.ok else "error"
            metrics.commands.labels(command=inv.command, outcome=outcome).inc()
        else:
            action = inv.text.split(maxsplit=1)[0]
            metrics.approvals.labels(action=action, outcome="ok" if reply.ok else "refused").inc()

    def _deliver(self, reply: Reply, *, channel: str, user: str, clicked: bool) -> None:
        """A reply where it belongs. A new request gets its message (with the buttons); a reply
        about an existing request updates that message (and its thread), and a typed command also
        gets its answer; anything else, and whatever is only for the asker (a stale click, a
        refusal), goes to the asker alone."""
        poster = self.poster
        request_id = reply.request_id
        if request_id is None or reply.state is None or reply.ephemeral:
            poster.reply(reply, channel=channel, user=user)
            return
        if reply.state == "pending" and poster.message_of(request_id) is None:
            poster.approval(reply, channel=channel)
            return
        self._show_outcome(request_id, reply, channel, user)
        if not clicked:
            poster.reply(reply, channel=channel, user=user)

    def _show_outcome(self, request_id: str, reply: Reply, channel: str, actor: str) -> None:
        """After someone acted on a request: its message shows where it stands now, and a final
        or failed outcome is noted in its thread (the request's timeline), whoever typed or clicked."""
        self.poster.approval(self.deps.flow.show(request_id), channel=channel, actor=actor)
        if reply.state in ("succeeded", "failed") or not reply.ok:
            self.poster.thread_note(request_id, reply)
