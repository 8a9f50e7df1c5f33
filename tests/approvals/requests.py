"""The people, the policy and the requests the approval tests share."""

from __future__ import annotations

import itertools

from approvals.policy import Policy, Role
from approvals.service import NewRequest

__all__ = ["TTL_S", "USERS", "approval_policy", "fallback_request", "new_request"]

TTL_S = 600

USERS: dict[str, tuple[Role, ...]] = {
    "alice": (Role.OPERATOR,),
    "bob": (Role.OPERATOR, Role.APPROVER),
    "carol": (Role.APPROVER,),
    "erin": (Role.APPROVER,),
    "dave": (Role.VIEWER,),
}


def fallback_request(requester: str, digest: str, policy_key: str = "feed.fallback") -> NewRequest:
    """``/feed fallback 1 on 3`` as ``requester`` asks for it, with the calls digest given."""
    return NewRequest(
        command="/feed",
        text='fallback 1 on 3 "spike"',
        policy_key=policy_key,
        calls=[{"function": "price_feed::set_fallback", "args": [["u64", "1"], ["bool", True]]}],
        digest=digest,
        summary="Fallback on for asset 1",
        requester=requester,
        reason="price spike",
        channel="C-ops",
        thread=None,
        plan_time_s=1_800_000_000,
    )


def approval_policy(**overrides: object) -> Policy:
    """A policy of ``USERS`` whose requests live ``TTL_S``, with ``overrides``."""
    return Policy.model_validate({"users": USERS, "ttl_s": TTL_S, **overrides})


_DIGESTS = itertools.count(1)


def new_request(
    requester: str = "alice", policy_key: str = "feed.fallback", digest: str | None = None
) -> NewRequest:
    """A request for calls no other open request asks for (unless ``digest`` is given)."""
    return fallback_request(requester, digest or f"{next(_DIGESTS):064x}", policy_key)
