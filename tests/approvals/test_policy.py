"""The pure rules of ``Policy``: roles by user and group, privilege only ever added, operations channels."""

from __future__ import annotations

import pytest

from approvals.policy import Policy, Role, demo_policy


@pytest.mark.parametrize(
    ("user", "groups", "allowed"),
    [
        ("alice", (), {Role.VIEWER, Role.OPERATOR}),
        ("bob", (), {Role.VIEWER, Role.OPERATOR, Role.APPROVER}),
        ("carol", (), {Role.VIEWER, Role.APPROVER}),
        ("dave", (), {Role.VIEWER}),
        ("mallory", (), set()),
        ("mallory", ("S0APPROVERS",), {Role.VIEWER, Role.APPROVER}),
    ],
)
def test_a_step_runs_only_for_holders_of_the_role_it_declares(
    user: str, groups: tuple[str, ...], allowed: set[Role]
) -> None:
    """Operators and approvers also view; a viewer holds nothing else; a group gives its role."""
    policy = demo_policy().model_copy(update={"groups": {"S0APPROVERS": Role.APPROVER}})
    assert {role for role in Role if policy.may_run(user, role, groups)} == allowed


def test_the_policy_adds_privilege_and_never_removes_it() -> None:
    """A step the catalog declares privileged stays so whatever the policy says; one it lists
    becomes privileged."""
    policy = Policy(privileged=("lottery.create",))
    assert policy.is_privileged("feed.fallback", declared=True)
    assert policy.is_privileged("lottery.create", declared=False)
    assert not policy.is_privileged("lottery.activate", declared=False)
    assert "unprivileged" not in Policy.model_fields


def test_privileged_requests_are_taken_anywhere_unless_channels_are_listed() -> None:
    """No ``privileged_channels``: every channel; otherwise only the listed ones (the console by
    its name ``console``)."""
    assert Policy().may_request_in("C0ANY")
    listed = Policy(privileged_channels=("C0OPS", "console"))
    assert listed.may_request_in("C0OPS")
    assert listed.may_request_in("console")
    assert not listed.may_request_in("C0RANDOM")
