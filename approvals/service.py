"""request / approve / deny / cancel / claim / complete: policy checks, then one atomic script
each."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from approvals.errors import (
    AlreadyClaimedError,
    ApprovalError,
    ApprovalExpiredError,
    BreakGlassNotAllowedError,
    DigestMismatchError,
    DuplicateRequestError,
    InvalidStateError,
    LeaseLostError,
    NotAnApproverError,
    NotReplicatedError,
    NotRequesterError,
    RequestNotFoundError,
    SelfApprovalError,
    StaleRequestError,
)
from approvals.ids import parse_request_id
from approvals.models import ApprovalRequest, AuditEntry, Status, Submission, history_of
from approvals.policy import Policy
from approvals.store import RedisApprovalStore, ScriptResult

__all__ = ["DEFAULT_LEASE_MS", "SWEEP_BATCH", "Approval", "ApprovalService", "NewRequest"]

logger = logging.getLogger(__name__)

DEFAULT_LEASE_MS = 120_000
SWEEP_BATCH = 200  # ids a sweep looks at, per kind: its cost stays bounded whatever the backlog


@dataclass(frozen=True)
class NewRequest:
    """What the runner knows when a privileged step passes its preflight."""

    command: str
    text: str
    policy_key: str
    calls: list[dict[str, object]]
    digest: str
    summary: str
    requester: str
    reason: str
    channel: str
    thread: str | None
    plan_time_s: int


class Approval(NamedTuple):
    """An approval recorded: the request as it left it, whether this person counted (a second
    click by the same person does not), and the lease token when it claimed the request."""

    request: ApprovalRequest
    counted: bool
    token: str | None


def _checked(request_id: str) -> str:
    """``request_id`` as the scripts compare it (lower case, no ``#``).

    Raises:
        RequestNotFoundError: it is not a request id at all.
    """
    try:
        return str(parse_request_id(request_id))
    except ValueError as exc:
        raise RequestNotFoundError(str(exc)) from None


# What a person is told when a transition ran on the primary but no replica confirmed it in time:
# it did happen there, and may or may not survive a failover, so they check before acting again.
_UNCONFIRMED = {
    "create": "Request {id} was recorded on the primary Redis, but no replica confirmed it in "
    "time: if Redis fails over now, it may be lost. Check /ops show {id} in a minute before asking "
    "again; nothing was sent.",
    "approve": "Your approval of request {id} was recorded on the primary Redis, but no replica "
    "confirmed it in time, so it was not executed: the approval may or may not survive a "
    "failover. Check /ops show {id} in a minute (executing or needs-reconciliation: /ops "
    "reconcile {id} settles it); nothing was sent.",
    "deny": "Request {id} was denied on the primary Redis, but no replica confirmed it in time: "
    "the denial may or may not survive a failover. Check /ops show {id} in a minute.",
    "cancel": "Request {id} was cancelled on the primary Redis, but no replica confirmed it in "
    "time: the cancellation may or may not survive a failover. Check /ops show {id} in a minute.",
    "submit": "The record of the next transaction of request {id} was not confirmed by a replica "
    "in time, so that transaction was not sent.",
    "complete": "Request {id} executed, but no replica confirmed its result in time: if Redis "
    "fails over now, /ops reconcile {id} settles it from the chain (never by resending).",
    "resolve": "Request {id} was settled on the primary Redis, but no replica confirmed it in "
    "time: check /ops show {id} in a minute and reconcile again if it still needs it.",
}


def _raise_for(request_id: str, result: ScriptResult, action: str) -> ScriptResult:
    """The result when it is 'ok' (and, with replicas, confirmed by one); the domain error its
    status word means otherwise.

    Raises:
        NotReplicatedError: it is 'ok' on the primary, but no replica confirmed it in time.
    """
    status, state, current = result.status, result.state, result.request
    if status == "ok":
        if not result.replicated:
            sentence = _UNCONFIRMED.get(action, _UNCONFIRMED["create"])
            raise NotReplicatedError(sentence.format(id=request_id), current)
        return result
    if status == "not_found":
        raise RequestNotFoundError(f"There is no request {request_id}; nothing was {action}d.")
    if status == "stale":
        raise StaleRequestError(
            f"{request_id} is not the request now numbered {parse_request_id(request_id).number}"
            f"; nothing was {action}d.",
            current,
        )
    if status == "self":
        raise SelfApprovalError(
            f"You asked for request {request_id}: a second person must {action} it."
        )
    if status == "digest":
        raise DigestMismatchError(
            f"Request {request_id} does not match what you saw (its calls differ); nothing was "
            f"{action}d.",
            current,
        )
    if status == "expired":
        raise ApprovalExpiredError(f"Request {request_id} expired before it could be {action}d.")
    if status == "not_requester":
        raise NotRequesterError(
            f"Only the person who asked for request {request_id} can cancel it."
        )
    if status == "claimed":
        raise AlreadyClaimedError(f"Request {request_id} is already {state}; it runs at most once.")
    if status == "lease":
        raise LeaseLostError(
            f"Request {request_id} is no longer held by this worker (it is {state})."
        )
    raise InvalidStateError(
        f"Request {request_id} is {state}; it cannot be {action}d now.", state, current
    )


def _request(request_id: str, result: ScriptResult) -> ApprovalRequest:
    if result.request is None:
        raise ApprovalError(f"The store did not return request {request_id}.")
    return result.request


def _transition(event: str, request: ApprovalRequest, actor: str) -> ApprovalRequest:
    """One INFO line per transition (the audit stream has the whole record); returns ``request``."""
    logger.info(
        "request %s %s by %s: now %s",
        request.id,
        event,
        actor,
        request.state,
        extra={"approval_id": request.id, "event": event, "actor": actor, "state": request.state},
    )
    return request


class ApprovalService:
    """The two-person rule over a ``RedisApprovalStore``.

    Expiry and leases are decided on the Redis server's clock (``TIME`` inside the scripts), so
    replicas whose own clocks disagree still agree on when a request expires or a lease runs out.
    ``now_ms`` overrides that clock explicitly (tests); production passes none.

    Eligibility (approver group) is decided here just before the script runs; the scripts keep the
    invariants no caller can break (the request the person saw, never the requester, the same calls,
    once per person, only while pending and unexpired, one claimant).
    """

    def __init__(
        self,
        store: RedisApprovalStore,
        policy: Policy,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.now_ms = now_ms

    def _now(self) -> int | None:
        """The explicit clock's time, or None: the scripts then read the server's TIME."""
        return self.now_ms() if self.now_ms is not None else None

    def create(self, new: NewRequest, *, break_glass: bool = False) -> ApprovalRequest:
        """Store a pending request (or, under break-glass, an approved one needing a retro-approval).

        Raises:
            ApprovalError: no reason given.
            BreakGlassNotAllowedError: break-glass is off or not allowed for this step.
            DuplicateRequestError: a request with the same calls is still open.
        """
        if len(new.reason.strip()) < 3:
            raise ApprovalError("A privileged step needs a reason (at least 3 characters).")
        if break_glass and not (
            self.policy.break_glass.enabled and new.policy_key in self.policy.break_glass.steps
        ):
            raise BreakGlassNotAllowedError(
                f"Break-glass is not allowed for {new.command} by the policy."
            )
        fields = {
            "command": new.command,
            "text": new.text,
            "policy_key": new.policy_key,
            "calls": json.dumps(new.calls, sort_keys=True, separators=(",", ":")),
            "digest": new.digest,
            "summary": new.summary,
            "requester": new.requester,
            "reason": new.reason,
            "channel": new.channel,
            "thread": new.thread or "",
            "plan_time_s": str(new.plan_time_s),
            "needed": str(self.policy.approvals_needed),
        }
        # The number comes from the sequence inside the create script (one round trip).
        request_id, result = self.store.create_next(
            fields,
            self._now(),
            new.requester,
            break_glass=break_glass,
            ttl_ms=self.policy.ttl_s * 1000,
        )
        if result.status == "duplicate" and result.other is not None:
            raise DuplicateRequestError(
                f"Request {result.other} asks for exactly these calls and is still open; "
                "nothing new was requested.",
                result.other,
            )
        request = _request(request_id, _raise_for(request_id, result, "create"))
        return _transition("created", request, new.requester)

    def _eligible(self, user: str, groups: tuple[str, ...]) -> None:
        if not self.policy.may_approve(user, groups):
            raise NotAnApproverError(f"{user} is not an eligible approver (approver group).")

    def approve(
        self,
        request_id: str,
        user: str,
        *,
        digest: str = "",
        groups: tuple[str, ...] = (),
        claim_for: str | None = None,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> Approval:
        """Record ``user``'s approval of what they were shown: ``request_id`` (the whole id) and,
        when they saw the calls, their ``digest``. With ``claim_for`` (a worker), the last approval
        needed also claims the request for that worker, atomically (one step, one round trip).

        Raises:
            NotAnApproverError, SelfApprovalError, StaleRequestError, DigestMismatchError,
            ApprovalExpiredError, InvalidStateError, RequestNotFoundError.
        """
        request_id = _checked(request_id)
        self._eligible(user, groups)
        token = f"{claim_for}:{uuid.uuid4().hex}" if claim_for else ""
        result = self.store.approve(
            request_id, self._now(), user, digest, token=token, lease_ms=lease_ms
        )
        if result.status == "already":
            return Approval(_request(request_id, result), False, None)
        request = _request(request_id, _raise_for(request_id, result, "approve"))
        claimed = token if token and request.lease_owner == token else None
        _transition("approved and claimed" if claimed else "approved", request, user)
        return Approval(request, True, claimed)

    def deny(
        self,
        request_id: str,
        user: str,
        reason: str,
        *,
        digest: str = "",
        groups: tuple[str, ...] = (),
    ) -> ApprovalRequest:
        request_id = _checked(request_id)
        self._eligible(user, groups)
        result = self.store.deny(request_id, self._now(), user, digest, reason)
        return _transition(
            "denied", _request(request_id, _raise_for(request_id, result, "deny")), user
        )

    def cancel(self, request_id: str, user: str) -> ApprovalRequest:
        request_id = _checked(request_id)
        result = self.store.cancel(request_id, self._now(), user)
        request = _request(request_id, _raise_for(request_id, result, "cancel"))
        return _transition("cancelled", request, user)

    def claim(
        self, request_id: str, worker: str, lease_ms: int = DEFAULT_LEASE_MS
    ) -> tuple[str, ApprovalRequest]:
        """Take the approved request for execution: (the lease token, the request). Exactly one
        caller wins.

        Raises:
            AlreadyClaimedError: someone else claimed it (or it is not approved).
        """
        token = f"{worker}:{uuid.uuid4().hex}"
        result = self.store.claim(request_id, self._now(), worker, token, lease_ms)
        request = _request(request_id, _raise_for(request_id, result, "claim"))
        return token, _transition("claimed", request, worker)

    def renew(self, request_id: str, token: str, lease_ms: int = DEFAULT_LEASE_MS) -> None:
        _raise_for(request_id, self.store.renew(request_id, self._now(), token, lease_ms), "renew")

    def submitting(
        self,
        request_id: str,
        token: str,
        sender: str,
        submission: Submission,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        """The fence before each transaction of the request is sent: one atomic transition checks
        that ``token`` still holds the lease, records ``submission``, extends the lease by
        ``lease_ms`` and audits it (event ``submitting``). The first also stores ``sender`` and its
        sequence number on the request. The worker sends only if this returns; one that lost its
        lease records nothing, so no one later waits for a transaction that never left.

        ``sender`` and the submission's numbers are opaque to approvals: whoever settles the request
        after its worker vanished reads them back (``submissions``) to tell what may still land.

        Raises:
            LeaseLostError: ``token`` no longer holds the request (nothing was recorded).
            StoreUnavailableError: Redis did not answer (it may have recorded it: do not send).
        """
        _raise_for(
            request_id,
            self.store.submitting(request_id, self._now(), token, sender, submission, lease_ms),
            "submit",
        )

    def submissions(self, request: ApprovalRequest) -> list[Submission]:
        """Every submission recorded for the request, by sequence number (an earlier version of
        the bot kept them in a hash of their own)."""
        if request.submissions:
            return list(request.submissions)
        return self.store.legacy_submissions(parse_request_id(request.id).number)

    def complete(
        self, request_id: str, token: str, *, ok: bool, result: str, tx_hashes: list[str]
    ) -> ApprovalRequest:
        outcome = "succeeded" if ok else "failed"
        done = self.store.complete(request_id, self._now(), token, outcome, result, tx_hashes)
        request = _request(request_id, _raise_for(request_id, done, "complete"))
        return _transition(outcome, request, token.partition(":")[0])

    def resolve(
        self, request_id: str, actor: str, *, ok: bool, result: str, tx_hashes: list[str]
    ) -> ApprovalRequest:
        request_id = _checked(request_id)
        outcome = "succeeded" if ok else "failed"
        done = self.store.resolve(request_id, self._now(), actor, outcome, result, tx_hashes)
        request = _request(request_id, _raise_for(request_id, done, "resolve"))
        return _transition(f"reconciled ({outcome})", request, actor)

    def proposed(
        self,
        request_id: str,
        actor: str,
        references: list[str],
        *,
        found_by: list[str],
        expires_in_ms: int | None = None,
        failure: str = "",
        final: Status = Status.FAILED,
        event: str = "proposed",
        detail: str = "",
    ) -> ApprovalRequest:
        """Record that the request's calls stand as proposals of an outside approver (an on-chain
        multisig account): ``references`` (opaque here, no commas) are kept on the request, which
        ``request_of_proposal`` then finds from each of ``found_by`` (the proposals' numbers), and
        ``expires_in_ms`` moves its expiry to the proposals'. With a ``failure`` the proposals can
        never run: the request ends ``final`` (failed or expired) with that result, and what was
        proposed is still recorded. ``detail`` is what the audit entry (the journal) says of them.

        Raises:
            InvalidStateError: the request is no longer pending.
            ApprovalExpiredError: it expired first.
        """
        if any("," in r for r in references):
            raise ValueError("a proposal reference cannot hold a comma")
        done = self.store.proposed(
            _checked(request_id),
            self._now(),
            actor,
            event,
            references,
            found_by,
            expires_in_ms=expires_in_ms,
            final=str(final) if failure else "",
            result=failure or detail,
        )
        return _request(request_id, _raise_for(request_id, done, "propose"))

    def chain_claim(
        self,
        request_id: str,
        worker: str,
        approvers: list[str],
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> tuple[str, ApprovalRequest]:
        """Take a request whose proposals the outside approver says can run, for execution:
        (the lease token, the request). Exactly one caller wins; the approvals recorded here are
        not consulted (a request forced to 'approved' is taken only on the outside word too).
        ``approvers`` (who approved outside) become the request's approvers.

        Raises:
            AlreadyClaimedError: another worker took it, or it is final.
            InvalidStateError: it has no proposals.
        """
        token = f"{worker}:{uuid.uuid4().hex}"
        result = self.store.chain_claim(
            _checked(request_id), self._now(), worker, token, lease_ms, approvers
        )
        return token, _request(request_id, _raise_for(request_id, result, "claim"))

    def request_of_proposal(self, reference: str) -> ApprovalRequest | None:
        """The request that recorded proposal ``reference`` (None if none did, or it is gone)."""
        request_id = self.store.request_of(reference)
        if request_id is None:
            return None
        request = self.store.get(parse_request_id(request_id).number)
        return request if request is not None and request.id == request_id else None

    def lease_lost(self, request_id: str) -> ApprovalRequest | None:
        """Flag an executing request whose worker's lease has run out as needing reconciliation
        (what the sweeper does, for one request, at once); None while its lease still holds."""
        result = self.store.lease_lost(_checked(request_id), self._now())
        if result.status != "ok" or result.request is None:
            return None
        return _transition("lease lost", result.request, "sweeper")

    def sweep(self, limit: int = SWEEP_BATCH) -> tuple[list[str], list[str]]:
        """Expire up to ``limit`` due pending requests and flag up to ``limit`` executing ones whose
        worker lost its lease (a backlog drains over several sweeps).

        Returns (expired ids, ids now needing reconciliation).
        """
        now = self._now()
        # Candidates by the same clock the scripts use; each script re-checks atomically.
        seen = now if now is not None else self.store.server_time_ms()
        expired = [
            i
            for i in self.store.due_pending(seen, limit)
            if self.store.expire(i, now).status == "ok"
        ]
        lost = [
            i
            for i in self.store.lost_leases(seen, limit)
            if self.store.lease_lost(i, now).status == "ok"
        ]
        for request_id, event in [
            *((i, "expired") for i in expired),
            *((i, "lease lost") for i in lost),
        ]:
            logger.info(
                "request %s %s by sweeper",
                request_id,
                event,
                extra={"approval_id": request_id, "event": event, "actor": "sweeper"},
            )
        return expired, lost

    def get(self, request_id: str) -> ApprovalRequest:
        """The request ``request_id`` names: a whole id must be the request's own; a bare number
        reads whichever request now has it.

        Raises:
            RequestNotFoundError: nothing under that number.
            StaleRequestError: the number now belongs to another request.
        """
        wanted = parse_request_id(_checked(request_id))
        request = self.store.get(wanted.number)
        if request is None:
            raise RequestNotFoundError(f"There is no request {request_id}.")
        if wanted.tag is not None and request.id != str(wanted):
            raise StaleRequestError(
                f"{wanted} is not the request now numbered {wanted.number}.", request
            )
        return request

    def now_ms_for_display(self) -> int:
        """The clock the scripts decide expiry on, to show a pending request past its expiry as
        expired before a sweep has touched it."""
        now = self._now()
        return now if now is not None else self.store.server_time_ms()

    def pending(self, offset: int = 0, limit: int = 20) -> tuple[int, list[ApprovalRequest]]:
        """(how many requests wait for approval, a page of them, soonest to expire first):
        constant work whatever the number waiting."""
        count, ids = self.store.live_pending(self.now_ms_for_display(), offset, limit)
        return count, self.store.get_many(ids)

    def audit(self, start: str = "-", count: int | None = None) -> list[AuditEntry]:
        """Every request's transitions, oldest first, from stream id ``start``."""
        return self.store.audit(count, start)

    @staticmethod
    def history(request: ApprovalRequest) -> list[AuditEntry]:
        """One request's transitions, oldest first."""
        return history_of(request)
