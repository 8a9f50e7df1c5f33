"""The policy file's word on who may do what: roles, privileged steps, approvers, TTLs. Pure rules, no I/O
beyond parsing the YAML text it is given.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BreakGlass",
    "Policy",
    "PolicyError",
    "Role",
    "RouteOverride",
    "Routing",
    "demo_policy",
    "load_policy",
]


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"


class PolicyError(Exception):
    """The policy file is missing or malformed; ``str`` says where."""


class BreakGlass(BaseModel):
    """One person may run these steps alone in an emergency, with a reason and a retro-approval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    steps: tuple[str, ...] = ("refund.stop",)


class RouteOverride(BaseModel):
    """The policy's word on one event type; unset fields keep the built-in default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Literal["info", "warning", "critical"] | None = None
    channel: str | None = None
    incident: bool | None = None
    muted: bool | None = None


class Routing(BaseModel):
    """Where chain events and alerts go: a default channel and overrides per event type.

    ``events`` is keyed by the struct name (``VrfDepositAlertEvent``) or its short form
    (``VrfDepositAlert``); ``alerts`` by alert name (``VrfDepositLow``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str | None = None
    events: dict[str, RouteOverride] = Field(default_factory=dict)
    alerts: dict[str, RouteOverride] = Field(default_factory=dict)


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
    incident_channel: str | None = None
    routing: Routing = Routing()

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


def load_policy(path: Path) -> Policy:
    """Parse a policy YAML file.

    Raises:
        PolicyError: unreadable file, bad YAML or a field that does not validate (named).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from exc
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source} is not valid YAML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{source}: {where}: {first['msg']}") from None


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
