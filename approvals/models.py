"""The approval request as stored and shown: its fields, states and history."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import from_json

__all__ = ["FINAL_STATES", "ApprovalRequest", "AuditEntry", "Status", "Submission", "history_of"]


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
_SUBMISSION = "sub:"  # request hash fields sub:<sequence number> = expires_s


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


class ApprovalRequest(BaseModel):
    """A privileged step waiting for (or past) its second person.

    ``id`` is the whole id (``12-k7mq3``): the number people say and a tag no other request gets.
    ``calls`` are the exact chain calls in canonical form and ``digest`` their sha256; what executes
    must hash to the same digest. ``plan_time_s`` is the chain time the calls were planned at, so
    the execution re-plans on fresh state at that time and compares digests. ``proposals`` are the
    references of the calls as proposals of an outside approver (an on-chain multisig account),
    recorded as given and opaque here: such a request runs on that approver's word, not on the
    approvals recorded here.
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
    lease_expires_ms: int | None = None
    sender: str | None = None
    submit_seq: int | None = None
    submissions: tuple[Submission, ...] = ()
    tx_hashes: tuple[str, ...] = ()
    result: str | None = None
    proposals: tuple[str, ...] = ()
    history: str = Field(default="", repr=False)

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> ApprovalRequest:
        """The request from its Redis hash (decoded).

        Numbers and the state are handed to pydantic as the strings Redis stores and converted
        while validating, so every read-back is validated. A malformed hash fails loudly
        (KeyError, ValidationError).
        """
        get = data.get
        tx_hashes = get("tx_hashes")
        approvers = get("approvers")
        proposals = get("proposals")
        submissions = sorted(
            (
                Submission(sequence_number=int(name[len(_SUBMISSION) :]), expires_s=int(value))
                for name, value in data.items()
                if name.startswith(_SUBMISSION)
            ),
            key=lambda s: s.sequence_number,
        )
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
                "approvers": tuple(a for a in approvers.split(",") if a) if approvers else (),
                "denied_by": get("denied_by") or None,
                "break_glass": get("break_glass") == "1",
                "retro_approved_by": get("retro_approved_by") or None,
                "lease_owner": get("lease_owner") or None,
                "lease_expires_ms": get("lease_expires_ms") or None,
                "sender": get("sender") or None,
                "submit_seq": get("submit_seq") or None,
                "submissions": tuple(submissions),
                "tx_hashes": tuple(h for h in tx_hashes.split(",") if h) if tx_hashes else (),
                "result": get("result") or None,
                "proposals": tuple(p for p in proposals.split(",") if p) if proposals else (),
                "history": get("history", ""),
            }
        )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def is_expired_at(self, now_ms: int) -> bool:
        """Pending past its expiry: expired, though no script has touched it since."""
        return self.state == Status.PENDING and now_ms >= self.expires_ms


class AuditEntry(BaseModel):
    """One transition: who did what to which request, when, with which digest.

    Entries of the audit stream also carry what the ops journal shows of the request (its command,
    requester, approvers, transactions), as they were at that transition; ``stream_id`` is empty
    for entries read from a request's own history.
    """

    model_config = ConfigDict(frozen=True)

    stream_id: str
    request_id: str
    event: str
    actor: str
    state: str
    digest: str
    at_ms: int
    detail: str = ""
    command: str = ""
    text: str = ""
    requester: str = ""
    approvers: tuple[str, ...] = ()
    tx_hashes: tuple[str, ...] = ()

    @classmethod
    def from_stream(cls, stream_id: str, data: dict[str, str]) -> AuditEntry:
        """An entry of the audit stream; its time is the stream id's unless a test clock set it."""
        at_ms = data.get("at_ms") or stream_id.partition("-")[0]
        return cls(
            stream_id=stream_id,
            request_id=data.get("request_id", ""),
            event=data.get("event", ""),
            actor=data.get("actor", ""),
            state=data.get("state", ""),
            digest=data.get("digest", ""),
            at_ms=int(at_ms or 0),
            detail=data.get("detail", ""),
            command=data.get("command", ""),
            text=data.get("text", ""),
            requester=data.get("requester", ""),
            approvers=tuple(a for a in data.get("approvers", "").split(",") if a),
            tx_hashes=tuple(h for h in data.get("tx_hashes", "").split(",") if h),
        )


def history_of(request: ApprovalRequest) -> list[AuditEntry]:
    """The request's transitions, oldest first, from the history its scripts keep in its hash."""
    out: list[AuditEntry] = []
    for line in request.history.splitlines():
        at_ms, event, actor, state, detail = from_json(line)
        out.append(
            AuditEntry(
                stream_id="",
                request_id=request.id,
                event=str(event),
                actor=str(actor),
                state=str(state),
                digest=request.digest,
                at_ms=int(at_ms),
                detail=str(detail),
            )
        )
    return out
