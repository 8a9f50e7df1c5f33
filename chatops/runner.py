"""One request end to end: parse -> authorize (policy) -> preflight -> execute, or hand to approvals.

Both adapters (Slack, console) call ``Runner.handle`` and only translate its ``Reply``. Every error
becomes a specific reply here, in one place; an unexpected one gets a reference id matching the log.
"""

from __future__ import annotations

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
from chatops.notify.journal import Journal, journal_step
from commands.args import parse_args, split_reason
from commands.errors import (
    CancelledError,
    CommandError,
    PermissionDeniedError,
    PreconditionError,
    UsageError,
)
from commands.invocation import Invocation, tokenize
from commands.ports import ApprovalsPort, ChainPort, IncidentsPort, Outcome, Plan, StepContext
from commands.registry import Registry, Step
from commands.reply import Check, Field, Reply, Severity

__all__ = ["ApprovalGate", "Runner", "execute_plan"]

logger = logging.getLogger(__name__)


class ApprovalGate(Protocol):
    """Where a privileged step goes instead of executing, and how ``/ops approve`` reaches it."""

    def request(
        self,
        inv: Invocation,
        step: Step,
        args: Any,
        plan: Plan,
        *,
        reason: str,
        break_glass: bool,
        progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """Store the request; under break-glass it also executes at once, reporting to
        ``progress`` and stopping between two transactions once ``cancel`` is set."""
        ...

    def port(self, runner: Runner) -> ApprovalsPort: ...


@dataclass(frozen=True)
class Parsed:
    """An invocation resolved to its step, its arguments and the meta words every step accepts."""

    step: Step
    args: Any
    reason: str
    break_glass: bool


BREAK_GLASS = "--break-glass"


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
        severity=Severity.SUCCESS,
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
    """Runs invocations against the catalog, the policy and the chain."""

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

    def parse(self, inv: Invocation) -> Parsed:
        """Find the step and parse its arguments, plus ``reason=...`` and ``--break-glass``.

        Every privileged step needs a reason: its own ``reason`` argument if it has one, else a
        ``reason="..."`` word.

        Raises:
            UsageError: unknown command, or bad arguments (with the usage line).
        """
        tokens = tokenize(inv.text)
        name = tokens[0].lower() if tokens else ""
        step = self.registry.find(inv.command, name)
        words = tokens[1:]
        break_glass = BREAK_GLASS in words
        words = [w for w in words if w != BREAK_GLASS]
        reason = ""
        if "reason" not in step.args.model_fields:
            kept = []
            for word in words:
                if word.lower().startswith("reason="):
                    reason = word.partition("=")[2].strip()
                else:
                    kept.append(word)
            words = kept
        try:
            if "reason" not in step.args.model_fields and step.plan is not None:
                words, trailing = split_reason(step.args, words)
                reason = reason or trailing
            args = parse_args(step.args, words)
        except UsageError as exc:
            raise UsageError(str(exc), usage=step.usage) from None
        if "reason" in step.args.model_fields:
            reason = str(getattr(args, "reason", "") or "")
        return Parsed(step, args, reason, break_glass)

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
        """Answer one invocation; never raises."""
        try:
            return self._handle(inv, progress, cancel, groups)
        except UsageError as exc:
            text = f"Usage: {exc.usage}" if exc.usage else ""
            return Reply.error(str(exc), text)
        except PreconditionError as exc:
            return Reply.error(
                str(exc), "Nothing was sent for the failed check.", checks=exc.checks
            )
        except CommandError as exc:
            return Reply.error(str(exc))
        except ChainAbortError as exc:
            where = f" in {exc.function}" if exc.function else f" in module {exc.module}"
            return Reply.error(
                f"The chain refused: {exc}", f"Move abort{where}. Nothing changed on chain."
            )
        except ChainError as exc:
            return Reply.error(f"Chain error: {exc}")
        except ApprovalError as exc:  # e.g. the approvals store is unreachable: fail closed, say so
            return Reply.error(str(exc))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            logger.exception("unexpected error", extra={"ref": ref, "command": inv.command})
            return Reply.error(
                f"Internal error, reference {ref}.", "The details are in the bot's log."
            )

    def _handle(
        self,
        inv: Invocation,
        progress: Callable[[str], None] | None,
        cancel: threading.Event | None,
        groups: tuple[str, ...],
    ) -> Reply:
        parsed = self.parse(inv)
        step, args = parsed.step, parsed.args
        is_action = step.plan is not None or step.privileged
        if not self.policy.may_run(inv.user, is_action=is_action, groups=groups):
            role = "operator" if is_action else "viewer"
            raise PermissionDeniedError(
                f"{step.path} needs the {role} role, which you do not have."
            )
        ctx = StepContext(
            chain=self.chain,
            user=inv.user,
            progress=progress or (lambda _m: None),
            cancel=cancel or threading.Event(),
            groups=groups,
            approvals=self.approvals.port(self) if self.approvals is not None else None,
            incidents=self.incidents,
        )
        privileged = self.policy.is_privileged(step.policy_key, declared=step.privileged)
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
        # The catalog (or policy) decides for the step, the plan may add the need for this
        # invocation; a plan never waives an approval the step needs.
        privileged = privileged or plan.needs_approval is not None
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
            return self.approvals.request(
                inv,
                step,
                args,
                plan,
                reason=parsed.reason,
                break_glass=parsed.break_glass,
                progress=ctx.progress,
                cancel=ctx.cancel,
            )
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
