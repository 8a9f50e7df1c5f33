"""Every Redis key of the approvals store, built in one place (arq style)."""

from __future__ import annotations

__all__ = [
    "AUDIT",
    "EXECUTING",
    "PENDING",
    "SEQUENCE",
    "approvers_key",
    "audit_key",
    "request_key",
    "slack_event_key",
    "slack_message_key",
]

PREFIX = "chatops"
SEQUENCE = f"{PREFIX}:approval:seq"  # INCR -> the next human-friendly request id
PENDING = f"{PREFIX}:approvals:pending"  # zset: id -> expires_ms (pending requests)
EXECUTING = f"{PREFIX}:approvals:executing"  # zset: id -> lease_expires_ms (claimed requests)
AUDIT = f"{PREFIX}:audit"  # stream: every transition of every request


def request_key(request_id: str) -> str:
    """Hash with the request's fields."""
    return f"{PREFIX}:approval:{request_id}"


def approvers_key(request_id: str) -> str:
    """Set of the user ids who approved (so each person counts once)."""
    return f"{PREFIX}:approval:{request_id}:approvers"


def audit_key(request_id: str) -> str:
    """Stream of this request's transitions (the per-request view of ``AUDIT``)."""
    return f"{PREFIX}:audit:{request_id}"


def slack_message_key(request_id: str) -> str:
    """Hash {channel, ts}: the Slack message of a request, updated in place as its state changes."""
    return f"{PREFIX}:slack:approval:{request_id}"


def slack_event_key(event_id: str) -> str:
    """Marker of a Slack event or envelope already handled (retries and duplicates run nothing twice)."""
    return f"{PREFIX}:slack:seen:{event_id}"
