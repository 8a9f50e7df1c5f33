"""A request as people read it, the same ``Reply`` in Slack and the console. Pure: it reads and
writes nothing (the journal is the audit stream the transitions write)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from approvals.ids import parse_request_id
from approvals.models import ApprovalRequest, AuditEntry, Status
from chatops.chain.calls import ChainCall, TypedArg
from chatops.flow.multisig.refs import refs_of
from commands.reply import Check, Field, Reply, Tone

__all__ = [
    "ON_CHAIN",
    "call_fields",
    "describe",
    "duplicate_reply",
    "history_text",
    "pending_reply",
    "shown_state",
    "stale_reply",
    "when",
    "when_s",
]


# ``Reply.data["approval"]`` of a request approved on chain (multisig mode): its Approve button
# shows how to approve with one's own key instead of approving.
ON_CHAIN: Final = "on-chain"


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_s(seconds: int) -> str:
    """A chain time to the second: when a transaction expires is a precise boundary."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def call_fields(request: ApprovalRequest) -> list[Field]:
    out = []
    for index, call in enumerate(request.calls, start=1):
        model = ChainCall(
            function=call["function"],
            args=tuple(TypedArg(type=t, value=v) for t, v in call["args"]),
        )
        out.append(Field(label=f"Call {index}", value=model.describe()))
    return out


def shown_state(request: ApprovalRequest, now_ms: int | None) -> str:
    """The state, with a pending request past its expiry shown as expired before a sweep has
    recorded it (nobody can approve it any more)."""
    if now_ms is not None and request.is_expired_at(now_ms):
        return str(Status.EXPIRED)
    return str(request.state)


def describe(
    request: ApprovalRequest,
    *,
    title: str | None = None,
    extra: Sequence[Field] = (),
    checks: tuple[Check, ...] = (),
    follow_ups: tuple[str, ...] = (),
    tone: Tone = Tone.INFO,
    ok: bool = True,
    now_ms: int | None = None,
    text: str = "",
) -> Reply:
    """The request's card: who asked, why, the exact calls and their digest, approvals, expiry and
    outcome. ``digest`` travels with it so an Approve button carries what the approver saw."""
    state = shown_state(request, now_ms)
    fields = [
        Field(label="Requested by", value=request.requester),
        Field(label="Reason", value=request.reason),
        Field(label="Command", value=f"{request.command} {request.text}".strip()),
        *call_fields(request),
        Field(label="Digest", value=request.digest[:16]),
    ]
    refs = refs_of(request)
    data: dict[str, Any] | None = None
    if refs:
        # Approved on chain, each proposal by its own deadline: the chain's votes and clock decide.
        fields.append(
            Field(
                label="Approvals",
                value="on chain, with the owners' own keys"
                + (f" (approved by {', '.join(request.approvers)})" if request.approvers else ""),
            )
        )
        fields.extend(
            Field(
                label=f"Proposal {ref.number}",
                value=f"hash {ref.payload_hash}; times out {when_s(ref.expires_s)} (chain time)",
            )
            for ref in refs
        )
        data = {
            "approval": ON_CHAIN,
            "proposals": [
                {"number": r.number, "payload_hash": r.payload_hash, "expires_s": r.expires_s}
                for r in refs
            ],
        }
    else:
        fields.append(
            Field(
                label="Approvals",
                value=f"{len(request.approvers)}/{request.needed}"
                + (f" ({', '.join(request.approvers)})" if request.approvers else ""),
            )
        )
        fields.append(Field(label="Expires", value=when(request.expires_ms)))
    if request.denied_by:
        fields.append(Field(label="Denied by", value=request.denied_by))
    if request.tx_hashes:
        fields.append(Field(label="Transactions", value=", ".join(request.tx_hashes)))
    if request.result:
        fields.append(Field(label="Result", value=request.result))
    if request.break_glass:
        fields.append(
            Field(label="Break-glass sign-off", value=request.retro_approved_by or "MISSING")
        )
    fields.extend(extra)
    body = f"State: {state}" + (f"\n{text}" if text else "")
    return Reply(
        title=title or f"Request {request.id}: {request.summary}",
        text=body,
        ok=ok,
        tone=tone,
        fields=tuple(fields),
        checks=checks,
        follow_ups=follow_ups,
        request_id=request.id,
        state=state,
        digest=request.digest,
        data=data,
    )


def history_text(entries: Sequence[AuditEntry]) -> str:
    return "\n".join(f"{when(e.at_ms)} {e.event} by {e.actor} -> {e.state}" for e in entries)


def pending_reply(
    count: int, requests: Sequence[ApprovalRequest], offset: int, *, now_ms: int
) -> Reply:
    """A page of the requests waiting for approval, and how many there are in all."""
    fields = tuple(
        Field(
            label=f"#{r.id} {r.command} {r.text}".strip(),
            value=f"by {r.requester}, expires {when(r.expires_ms)}: {r.reason}",
        )
        for r in requests
    )
    shown = f"{offset + 1}-{offset + len(requests)} of {count}" if requests else f"none of {count}"
    follow: tuple[str, ...] = ()
    if offset + len(requests) < count:
        page = offset // max(len(requests), 1) + 2
        follow = (f"More: /ops pending {page}",)
    return Reply(
        title=f"{count} request(s) waiting for approval",
        text=f"Showing {shown}, soonest to expire first." if count else "",
        fields=fields,
        follow_ups=follow,
        ephemeral=True,
    )


_DONE = {"approve": "approved", "deny": "denied", "cancel": "cancelled", "show": "shown"}


def stale_reply(typed: str, action: str, current: ApprovalRequest | None, now_ms: int) -> Reply:
    """Someone acted on an id that is not the request now under its number: nothing was done, and
    they see the request that has the number now, with its whole id to act on it knowingly."""
    wanted = parse_request_id(typed)
    done = _DONE.get(action, action + "ed")
    if wanted.tag is None:
        title = f"Nothing was {done}: give the whole id shown on the request"
        text = f"A bare number is not enough to {action}: it must be the request you saw." + (
            f" Request {wanted.number} is {current.id}." if current else ""
        )
    else:
        title = f"Nothing was {done}: this message is stale"
        text = (
            f"{typed} is not a request any more (the approvals store may have lost its data, or "
            "the message is old)."
            + (f" Request {wanted.number} is now {current.id}:" if current else "")
        )
    if current is None:
        return Reply.error(title, text)
    card = describe(current, now_ms=now_ms)
    follow = (
        (f"To {action} this one: /ops {action} {current.id}",)
        if current.state == Status.PENDING and not current.is_expired_at(now_ms)
        else ()
    )
    return card.model_copy(
        update={
            "title": title,
            "text": f"{text}\n{card.text}",
            "ok": False,
            "tone": Tone.ERROR,
            "ephemeral": True,
            "follow_ups": follow,
        }
    )


def duplicate_reply(existing: ApprovalRequest | None, existing_id: str, now_ms: int) -> Reply:
    """An identical request is still open: nothing new was requested; point to it."""
    title = f"Not requested: request {existing_id} asks for exactly these calls and is still open"
    follow = (
        f"Approve or deny it: /ops approve {existing_id}, /ops deny {existing_id} <reason>; "
        f"its requester can withdraw it with /ops cancel {existing_id}.",
    )
    if existing is None:
        return Reply.error(title, "", follow_ups=follow)
    card = describe(existing, now_ms=now_ms)
    return card.model_copy(
        update={
            "title": title,
            "ok": False,
            "tone": Tone.ERROR,
            "ephemeral": True,
            "follow_ups": follow,
        }
    )
