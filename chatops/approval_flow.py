"""Privileged steps end to end: request (with preflight and simulation), approval, execution exactly
once with a fresh preflight, and reconciliation from the chain when a worker died mid-execution.

The rules live in ``approvals``; this module joins them to the runner and the chain.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from approvals.errors import AlreadyClaimedError, ApprovalError, InvalidStateError, LeaseLostError
from approvals.models import ApprovalRequest, Status, Submission
from approvals.service import DEFAULT_LEASE_MS, ApprovalService, NewRequest
from chatops.chain.calls import ChainCall, TypedArg, calls_digest
from chatops.chain.client import DEFAULT_EXPIRY_S
from chatops.chain.errors import (
    ChainAbortError,
    ChainError,
    ChainUnavailableError,
    TransactionTimeoutError,
)
from chatops.chain.models import TransactionInfo
from chatops.gateway import Gateway
from chatops.notify.journal import Journal, journal_approval, journal_step
from chatops.runner import Runner, execute_plan
from commands.errors import CancelledError, CommandError
from commands.invocation import Invocation
from commands.ports import ApprovalsPort, ChainPort, Events, Outcome, Plan, StepContext
from commands.registry import Step
from commands.reply import Check, Field, Reply, Severity

__all__ = ["LEGACY_CLOCK_MARGIN_S", "ApprovalFlow", "FencedChain", "FrozenClock"]

logger = logging.getLogger(__name__)

# Requests sent before submissions were recorded have no recorded expiration: it is estimated from
# the Redis clock of their audit trail, and this much is allowed for that clock and the chain's
# to disagree.
LEGACY_CLOCK_MARGIN_S = 60
_PAGE = 100  # the most transactions GET /accounts/{a}/transactions returns at once


class FrozenClock:
    """The chain seen at the time a request was planned: re-planning then yields the same calls."""

    def __init__(self, chain: ChainPort, now_s: int) -> None:
        self._chain = chain
        self._now_s = now_s

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        return self._chain.read(function, args)

    def simulate(self, call: ChainCall) -> Events:
        return self._chain.simulate(call)

    def submit(self, call: ChainCall) -> Outcome:
        return self._chain.submit(call)

    def chain_id(self) -> int:
        return self._chain.chain_id()

    def block_height(self) -> int:
        return self._chain.block_height()

    def now_s(self) -> int:
        return self._now_s

    def package_address(self) -> str:
        return self._chain.package_address()


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _when_s(seconds: int) -> str:
    """A chain time to the second: when a transaction expires is a precise boundary."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class FencedChain:
    """The chain an approved request executes on: just before each transaction is sent
    (``Gateway.submit``'s ``before_send``), the ``submitting`` transition proves the lease still
    this worker's, records the transaction's sequence number and expiration and renews the lease,
    all in one atomic step. ``lease_ms`` is the lease the worker claimed with, which each fence
    extends by.

    A reconciler only acts once the lease is lost, so it finds every transaction that may have
    left; a worker that lost its lease records nothing and sends nothing more, so reconciliation
    never waits for a transaction that never left. ``in_doubt`` tells whether a transaction was
    handed to the node and its outcome is not known yet (so a chain failure then is not proof that
    nothing was sent).
    """

    def __init__(
        self,
        gateway: Gateway,
        service: ApprovalService,
        request_id: str,
        token: str,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        self._gateway = gateway
        self._service = service
        self._request_id = request_id
        self._token = token
        self._lease_ms = lease_ms
        self.in_doubt = False

    def before_send(self, sequence_number: int, expires_s: int) -> None:
        """Fence and record in one step; raising here keeps the transaction from being sent.

        Raises:
            StoreUnavailableError: Redis did not answer (the record may or may not be written).
            LeaseLostError: this worker no longer holds the request (nothing was recorded).
        """
        self._service.submitting(
            self._request_id,
            self._token,
            self._gateway.signer.address,
            Submission(sequence_number=sequence_number, expires_s=expires_s),
            lease_ms=self._lease_ms,
        )
        self.in_doubt = True

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        return self._gateway.read(function, args)

    def simulate(self, call: ChainCall) -> Events:
        return self._gateway.simulate(call)

    def submit(self, call: ChainCall) -> Outcome:
        outcome = self._gateway.submit(call, before_send=self.before_send)
        self.in_doubt = False
        return outcome

    def chain_id(self) -> int:
        return self._gateway.chain_id()

    def block_height(self) -> int:
        return self._gateway.block_height()

    def now_s(self) -> int:
        return self._gateway.now_s()

    def package_address(self) -> str:
        return self._gateway.package_address()


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


def _call_fields(request: ApprovalRequest) -> list[Field]:
    out = []
    for index, call in enumerate(request.calls, start=1):
        model = ChainCall(
            function=call["function"],
            args=tuple(TypedArg(type=t, value=v) for t, v in call["args"]),
        )
        out.append(Field(label=f"Call {index}", value=model.describe()))
    return out


class ApprovalFlow:
    """``ApprovalGate`` for the runner and ``ApprovalsPort`` for ``/ops approve`` and friends."""

    def __init__(
        self,
        service: ApprovalService,
        gateway: Gateway,
        *,
        worker: str | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.journal = journal
        self.service = service
        self.gateway = gateway
        self.worker = worker or f"worker-{uuid.uuid4().hex[:8]}"
        self._runner: Runner | None = None

    # --- the runner's side ------------------------------------------------------------------

    def port(self, runner: Runner) -> ApprovalsPort:
        self._runner = runner
        return self

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
        """Store the request with its exact calls; the approver sees calls, checks and a simulation.

        Under break-glass the request executes here at once, as the last approval would run it:
        reporting to ``progress``, and stopping between two transactions once ``cancel`` is set."""
        self.service.sweep()
        simulation = self._simulate(plan)
        new = NewRequest(
            command=inv.command,
            text=inv.text,
            policy_key=step.policy_key,
            calls=[c.canonical() for c in plan.calls],
            digest=calls_digest(plan.calls),
            summary=plan.summary,
            requester=inv.user,
            reason=reason,
            channel=inv.channel,
            thread=inv.thread,
            plan_time_s=self.gateway.now_s(),
        )
        try:
            request = self.service.create(new, break_glass=break_glass)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        if break_glass:
            logger.warning(
                "BREAK-GLASS: %s ran %s alone",
                inv.user,
                step.path,
                extra={"approval_id": request.id},
            )
            reply = self._execute(request, inv.user, progress=progress, cancel=cancel)
            return reply.model_copy(
                update={
                    "title": f"BREAK-GLASS by {inv.user}: {reply.title}",
                    "text": f"{reply.text}\nA second person must sign off afterwards: /ops approve {request.id}".strip(),
                    "severity": Severity.WARNING if reply.ok else reply.severity,
                }
            )
        return self._describe(
            request,
            title=f"Request {request.id}: {plan.summary}",
            extra=[
                Field(label="Simulation", value=simulation),
                *(
                    [Field(label="Needs approval because", value=plan.needs_approval)]
                    if plan.needs_approval
                    else []
                ),
            ],
            checks=tuple(plan.checks),
            follow_ups=(
                f"An approver runs /ops approve {request.id} (or /ops deny {request.id} <reason>).",
                f"You can withdraw it with /ops cancel {request.id}.",
            ),
        )

    def _simulate(self, plan: Plan) -> str:
        if not plan.calls:
            return "nothing to send"
        note = f" (first of {len(plan.calls)} calls)" if len(plan.calls) > 1 else ""
        try:
            self.gateway.simulate(plan.calls[0])
        except ChainAbortError as exc:
            return f"would abort: {exc}{note}"
        except ChainError as exc:
            return f"could not simulate: {exc}"
        changes = f"; it changes: {'; '.join(plan.effects)}" if plan.effects else ""
        return f"succeeds against current state{note}{changes}"

    def _describe(
        self,
        request: ApprovalRequest,
        *,
        title: str | None = None,
        extra: list[Field] | None = None,
        checks: tuple[Check, ...] = (),
        follow_ups: tuple[str, ...] = (),
        severity: Severity = Severity.INFO,
        ok: bool = True,
    ) -> Reply:
        self._journal(request)
        fields = [
            Field(label="Requested by", value=request.requester),
            Field(label="Reason", value=request.reason),
            Field(label="Command", value=f"{request.command} {request.text}".strip()),
            *_call_fields(request),
            Field(label="Digest", value=request.digest[:16]),
            Field(
                label="Approvals",
                value=f"{len(request.approvers)}/{request.needed}"
                + (f" ({', '.join(request.approvers)})" if request.approvers else ""),
            ),
            Field(label="Expires", value=_when(request.expires_ms)),
        ]
        if request.denied_by:
            fields.append(Field(label="Denied by", value=request.denied_by))
        if request.tx_hashes:
            fields.append(Field(label="Transactions", value=", ".join(request.tx_hashes)))
        if request.result:
            fields.append(Field(label="Result", value=request.result))
        if request.break_glass:
            fields.append(
                Field(label="Break-glass sign-off", value=request.retro_approved_by or "MISSING")
            )
        fields.extend(extra or [])
        return Reply(
            title=title or f"Request {request.id}: {request.summary}",
            text=f"State: {request.state}",
            ok=ok,
            severity=severity,
            fields=tuple(fields),
            checks=checks,
            follow_ups=follow_ups,
            request_id=request.id,
            state=str(request.state),
        )

    def _journal(self, request: ApprovalRequest) -> None:
        """Every transition of the request becomes a journal entry (each audit entry once)."""
        if self.journal is None:
            return
        for entry in self.service.audit(request.id):
            journal_approval(self.journal, request, entry)

    # --- the approver's side ----------------------------------------------------------------

    def approve(
        self,
        request_id: str,
        user: str,
        groups: tuple[str, ...],
        *,
        is_eligible: bool = True,
        progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """Record an approval; the last one needed executes the request at once (exactly once).

        That execution reports its steps to ``progress`` and checks ``cancel`` (set when the bot
        shuts down) before each transaction: a request stopped that way ends FAILED, saying how
        many of its transactions were sent (see ``_execute``).
        """
        self.service.sweep()
        try:
            current = self.service.get(request_id)
            request, counted = self.service.approve(
                request_id, user, current.digest, groups=groups, is_eligible=is_eligible
            )
        except InvalidStateError as exc:
            if (
                exc.state == Status.APPROVED
                and self.service.policy.may_approve(user, groups)
                and is_eligible
            ):
                # Approved but never claimed (its worker died between approve and claim): an
                # eligible click runs it now; the atomic claim still allows one execution only.
                return self._execute(
                    self.service.get(request_id), user, progress=progress, cancel=cancel
                )
            raise CommandError(str(exc)) from exc
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        if request.break_glass:
            return self._describe(
                request, title=f"Request {request_id}: break-glass signed off by {user}"
            )
        if not counted:
            return self._describe(
                request, title=f"You already approved request {request_id}; it counts once."
            )
        if request.state != Status.APPROVED:
            return self._describe(
                request, title=f"Request {request_id}: approval recorded, more needed"
            )
        return self._execute(request, user, progress=progress, cancel=cancel)

    def _execute(
        self,
        request: ApprovalRequest,
        actor: str,
        *,
        progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """Claim, re-run the preflight on fresh state at the planned time, compare digests, send.

        ``cancel`` is checked only between transactions, so each one is either sent (and waited
        for) or not sent at all. A request cancelled part-way is completed FAILED by this worker,
        at once and explicitly ("stopped at shutdown after k of n transactions; the rest were not
        sent"), with the hashes of the k sent: it never stays executing for reconciliation, since
        nothing about it is in doubt. The audit's "failed" entry and the journal say the same.
        """
        try:
            token = self.service.claim(request.id, self.worker)
        except AlreadyClaimedError as exc:
            return self._describe(self.service.get(request.id), title=str(exc))
        runner = self._runner
        if runner is None:
            raise RuntimeError("ApprovalFlow.port() was never called by a runner")
        hashes: list[str] = []
        parsed = runner.parse(
            Invocation(
                user=request.requester,
                command=request.command,
                text=request.text,
                channel=request.channel,
            )
        )
        frozen = FrozenClock(self.gateway, request.plan_time_s)
        ctx = StepContext(chain=frozen, user=request.requester, cancel=threading.Event())
        try:
            plan = parsed.step.plan(ctx, parsed.args) if parsed.step.plan else None
        except ChainError as exc:
            return self._finish(
                request,
                token,
                ok=False,
                result=f"preflight could not read the chain: {exc}",
                hashes=hashes,
            )
        if plan is None:
            return self._finish(
                request,
                token,
                ok=False,
                result="the step no longer sends transactions",
                hashes=hashes,
            )
        failed = [c for c in plan.checks if not c.ok]
        if failed:
            detail = "; ".join(c.line() for c in failed)
            return self._finish(
                request,
                token,
                ok=False,
                result=f"preflight no longer holds on fresh state: {detail}",
                hashes=hashes,
                checks=tuple(plan.checks),
            )
        if calls_digest(plan.calls) != request.digest:
            return self._finish(
                request,
                token,
                ok=False,
                result="the chain state changed since the request: the calls would differ from what was approved; "
                "nothing was sent, ask again",
                hashes=hashes,
            )

        def committed(outcome: Outcome) -> None:
            hashes.append(outcome.tx_hash)
            try:
                self.service.renew(request.id, token)
            except LeaseLostError:
                logger.warning("lease lost mid-execution", extra={"approval_id": request.id})

        chain = FencedChain(self.gateway, self.service, request.id, token)
        live = StepContext(
            chain=chain,
            user=request.requester,
            progress=progress or (lambda _line: None),
            cancel=cancel or threading.Event(),
        )
        try:
            reply = execute_plan(live, parsed.step, parsed.args, plan, on_committed=committed)
        except CancelledError:
            # Raised before sending the next call, never while one is in flight: the hashes are
            # every transaction this request sent.
            result = _stopped(len(hashes), len(plan.calls))
            logger.warning("execution cancelled: %s", result, extra={"approval_id": request.id})
            return self._finish(request, token, ok=False, result=result, hashes=hashes)
        except (ChainUnavailableError, TransactionTimeoutError) as exc:
            if not chain.in_doubt:  # failed before the transaction left (account read, simulation)
                result = str(exc) if hashes else f"not sent: {exc}"
                return self._finish(request, token, ok=False, result=result, hashes=hashes)
            logger.warning(
                "outcome unknown; left for reconciliation", extra={"approval_id": request.id}
            )
            return self._describe(
                self.service.get(request.id),
                title=f"Request {request.id}: outcome unknown ({exc}); it will be reconciled from the chain, never resent",
                severity=Severity.WARNING,
                ok=False,
            )
        except LeaseLostError:
            logger.warning("lease lost before sending", extra={"approval_id": request.id})
            return self._describe(
                self.service.get(request.id),
                title=f"Request {request.id}: this worker lost its lease, so it stopped before "
                f"transaction {len(hashes) + 1} of {len(plan.calls)} was sent; "
                f"/ops reconcile {request.id} settles it from the chain",
                severity=Severity.WARNING,
                ok=False,
            )
        except (ChainError, CommandError, ApprovalError) as exc:
            return self._finish(request, token, ok=False, result=str(exc), hashes=hashes)
        return self._finish(
            request,
            token,
            ok=True,
            result=reply.title,
            hashes=hashes,
            approved_by=actor,
            body=reply,
        )

    def _finish(
        self,
        request: ApprovalRequest,
        token: str,
        *,
        ok: bool,
        result: str,
        hashes: list[str],
        checks: tuple[Check, ...] = (),
        approved_by: str | None = None,
        body: Reply | None = None,
    ) -> Reply:
        try:
            done = self.service.complete(request.id, token, ok=ok, result=result, tx_hashes=hashes)
            if self.journal is not None:
                journal_step(
                    self.journal,
                    body or Reply.error(result),
                    done.requester,
                    command=done.command,
                    text=done.text,
                    at_s=int(time.time()),
                    links=hashes,
                    approved_by=done.approvers,
                    dedupe=f"step:approval:{done.id}",
                )
        except LeaseLostError:
            done = self.service.get(request.id)
        people = ", ".join(dict.fromkeys([done.requester, *done.approvers]))
        if ok:
            title = f"Request {request.id} executed: {body.title if body else result}"
            return self._describe(
                done,
                title=title,
                severity=Severity.SUCCESS,
                checks=checks or (body.checks if body else ()),
            )
        return self._describe(
            done,
            title=f"Request {request.id} failed: {result}",
            severity=Severity.ERROR,
            ok=False,
            checks=checks,
            follow_ups=(f"Told: {people}.",),
        )

    def deny(
        self,
        request_id: str,
        user: str,
        reason: str,
        groups: tuple[str, ...],
        *,
        is_eligible: bool = True,
    ) -> Reply:
        try:
            request = self.service.deny(
                request_id, user, reason, groups=groups, is_eligible=is_eligible
            )
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        return self._describe(request, title=f"Request {request_id} denied by {user}: {reason}")

    def cancel(self, request_id: str, user: str) -> Reply:
        try:
            request = self.service.cancel(request_id, user)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        return self._describe(request, title=f"Request {request_id} cancelled by {user}")

    def show(self, request_id: str) -> Reply:
        self.service.sweep()
        try:
            request = self.service.get(request_id)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        history = [
            f"{_when(e.at_ms)} {e.event} by {e.actor} -> {e.state}"
            for e in self.service.audit(request_id)
        ]
        reply = self._describe(request)
        return reply.model_copy(update={"text": reply.text + "\n" + "\n".join(history)})

    def pending(self) -> Reply:
        self.service.sweep()
        requests = self.service.pending()
        fields = tuple(
            Field(
                label=f"#{r.id} {r.command} {r.text}".strip(),
                value=f"by {r.requester}, expires {_when(r.expires_ms)}: {r.reason}",
            )
            for r in requests
        )
        return Reply(
            title=f"{len(requests)} request(s) waiting for approval", fields=fields, ephemeral=True
        )

    def reconcile(self, request_id: str, user: str) -> Reply:
        """Settle a needs-reconciliation request from the chain; never send anything.

        Concludes only from facts. A recorded transaction whose sequence number the sender's account
        has consumed is final: it is this request's or another's. One whose number is not consumed
        may still sit in some node's mempool and land until its expiration passes on the chain's
        clock: while any can, nothing is resolved (CommandError saying when to try again), since
        "nothing was sent" would let someone ask again and execute twice.

        The chain's clock (the latest block's time) is read before the account: a transaction
        included by then is in a block the node already has, so the account read after it shows its
        sequence number consumed.
        """
        self.service.sweep()
        try:
            request = self.service.get(request_id)
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        if request.state != Status.NEEDS_RECONCILIATION:
            raise CommandError(
                f"Request {request_id} is {request.state}; only needs-reconciliation requests are reconciled."
            )
        if request.sender is None or request.submit_seq is None:
            done = self.service.resolve(
                request_id,
                user,
                ok=False,
                result="nothing was submitted before the worker stopped",
                tx_hashes=[],
            )
            return self._describe(
                done, title=f"Request {request_id}: nothing was sent; ask again if still needed"
            )
        now_s = self.gateway.client.latest_block().timestamp.seconds  # what expiry is judged by
        account_seq = self.gateway.client.account(request.sender).sequence_number
        submissions = self.service.submissions(request_id) or self._legacy_submissions(
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
                    f"{_when_s(expired)} (chain time): nothing was sent"
                )
            done = self.service.resolve(request_id, user, ok=False, result=result, tx_hashes=[])
            return self._describe(done, title=f"Request {request_id}: reconciled, nothing was sent")
        all_ok = len(found) == calls and all(str(t.status) == "Success" for t in found)
        result = f"found {len(found)} of {calls} transaction(s) on chain" + (
            "" if all_ok else f"; statuses: {', '.join(str(t.status) for t in found)}"
        )
        if len(found) < calls:
            if taken:
                result += f"; sequence number {taken[0]} was used by another transaction"
            elif unconsumed:
                result += (
                    f"; the next expired unsent at {_when_s(unconsumed[0].expires_s)} (chain time)"
                )
            else:
                result += "; the rest were never sent"
        done = self.service.resolve(
            request_id, user, ok=all_ok, result=result, tx_hashes=[t.hash for t in found]
        )
        return self._describe(done, title=f"Request {request_id}: reconciled, {result}")

    def _legacy_submissions(self, request: ApprovalRequest, submit_seq: int) -> list[Submission]:
        """For a request sent without recorded submissions (by an earlier version of the bot): its
        calls at the sequence numbers from ``submit_seq``, each taken to expire DEFAULT_EXPIRY_S after
        the latest of its 'submitting' and 'lease-lost' audit entries (Redis clock) plus a margin for
        the chain's clock disagreeing. An estimate, so it errs late."""
        stamps = [
            e.at_ms
            for e in self.service.audit(request.id)
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


def _stopped(sent: int, total: int) -> str:
    """The result of a request cancelled before its next transaction (the bot shutting down)."""
    if sent == 0:
        return (
            "stopped at shutdown before its first transaction: nothing was sent; "
            "ask again if it is still needed"
        )
    return (
        f"stopped at shutdown after {sent} of {total} transactions; the rest were not sent "
        "and will not be: ask again for what is still needed"
    )


def _is_ours(tx: TransactionInfo, request: ApprovalRequest) -> bool:
    """Whether ``tx`` is one of the request's calls (a node that hides payloads gets the benefit)."""
    return tx.payload is None or any(_is_call(tx, c) for c in request.calls)


def _not_settled(
    request: ApprovalRequest, landed: int, may_land: list[Submission], now_s: int
) -> str:
    """Why reconciliation waits, and until when (the latest expiration among those that may land)."""
    first = may_land[0]
    until = _when_s(max(s.expires_s for s in may_land))
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
        f"expires (the chain's clock reads {_when_s(now_s)}). Nothing was changed; run "
        f"/ops reconcile {request.id} again after {until}."
    )
