"""One request end to end: parse -> authorize (policy) -> preflight -> execute, or hand to
approvals. Both adapters (Slack, console) call ``Runner.handle`` and only translate its
``Reply``."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from approvals.errors import ApprovalError
from approvals.policy import Policy
from chatops.chain.errors import ChainAbortError, ChainError
from chatops.logs import log_context
from chatops.notify.journal import Journal, journal_step
from commands.errors import (
    CancelledError,
    CommandError,
    PermissionDeniedError,
    PreconditionError,
    UsageError,
)
from commands.invocation import Invocation, tokenize
from commands.parse import Parsed, parse_invocation
from commands.ports import (
    Actor,
    ApprovalsPort,
    ChainPort,
    IncidentsPort,
    Outcome,
    Plan,
    StepContext,
)
from commands.registry import Registry, Step
from commands.reply import Check, Field, Reply, Tone

__all__ = ["ApprovalGate", "Ask", "Runner", "error_reply", "execute_plan"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """A privileged step someone asked for, as the runner hands it to the approval flow: what they
    typed, the step and the plan it made, their reason and whether they break glass. ``actor`` is
    the asking command's: an execution that starts at once reports to it and stops with it."""

    inv: Invocation
    step: Step
    plan: Plan
    reason: str
    break_glass: bool
    actor: Actor


class ApprovalGate(ApprovalsPort, Protocol):
    """Where a privileged step goes instead of executing; ``/ops approve`` and friends reach the
    same flow through its ``ApprovalsPort`` side."""

    def request(self, ask: Ask) -> Reply:
        """Store the request; under break-glass it also executes at once, as ``ask.actor`` runs
        it (reporting to its progress, stopping between two transactions once it is cancelled)."""
        ...

    def requires_approval(self, plan: Plan) -> str | None:
        """Why ``plan`` needs approval whatever the catalog and the policy say (multisig mode:
        every call of the account is a proposal); None when they alone decide."""
        ...


def error_reply(exc: Exception, *, command: str = "") -> Reply:
    """The one rendering of an error for whoever asked, on any transport: a domain error (command,
    chain, approvals) becomes its own sentence and changes nothing; anything else becomes "Internal
    error, reference <id>", and its traceback is logged under that id (``extra={"ref": id}``)."""
    if isinstance(exc, UsageError):
        return Reply.error(str(exc), f"Usage: {exc.usage}" if exc.usage else "")
    if isinstance(exc, PreconditionError):
        return Reply.error(str(exc), "Nothing was sent for the failed check.", checks=exc.checks)
    if isinstance(exc, CommandError):
        return Reply.error(str(exc))
    if isinstance(exc, ChainAbortError):
        where = f" in {exc.function}" if exc.function else f" in module {exc.module}"
        return Reply.error(
            f"The chain refused: {exc}", f"Move abort{where}. Nothing changed on chain."
        )
    if isinstance(exc, ChainError):
        return Reply.error(f"Chain error: {exc}")
    if isinstance(exc, ApprovalError):
        # e.g. the approvals store is unreachable: fail closed, say so
        return Reply.error(str(exc))
    ref = uuid.uuid4().hex[:8]
    # The reference goes in the line itself: the log format shows no ``extra`` fields. exc_info is
    # passed, not taken from the interpreter, so this is safe outside an ``except`` block too.
    logger.error(
        "Internal error, reference %s (%s)",
        ref,
        type(exc).__name__,
        exc_info=exc,
        extra={"ref": ref, "command": command},
    )
    return Reply.error(f"Internal error, reference {ref}.", "The details are in the bot's log.")


