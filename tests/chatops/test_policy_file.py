"""The policy file: each way it could quietly weaken the rules is an error at start, all of them at
once, one line each; ``chatops policy check`` prints the effective policy or those lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from approvals.policy import Role
from chatops.policy_file import (
    DirectMessages,
    PolicyFileError,
    load_policy_file,
    parse_policy_file,
)
from chatops.policy_report import describe_policy
from commands.registry import build_registry
from tests.conftest import REPO_ROOT

REGISTRY = build_registry()
EXAMPLE = REPO_ROOT / "examples" / "policy.yml"
TIMEOUT_S = 60


def problems_of(text: str) -> list[str]:
    """The problem lines of policy ``text`` (named p.yml); fails if it loads."""
    with pytest.raises(PolicyFileError) as caught:
        parse_policy_file(text, REGISTRY, source="p.yml")
    return list(caught.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "p.yml: the file is empty", id="empty"),
        pytest.param("# only a comment\n", "p.yml: the file is empty", id="only-comments"),
        pytest.param("- alice\n", "p.yml: the file must be a mapping", id="not-a-mapping"),
        pytest.param("users: [\n", "p.yml:2: not valid YAML", id="bad-yaml"),
        pytest.param(
            "users:\n  U0BOB: [operator, approver]\n  U0BOB: [viewer]\n",
            "p.yml:3: users.U0BOB: repeated (first on line 2)",
            id="repeated-user",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nttl_s: 600\nttl_s: 60\n",
            "p.yml:3: ttl_s: repeated (first on line 2)",
            id="repeated-top-level-key",
        ),
        pytest.param(
            "users: {U0A: [operator]}\naprovals_needed: 2\n",
            "p.yml:2: aprovals_needed: unknown key; did you mean approvals_needed?",
            id="unknown-key",
        ),
        pytest.param(
            "users: {U0A: [operatr]}\n",
            "p.yml:1: users.U0A.0: Input should be 'viewer', 'operator' or 'approver'",
            id="unknown-role",
        ),
        pytest.param(
            "users:\n  U0A: []\n",
            "p.yml:2: users.U0A: no roles; give at least viewer, or remove the user",
            id="user-without-roles",
        ),
        pytest.param(
            "users: {U0A: [operator]}\ngroups:\n  approvers: approver\n",
            "p.yml:3: groups.approvers: 'approvers' is not a Slack user group id",
            id="group-name",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nprivileged: [feed.updte]\n",
            "p.yml:2: privileged.0: no step is named 'feed.updte'; did you mean feed.update?",
            id="step-typo",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nprivileged: [/lottery create]\n",
            "did you mean lottery.create?",
            id="step-as-typed-in-slack",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nprivileged: [incident.resolve]\n",
            "privileged.0: incident.resolve sends no transaction",
            id="privileged-write-step",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nunprivileged:\n  - feed.fallback\n",
            "p.yml:3: unprivileged.0: feed.fallback is privileged in the catalog; the policy "
            "cannot waive its two-person rule",
            id="waive-a-catalog-privileged-step",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nunprivileged: [lottery.activate]\n",
            "unprivileged.0: lottery.activate needs no second person anyway",
            id="waive-nothing",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nprivileged: [lottery.create]\n"
            "unprivileged: [lottery.create]\n",
            "unprivileged.0: lottery.create is also in privileged",
            id="privileged-and-unprivileged",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nbreak_glass:\n  enabled: true\n  steps: [feed.update]\n",
            "p.yml:4: break_glass.steps.0: feed.update cannot break glass: only the steps the "
            "catalog marks break-glass capable can (refund.stop)",
            id="break-glass-for-a-price-feed",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nbreak_glass: {enabled: true, steps: []}\n",
            "break_glass.steps: break-glass is enabled for no step",
            id="break-glass-for-nothing",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nprivileged_channels: ['#ops']\n",
            "p.yml:2: privileged_channels.0: '#ops' is not a Slack channel id: use the channel's id",
            id="privileged-channel-name",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nincident_channel: ops\n",
            "p.yml:2: incident_channel: 'ops' is not a Slack channel id",
            id="incident-channel-name",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nrouting:\n  channel: lottery-ops\n",
            "p.yml:3: routing.channel: 'lottery-ops' is not a Slack channel id",
            id="routing-channel-name",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nrouting:\n  alerts:\n    VrfDepositLow: {channel: '#pager'}\n",
            "p.yml:4: routing.alerts.VrfDepositLow.channel: '#pager' is not a Slack channel id",
            id="route-channel-name",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nrouting:\n  events:\n    VrfFulfiled: {muted: true}\n",
            "p.yml:4: routing.events.VrfFulfiled: no event type is named 'VrfFulfiled'; "
            "did you mean VrfFulfilled?",
            id="unknown-event",
        ),
        pytest.param(
            "users: {U0A: [operator]}\nrouting:\n  alerts:\n    VrfDepositLo: {muted: true}\n",
            "did you mean VrfDepositLow?",
            id="unknown-alert",
        ),
        pytest.param(
            "users: {U0A: [operator, approver]}\ndirect_messages:\n  approver: true\n",
            "p.yml:3: direct_messages.approver: unknown key; did you mean approvers?",
            id="direct-messages-typo",
        ),
        pytest.param(
            "users: {U0A: [operator, approver]}\ndirect_messages: {requester: ''}\n",
            "p.yml:2: direct_messages.requester: Input should be a valid boolean",
            id="direct-messages-blank",
        ),
        pytest.param(
            "users: {U0A: [operator]}\ndirect_messages: {approvers: true}\n",
            "direct_messages.approvers: no one may approve",
            id="direct-messages-to-no-approver",
        ),
    ],
)
def test_each_way_to_weaken_or_misread_the_policy_is_one_problem(text: str, expected: str) -> None:
    """Each of these files is refused with exactly one line that says where and what."""
    (problem,) = problems_of(text)
    assert expected in problem


def test_every_problem_of_a_file_is_reported_at_once_in_file_order() -> None:
    """A file with seven problems gets seven lines, ordered by line, none hidden behind the first."""
    text = "\n".join(
        [
            "users:",
            "  U0ALICE: [operator]",
            "  U0DAVE: [viewr]",  # 3: unknown role
            "  U0ALICE: [viewer]",  # 4: repeated user
            "privileged: [feed.updte]",  # 5: typo
            "unprivileged: [payouts.run]",  # 6: waiver
            "break_glass: {enabled: true, steps: [feed.fallback]}",  # 7: not capable
            "privileged_channels: [C0OPS01, '#ops']",  # 8: a name
            "ttl: 600",  # 9: unknown key
            "",
        ]
    )
    problems = problems_of(text)
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5", "6", "7", "8", "9"]
    assert "users.U0DAVE.0" in problems[0]
    assert "did you mean ttl_s?" in problems[6]


def test_the_example_policy_loads_as_documented() -> None:
    """examples/policy.yml is valid: its people, the step it adds to the privileged ones, and
    break-glass off."""
    checked = load_policy_file(EXAMPLE, REGISTRY)
    policy = checked.policy
    assert policy.roles_of("U0DAVE") == {Role.VIEWER}
    assert policy.may_approve("someone", ("S0APPROVERS",))
    assert policy.is_privileged("lottery.create", declared=False)
    assert not policy.break_glass.enabled
    assert checked.incident_channel is None


def test_channel_ids_the_console_and_routing_are_accepted_and_carried_through() -> None:
    """Channel ids (and ``console`` among the operations channels) load; routing and the incident
    channel go to notify, the rest to the approvals policy."""
    checked = parse_policy_file(
        "users: {U0A: [operator]}\n"
        "privileged_channels: [C0OPS01, G0PRIVATE1, console]\n"
        "incident_channel: C0INCIDENT\n"
        "break_glass: {enabled: true}\n"
        "routing:\n  channel: ''\n  events:\n    VrfFulfilled: {channel: C0VRF}\n",
        REGISTRY,
    )
    assert checked.policy.privileged_channels == ("C0OPS01", "G0PRIVATE1", "console")
    assert checked.policy.may_request_in("console")
    assert not checked.policy.may_request_in("C0RANDOM")
    assert checked.policy.break_glass.steps == ("refund.stop",)
    assert checked.incident_channel == "C0INCIDENT"
    assert checked.routing.channel is None  # blank is missing
    assert checked.routing.events["VrfFulfilled"].channel == "C0VRF"
    assert checked.direct_messages == DirectMessages()  # none unless the policy says so


def test_direct_messages_are_turned_on_by_the_policy_and_shown_by_policy_check() -> None:
    """``direct_messages`` carries each switch through, and the effective policy says what is sent."""
    text = (
        "users: {U0A: [operator]}\ngroups: {S0APPROVERS: approver}\n"
        "direct_messages: {approvers: true, requester: true}\n"
    )
    checked = parse_policy_file(text, REGISTRY)
    assert checked.direct_messages == DirectMessages(approvers=True, requester=True)
    described = describe_policy(checked, REGISTRY, source="p.yml")
    assert (
        "Direct messages: each eligible approver gets a new request's card; the requester hears "
        "when it is approved, denied, expired or has run"
    ) in described


def test_an_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    """A path that does not exist is named, with the reason, as the only problem."""
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(tmp_path / "missing.yml", REGISTRY)
    assert caught.value.problems == (
        f"{tmp_path / 'missing.yml'}: cannot read it: No such file or directory",
    )


# -- the command line ----------------------------------------------------------------------------

BAD = (
    "users:\n  U0ALICE: [operator]\n  U0ALICE: [viewer]\n"
    "break_glass: {enabled: true, steps: [feed.update]}\n"
    "privileged_channels: ['#ops']\n"
)


def chatops(
    tmp_path: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m chatops ARGV`` from an empty directory with only ``env`` set."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "chatops", *argv],
        cwd=tmp_path,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_policy_check_prints_the_effective_policy(tmp_path: Path) -> None:
    """``chatops policy check`` on the example exits 0 and says who may run, request and approve
    what, the privileged steps, approvals needed, lifetime, break-glass and channels."""
    done = chatops(tmp_path, "policy", "check", str(EXAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "no problems" in out.splitlines()[0]
    registry = build_registry()
    reads = sum(1 for step in registry if step.kind == "read")
    privileged = sum(1 for step in registry if step.privileged) + 1  # the example adds feed.update
    assert f"U0DAVE       viewer: runs {reads} of" in out
    assert "U0ALICE      viewer, operator: runs" in out
    assert f"requests the {privileged} privileged ones" in out
    assert "S0APPROVERS  viewer, approver" in out
    assert "approves others' requests (/ops approve, /ops deny, /ops reconcile)" in out
    assert "of which the policy added: /lottery create" in out
    assert "Approvals needed: 1" in out
    assert "Request lifetime: 900 s" in out
    assert "Break-glass: off" in out
    assert "Privileged steps may be requested in: any channel and the console" in out
    assert "Direct messages: off" in out


def test_policy_check_prints_one_line_per_problem_and_fails(tmp_path: Path) -> None:
    """A bad file: exit 1 and exactly one line per problem on stdout, nothing else."""
    policy = tmp_path / "bad.yml"
    policy.write_text(BAD, encoding="utf-8")
    done = chatops(tmp_path, "policy", "check", str(policy))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{policy}:3: users.U0ALICE: repeated")
    assert lines[1].startswith(f"{policy}:4: break_glass.steps.0: feed.update cannot break glass")
    assert lines[2].startswith(f"{policy}:5: privileged_channels.0: '#ops' is not a Slack")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (("console", "--run", "/ops help"), {}),
        (
            ("serve", "--http"),
            {
                "SLACK_BOT_TOKEN": "xoxb-policy-test",
                "SLACK_SIGNING_SECRET": "policy-test-secret",
                "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: the policy fails first
                "CHATOPS_REHEARSAL": "1",
            },
        ),
    ],
    ids=["console", "serve"],
)
def test_console_and_serve_refuse_to_start_on_a_bad_policy(
    tmp_path: Path, argv: tuple[str, ...], env: dict[str, str]
) -> None:
    """With CHATOPS_POLICY_FILE naming a bad file, console and serve exit 2 before starting
    anything, printing the same problem lines as ``policy check``."""
    policy = tmp_path / "bad.yml"
    policy.write_text(BAD, encoding="utf-8")
    checked = chatops(tmp_path, "policy", "check", str(policy)).stdout.splitlines()
    done = chatops(tmp_path, *argv, env={**env, "CHATOPS_POLICY_FILE": str(policy)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"invalid policy file {policy} (3 problem(s))" in done.stderr
    for line in checked:
        assert done.stderr.count(line) == 1, (line, done.stderr)
    assert "Traceback" not in done.stderr
    assert "xoxb-policy-test" not in done.stderr
