"""Digest -> Block Kit: one compact, valid, escaped message whose critical lines come first."""

from __future__ import annotations

import pytest

from chatops.notify.digest import MAX_DIGEST_ITEMS, Digest, digest_id
from chatops.notify.notice import Notice
from chatops.severity import Severity
from chatops.slack.blocks.digest import DIGEST_TEXT_BUDGET, digest_blocks, digest_text
from tests.chatops.slack.blockkit import assert_inert, assert_valid, mrkdwn_texts, texts


def notice(n: int, *, severity: Severity = "info", title: str = "", text: str = "") -> Notice:
    return Notice(
        id=f"event:AutomationErrorEvent:2:{n}",
        kind="event",
        subject="bot:0x1",
        severity=severity,
        title=title or f"AutomationBot action recorded #{n}",
        text=text,
        at_s=1_764_497_700 + n,
        event_type="AutomationErrorEvent",
    )


def digest(notices: list[Notice]) -> Digest:
    return Digest(digest_id([n.id for n in notices]), tuple(notices))


def test_a_full_digest_of_hostile_long_notices_stays_valid_inert_and_in_budget() -> None:
    """40 notices with 5,000-character titles full of markup: valid blocks, nothing that could
    mention or link, every notice still has its line, and the whole stays within the text budget."""
    hostile = "<!channel> @here <https://evil.example|click> & " * 100
    notices = [
        notice(n, severity="critical" if n % 7 == 0 else "info", title=f"#{n} {hostile}")
        for n in range(MAX_DIGEST_ITEMS)
    ]
    blocks = digest_blocks(digest(notices))
    assert_valid(blocks)
    for text in mrkdwn_texts(blocks):
        assert_inert(text)
    rendered = "\n".join(texts(blocks))
    assert "<!channel>" not in rendered
    assert "<https://evil" not in rendered
    assert sum(len(t) for t in texts(blocks)) <= DIGEST_TEXT_BUDGET
    for n in range(MAX_DIGEST_ITEMS):
        assert rendered.count(f"#{n} &lt;!channel&gt;") == 1


def test_critical_lines_come_first_then_the_rest_by_time() -> None:
    """Critical notices sit under their own heading at the top, by time; the others follow by time,
    whatever the queue order; the notification text leads with the critical count."""
    notices = [
        notice(3),
        notice(1),
        notice(9, severity="critical", title="Bot error B"),
        notice(2, severity="warning"),
        notice(5, severity="critical", title="Bot error A"),
    ]
    d = digest(notices)
    assert [n.at_s - 1_764_497_700 for n in d.listed] == [5, 9, 1, 2, 3]
    sections = [b["text"]["text"] for b in digest_blocks(d) if b["type"] == "section"]
    assert sections[0].startswith(":rotating_light: *5 notices*")
    assert "2 critical, listed first" in sections[0]
    critical, rest = sections[1], sections[2]
    assert critical.startswith("*Critical*\n")
    assert critical.index("Bot error A") < critical.index("Bot error B")
    assert rest.startswith("*Then, by time*\n")
    assert [line.split("#")[-1] for line in rest.splitlines()[1:]] == ["1", "2", "3"]
    assert ":warning:" in rest.splitlines()[2]
    assert digest_text(d) == "2 critical: Bot error A (in a digest of 5 notices)"


def test_a_digest_without_critical_notices_is_a_plain_list() -> None:
    """No critical heading, an info marker, and a text naming the first and last notices."""
    d = digest([notice(n) for n in range(3)])
    blocks = digest_blocks(d)
    assert_valid(blocks)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].startswith(":information_source: *3 notices*")
    assert "*Critical*" not in "".join(sections)
    assert len(sections[1].splitlines()) == 3
    assert blocks[-1]["type"] == "context"
    assert digest_text(d) == (
        "3 notices: AutomationBot action recorded #0 … AutomationBot action recorded #2"
    )


def test_a_digest_holds_one_to_forty_notices() -> None:
    """An empty digest or one beyond Slack's comfortable size is refused where it is built."""
    with pytest.raises(ValueError, match="at least one"):
        Digest("digest:x", ())
    with pytest.raises(ValueError, match="at most"):
        Digest("digest:x", tuple(notice(n) for n in range(MAX_DIGEST_ITEMS + 1)))


def test_the_digest_id_is_a_function_of_its_items() -> None:
    """The same items in the same order give the same id (a retry is findable); others do not."""
    assert digest_id(["a", "b"]) == digest_id(["a", "b"])
    assert digest_id(["a", "b"]) != digest_id(["b", "a"])
    assert digest_id(["a", "b"]).startswith("digest:")
