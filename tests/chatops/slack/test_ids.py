"""Slack's escaped references (slash commands with should_escape: true) unwrap to bare ids."""

from __future__ import annotations

import pytest

from chatops.slack import ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U123|alice>", "U123"),
        ("<@U123>", "U123"),
        ("<@W0ENTERPRISE|bob smith>", "W0ENTERPRISE"),
        ("  <@U9Z8|x>  ", "U9Z8"),
        ("U123", "U123"),
        ("@alice", "@alice"),
        ("<@U123|alice> extra", "<@U123|alice> extra"),
        ("<#C123|general>", "<#C123|general>"),
        ("<@u123>", "<@u123>"),
    ],
)
def test_unwrap_user(text: str, expected: str) -> None:
    """A whole user reference becomes its id; anything else comes back stripped and unchanged."""
    assert ids.unwrap_user(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<#C123|general>", "C123"),
        ("<#C123>", "C123"),
        ("<#C123|>", "C123"),
        ("<#G0PRIV|secret>", "G0PRIV"),
        ("#general", "#general"),
        ("<@U123>", "<@U123>"),
    ],
)
def test_unwrap_channel(text: str, expected: str) -> None:
    """A whole channel reference becomes its id, with or without its name."""
    assert ids.unwrap_channel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!subteam^S123|@oncall>", "S123"),
        ("<!subteam^S123>", "S123"),
        ("<!channel>", "<!channel>"),
        ("@oncall", "@oncall"),
    ],
)
def test_unwrap_usergroup(text: str, expected: str) -> None:
    """A whole user-group reference becomes its id; broadcasts are not user groups."""
    assert ids.unwrap_usergroup(text) == expected


def test_unwrap_text_rewrites_every_reference_and_decodes_entities() -> None:
    """A whole escaped command line reads as typed, with bare ids in place of references."""
    escaped = "grant <@U1|ann> <!subteam^S2|@ops> in <#C3|ops> because a &lt; b &amp;&amp; c &gt; d"
    assert ids.unwrap_text(escaped) == "grant U1 S2 in C3 because a < b && c > d"


def test_unwrap_text_decodes_each_entity_once() -> None:
    """An escaped entity typed by a person stays that entity: ``&amp;lt;`` reads ``&lt;``."""
    assert ids.unwrap_text("&amp;lt;") == "&lt;"


def test_action_and_callback_ids_are_the_agreed_constants() -> None:
    """The listeners and the renderer agree on these ids; Slack echoes them back verbatim."""
    assert ids.APPROVE_ACTION_ID == "approval_approve"
    assert ids.DENY_ACTION_ID == "approval_deny"
    assert ids.DENY_MODAL_CALLBACK_ID == "approval_deny_modal"
    assert len({ids.DENY_REASON_BLOCK_ID, ids.DENY_REASON_ACTION_ID}) == 2
