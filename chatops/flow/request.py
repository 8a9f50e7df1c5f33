"""Making a privileged request: simulate its calls, refuse what would abort or is already asked for,
store it; under break-glass, execute it at once."""

from __future__ import annotations

import logging

from approvals.errors import ApprovalError, DuplicateRequestError
from approvals.models import ApprovalRequest
from approvals.service import ApprovalService, NewRequest
from chatops.chain.calls import calls_digest
from chatops.chain.errors import ChainAbortError, ChainError
from chatops.chain.gateway import Gateway
from chatops.flow.execute import Execution
from chatops.flow.render import describe, duplicate_reply
from chatops.runner import Ask
from commands.errors import CommandError
from commands.ports import Plan
from commands.reply import Field, Reply, Tone

__all__ = ["Requests"]

logger = logging.getLogger(__name__)


class Requests:
    """The requester's side: ``ApprovalGate.request``."""

    def __init__(
        self, service: ApprovalService, gateway: Gateway, execution: Execution, worker: str
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.execution = execution
        self.worker = worker

    def request(self, ask: Ask) -> Reply:
        """Store the request with its exact calls; the approver sees calls, checks and a simulation.

        A request whose first call would abort is refused here, by the abort's name and meaning: an
        approver could only approve a failure. Under break-glass the request executes at once, as
        the last approval would run it, but as ``ask.actor``: reporting to the asking command, and
        stopping between two transactions once it is cancelled.

        Raises:
            CommandError: the simulation aborts, or the store refused (no reason, break-glass not
                allowed, unavailable).
        """
        inv, plan = ask.inv, ask.plan
        simulation = self.simulate(plan)
        request = self.create(ask)
        if isinstance(request, Reply):
            return request
        if ask.break_glass:
            logger.warning(
                "BREAK-GLASS: %s ran %s alone",
                inv.user,
                ask.step.path,
                extra={"approval_id": request.id},
            )
            try:
                token, claimed = self.service.claim(request.id, self.worker)
            except ApprovalError as exc:
                raise CommandError(str(exc)) from exc
            reply = self.execution.run(claimed, token, ask.actor)
            return reply.model_copy(
                update={
                    "title": f"BREAK-GLASS by {inv.user}: {reply.title}",
                    "text": f"{reply.text}\nA second person must sign off afterwards: "
                    f"/ops approve {request.id}".strip(),
                    "tone": Tone.WARNING if reply.ok else reply.tone,
                }
            )
        because = (
            [Field(label="Needs approval because", value=plan.needs_approval)]
            if plan.needs_approval
            else []
        )
        return describe(
            request,
            title=f"Request {request.id}: {plan.summary}",
            extra=[Field(label="Simulation", value=simulation), *because],
            checks=tuple(plan.checks),
            follow_ups=(
                f"An approver runs /ops approve {request.id} (or /ops deny {request.id} <reason>).",
                f"You can withdraw it with /ops cancel {request.id}.",
            ),
        )

    def create(self, ask: Ask) -> ApprovalRequest | Reply:
        """Store the request with the plan's exact calls; an identical open request is answered
        (the Reply pointing to it) instead of stored.

        Raises:
            CommandError: the store refused (no reason, break-glass not allowed, unavailable).
        """
        inv, plan = ask.inv, ask.plan
        new = NewRequest(
            command=inv.command,
            text=inv.text,
            policy_key=ask.step.policy_key,
            calls=[c.canonical() for c in plan.calls],
            digest=calls_digest(plan.calls),
            summary=plan.summary,
            requester=inv.user,
            reason=ask.reason,
            channel=inv.channel,
            thread=inv.thread,
            plan_time_s=self.gateway.now_s(),
        )
        try:
            return self.service.create(new, break_glass=ask.break_glass)
        except DuplicateRequestError as exc:
            try:
                existing = self.service.get(exc.existing)
            except ApprovalError:
                existing = None
            return duplicate_reply(existing, exc.existing, self.service.now_ms_for_display())
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc

    def simulate(self, plan: Plan) -> str:
        """What the simulation of the first call says (later calls depend on the earlier ones).

        Raises:
            CommandError: it would abort; nothing is requested.
        """
        if not plan.calls:
            return "nothing to send"
        first = plan.calls[0]
        note = f" (first of {len(plan.calls)} calls)" if len(plan.calls) > 1 else ""
        try:
            self.gateway.simulate(first)
        except ChainAbortError as exc:
            raise CommandError(
                f"Not requested: {first.describe()} would abort on chain with {exc}. "
                "Nothing was requested or sent."
            ) from exc
        except ChainError as exc:
            return f"could not simulate: {exc}"
        changes = f"; it changes: {'; '.join(plan.effects)}" if plan.effects else ""
        return f"succeeds against current state{note}{changes}"
