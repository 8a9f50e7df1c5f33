"""The approval request as stored and shown: its fields, states and history."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["FINAL_STATES", "ApprovalRequest", "AuditEntry", "Status"]


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NEEDS_RECONCILIATION = "needs-reconciliation"


FINAL_STATES = frozenset(
    {Status.SUCCEEDED, Status.FAILED, Status.DENIED, Status.CANCELLED, Status.EXPIRED}
)


class ApprovalRequest(BaseModel):
    """A privileged step waiting for (or past) its second person.

    ``calls`` are the exact chain calls in canonical form and ``digest`` their sha256; what executes
    must hash to the same digest. ``plan_time_s`` is the chain time the calls were planned at, so
    the execution re-plans on fresh state at that time and compares digests.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    command: str
    text: str
    calls: list[dict[str, Any]]
    digest: str
    summary: str
    requester: str
    reason: str
    channel: str
    thread: str | None
    created_ms: int
    expires_ms: int
    plan_time_s: int
    needed: int
    state: Status
    approvers: tuple[str, ...] = ()
    denied_by: str | None = None
    break_glass: bool = False
    retro_approved_by: str | None = None
    lease_owner: str | None = None
    sender: str | None = None
    submit_seq: int | None = None
    tx_hashes: tuple[str, ...] = ()
    result: str | None = None

    @classmethod
    def from_redis(cls, fields: dict[bytes, bytes], approvers: set[bytes]) -> ApprovalRequest:
        data = {k.decode(): v.decode() for k, v in fields.items()}
        return cls(
            id=data["id"],
            command=data["command"],
            text=data["text"],
            calls=json.loads(data["calls"]),
            digest=data["digest"],
            summary=data.get("summary", ""),
            requester=data["requester"],
            reason=data["reason"],
            channel=data["channel"],
            thread=data.get("thread") or None,
            created_ms=int(data["created_ms"]),
            expires_ms=int(data["expires_ms"]),
            plan_time_s=int(data["plan_time_s"]),
            needed=int(data["needed"]),
            state=Status(data["state"]),
            approvers=tuple(sorted(a.decode() for a in approvers)),
            denied_by=data.get("denied_by") or None,
            break_glass=data.get("break_glass") == "1",
            retro_approved_by=data.get("retro_approved_by") or None,
            lease_owner=data.get("lease_owner") or None,
            sender=data.get("sender") or None,
            submit_seq=int(data["submit_seq"]) if data.get("submit_seq") else None,
            tx_hashes=tuple(h for h in data.get("tx_hashes", "").split(",") if h),
            result=data.get("result") or None,
        )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class AuditEntry(BaseModel):
    """One transition: who did what to which request, when, with which digest."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    request_id: str
    event: str
    actor: str
    state: str
    digest: str
    at_ms: int
    detail: str = ""
