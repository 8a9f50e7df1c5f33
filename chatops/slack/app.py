"""``build_app(deps) -> slack_bolt.App``: one listener per slash command of the catalog, the approval
buttons, guards and retry de-duplication. Built in a factory, never at import time.

Slack's 3-second rule: every listener acks first and hands the work to our bounded executor.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from approvals.errors import StoreUnavailableError
from approvals.policy import Policy
from chatops.flow import ApprovalFlow
from chatops.notify.incidents import IncidentTracker
from chatops.runner import Runner
from chatops.slack import keys
from chatops.slack.blocks import deny_modal, parse_button_value
from chatops.slack.directory import Directory
from chatops.slack.executor import Admission, Executor
from chatops.slack.gate import keep_bodies_out_of_bolt_logs
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
    unwrap_text,
)
from chatops.slack.metrics import Metrics
from chatops.slack.poster import SlackPoster
from chatops.slack.progress import ProgressMessage
from chatops.slack.web import InstrumentedWebClient
from commands.errors import CommandError, PermissionDeniedError
from commands.invocation import Invocation, quote
from commands.reply import Reply

__all__ = [
    "BUSY_TEXT",
    "RESTARTING_TEXT",
    "SlackDeps",
    "build_app",
    "forget_requests",
    "refresh_requests",
    "web_client",
]

logger = logging.getLogger(__name__)
SEEN_TTL_S = 3600
BUSY_TEXT = "chatops is busy; try again in a minute."
RESTARTING_TEXT = "chatops is restarting; try again in a moment. Nothing was run."
# Said to whoever clicked, submitted or mentioned when Redis failed under it: nothing was kept.
STORE_DOWN_TEXT = str(StoreUnavailableError())


class _ServerErrors(ServerErrorRetryHandler):
    """5xx of every kind Slack answers in an incident (slack_sdk's own handler skips 502 and 504)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


class _OwnBudget(RetryHandler):
    """Gives ``inner`` its own retry count within one call.

    slack_sdk checks every handler's ``max_retry_count`` against the call's total retries, so after
    two 429s a 503 was never retried and the reply was lost; here each kind of failure has its own
    budget (the call still ends: at most the sum of the budgets).
    """

    def __init__(self, inner: RetryHandler) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self._inner = inner
        self._key = f"chatops-retries-{type(inner).__name__}"

    def _own(self, state: RetryState) -> RetryState:
        return RetryState(current_attempt=int((state.custom_values or {}).get(self._key, 0)))

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self._inner.can_retry(
            state=self._own(state), request=request, response=response, error=error
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        own = self._own(state)  # the inner handler waits (Retry-After, back-off) by its own count
        self._inner.prepare_for_next_attempt(
            state=own, request=request, response=response, error=error
        )
        state.custom_values = {**(state.custom_values or {}), self._key: own.current_attempt}
        state.next_attempt_requested = True
        state.increment_current_attempt()


def web_client(
    token: str,
    base_url: str,
    *,
    timeout_s: int = 10,
    metrics: Metrics | None = None,
    rehearsal: bool = False,
) -> WebClient:
    """A WebClient that honours 429 Retry-After (5 times) and retries 5xx and connection errors
    (twice each), each kind counted on its own within a call; its calls are recorded in
    ``metrics`` and, in a ``rehearsal``, its messages marked (``InstrumentedWebClient``)."""
    return InstrumentedWebClient(
        metrics=metrics,
        rehearsal=rehearsal,
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[
            _OwnBudget(RateLimitErrorRetryHandler(max_retry_count=5)),
            _OwnBudget(_ServerErrors(max_retry_count=2)),
            _OwnBudget(ConnectionErrorRetryHandler(max_retry_count=2)),
        ],
    )


@dataclass
class SlackDeps:
    """What the Slack adapter needs; built by ``chatops.wiring``.

    ``executor`` (built from ``max_workers`` and ``max_queue``) runs every command and click; the
    owner drains it at shutdown (``Executor.drain``) before closing what the work uses.
    ``team_id`` is the bot's own workspace (from ``auth.test``): requests from any other, or naming
    none, are refused. ``signing_secret`` is None in Socket Mode only.
    """

    runner: Runner
    flow: ApprovalFlow
    policy: Policy
    store: redis.Redis
    client: WebClient
    signing_secret: str | None
    team_id: str
    enterprise_id: str | None = None
    app_id: str | None = None
    max_workers: int = 8
    max_queue: int = 64
    metrics: Metrics = field(default_factory=Metrics)
    incidents: IncidentTracker | None = None
    executor: Executor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = Executor(self.max_workers, self.max_queue)


def _refusal(admission: Admission) -> str:
    return RESTARTING_TEXT if admission is Admission.CLOSING else BUSY_TEXT


def _label(body: dict[str, Any]) -> str:
    """``/payouts run (by U…)``: a command as the shutdown log names it, without the typed text."""
    words = str(body.get("text", "")).split(maxsplit=1)
    name = f" {words[0][:40]}" if words else ""
    return f"{body.get('command', '?')}{name} (by {body.get('user_id', '?')})"


def _retry_num(req: BoltRequest) -> int:
    """Slack's ``x-slack-retry-num`` (0 on a first delivery; Bolt's Socket Mode adapter always sets
    it, to ``retry_attempt``, so its mere presence means nothing)."""
    values = req.headers.get("x-slack-retry-num") or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


def _first_seen(store: redis.Redis, marker: str) -> bool:
    """True once per marker across replicas and restarts (SET NX with a TTL)."""
    return bool(store.set(keys.slack_event_key(marker), "1", nx=True, ex=SEEN_TTL_S))


def build_app(deps: SlackDeps) -> App:
    """The Bolt app; HTTP or Socket Mode is the caller's choice of adapter."""
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
    executor = deps.executor
    poster = SlackPoster(deps.client, deps.store, deps.metrics)
    directory = Directory(deps.client, list(deps.policy.groups), team_id=deps.team_id)
    metrics = deps.metrics

    @app.middleware
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
                first = _first_seen(deps.store, f"event:{event_id}")
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
        metrics.ack_seconds.observe(time.monotonic() - started)
        return response

    def admit(work: Callable[[], None], label: str, refuse: Callable[[str], None]) -> None:
        """Hand ``work`` to the executor; a full queue or a shutdown is answered through
        ``refuse``, never queued, and work dropped at shutdown is answered the same way."""
        admission = executor.submit(work, label=label, on_dropped=lambda: refuse(RESTARTING_TEXT))
        if admission is not Admission.ACCEPTED:
            if admission is Admission.BUSY:
                metrics.busy.inc()
            refuse(_refusal(admission))

    def show_outcome(request_id: str, reply: Reply, channel: str, actor: str) -> None:
        """After someone acted on a request: its message shows where it stands now, and a final
        or failed outcome is noted in its thread (the request's timeline), whoever typed or clicked."""
        poster.approval(deps.flow.show(request_id), channel=channel, actor=actor)
        if reply.state in ("succeeded", "failed") or not reply.ok:
            poster.thread_note(request_id, reply)

    def deliver(reply: Reply, *, channel: str, user: str, clicked: bool) -> None:
        """A reply where it belongs. A new request gets its message (with the buttons); a reply
        about an existing request updates that message (and its thread), and a typed command also
        gets its answer; anything else, and whatever is only for the asker (a stale click, a
        refusal), goes to the asker alone."""
        request_id = reply.request_id
        if request_id is None or reply.state is None or reply.ephemeral:
            poster.reply(reply, channel=channel, user=user)
            return
        if reply.state == "pending" and poster.message_of(request_id) is None:
            poster.approval(reply, channel=channel)
            return
        show_outcome(request_id, reply, channel, user)
        if not clicked:
            poster.reply(reply, channel=channel, user=user)

    def run(
        inv: Invocation, *, progress: ProgressMessage | None, clicked: str | None = None
    ) -> None:
        """One invocation, typed or clicked, through the same checks and the same runner: who the
        person is (no guests, bots or other workspaces' users), then the runner (the policy and
        the step).
        ``clicked`` is a refusal's first words ("Not approved") when it came from a button or a
        form, whose answer goes to the person alone."""
        person = directory.person(inv.user)
        if not person.is_eligible:
            reply = Reply.error(f"You cannot use chatops: {person.why_not}.")
        else:
            reply = deps.runner.handle(
                inv,
                groups=person.groups,
                progress=progress.report if progress is not None else None,
                cancel=executor.cancel,
            )
        if clicked is not None and not reply.ok and reply.request_id is None:
            reply = reply.model_copy(update={"title": f"{clicked}: {reply.title}"})
        if progress is not None:
            progress.finish(reply)  # its final state shows before the request's result note
        deliver(reply, channel=inv.channel, user=inv.user, clicked=clicked is not None)
        # Counted once the reply is handed to Slack (whose failures chatops_slack_errors_total has).
        if clicked is None:
            outcome = "ok" if reply.ok else "error"
            metrics.commands.labels(command=inv.command, outcome=outcome).inc()
        else:
            action = inv.text.split(maxsplit=1)[0]
            metrics.approvals.labels(action=action, outcome="ok" if reply.ok else "refused").inc()

    def run_command(body: dict[str, Any]) -> None:
        user, channel = str(body["user_id"]), str(body["channel_id"])
        inv = Invocation(
            user=user,
            command=str(body["command"]),
            text=unwrap_text(str(body.get("text", ""))),
            channel=channel,
        )
        # Only steps that report progress (multi-call procedures, waits) ever post this message.
        progress = ProgressMessage(
            deps.client,
            channel=channel,
            user=user,
            command=f"{inv.command} {inv.text}".strip(),
            metrics=metrics,
        )
        run(inv, progress=progress)

    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        channel, user = str(body["channel_id"]), str(body["user_id"])

        def refuse(text: str) -> None:
            poster.reply(Reply.error(text), channel=channel, user=user)

        admit(lambda: run_command(body), _label(body), refuse)

    for command in deps.runner.registry.commands:
        app.command(command)(on_command)

    def execution_progress(
        body: dict[str, Any], request_id: str, user: str, channel: str
    ) -> ProgressMessage | None:
        """The progress message of the execution an approval may start, as a reply in the thread
        of the request's message (or of the message clicked, if the request's was not recorded)."""
        message = poster.message_of(request_id)
        if message is not None:
            channel, thread_ts = message
        else:
            container = body.get("container") or {}
            thread_ts = str(container.get("thread_ts") or container.get("message_ts") or "")
        if not channel:
            return None
        return ProgressMessage(
            deps.client,
            channel=channel,
            user=user,
            command=f"request {request_id}",
            thread_ts=thread_ts or None,
            metrics=metrics,
        )

    def clicked(
        body: dict[str, Any], words: str, request_id: str, channel: str, refusal: str
    ) -> None:
        """A button or the deny modal: the same ``/ops`` step a person would type, carrying the
        request's whole id and the digest of the calls the message showed."""
        user = str(body["user"]["id"])
        inv = Invocation(user=user, command="/ops", text=words, channel=channel)
        try:
            # The last approval executes the request here: its progress goes to the request's
            # thread, and the shutdown's cancel stops it between two transactions.
            approving = words.startswith("approve ")
            progress = execution_progress(body, request_id, user, channel) if approving else None
            run(inv, progress=progress, clicked=refusal)
        except redis.RedisError:  # the records around the step (its message): nothing was kept
            if channel:
                poster.reply(
                    Reply.error(f"{refusal}: {STORE_DOWN_TEXT}"), channel=channel, user=user
                )

    @app.action(APPROVE_ACTION_ID)
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id") or "")
        try:
            request_id, digest = parse_button_value(str(body["actions"][0]["value"]))
        except ValueError:
            if channel:
                poster.reply(
                    Reply.error("Not approved: this button is not one chatops made."),
                    channel=channel,
                    user=user,
                )
            return
        marker = f"action:{user}:{body['actions'][0].get('action_ts', '')}:{request_id}"

        def refuse(text: str) -> None:
            if channel:
                poster.reply(Reply.error(f"Not approved: {text}"), channel=channel, user=user)

        try:
            if not _first_seen(deps.store, marker):
                return
        except redis.RedisError:  # answered from the payload: no Redis record is needed to reply
            refuse(STORE_DOWN_TEXT)
            return
        admit(
            lambda: clicked(
                body, f"approve {request_id} digest={digest}", request_id, channel, "Not approved"
            ),
            f"approve request {request_id} (by {user})",
            refuse,
        )

    @app.action(DENY_ACTION_ID)
    def on_deny(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = str(body["actions"][0]["value"])
        try:
            parse_button_value(value)
        except ValueError:
            return
        client.views_open(trigger_id=body["trigger_id"], view=deny_modal(value))

    @app.view(DENY_MODAL_CALLBACK_ID)
    def on_deny_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = str(
            view["state"]["values"][DENY_REASON_BLOCK_ID][DENY_REASON_ACTION_ID].get("value") or ""
        ).strip()
        if len(reason) < 3:
            ack(response_action="errors", errors={DENY_REASON_BLOCK_ID: "Say why, in a few words."})
            return
        if executor.is_closing:  # the modal stays open with the reason typed: submit again later
            ack(response_action="errors", errors={DENY_REASON_BLOCK_ID: RESTARTING_TEXT})
            return
        try:
            request_id, digest = parse_button_value(str(view["private_metadata"]))
        except ValueError:
            ack(
                response_action="errors",
                errors={DENY_REASON_BLOCK_ID: "This form is not one chatops made."},
            )
            return
        try:  # a submission carries no channel: answers go to the request's, looked up before ack
            channel = poster.channel_of(request_id) or ""
        except redis.RedisError:
            errors = {DENY_REASON_BLOCK_ID: f"Not denied: {STORE_DOWN_TEXT}"}
            ack(response_action="errors", errors=errors)
            return
        ack()
        user = str(body["user"]["id"])

        def refuse(text: str) -> None:
            if channel:
                poster.reply(Reply.error(f"Not denied: {text}"), channel=channel, user=user)

        admit(
            lambda: clicked(
                body,
                f"deny {request_id} digest={digest} {quote(reason)}",
                request_id,
                channel,
                "Not denied",
            ),
            f"deny request {request_id} (by {user})",
            refuse,
        )

    @app.event("subteam_members_changed")
    def on_group_change(ack: Ack, event: dict[str, Any]) -> None:
        # In memory and instant: once Slack has its ack, no later request sees the old members.
        directory.invalidate_group(str(event.get("subteam_id", "")))
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

        def refuse(why: str) -> None:
            reply = Reply.error(f"Not added to the incident: {why}")
            poster.reply(reply, channel=channel, user=user, thread_ts=str(thread))

        try:
            incident_id = incidents.store.incident_for_thread(channel, str(thread))
        except redis.RedisError:
            refuse(STORE_DOWN_TEXT)
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
            person = directory.person(user)
            try:
                if not person.is_eligible:
                    raise PermissionDeniedError(f"You cannot use chatops: {person.why_not}.")
                deps.runner.authorize(inv, deps.runner.find(inv), groups=person.groups)
                incidents.note(incident_id, text, at_s=int(time.time()), by=user)
            except CommandError as exc:
                refuse(str(exc))
            except redis.RedisError:
                refuse(STORE_DOWN_TEXT)

        admission = executor.submit(note, label=f"note on incident {incident_id} (by {user})")
        if admission is not Admission.ACCEPTED:
            refuse(_refusal(admission))

    return app


def refresh_requests(deps: SlackDeps, request_ids: list[str]) -> None:
    """Update the Slack messages of requests whose state changed off-line (expired by the sweeper,
    or flagged for reconciliation), so a request never looks approvable after it expired."""
    poster = SlackPoster(deps.client, deps.store, deps.metrics)
    for request_id in request_ids:
        channel = poster.channel_of(request_id)
        if channel is not None:
            poster.approval(deps.flow.show(request_id), channel=channel)


def forget_requests(store: redis.Redis, request_ids: list[str]) -> None:
    """Drop the record of the messages of requests that retention deleted."""
    if request_ids:
        store.delete(*(keys.slack_message_key(i) for i in request_ids))


_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
