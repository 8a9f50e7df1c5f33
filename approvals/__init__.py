"""Two-person approval of privileged steps, on Redis. Knows nothing of Slack or the chain."""

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
from approvals.ids import RequestId, new_request_id, parse_request_id
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
    "DuplicateRequestError",
    "InvalidStateError",
    "LeaseLostError",
    "NewRequest",
    "NotAnApproverError",
    "NotReplicatedError",
    "NotRequesterError",
    "Policy",
    "PolicyError",
    "RedisApprovalStore",
    "RequestId",
    "RequestNotFoundError",
    "Role",
    "SelfApprovalError",
    "StaleRequestError",
    "Status",
    "Submission",
    "new_request_id",
    "parse_request_id",
]
