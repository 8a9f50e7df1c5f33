"""Running an approved request exactly once: re-plan on fresh state, compare digests, fence each
transaction on the lease, record the outcome. Never sends what the approver did not see."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from approvals.errors import ApprovalError, LeaseLostError
from approvals.models import ApprovalRequest, Submission
from approvals.service import DEFAULT_LEASE_MS, ApprovalService
from chatops.chain.calls import ChainCall, TypedArg, calls_digest
from chatops.chain.errors import ChainError, ChainUnavailableError, TransactionTimeoutError
from chatops.chain.gateway import Gateway
from chatops.flow.render import describe
from chatops.runner import execute_plan
from commands.errors import CancelledError, CommandError
from commands.invocation import Invocation
from commands.parse import parse_invocation
from commands.ports import Actor, ChainPort, Events, Outcome, Plan, StepContext
from commands.registry import Registry
from commands.reply import Check, Reply, Tone

__all__ = ["Execution", "FencedChain", "PlannedTimeChain", "SendingChain"]

logger = logging.getLogger(__name__)


class PlannedTimeChain:
    """The chain as it is now, but at the time a request was planned: re-planning then yields the
    same calls (their caller-supplied timestamps included), so the digest can be compared."""

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


class FencedChain:
    """The chain an approved request executes on: just before each transaction is sent
    (``Gateway.submit``'s ``before_send``), the ``submitting`` transition proves the lease still
    this worker's, records the transaction's sequence number and expiration and renews the lease,
    all in one atomic step.

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


class SendingChain(ChainPort, Protocol):
    """The chain an approved request's calls are sent on: ``in_doubt`` tells whether a transaction
    was handed to the node and its outcome is not known yet."""

    in_doubt: bool


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


def _failed_checks(*plans: Plan) -> list[Check]:
    """Failed checks of the plans, each name once (the first plan's word on it wins)."""
    seen: dict[str, Check] = {}
    for plan in plans:
        for check in plan.checks:
            if isinstance(check, Check) and not check.ok and check.name not in seen:
                seen[check.name] = check
    return list(seen.values())


class Execution:
    """Executes requests this process has claimed. Everything it needs is given when the app is
    wired, so a process's first action (an Approve click on a replica that just started) runs
    like any other."""

    def __init__(
        self,
        service: ApprovalService,
        gateway: Gateway,
        registry: Registry,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.registry = registry
        self.lease_ms = lease_ms

    def run(
        self,
        request: ApprovalRequest,
        token: str,
        actor: Actor,
        *,
        sending: SendingChain | None = None,
    ) -> Reply:
        """Re-run the preflight on fresh state, compare digests, send; ``token`` holds the lease.

        The calls go out through ``sending`` (a ``FencedChain`` on this request and token unless
        another is given: in multisig mode, the chain that executes each call's proposal).

        The calls are re-planned at the request's planned time (the same timestamps), and must hash
        to the digest the approvers saw. The checks must also hold now: a price that was fresh when
        the request was made may be stale when its last approval comes (``now`` plan).

        ``actor.cancel`` is checked only between transactions, so each one is either sent (and waited
        for) or not sent at all. A request cancelled part-way is completed FAILED by this worker,
        at once and explicitly ("stopped at shutdown after k of n transactions; the rest were not
        sent"), with the hashes of the k sent: it never stays executing for reconciliation, since
        nothing about it is in doubt.
        """
        hashes: list[str] = []

        def finish(ok: bool, result: str, **extra: Any) -> Reply:
            return self._finish(request, token, ok=ok, result=result, hashes=hashes, **extra)

        parsed = parse_invocation(
            self.registry,
            Invocation(
                user=request.requester,
                command=request.command,
                text=request.text,
                channel=request.channel,
            ),
        )
        step_plan = parsed.step.plan
        if step_plan is None:
            return finish(False, "the step no longer sends transactions")
        ctx = StepContext(
            chain=PlannedTimeChain(self.gateway, request.plan_time_s), user=request.requester
        )
        try:
            plan = step_plan(ctx, parsed.args)
            now = step_plan(StepContext(chain=self.gateway, user=request.requester), parsed.args)
        except ChainError as exc:
            return finish(False, f"preflight could not read the chain: {exc}; nothing was sent")
        failed = _failed_checks(now, plan)
        if failed:
            detail = "; ".join(c.line() for c in failed)
            return finish(
                False,
                f"preflight no longer holds at execution: {detail}; nothing was sent",
                checks=tuple(now.checks),
            )
        if calls_digest(plan.calls) != request.digest:
            return finish(
                False,
                "the chain state changed since the request: the calls would differ from what "
                "was approved; nothing was sent, ask again",
            )

        def committed(outcome: Outcome) -> None:
            hashes.append(outcome.tx_hash)
            if len(hashes) == len(plan.calls):
                return  # the last one: completing the request follows at once
            # Renewed now, so that checks run between two calls (a payout batch's accounting)
            # cannot outlast the lease before the next call's fence renews it again.
            try:
                self.service.renew(request.id, token, self.lease_ms)
            except LeaseLostError:
                logger.warning("lease lost mid-execution", extra={"approval_id": request.id})

        chain = sending or FencedChain(
            self.gateway, self.service, request.id, token, lease_ms=self.lease_ms
        )
        live = StepContext(
            chain=chain,
            user=request.requester,
            progress=actor.progress,
            cancel=actor.cancel,
        )
        try:
            reply = execute_plan(live, parsed.step, parsed.args, plan, on_committed=committed)
        except CancelledError:
            # Raised before sending the next call, never while one is in flight: the hashes are
            # every transaction this request sent.
            result = _stopped(len(hashes), len(plan.calls))
            logger.warning("execution cancelled: %s", result, extra={"approval_id": request.id})
            return finish(False, result)
        except (ChainUnavailableError, TransactionTimeoutError) as exc:
            if not chain.in_doubt:  # failed before the transaction left (account read, simulation)
                return finish(False, str(exc) if hashes else f"not sent: {exc}")
            logger.warning(
                "outcome unknown; left for reconciliation", extra={"approval_id": request.id}
            )
            return describe(
                self.service.get(request.id),
                title=f"Request {request.id}: outcome unknown ({exc}); it will be reconciled "
                "from the chain, never resent",
                tone=Tone.WARNING,
                ok=False,
            )
        except LeaseLostError:
            logger.warning("lease lost before sending", extra={"approval_id": request.id})
            return describe(
                self.service.get(request.id),
                title=f"Request {request.id}: this worker lost its lease, so it stopped before "
                f"transaction {len(hashes) + 1} of {len(plan.calls)} was sent; "
                f"/ops reconcile {request.id} settles it from the chain",
                tone=Tone.WARNING,
                ok=False,
            )
        except (ChainError, CommandError, ApprovalError) as exc:
            return finish(False, str(exc))
        return finish(True, reply.title, body=reply)

    def _finish(
        self,
        request: ApprovalRequest,
        token: str,
        *,
        ok: bool,
        result: str,
        hashes: list[str],
        checks: tuple[Check, ...] = (),
        body: Reply | None = None,
    ) -> Reply:
        try:
            done = self.service.complete(request.id, token, ok=ok, result=result, tx_hashes=hashes)
        except LeaseLostError:
            done = self.service.get(request.id)
        people = ", ".join(dict.fromkeys([done.requester, *done.approvers]))
        if ok:
            return describe(
                done,
                title=f"Request {request.id} executed: {body.title if body else result}",
                tone=Tone.SUCCESS,
                checks=checks or (body.checks if body else ()),
            )
        return describe(
            done,
            title=f"Request {request.id} failed: {result}",
            tone=Tone.ERROR,
            ok=False,
            checks=checks,
            follow_ups=(f"Told: {people}.",),
        )
