"""The effective policy in plain text (``chatops policy check``): who may run, request and approve what."""

from __future__ import annotations

from approvals.policy import Policy, Role
from chatops.notify.router import DEFAULT_CHANNEL
from chatops.policy_file import PolicyFile
from commands.registry import Registry, Step

__all__ = ["describe_policy"]


def _paths(steps: list[Step]) -> str:
    return ", ".join(s.path for s in steps) or "none"


def _may(roles: set[Role], registry: Registry, policy: Policy) -> str:
    """What holders of ``roles`` may do, in one line."""
    allowed = [s for s in registry if s.role in roles]
    if not allowed:
        return "nothing"
    asks = [s for s in allowed if policy.is_privileged(s.policy_key, declared=s.privileged)]
    parts = [f"runs {len(allowed) - len(asks)} of {len(registry)} steps"]
    if asks:
        parts.append(f"requests the {len(asks)} privileged ones")
    approves = [s for s in allowed if s.role is Role.APPROVER]
    if approves:
        parts.append(f"approves others' requests ({_paths(approves)})")
    return "; ".join(parts)


def _roles(roles: set[Role]) -> str:
    return ", ".join(r for r in Role if r in roles)


def _direct(checked: PolicyFile) -> str:
    """The direct messages the Slack bot sends about requests, in one line."""
    direct = checked.direct_messages
    parts = []
    if direct.approvers:
        parts.append("each eligible approver gets a new request's card")
    if direct.requester:
        parts.append("the requester hears when it is approved, denied, expired or has run")
    return "; ".join(parts) or "off"


def describe_policy(checked: PolicyFile, registry: Registry, *, source: str) -> str:
    """The policy of ``source`` as the bot will apply it, with the catalog's steps resolved."""
    policy = checked.policy
    lines = [f"{source}: no problems. The effective policy:", "", "People"]
    width = max((len(u) for u in [*policy.users, *policy.groups]), default=0)
    for user in sorted(policy.users):
        roles = policy.roles_of(user)
        lines.append(
            f"  {user:<{width}}  {_roles(roles) or 'no role'}: {_may(roles, registry, policy)}"
        )
    if not policy.users:
        lines.append("  nobody by name")
    lines.append("User groups (their members get the role)")
    for group in sorted(policy.groups):
        roles = policy.roles_of("", (group,))
        lines.append(f"  {group:<{width}}  {_roles(roles)}: {_may(roles, registry, policy)}")
    if not policy.groups:
        lines.append("  none")
    approvers = [u for u in policy.users if policy.may_approve(u)] + [
        g for g, r in policy.groups.items() if r is Role.APPROVER
    ]
    lines += ["", "Steps by the role they need"]
    for role in Role:
        steps = [s for s in registry if s.role is role]
        lines.append(f"  {role} ({len(steps)}): {_paths(steps)}")
    privileged = [s for s in registry if policy.is_privileged(s.policy_key, declared=s.privileged)]
    added = [s for s in privileged if not s.privileged]
    lines += [
        "",
        f"Privileged steps ({len(privileged)}; a second person must approve): {_paths(privileged)}",
        f"  of which the policy added: {_paths(added)}",
        f"Approvals needed: {policy.approvals_needed}, from approvers other than the requester"
        + ("" if approvers else " (no one may approve: every privileged step is blocked)"),
        f"Request lifetime: {policy.ttl_s} s",
    ]
    glass = policy.break_glass
    if glass.enabled:
        capable = [s for s in registry if s.policy_key in glass.steps]
        lines.append(
            f"Break-glass: on, for {_paths(capable)} (one operator alone, signed off later)"
        )
    else:
        lines.append("Break-glass: off")
    channels = ", ".join(policy.privileged_channels) or "any channel and the console"
    routing = checked.routing
    lines += [
        f"Privileged steps may be requested in: {channels}",
        "Incident threads in: "
        + (checked.incident_channel or "the channel of the event or alert that opens them"),
        f"Events and alerts in: {routing.channel or DEFAULT_CHANNEL}"
        f" ({len(routing.events)} event and {len(routing.alerts)} alert override(s))",
        "Direct messages: " + _direct(checked),
    ]
    multisig = checked.multisig
    if multisig is None:
        lines.append("Multisig mode: off (approvals are recorded here and the bot's key signs)")
        return "\n".join(lines)
    lines += [
        f"Multisig mode: on. Every call of the package account is an on-chain proposal that needs "
        f"{multisig.threshold} approvals on chain: the bot's (as proposer and executor) and "
        f"{multisig.threshold - 1} people's, each signed with their own key; approvals recorded "
        "here execute nothing. Checked against the chain's owners when the bot starts.",
        f"  proposals longer than {multisig.hash_only_from_bytes} bytes are made by hash only",
        "  owner addresses:",
        *(f"    {person:<{width}}  {address}" for person, address in multisig.addresses.items()),
    ]
    return "\n".join(lines)
