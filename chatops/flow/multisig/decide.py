"""The approver's side in multisig mode: approving is done on chain with one's own key, so
``/ops approve`` (and the Approve on chain button) only shows how; a denial or a withdrawal is
recorded as off-chain, and the bot withdraws its own yes on chain."""

from __future__ import annotations

from approvals.errors import ApprovalError, StaleRequestError
from approvals.ids import parse_request_id
from approvals.models import Status
from approvals.service import ApprovalService
from chatops.flow.multisig.mode import MultisigMode
from chatops.flow.multisig.refs import refs_of
from chatops.flow.multisig.render import approve_reply
from chatops.flow.multisig.request import withdraw
from chatops.flow.render import shown_state, stale_reply
from commands.errors import CommandError
from commands.ports import Actor
from commands.reply import Reply

__all__ = ["MultisigDecisions"]


class MultisigDecisions:
    """What ``/ops approve|deny|cancel`` do to a request whose calls are proposals on chain."""

    def __init__(self, service: ApprovalService, mode: MultisigMode) -> None:
        self.service = service
        self.mode = mode

    def approve(self, request_id: str, actor: Actor, *, digest: str = "") -> Reply | None:
        """How ``actor`` approves the request on chain (None when it has no proposals: it is
        approved here, off-chain). Nothing is recorded: the chain counts only signed votes.

        Bound to what the person was shown, as an off-chain approval is: the whole id, and the
        digest of the calls when a button carried it.

        Raises:
            CommandError: not an eligible approver, another request's calls, or no longer pending.
        """
        now_ms = self.service.now_ms_for_display()
        try:
            request = self.service.get(request_id)
        except StaleRequestError as exc:
            return stale_reply(request_id, "approve", exc.request, now_ms)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        refs = refs_of(request)
        if not refs:
            return None
        if parse_request_id(request_id).tag is None:
            return stale_reply(request_id, "approve", request, now_ms)
        if digest and digest != request.digest:
            raise CommandError(
                f"Request {request.id} does not match what you saw (its calls differ); nothing "
                "was approved."
            )
        if not self.service.policy.may_approve(actor.user, actor.groups):
            raise CommandError(f"{actor.user} is not an eligible approver (approver group).")
        state = shown_state(request, now_ms)
        if state not in (Status.PENDING, Status.APPROVED):  # approved here decides nothing
            raise CommandError(
                f"Request {request.id} is {state}: there is nothing left to approve on chain."
            )
        return approve_reply(request, refs, self.mode.account, self.mode.address_of(actor.user))

    def withdrawn(self, reply: Reply) -> Reply:
        """``reply`` of a denial or a withdrawal, with the bot's no on the request's proposals (so
        none runs on its yes) and how owners remove them from the queue."""
        if reply.request_id is None or reply.state not in (Status.DENIED, Status.CANCELLED):
            return reply
        try:
            refs = refs_of(self.service.get(reply.request_id))
        except ApprovalError:
            return reply
        if not refs:
            return reply
        notes = withdraw(self.mode, refs)
        return reply.model_copy(update={"follow_ups": (*reply.follow_ups, *notes)})
