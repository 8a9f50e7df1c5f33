"""The policy file's ``multisig:`` section: what can be known without the chain is checked at start,
one line per problem, and ``chatops policy check`` prints the mode."""

from __future__ import annotations

import pytest

from chatops.policy_file import PolicyFileError, parse_policy_file
from chatops.policy_report import describe_policy
from commands.registry import build_registry

REGISTRY = build_registry()
ALICE = "0x" + "a1" * 32
BOB = "0x" + "b2" * 32
CAROL = "0x" + "c3" * 32


def _section(threshold: int = 3, addresses: str = f"U0A: '{ALICE}'\n    U0B: '{BOB}'") -> str:
    return (
        "users: {U0A: [operator], U0B: [approver]}\n"
        f"multisig:\n  threshold: {threshold}\n  addresses:\n    {addresses}\n"
    )


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        parse_policy_file(text, REGISTRY, source="p.yml")
    return list(caught.value.problems)


def test_a_multisig_section_switches_the_mode_with_normalised_addresses() -> None:
    """A valid section gives the threshold and each person's owner address, normalised."""
    checked = parse_policy_file(
        _section(addresses=f"U0A: '{ALICE}'\n    U0B: '0x{'b2' * 32}'"), REGISTRY
    )
    assert checked.multisig is not None
    assert checked.multisig.threshold == 3
    assert checked.multisig.addresses == {"U0A": ALICE, "U0B": BOB}
    assert checked.multisig.hash_only_from_bytes == 1024
    assert parse_policy_file("users: {U0A: [operator]}\nmultisig:\n", REGISTRY).multisig is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            _section(threshold=2),
            "p.yml:3: multisig.threshold: a threshold of 2 lets the bot and 1 person(s) pass; the "
            "policy asks for 2 people, so it must be at least 3",
            id="bot-and-one-human",
        ),
        pytest.param(
            _section(threshold=3).replace("users:", "approvals_needed: 2\nusers:"),
            "multisig.threshold: a threshold of 3 lets the bot and 2 person(s) pass; the policy "
            "asks for 3 people, so it must be at least 4",
            id="more-people-asked",
        ),
        pytest.param(
            _section(addresses=f"U0A: '{ALICE}'\n    U0B: '{ALICE}'"),
            f"p.yml:6: multisig.addresses.U0B: {ALICE} is also U0A's",
            id="shared-address",
        ),
        pytest.param(
            _section(addresses=f"U0A: '{ALICE}'\n    U0B: 'bob'"),
            "p.yml:6: multisig.addresses.U0B: 'bob' is not an account address",
            id="not-an-address",
        ),
        pytest.param(
            _section(threshold=4, addresses=f"U0A: '{ALICE}'\n    U0B: '{BOB}'"),
            "multisig.addresses: 2 address(es) cannot give the 3 approvals a threshold of 4 needs",
            id="too-few-people",
        ),
        pytest.param(
            _section() + "break_glass: {enabled: true, steps: [refund.stop]}\n",
            "break_glass.enabled: break-glass cannot apply in multisig mode",
            id="break-glass",
        ),
        pytest.param(
            _section().replace("addresses:", "adresses:"),
            "multisig.adresses: unknown key; did you mean addresses?",
            id="typo",
        ),
    ],
)
def test_each_multisig_problem_is_one_line(text: str, expected: str) -> None:
    """Each way the section could weaken the two-person rule or be misread is refused, named."""
    problems = _problems(text)
    assert any(expected in p for p in problems), problems


def test_policy_check_prints_multisig_mode() -> None:
    """The effective policy says multisig mode is on, with the threshold and the owners."""
    checked = parse_policy_file(_section(), REGISTRY, source="p.yml")
    text = describe_policy(checked, REGISTRY, source="p.yml")
    assert "Multisig mode: on." in text
    assert "needs 3 approvals on chain: the bot's (as proposer and executor) and 2 people's" in text
    assert f"U0A  {ALICE}" in text
    off = describe_policy(
        parse_policy_file("users: {U0A: [operator]}\n", REGISTRY), REGISTRY, source="q"
    )
    assert "Multisig mode: off" in off
