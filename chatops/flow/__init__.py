"""Privileged requests end to end: request, the approver's decision, execution exactly once,
reconciliation from the chain, and the pure renderer of a request."""

from __future__ import annotations

import uuid

from approvals.errors import ApprovalError, StaleRequestError
from approvals.service import ApprovalService
from chatops.chain.gateway import Gateway
from chatops.flow.decide import Decisions
from chatops.flow.execute import Execution, FencedChain, PlannedTimeChain
from chatops.flow.reconcile import Reconciler
from chatops.flow.render import describe, history_text, pending_reply, stale_reply
from chatops.flow.request import Requests
from commands.errors import CommandError
from commands.registry import Registry
from commands.reply import Reply

__all__ = ["ApprovalFlow", "FencedChain", "PlannedTimeChain"]

PENDING_PAGE = 20


class ApprovalFlow:
    """``ApprovalGate`` for the runner, and ``ApprovalsPort`` for ``/ops approve`` and friends.

    Built whole when the app is wired: nothing is set on first use.
    """

    def __init__(
        self,
        service: ApprovalService,
        gateway: Gateway,
        registry: Registry,
        *,
        worker: str | None = None,
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.worker = worker or f"worker-{uuid.uuid4().hex[:8]}"
        self.execution = Execution(service, gateway, registry)
        self._requests = Requests(service, gateway, self.execution, self.worker)
        self._decisions = Decisions(service, self.execution, self.worker)
        self._reconciler = Reconciler(service, gateway)
        # The flow's verbs are its parts' own (one signature each, no forwarding bodies).
        self.request = self._requests.request
        self.approve = self._decisions.approve
        self.deny = self._decisions.deny
        self.cancel = self._decisions.cancel
        self.reconcile = self._reconciler.reconcile

    def show(self, request_id: str) -> Reply:
        """The request, its calls and its history. A read: it changes nothing."""
        now_ms = self.service.now_ms_for_display()
        try:
            request = self.service.get(request_id)
        except StaleRequestError as exc:
            return stale_reply(request_id, "show", exc.request, now_ms)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        return describe(request, now_ms=now_ms, text=history_text(self.service.history(request)))

    def pending(self, page: int = 1) -> Reply:
        """One page of the requests waiting for approval, and how many there are."""
        offset = (max(page, 1) - 1) * PENDING_PAGE
        count, requests = self.service.pending(offset, PENDING_PAGE)
        return pending_reply(count, requests, offset, now_ms=self.service.now_ms_for_display())
