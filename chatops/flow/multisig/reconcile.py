"""Settling an on-chain request whose worker died mid-execution, from the chain's events alone:
what each proposal did is read back, never run again."""

from __future__ import annotations

from approvals.models import ApprovalRequest
from chatops.chain.multisig import ExecutionOutcome
from chatops.flow.multisig.mode import MultisigMode
from chatops.flow.multisig.refs import refs_of
from chatops.flow.multisig.render import outcome_line
from chatops.flow.multisig.request import withdraw
from chatops.flow.reconcile import Reconciler
from chatops.flow.render import describe, when_s
from commands.errors import CommandError
from commands.reply import Reply

__all__ = ["MultisigReconciler"]


class MultisigReconciler:
    """``/ops reconcile`` for a request approved on chain. A proposal the chain resolved is final:
    its events say whether it ran and how. One still pending may yet run through an execution the
    dead worker sent, until that transaction expires: while one can, nothing is resolved. After
    that, what has not run is left unrun (the bot withdraws its yes on it) and said so."""

    def __init__(self, reconciler: Reconciler, mode: MultisigMode) -> None:
        self.reconciler = reconciler
        self.mode = mode

    def reconcile(self, request_id: str, user: str) -> Reply:
        request = self.reconciler.unsettled(request_id)
        chain = self.mode.chain
        queue = chain.queue()
        refs = refs_of(request)
        resolved = [r for r in refs if r.number <= queue.last_resolved]
        left = refs[len(resolved) :]
        if left:
            self._refuse_while_in_flight(request, queue.now_s)
        outcomes = [(r, chain.outcome_of(r.number)) for r in resolved]
        ran = [f for _, f in outcomes if isinstance(f, ExecutionOutcome)]
        ok = not left and len(ran) == len(refs) and all(f.succeeded for f in ran)
        parts = [outcome_line(r, f) for r, f in outcomes] or ["no proposal ran"]
        if left:
            parts.append(
                f"proposal {', '.join(str(r.number) for r in left)} did not run and will not: "
                "ask again if it is still needed"
            )
        result = "; ".join(parts)
        done = self.reconciler.resolve(
            request, user, ok=ok, result=result, tx_hashes=[f.tx_hash for f in ran]
        )
        notes = tuple(withdraw(self.mode, left)) if left else ()
        return describe(done, title=f"Request {done.id}: reconciled, {result}", follow_ups=notes)

    def _refuse_while_in_flight(self, request: ApprovalRequest, now_s: int) -> None:
        """Raise while an execution the worker sent may still land (its number unused, unexpired)."""
        submissions = self.reconciler.service.submissions(request)
        if not submissions:
            return
        account_seq = self.mode.chain.client.account(self.mode.bot).sequence_number
        may_land = [
            s for s in submissions if s.sequence_number >= account_seq and now_s < s.expires_s
        ]
        if may_land:
            until = when_s(max(s.expires_s for s in may_land))
            raise CommandError(
                f"Request {request.id} is not settled yet: an execution the bot sent (sequence "
                f"number {may_land[0].sequence_number}) is not on chain but may still land until "
                f"{until}. Nothing was changed; run /ops reconcile {request.id} again after {until}."
            )
