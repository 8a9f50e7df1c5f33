"""The approver's side: approve, deny, cancel. One path for a clicked button and a typed command,
bound to what the person was shown (the whole id, and the digest when they saw the calls)."""

from __future__ import annotations

from approvals.errors import ApprovalError, InvalidStateError, StaleRequestError
from approvals.models import Status
from approvals.service import ApprovalService
from chatops.flow.execute import Execution
from chatops.flow.render import describe, stale_reply
from commands.errors import CommandError
from commands.ports import Actor
from commands.reply import Reply

__all__ = ["Decisions"]


class Decisions:
    """``/ops approve|deny|cancel``; the last approval needed claims and executes the request in
    this process, exactly once whoever clicks where."""

    def __init__(self, service: ApprovalService, execution: Execution, worker: str) -> None:
        self.service = service
        self.execution = execution
        self.worker = worker

    def _stale(self, exc: StaleRequestError, typed: str, action: str) -> Reply:
        return stale_reply(typed, action, exc.request, self.service.now_ms_for_display())

    def approve(self, request_id: str, actor: Actor, *, digest: str = "") -> Reply:
        """Record ``actor``'s approval; the last one needed executes the request at once (exactly
        once).

        That execution reports its steps to ``actor.progress`` and checks ``actor.cancel`` (set
        when the bot shuts down) before each transaction: a request stopped that way ends FAILED,
        saying how many of its transactions were sent.
        """
        user = actor.user
        try:
            approval = self.service.approve(
                request_id, user, digest=digest, groups=actor.groups, claim_for=self.worker
            )
        except StaleRequestError as exc:
            return self._stale(exc, request_id, "approve")
        except InvalidStateError as exc:
            if exc.state == Status.APPROVED and exc.request is not None:
                # Approved but never claimed (its worker died between approve and claim): an
                # eligible approval runs it now; the atomic claim still allows one execution only.
                try:
                    token, claimed = self.service.claim(exc.request.id, self.worker)
                except ApprovalError as again:
                    raise CommandError(str(again)) from again
                return self.execution.run(claimed, token, actor)
            raise CommandError(str(exc)) from exc
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        request = approval.request
        if request.break_glass:
            return describe(
                request, title=f"Request {request.id}: break-glass signed off by {user}"
            )
        if not approval.counted:
            return describe(
                request, title=f"You already approved request {request.id}; it counts once."
            )
        if approval.token is None:
            return describe(request, title=f"Request {request.id}: approval recorded, more needed")
        return self.execution.run(request, approval.token, actor)

    def deny(self, request_id: str, actor: Actor, reason: str, *, digest: str = "") -> Reply:
        user = actor.user
        try:
            request = self.service.deny(
                request_id, user, reason, digest=digest, groups=actor.groups
            )
        except StaleRequestError as exc:
            return self._stale(exc, request_id, "deny")
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        return describe(request, title=f"Request {request.id} denied by {user}: {reason}")

    def cancel(self, request_id: str, user: str) -> Reply:
        try:
            request = self.service.cancel(request_id, user)
        except StaleRequestError as exc:
            return self._stale(exc, request_id, "cancel")
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        return describe(request, title=f"Request {request.id} cancelled by {user}")