def _failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def execute_plan(
    ctx: StepContext,
    step: Step,
    args: Any,
    plan: Plan,
    on_committed: Callable[[Outcome], None] | None = None,
) -> Reply:
    """Send the plan's calls in order, reporting progress; stop at the first failure or cancel.

    ``on_committed`` sees each committed transaction at once (the approval flow records hashes
    and renews its lease there), so a later failure never hides what already happened.

    Raises:
        PreconditionError: a check failed (before anything was sent, or after a call: then the
            reply names what was already committed).
        ChainAbortError: a call aborted on chain.
    """
    failed = _failed(plan.checks)
    if failed:
        raise PreconditionError(f"Preflight failed: {failed[0].name}.", tuple(plan.checks))
    if plan.handoff_to is not None:
        return _handoff(ctx, step, plan)
    outcomes: list[Outcome] = []
    total = len(plan.calls)
    for index, call in enumerate(plan.calls, start=1):
        if ctx.cancel.is_set():
            raise CancelledError(
                f"Cancelled after {index - 1} of {total} transactions; nothing more sent."
            )
        if total > 1:
            ctx.progress(f"{index}/{total}: {call.describe()}")
        outcomes.append(ctx.chain.submit(call))
        if on_committed is not None:
            on_committed(outcomes[-1])
        if plan.after is not None:
            after = plan.after(ctx, outcomes[-1])
            bad = _failed(after)
            if bad:
                raise PreconditionError(
                    f"Stopped after transaction {index} of {total}: {bad[0].name} no longer holds "
                    f"(incident). Committed: {', '.join(o.tx_hash for o in outcomes)}.",
                    tuple(after),
                )
    if step.render is not None:
        return step.render(ctx, args, outcomes)
    return Reply(
        title=f"{step.path}: done",
        text=plan.summary,
        tone=Tone.SUCCESS,
        checks=tuple(plan.checks),
        fields=(
            *(Field(label=o.call.function, value=o.tx_hash) for o in outcomes),
            *(Field(label="Changed", value=effect) for effect in plan.effects),
        ),
    )


def _handoff(ctx: StepContext, step: Step, plan: Plan) -> Reply:
    """The unsigned payloads for someone else to sign (the bot holds only the package account's key).

    Each names its function by its full id (``0x<package>::module::name``): the signer's tooling
    resolves no named address (spec §1.3).
    """
    package = ctx.chain.package_address()
    payloads = [
        {
            "function": call.function_id(package),
            "type_arguments": [],
            "arguments": [a.value for a in call.args],
            "argument_types": [a.type for a in call.args],
            "cli_args": [a.cli() for a in call.args],
        }
        for call in plan.calls
    ]
    return Reply(
        title=f"{step.path}: ready for {plan.handoff_to} to sign",
        text=f"{plan.summary}. The bot does not hold this key, so nothing was sent; sign and submit the "
        "payload below with the signer's own tooling.",
        checks=tuple(plan.checks),
        fields=tuple(
            Field(label=f"Call {i}", value=call.describe(package))
            for i, call in enumerate(plan.calls, 1)
        ),
        data={"handoff_to": plan.handoff_to, "payloads": payloads},
    )


