"""Errors of the two-person rule; each is one plain sentence an operator can act on.

ApprovalError
 ├── RequestNotFoundError     no such request id
 ├── StaleRequestError        the id names a request that is no longer the one under its number
 ├── DuplicateRequestError    an identical request (same calls) is still open
 ├── InvalidStateError        the request is not in a state that allows this (final, executing, ...)
 ├── SelfApprovalError        the requester tried to approve (or deny) their own request
 ├── NotAnApproverError       the person is not in the approver group, or is a guest/bot
 ├── ApprovalExpiredError     the request expired before this action
 ├── DigestMismatchError      the calls differ from what was requested (changed parameters)
 ├── NotRequesterError        only the requester may cancel
 ├── AlreadyClaimedError      another worker is executing (or executed) the request
 ├── LeaseLostError           this worker's execution lease is no longer valid
 ├── BreakGlassNotAllowedError break-glass is off, or not allowed for this step
 ├── NotReplicatedError       it happened on the primary, but no replica confirmed it in time
 └── StoreUnavailableError    Redis cannot be reached (or did not answer): fail closed
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from approvals.models import ApprovalRequest

__all__ = [
    "AlreadyClaimedError",
    "ApprovalError",
    "ApprovalExpiredError",
    "BreakGlassNotAllowedError",
    "DigestMismatchError",
    "DuplicateRequestError",
    "InvalidStateError",
    "LeaseLostError",
    "NotAnApproverError",
    "NotReplicatedError",
    "NotRequesterError",
    "RequestNotFoundError",
    "SelfApprovalError",
    "StaleRequestError",
    "StoreUnavailableError",
]


class ApprovalError(Exception):
    """Root of the approval errors. ``request`` is the request as it stands now, when the store
    said (so whoever acted can be shown what they acted on)."""

    def __init__(self, message: str, request: ApprovalRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


class RequestNotFoundError(ApprovalError):
    pass


class StaleRequestError(ApprovalError):
    """The id someone acted on is not the id of the request now under its number (Redis lost its
    data, or they typed only the number): nothing was done. ``request`` is the one now under that
    number, so they can see what they would act on."""


class DuplicateRequestError(ApprovalError):
    """A request with the same calls is still open (``existing`` is its id): nothing was created."""

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


class InvalidStateError(ApprovalError):
    def __init__(self, message: str, state: str, request: ApprovalRequest | None = None) -> None:
        super().__init__(message, request)
        self.state = state


class SelfApprovalError(ApprovalError):
    pass


class NotAnApproverError(ApprovalError):
    pass


class ApprovalExpiredError(ApprovalError):
    pass


class DigestMismatchError(ApprovalError):
    pass


class NotRequesterError(ApprovalError):
    pass


class AlreadyClaimedError(ApprovalError):
    pass


class LeaseLostError(ApprovalError):
    pass


class BreakGlassNotAllowedError(ApprovalError):
    pass


class NotReplicatedError(ApprovalError):
    """The transition ran on the Redis primary, but no replica confirmed it within the timeout: if
    the primary fails now, the replica that takes over may not have it. The person is told what
    was recorded and to check before acting again; nothing further runs on it here (an approval
    that claimed the request does not execute: the sweeper flags it for reconciliation if the
    claim survived). ``request`` is the request as the primary left it."""


class StoreUnavailableError(ApprovalError):
    """Redis could not be reached: nothing is approved, claimed or sent until it is back.

    Its sentence is the one people see wherever Redis fails them (the store, the Slack edge)."""

    def __init__(
        self,
        message: str = (
            "The approvals store (Redis) is unavailable, so nothing was recorded or sent; "
            "try again in a moment."
        ),
    ) -> None:
        super().__init__(message)
