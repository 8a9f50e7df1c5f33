"""The approval request as stored and shown: its fields, states and history."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import from_json

__all__ = ["FINAL_STATES", "ApprovalRequest", "AuditEntry", "Status", "Submission"]


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
    def from_fields(cls, data: dict[str, str], approvers: Iterable[str]) -> ApprovalRequest:
        """The request from its Redis hash (decoded) and its approvers set.

        Numbers and the state are handed to pydantic as the strings Redis stores and converted
        while validating: faster than converting them in Python first (and than ``model_construct``,
        which skips validation but costs more on this model), so every read-back is still
        validated. A malformed hash fails loudly (KeyError, ValidationError).
        """
        get = data.get
        submit_seq = get("submit_seq")
        tx_hashes = get("tx_hashes")
        return cls.model_validate(
            {
                "id": data["id"],
                "command": data["command"],
                "text": data["text"],
                # pydantic-core's JSON parser takes a third of json.loads's time here
                "calls": from_json(data["calls"]),
                "digest": data["digest"],
                "summary": get("summary", ""),
                "requester": data["requester"],
                "reason": data["reason"],
                "channel": data["channel"],
                "thread": get("thread") or None,
                "created_ms": data["created_ms"],
                "expires_ms": data["expires_ms"],
                "plan_time_s": data["plan_time_s"],
                "needed": data["needed"],
                "state": data["state"],
                "approvers": tuple(sorted(approvers)),
                "denied_by": get("denied_by") or None,
                "break_glass": get("break_glass") == "1",
                "retro_approved_by": get("retro_approved_by") or None,
                "lease_owner": get("lease_owner") or None,
                "sender": get("sender") or None,
                "submit_seq": submit_seq or None,
                "tx_hashes": tuple(h for h in tx_hashes.split(",") if h) if tx_hashes else (),
                "result": get("result") or None,
            }
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


class Submission(BaseModel):
    """One transaction of a request as its worker recorded it, just before sending it.

    Both numbers are the caller's and opaque here (approvals knows no chain): the sequence number
    the transaction uses and when it expires, in seconds on the clock that decides its expiry. They
    are recorded because whoever later settles a request whose worker vanished must tell a
    transaction that may still land from one that never can, and only these two numbers do.
    """

    model_config = ConfigDict(frozen=True)

    sequence_number: int
    expires_s: int
