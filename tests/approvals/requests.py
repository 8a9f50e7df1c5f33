"""The people and the request the approval tests share: a policy's users and a fallback request."""

from __future__ import annotations

from approvals.policy import Role
from approvals.service import NewRequest

__all__ = ["USERS", "fallback_request"]

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
