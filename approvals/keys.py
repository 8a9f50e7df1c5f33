"""Every Redis key of the approvals store, built in one place (arq style)."""

from __future__ import annotations

__all__ = [
    "AUDIT",
    "EXECUTING",
    "FINISHED",
    "OPEN_CALLS",
    "PENDING",
    "PROPOSALS",
    "SEQUENCE",
    "approvers_key",
    "legacy_submissions_key",
    "request_key",
]

PREFIX = "chatops"  # every key of the bot starts with it
SEQUENCE = f"{PREFIX}:approval:seq"  # the last request number taken (the number part of ids)
PENDING = f"{PREFIX}:approvals:pending"  # zset: id -> expires_ms (pending requests)
EXECUTING = f"{PREFIX}:approvals:executing"  # zset: id -> lease_expires_ms (claimed requests)
OPEN_CALLS = f"{PREFIX}:approvals:open"  # hash: calls digest -> id of the open request with them
FINISHED = f"{PREFIX}:approvals:finished"  # zset: id -> ms it reached a final state (retention)
AUDIT = f"{PREFIX}:audit"  # stream: every transition of every request (the approvals' journal)
# hash: a proposal's reference (an on-chain proposal number, opaque here) -> the request it carries
PROPOSALS = f"{PREFIX}:approvals:proposals"


def request_key(number: int | str) -> str:
    """Hash with the request's fields (its whole id, tag included, is the ``id`` field); keyed by
    number, which is unique while Redis keeps its data: a stale id finds the request that now has
    its number and is told apart by the tag."""
    return f"{PREFIX}:approval:{number}"


def approvers_key(number: int | str) -> str:
    """Set of the user ids who approved (so each person counts once)."""
    return f"{PREFIX}:approval:{number}:approvers"


def legacy_submissions_key(number: int | str) -> str:
    """Hash sequence number -> expires_s where earlier versions recorded a request's transactions
    (they are now fields of the request hash); read only, by reconciliation."""
    return f"{PREFIX}:approval:{number}:submissions"
