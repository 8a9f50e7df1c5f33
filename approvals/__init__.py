"""Two-person approval of privileged steps, on Redis. Knows nothing of Slack or the chain."""

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
from approvals.models import ApprovalRequest, AuditEntry, Status, Submission
from approvals.policy import Policy, PolicyError, Role
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore

__all__ = [
    "AlreadyClaimedError",
    "ApprovalError",
    "ApprovalExpiredError",
    "ApprovalRequest",
    "ApprovalService",
    "AuditEntry",
    "BreakGlassNotAllowedError",
    "DigestMismatchError",
    "InvalidStateError",
    "LeaseLostError",
    "NewRequest",
    "NotAnApproverError",
    "NotRequesterError",
    "Policy",
    "PolicyError",
    "RedisApprovalStore",
    "RequestNotFoundError",
    "Role",
    "SelfApprovalError",
    "Status",
    "Submission",
]
