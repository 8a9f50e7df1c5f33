"""Privileged requests end to end: request, the approver's decision, execution exactly once,
reconciliation from the chain, and the pure renderer of a request. In multisig mode
(``chatops.flow.multisig``) the chain approves and the bot executes on its word."""

from __future__ import annotations

import uuid

from approvals.errors import ApprovalError, StaleRequestError
from approvals.models import ApprovalRequest
from approvals.service import ApprovalService
from chatops.chain.errors import ChainError
from chatops.chain.gateway import Gateway
from chatops.flow.decide import Decisions
from chatops.flow.execute import Execution, FencedChain, PlannedTimeChain
from chatops.flow.multisig.decide import MultisigDecisions
from chatops.flow.multisig.execute import ProposalExecutor
from chatops.flow.multisig.mode import MultisigMode
from chatops.flow.multisig.reconcile import MultisigReconciler
from chatops.flow.multisig.refs import refs_of
from chatops.flow.multisig.render import (
    blocked_field,
    proposal_fields,
    queue_fields,
    with_live_fields,
)
from chatops.flow.multisig.request import MultisigRequests
from chatops.flow.reconcile import Reconciler
from chatops.flow.render import describe, history_text, pending_reply, stale_reply
from chatops.flow.request import Requests
from chatops.runner import Ask
from commands.errors import CommandError
from commands.ports import Actor, Plan
from commands.registry import Registry
from commands.reply import Field, Reply

__all__ = ["ApprovalFlow", "FencedChain", "MultisigMode", "PlannedTimeChain"]

PENDING_PAGE = 20


class ApprovalFlow:
    """``ApprovalGate`` for the runner, and ``ApprovalsPort`` for ``/ops approve`` and friends.

    Built whole when the app is wired: nothing is set on first use. With ``multisig`` every call
    of the package account is a proposal on chain: people approve it there with their own keys,
    and the approvals recorded in Redis execute nothing (``executor`` runs what the chain says can
    run). A request that sends nothing as the account (a hand-off) stays off-chain.
    """

    def __init__(
        self,
        service: ApprovalService,
        gateway: Gateway,
        registry: Registry,
        *,
        worker: str | None = None,
        multisig: MultisigMode | None = None,
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.worker = worker or f"worker-{uuid.uuid4().hex[:8]}"
        self.execution = Execution(service, gateway, registry)
        self._requests = Requests(service, gateway, self.execution, self.worker)
        self._decisions = Decisions(service, self.execution, self.worker)
        self._reconciler = Reconciler(service, gateway)
        self.multisig = multisig
        self.executor: ProposalExecutor | None = None
        if multisig is not None:
            self._on_chain_requests = MultisigRequests(self._requests, multisig, self.worker)
            self._on_chain_decisions = MultisigDecisions(service, multisig)
            self._on_chain_reconciler = MultisigReconciler(self._reconciler, multisig)
            self.executor = ProposalExecutor(service, multisig, self.execution, self.worker)

    def requires_approval(self, plan: Plan) -> str | None:
        """Why ``plan`` needs people's approval whatever the step (multisig mode: every call of
        the account is a proposal); None when only the catalog and the policy decide."""
        return self.multisig.needs_proposal(plan) if self.multisig is not None else None

    def request(self, ask: Ask) -> Reply:
        on_chain = self.multisig is not None and self.multisig.needs_proposal(ask.plan) is not None
        return (self._on_chain_requests if on_chain else self._requests).request(ask)

    def approve(self, request_id: str, actor: Actor, *, digest: str = "") -> Reply:
        if self.multisig is not None:
            shown = self._on_chain_decisions.approve(request_id, actor, digest=digest)
            if shown is not None:
                return shown
        return self._decisions.approve(request_id, actor, digest=digest)

    def deny(self, request_id: str, actor: Actor, reason: str, *, digest: str = "") -> Reply:
        reply = self._decisions.deny(request_id, actor, reason, digest=digest)
        if self.multisig is not None:
            return self._on_chain_decisions.withdrawn(reply)
        return reply

    def cancel(self, request_id: str, user: str) -> Reply:
        reply = self._decisions.cancel(request_id, user)
        if self.multisig is not None:
            return self._on_chain_decisions.withdrawn(reply)
        return reply

    def reconcile(self, request_id: str, user: str) -> Reply:
        if self.multisig is not None and self._has_proposals(request_id):
            return self._on_chain_reconciler.reconcile(request_id, user)
        return self._reconciler.reconcile(request_id, user)

    def _has_proposals(self, request_id: str) -> bool:
        try:
            return bool(self.service.get(request_id).proposals)
        except ApprovalError:
            return False  # the off-chain path says what is wrong with the id

    def _executor(self) -> ProposalExecutor:
        if self.executor is None:
            raise CommandError(
                "Proposals exist only in multisig mode (a multisig: section in the policy); "
                "here a second person's approval executes a request."
            )
        return self.executor

    def execute(self, number: int, actor: Actor) -> Reply:
        return self._executor().execute(number, actor)

    def clear(self, number: int, user: str) -> Reply:
        return self._executor().clear(number, user)

    def _on_chain(self, request: ApprovalRequest) -> list[Field]:
        """The request's proposals as the chain holds them now, and what blocks them."""
        if self.multisig is None or not request.proposals:
            return []
        refs = refs_of(request)
        try:
            queue = self.multisig.chain.queue()
        except ChainError as exc:
            return [Field(label="On chain", value=f"could not read the votes: {exc}")]
        blocked = blocked_field(refs, queue) if not request.is_final else None
        return [
            *proposal_fields(refs, queue, self.multisig.name_of),
            *([blocked] if blocked is not None else []),
        ]

    def show(self, request_id: str) -> Reply:
        """The request, its calls and its history (and its proposals' votes on chain). A read: it
        changes nothing."""
        now_ms = self.service.now_ms_for_display()
        try:
            request = self.service.get(request_id)
        except StaleRequestError as exc:
            return stale_reply(request_id, "show", exc.request, now_ms)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        card = describe(request, now_ms=now_ms, text=history_text(self.service.history(request)))
        return with_live_fields(card, self._on_chain(request))

    def pending(self, page: int = 1) -> Reply:
        """One page of the requests waiting for approval, and how many there are (in multisig
        mode, with the queue on chain and what blocks it)."""
        offset = (max(page, 1) - 1) * PENDING_PAGE
        count, requests = self.service.pending(offset, PENDING_PAGE)
        reply = pending_reply(count, requests, offset, now_ms=self.service.now_ms_for_display())
        if self.multisig is None:
            return reply
        try:
            queue = self.multisig.chain.queue()
        except ChainError as exc:
            extra = [Field(label="On chain", value=f"could not read the queue: {exc}")]
        else:
            extra = queue_fields(queue, self._request_id_of, self.multisig.name_of)
        return reply.model_copy(update={"fields": (*reply.fields, *extra)})

    def _request_id_of(self, number: int) -> str | None:
        found = self.service.request_of_proposal(str(number))
        return found.id if found is not None else None
