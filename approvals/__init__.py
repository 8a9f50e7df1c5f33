"""Two-person approval of privileged steps, on Redis. Knows nothing of Slack or the chain.

Each refusal is a subclass of ``ApprovalError`` in ``approvals.errors``."""

from approvals import errors
from approvals.errors import ApprovalError
from approvals.ids import RequestId, new_request_id, parse_request_id
from approvals.models import ApprovalRequest, AuditEntry, Status, Submission
from approvals.policy import Policy, PolicyError, Role
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore

__all__ = [
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalService",
    "AuditEntry",
    "NewRequest",
    "Policy",
    "PolicyError",
    "RedisApprovalStore",
    "RequestId",
    "Role",
    "Status",
    "Submission",
    "errors",
    "new_request_id",
    "parse_request_id",
]
