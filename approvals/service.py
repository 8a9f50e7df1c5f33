"""request / approve / deny / cancel / claim / complete: policy checks, then one atomic script each.

Eligibility (approver group, not a guest or bot) is decided here just before the script runs; the
scripts keep the invariants no caller can break (never the requester, digest bound, once per
person, only while pending and unexpired, one claimant).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from approvals.errors import (
    AlreadyClaimedError,
    ApprovalError,
    ApprovalExpiredError,
    BreakGlassNotAllowedError,
    DigestMismatchError,
    InvalidStateError,
    LeaseLostError,
    NotAnApproverError,
    NotRequesterError,
    RequestNotFoundError,
    SelfApprovalError,
)
from approvals.models import ApprovalRequest, AuditEntry, Submission
from approvals.policy import Policy
from approvals.store import RedisApprovalStore, ScriptResult

__all__ = ["ApprovalService", "NewRequest"]

DEFAULT_LEASE_MS = 120_000


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


def _raise_for(request_id: str, result: ScriptResult, action: str) -> None:
    status, state, _count = result
    if status == "ok":
        return
    if status == "not_found":
        raise RequestNotFoundError(f"There is no request {request_id}.")
    if status == "self":
        raise SelfApprovalError(
            f"You asked for request {request_id}: a second person must {action} it."
        )
    if status == "digest":
        raise DigestMismatchError(
            f"Request {request_id} does not match what you saw (its calls changed); nothing was {action}d."
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
    raise InvalidStateError(f"Request {request_id} is {state}; it cannot be {action}d now.", state)


class ApprovalService:
    """The two-person rule over a ``RedisApprovalStore``.

    Expiry and leases are decided on the Redis server's clock (``TIME`` inside the scripts), so
    replicas whose own clocks disagree still agree on when a request expires or a lease runs out.
    ``now_ms`` overrides that clock explicitly (tests); production passes none.
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
        # The id comes from the sequence inside the create script (one round trip, see create_next).
        request_id, result, request = self.store.create_next(
            fields,
            self._now(),
            new.requester,
            break_glass=break_glass,
            ttl_ms=self.policy.ttl_s * 1000,
        )
        _raise_for(request_id, result, "create")
        return request or self.get(request_id)

    def _eligible(self, user: str, groups: tuple[str, ...], is_eligible: bool) -> None:
        if not is_eligible or not self.policy.may_approve(user, groups):
            raise NotAnApproverError(
                f"{user} is not an eligible approver (approver group, no guests or bots)."
            )

    def approve(
        self,
        request_id: str,
        user: str,
        digest: str,
        *,
        groups: tuple[str, ...] = (),
        is_eligible: bool = True,
    ) -> tuple[ApprovalRequest, bool]:
        """Record ``user``'s approval; returns the request and whether this click counted.

        Raises:
            NotAnApproverError, SelfApprovalError, DigestMismatchError, ApprovalExpiredError,
            InvalidStateError, RequestNotFoundError.
        """
        self._eligible(user, groups, is_eligible)
        result, request = self.store.approve_and_get(request_id, self._now(), user, digest)
        if result[0] == "already":
            return request or self.get(request_id), False
        _raise_for(request_id, result, "approve")
        return request or self.get(request_id), True

    def deny(
        self,
        request_id: str,
        user: str,
        reason: str,
        *,
        groups: tuple[str, ...] = (),
        is_eligible: bool = True,
    ) -> ApprovalRequest:
        self._eligible(user, groups, is_eligible)
        _raise_for(request_id, self.store.deny(request_id, self._now(), user, reason), "deny")
        return self.get(request_id)

    def cancel(self, request_id: str, user: str) -> ApprovalRequest:
        _raise_for(request_id, self.store.cancel(request_id, self._now(), user), "cancel")
        return self.get(request_id)

    def claim(self, request_id: str, worker: str, lease_ms: int = DEFAULT_LEASE_MS) -> str:
        """Take the approved request for execution; returns the lease token. Exactly one caller wins.

        Raises:
            AlreadyClaimedError: someone else claimed it (or it is not approved).
        """
        token = f"{worker}:{uuid.uuid4().hex}"
        _raise_for(
            request_id,
            self.store.claim(request_id, self._now(), worker, token, lease_ms),
            "claim",
        )
        return token

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

    def submissions(self, request_id: str) -> list[Submission]:
        """Every submission recorded for the request (``submitting``), by sequence number."""
        return self.store.submissions(request_id)

    def complete(
        self, request_id: str, token: str, *, ok: bool, result: str, tx_hashes: list[str]
    ) -> ApprovalRequest:
        outcome = "succeeded" if ok else "failed"
        _raise_for(
            request_id,
            self.store.complete(request_id, self._now(), token, outcome, result, tx_hashes),
            "complete",
        )
        return self.get(request_id)

    def resolve(
        self, request_id: str, actor: str, *, ok: bool, result: str, tx_hashes: list[str]
    ) -> ApprovalRequest:
        outcome = "succeeded" if ok else "failed"
        _raise_for(
            request_id,
            self.store.resolve(request_id, self._now(), actor, outcome, result, tx_hashes),
            "resolve",
        )
        return self.get(request_id)

    def sweep(self) -> tuple[list[str], list[str]]:
        """Expire due pending requests and flag executing ones whose worker lost its lease.

        Returns (expired ids, ids now needing reconciliation).
        """
        now = self._now()
        # Candidates by the same clock the scripts use; each script re-checks atomically.
        seen = now if now is not None else self.store.server_time_ms()
        expired = [i for i in self.store.due_pending(seen) if self.store.expire(i, now)[0] == "ok"]
        lost = [i for i in self.store.lost_leases(seen) if self.store.lease_lost(i, now)[0] == "ok"]
        return expired, lost

    def get(self, request_id: str) -> ApprovalRequest:
        request = self.store.get(request_id)
        if request is None:
            raise RequestNotFoundError(f"There is no request {request_id}.")
        return request

    def pending(self) -> list[ApprovalRequest]:
        out = []
        for request_id in self.store.pending_ids():
            request = self.store.get(request_id)
            if request is not None:
                out.append(request)
        return out

    def audit(self, request_id: str | None = None) -> list[AuditEntry]:
        return self.store.audit(request_id)
