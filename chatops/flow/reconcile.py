"""Settling a request whose worker died mid-execution, from the chain's facts alone; never sends."""

from __future__ import annotations

from typing import Any

from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest, Status, Submission
from approvals.service import ApprovalService
from chatops.chain.client import DEFAULT_EXPIRY_S
from chatops.chain.gateway import Gateway
from chatops.chain.models import TransactionInfo
from chatops.flow.render import describe, when, when_s
from commands.errors import CommandError
from commands.reply import Reply

__all__ = ["LEGACY_CLOCK_MARGIN_S", "Reconciler"]

# Requests sent before submissions were recorded have no recorded expiration: it is estimated from
# the Redis clock of their audit trail, and this much is allowed for that clock and the chain's
# to disagree.
LEGACY_CLOCK_MARGIN_S = 60
_PAGE = 100  # the most transactions GET /accounts/{a}/transactions returns at once


def _is_call(tx: TransactionInfo, call: dict[str, Any]) -> bool:
    """Whether ``tx`` is this request's call: the same function and, when the node shows them, the
    same arguments (another request may have used the recorded sequence number after a crash)."""
    move = tx.payload.get("Move") if isinstance(tx.payload, dict) else None
    if not isinstance(move, dict):
        return call["function"].split("::")[-1] in str(tx.payload)
    function = str(move.get("function", ""))
    if function != call["function"] and not function.endswith("::" + call["function"]):
        return False
    arguments = move.get("arguments")
    return arguments is None or list(arguments) == [value for _type, value in call["args"]]


def _is_ours(tx: TransactionInfo, request: ApprovalRequest) -> bool:
    """Whether ``tx`` is one of the request's calls (a node that hides payloads gets the benefit)."""
    return tx.payload is None or any(_is_call(tx, c) for c in request.calls)


def _not_settled(
    request: ApprovalRequest, landed: int, may_land: list[Submission], now_s: int
) -> str:
    """Why reconciliation waits, and until when (the latest expiration among those that may land)."""
    first = may_land[0]
    until = when_s(max(s.expires_s for s in may_land))
    calls = len(request.calls)
    if calls == 1:
        what = "its transaction"
    elif landed:
        what = f"{landed} of {calls} transactions landed, and the next"
    else:
        what = f"its first of {calls} transactions"
    return (
        f"Request {request.id} is not settled yet: {what} (sequence number "
        f"{first.sequence_number}) is not on chain but may still land until {until}, when it "
        f"expires (the chain's clock reads {when_s(now_s)}). Nothing was changed; run "
        f"/ops reconcile {request.id} again after {until}."
    )


