"""The policy's word on who may do what: roles, privileged steps, approvers, TTLs, break-glass. Pure rules:
the file is read and checked against the catalog in ``chatops.policy_file``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BreakGlass", "Policy", "PolicyError", "Role", "demo_policy"]


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"


class PolicyError(Exception):
    """The policy file is missing or malformed; ``str`` says where, one line per problem."""


class BreakGlass(BaseModel):
    """One person may run these steps alone in an emergency, with a reason and a retro-approval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    steps: tuple[str, ...] = ("refund.stop",)


class Policy(BaseModel):
    """Roles per user, approver groups, which steps need a second person, and how long a request lives.

    ``privileged`` adds policy keys (``lottery.create``) to the steps the catalog already marks
    privileged; nothing removes one. ``privileged_channels``, when set, are the only channels where a
    privileged step may be requested (the console's channel is ``console``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: dict[str, tuple[Role, ...]] = Field(default_factory=dict)
    groups: dict[str, Role] = Field(default_factory=dict)
    privileged: tuple[str, ...] = ()
    approvals_needed: int = Field(default=1, ge=1, le=5)
    ttl_s: int = Field(default=900, ge=60, le=86_400)
    break_glass: BreakGlass = BreakGlass()
    privileged_channels: tuple[str, ...] = ()

    def roles_of(self, user: str, groups: tuple[str, ...] = ()) -> set[Role]:
        """Explicit roles plus the roles of the user groups the user belongs to."""
        roles = set(self.users.get(user, ()))
        roles.update(self.groups[g] for g in groups if g in self.groups)
        if Role.OPERATOR in roles or Role.APPROVER in roles:
            roles.add(Role.VIEWER)
        return roles

    def is_privileged(self, policy_key: str, *, declared: bool) -> bool:
        """The catalog's word (``declared``) can only be strengthened, never waived."""
        return declared or policy_key in self.privileged

    def may_run(self, user: str, role: Role, groups: tuple[str, ...] = ()) -> bool:
        """Whether ``user`` holds the role a step declares (operators and approvers also view)."""
        return role in self.roles_of(user, groups)

    def may_approve(self, user: str, groups: tuple[str, ...] = ()) -> bool:
        return Role.APPROVER in self.roles_of(user, groups)

    def may_request_in(self, channel: str) -> bool:
        """Whether a privileged step may be requested from ``channel`` (anywhere when none are set)."""
        return not self.privileged_channels or channel in self.privileged_channels


def demo_policy() -> Policy:
    """The embedded demo's people: alice operates, bob and carol approve, dave only reads."""
    return Policy(
        users={
            "alice": (Role.OPERATOR,),
            "bob": (Role.OPERATOR, Role.APPROVER),
            "carol": (Role.APPROVER,),
            "dave": (Role.VIEWER,),
        }
    )