class Runner:
    """Runs invocations against the catalog, the policy and the chain.

    Every error becomes a specific reply here, in one place; an unexpected one gets a reference id
    matching the log.
    """

    def __init__(
        self,
        registry: Registry,
        policy: Policy,
        chain: ChainPort,
        approvals: ApprovalGate | None = None,
        *,
        incidents: IncidentsPort | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.chain = chain
        self.approvals = approvals
        self.incidents = incidents
        self.journal = journal

    def find(self, inv: Invocation) -> Step:
        """The step ``inv`` names by its first word, before its arguments are read.

        Raises:
            UsageError: unknown command or subcommand.
        """
        tokens = tokenize(inv.text)
        return self.registry.find(inv.command, tokens[0].lower() if tokens else "")

    def authorize(self, inv: Invocation, step: Step, *, groups: tuple[str, ...] = ()) -> bool:
        """Refuse ``inv.user`` a step whose role they lack, or a privileged step asked for outside
        the policy's operations channels, before anything runs; returns whether it is privileged.

        The one place the policy's roles are applied to a step, whatever the transport.

        Raises:
            PermissionDeniedError: the role is missing or the channel is not allowed (named).
        """
        if not self.policy.may_run(inv.user, step.role, groups):
            raise PermissionDeniedError(
                f"{step.path} needs the {step.role} role, which you do not have."
            )
        privileged = self.policy.is_privileged(step.policy_key, declared=step.privileged)
        if privileged and not self.policy.may_request_in(inv.channel):
            raise PermissionDeniedError(
                f"{step.path} needs a second person, and privileged steps can only be requested "
                "in the operations channels. Nothing was asked."
            )
        return privileged

    def parse(self, inv: Invocation) -> Parsed:
        """The step, its arguments and the meta words (see ``commands.parse``).

        Raises:
            UsageError: unknown command, or bad arguments (with the usage line).
        """
        return parse_invocation(self.registry, inv)

    def resolve(self, inv: Invocation) -> tuple[Step, Any]:
        """The step and its parsed arguments (see ``parse``)."""
        parsed = self.parse(inv)
        return parsed.step, parsed.args

    def handle(
        self,
        inv: Invocation,
        *,
        progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        groups: tuple[str, ...] = (),
    ) -> Reply:
        """Answer one invocation; never raises. Logs one INFO line for it (request id, user, channel,
        command, outcome, duration), and every line logged meanwhile carries the same context."""
        request_id = uuid.uuid4().hex[:12]
        started = time.monotonic()
        with log_context(
            request_id=request_id, user=inv.user, channel=inv.channel, command=inv.command
        ):
            try:
                reply = self._handle(inv, progress, cancel, groups)
            except Exception as exc:  # noqa: BLE001 - error_reply logs an unexpected one with its traceback
                reply = error_reply(exc, command=inv.command)
            logger.info(
                "%s %s: %s",
                inv.command,
                (inv.text.split(maxsplit=1) or [""])[0][:40],
                "ok" if reply.ok else "refused",
                extra={
                    "outcome": "ok" if reply.ok else "error",
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "approval_id": reply.request_id,
                },
            )
        return reply

    def _handle(
        self,
        inv: Invocation,
        progress: Callable[[str], None] | None,
        cancel: threading.Event | None,
        groups: tuple[str, ...],
    ) -> Reply:
        privileged = self.authorize(inv, self.find(inv), groups=groups)
        parsed = self.parse(inv)
        step, args = parsed.step, parsed.args
        if parsed.break_glass and privileged and not step.break_glass:
            capable = ", ".join(s.path for s in self.registry if s.break_glass) or "no step"
            raise PermissionDeniedError(
                f"Break-glass is not allowed for {step.path}: only {capable} can break glass."
            )
        ctx = StepContext(
            chain=self.chain,
            user=inv.user,
            progress=progress or (lambda _m: None),
            cancel=cancel or threading.Event(),
            groups=groups,
            approvals=self.approvals,
            incidents=self.incidents,
        )
        if step.run is not None:
            if privileged:
                raise PermissionDeniedError(
                    f"{step.path} is privileged and cannot run without approval."
                )
            return step.run(ctx, args)
        if step.plan is None:
            raise TypeError(f"step {step.path} declares neither run nor plan")
        plan = step.plan(ctx, args)
        failed = _failed(plan.checks)
        if failed:
            raise PreconditionError(f"Preflight failed: {failed[0].name}.", tuple(plan.checks))
        # The catalog (or policy) decides for the step, the plan (or the flow: a multisig
        # account's every call is a proposal) may add the need for this invocation; nothing
        # waives an approval the step needs.
        if not privileged and plan.needs_approval is None and self.approvals is not None:
            required = self.approvals.requires_approval(plan)
            if required is not None:
                plan = dataclasses.replace(plan, needs_approval=required)
        if plan.needs_approval is not None and not privileged:
            privileged = True
            if not self.policy.may_request_in(inv.channel):  # as authorize() does for the step
                raise PermissionDeniedError(
                    f"{step.path} needs a second person here ({plan.needs_approval}), and "
                    "privileged steps can only be requested in the operations channels. "
                    "Nothing was asked."
                )
        if privileged:
            why = f" ({plan.needs_approval})" if plan.needs_approval else ""
            if self.approvals is None:
                raise PermissionDeniedError(
                    f"{step.path} is privileged{why}: it needs a second person's approval, and "
                    "approvals are not available here. Nothing was sent."
                )
            if not parsed.reason:
                raise UsageError(
                    f"{step.path} needs a second person{why}, and the request needs a reason: "
                    'add reason="why this is needed" (or the reason as the last words).',
                    usage=f'{step.usage} reason="..."',
                )
            ask = Ask(inv, step, plan, parsed.reason, parsed.break_glass, ctx.actor)
            return self.approvals.request(ask)
        if parsed.break_glass:
            raise UsageError(f"{step.path} needs no approval, so --break-glass does not apply.")
        return self._journalled(inv, plan, lambda: execute_plan(ctx, step, args, plan))

    def _journalled(self, inv: Invocation, plan: Plan, run: Callable[[], Reply]) -> Reply:
        """Run a step that sends transactions and write the ops journal entry for it (runbook §11.3)."""
        if self.journal is None or not plan.calls or plan.handoff_to is not None:
            return run()
        at_s = int(time.time())  # the journal is wall-clock UTC, whatever the devnet clock says
        try:
            reply = run()
        except (CommandError, ChainError) as exc:
            journal_step(
                self.journal,
                Reply.error(str(exc)),
                inv.user,
                command=inv.command,
                text=inv.text,
                at_s=at_s,
            )
            raise
        journal_step(self.journal, reply, inv.user, command=inv.command, text=inv.text, at_s=at_s)
        return reply