class Reconciler:
    """``/ops reconcile``: concludes only from facts.

    A recorded transaction whose sequence number the sender's account has consumed is final: it is
    this request's or another's. One whose number is not consumed may still sit in some node's
    mempool and land until its expiration passes on the chain's clock: while any can, nothing is
    resolved (CommandError saying when to try again), since "nothing was sent" would let someone
    ask again and execute twice.
    """

    def __init__(self, service: ApprovalService, gateway: Gateway) -> None:
        self.service = service
        self.gateway = gateway

    def unsettled(self, request_id: str) -> ApprovalRequest:
        """The request, needing reconciliation: an executing one whose worker's lease ran out is
        flagged now rather than at the sweeper's next pass.

        Raises:
            CommandError: its worker still holds it, or it does not need reconciliation.
        """
        try:
            request = self.service.get(request_id)
            if request.state == Status.EXECUTING:
                # Its worker may have died: settle it now rather than wait for the sweeper.
                flagged = self.service.lease_lost(request.id)
                if flagged is None:
                    held = when(request.lease_expires_ms or 0)
                    raise CommandError(
                        f"Request {request.id} is executing and its worker still holds it (until "
                        f"{held}, longer if it is still working): nothing was changed; reconcile "
                        "it if it is still executing after that."
                    )
                request = flagged
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        if request.state != Status.NEEDS_RECONCILIATION:
            raise CommandError(
                f"Request {request.id} is {request.state}; only needs-reconciliation requests are "
                "reconciled."
            )
        return request

    def reconcile(self, request_id: str, user: str) -> Reply:
        request = self.unsettled(request_id)
        if request.sender is None or request.submit_seq is None:
            done = self.resolve(
                request, user, ok=False, result="nothing was submitted before the worker stopped"
            )
            return describe(
                done, title=f"Request {request.id}: nothing was sent; ask again if still needed"
            )
        # The chain's clock (the latest block's time) is read before the account: a transaction
        # included by then is in a block the node already has, so the account read after it shows
        # its sequence number consumed.
        now_s = self.gateway.client.latest_block().timestamp.seconds
        account_seq = self.gateway.client.account(request.sender).sequence_number
        submissions = self.service.submissions(request) or self._legacy_submissions(
            request, request.submit_seq
        )
        committed = [s for s in submissions if s.sequence_number < account_seq]
        on_chain = self._transactions_at(request.sender, [s.sequence_number for s in committed])
        found: list[TransactionInfo] = []
        taken: list[int] = []  # consumed by a transaction that is not this request's
        for submission in committed:
            tx = on_chain.get(submission.sequence_number)
            if tx is not None and _is_ours(tx, request):
                found.append(tx)
            else:
                taken.append(submission.sequence_number)
        unconsumed = [s for s in submissions if s.sequence_number >= account_seq]
        may_land = [s for s in unconsumed if now_s < s.expires_s]
        if may_land:
            raise CommandError(_not_settled(request, len(found), may_land, now_s))
        calls = len(request.calls)
        if not found:
            if taken:
                result = (
                    f"sequence number {taken[0]} was used by another transaction: "
                    "nothing of this request was sent"
                )
            else:
                expired = max((s.expires_s for s in unconsumed), default=now_s)
                result = (
                    "no transaction found on chain, and it expired at "
                    f"{when_s(expired)} (chain time): nothing was sent"
                )
            done = self.resolve(request, user, ok=False, result=result)
            return describe(done, title=f"Request {request.id}: reconciled, nothing was sent")
        all_ok = len(found) == calls and all(str(t.status) == "Success" for t in found)
        result = f"found {len(found)} of {calls} transaction(s) on chain" + (
            "" if all_ok else f"; statuses: {', '.join(str(t.status) for t in found)}"
        )
        if len(found) < calls:
            if taken:
                result += f"; sequence number {taken[0]} was used by another transaction"
            elif unconsumed:
                result += (
                    f"; the next expired unsent at {when_s(unconsumed[0].expires_s)} (chain time)"
                )
            else:
                result += "; the rest were never sent"
        done = self.resolve(
            request, user, ok=all_ok, result=result, tx_hashes=[t.hash for t in found]
        )
        return describe(done, title=f"Request {request.id}: reconciled, {result}")

    def resolve(
        self,
        request: ApprovalRequest,
        user: str,
        *,
        ok: bool,
        result: str,
        tx_hashes: list[str] | None = None,
    ) -> ApprovalRequest:
        """Record reconciliation's verdict (the store's refusal becomes a CommandError)."""
        try:
            return self.service.resolve(
                request.id, user, ok=ok, result=result, tx_hashes=tx_hashes or []
            )
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc

    def _legacy_submissions(self, request: ApprovalRequest, submit_seq: int) -> list[Submission]:
        """For a request sent without recorded submissions (by an earlier version of the bot): its
        calls at the sequence numbers from ``submit_seq``, each taken to expire DEFAULT_EXPIRY_S after
        the latest of its 'submitting' and 'lease-lost' history entries (Redis clock) plus a margin
        for the chain's clock disagreeing. An estimate, so it errs late."""
        stamps = [
            e.at_ms
            for e in self.service.history(request)
            if e.event in ("submitting", "lease-lost")
        ]
        expires_s = max(stamps, default=0) // 1000 + DEFAULT_EXPIRY_S + LEGACY_CLOCK_MARGIN_S
        return [
            Submission(sequence_number=submit_seq + i, expires_s=expires_s)
            for i in range(len(request.calls))
        ]

    def _transactions_at(self, sender: str, seqs: list[int]) -> dict[int, TransactionInfo]:
        """The sender's committed transactions at ``seqs`` (all consumed), by sequence number."""
        out: dict[int, TransactionInfo] = {}
        if not seqs:
            return out
        start, last = min(seqs), max(seqs)
        while start <= last:
            count = min(last - start + 1, _PAGE)
            page = self.gateway.client.account_transactions(sender, start, count)
            for offset, tx in enumerate(page):
                header_seq = tx.header.sequence_number if tx.header is not None else None
                out[header_seq if header_seq is not None else start + offset] = tx
            start += count
        return out
