"""Reply -> Block Kit: every Reply feature, the approval message in each state, the deny modal, and
Slack's limits on replies far larger than any step produces."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import DividerBlock, MarkdownTextObject, SectionBlock

from chatops.slack.blocks.approval import (
    approval_blocks,
    button_value,
    deny_modal,
    parse_button_value,
)
from chatops.slack.blocks.limits import (
    FIELD_TEXT_MAX,
    FIELDS_PER_SECTION,
    MESSAGE_TEXT_MAX,
    TEXT_MAX,
    block_text_size,
    to_dicts,
)
from chatops.slack.blocks.mrkdwn import fit_mrkdwn
from chatops.slack.blocks.reply import reply_blocks, reply_text
from chatops.slack.ids import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    DENY_MODAL_CALLBACK_ID,
    DENY_REASON_ACTION_ID,
    DENY_REASON_BLOCK_ID,
)
from commands.reply import Check, Field, Reply, Tone
from tests.chatops.slack.blockkit import assert_valid, texts

NOTE = re.compile(r"… \(truncated, (\d+) more characters\)$")


def _section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def _context_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def _fields(blocks: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


DIGEST = "ab" * 32  # the sha256 of a request's calls, as the flow renders it


def _full_reply() -> Reply:
    return Reply(
        title="Request 7: switch asset 3 to the fallback price",
        text="State: pending\nSimulation succeeded.",
        tone=Tone.WARNING,
        fields=(
            Field(label="Requested by", value="U0REQ"),
            Field(label="Call 1", value="0x1::price_feed::set_fallback(u64 3, bool true)"),
            Field(label="Transactions", value="0xabcdef0123, 0x0123abcdef"),
        ),
        checks=(
            Check(name="feed is stale", ok=True, seen="42 s old"),
            Check(name="fallback price set", ok=False, seen="none", required="a price"),
        ),
        links=("https://explorer.example/tx/0xabcdef0123?net=dev&x=1",),
        follow_ups=("An approver runs /ops approve 7.", "You can withdraw it with /ops cancel 7."),
        request_id="7",
        state="pending",
        digest=DIGEST,
    )


# --- every Reply feature ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "marker"),
    [
        (Tone.INFO, ":information_source:"),
        (Tone.SUCCESS, ":white_check_mark:"),
        (Tone.WARNING, ":warning:"),
        (Tone.ERROR, ":x:"),
    ],
)
def test_title_is_bold_with_the_severity_marker(severity: Tone, marker: str) -> None:
    """The first block is the title in bold, led by the marker of its severity."""
    blocks = reply_blocks(Reply(title="Lottery 4 drawn", tone=severity))
    assert blocks[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"{marker} *Lottery 4 drawn*"},
    }
    assert_valid(blocks)


def test_a_title_only_reply_is_one_block() -> None:
    """Without text, checks, fields or context nothing but the title is rendered."""
    assert len(reply_blocks(Reply(title="Nothing to do"))) == 1


def test_text_follows_the_title_in_its_own_section() -> None:
    """The reply's text is the second section, escaped, with its line breaks kept."""
    blocks = reply_blocks(Reply(title="t", text="line one\nline <two> & three"))
    assert _section_texts(blocks)[1] == "line one\nline &lt;two&gt; &amp; three"


def test_whitespace_only_text_renders_no_block() -> None:
    """Slack refuses an empty section, so blank text is left out rather than sent."""
    assert len(reply_blocks(Reply(title="t", text=" \n "))) == 1


def test_an_empty_title_still_renders_a_valid_title() -> None:
    """An empty title becomes a placeholder, since Slack rejects empty text."""
    blocks = reply_blocks(Reply(title=""))
    assert "(no title)" in blocks[0]["text"]["text"]
    assert_valid(blocks)


def test_fields_are_bold_label_over_value() -> None:
    """Each field reads as its bold label, a line break, then its value."""
    blocks = reply_blocks(Reply(title="t", fields=(Field(label="Round", value="12"),)))
    assert _fields(blocks) == ["*Round*\n12"]


def test_fields_are_split_ten_per_section() -> None:
    """23 fields become sections of 10, 10 and 3, in order."""
    fields = tuple(Field(label=f"f{i}", value=str(i)) for i in range(23))
    blocks = reply_blocks(Reply(title="t", fields=fields))
    sections = [b for b in blocks if "fields" in b]
    assert [len(s["fields"]) for s in sections] == [FIELDS_PER_SECTION, FIELDS_PER_SECTION, 3]
    assert _fields(blocks) == [f"*f{i}*\n{i}" for i in range(23)]
    assert_valid(blocks)


def test_an_empty_field_value_shows_a_dash() -> None:
    """An empty value is shown as "-" instead of an empty line Slack might refuse."""
    blocks = reply_blocks(Reply(title="t", fields=(Field(label="Denied by", value=""),)))
    assert _fields(blocks) == ["*Denied by*\n-"]


def test_call_descriptions_are_code_spans_after_escaping() -> None:
    """A call field is one code span whose content is escaped and whose backticks cannot close it."""
    value = "0x1::m::f(vector<u8> `x`)"
    blocks = reply_blocks(Reply(title="t", fields=(Field(label="Call 1", value=value),)))
    assert _fields(blocks) == ["*Call 1*\n`0x1::m::f(vector&lt;u8&gt; 'x')`"]


def test_transaction_hashes_are_code_spans() -> None:
    """Each hash in a list of transactions is its own code span; the separators stay plain."""
    blocks = reply_blocks(
        Reply(title="t", fields=(Field(label="Transactions", value="0xabcdef12, 0x34567890"),))
    )
    assert _fields(blocks) == ["*Transactions*\n`0xabcdef12`, `0x34567890`"]


def test_hashes_inside_any_field_are_code_spans() -> None:
    """A long hex value in an ordinary field is shown as code too."""
    blocks = reply_blocks(
        Reply(title="t", fields=(Field(label="Archive", value="0xdeadbeef00 (final)"),))
    )
    assert _fields(blocks) == ["*Archive*\n`0xdeadbeef00` (final)"]


def test_checks_show_ok_and_failed_with_seen_and_required() -> None:
    """Checks come with a summary, ok ones with what was seen, failed ones with seen and required."""
    blocks = reply_blocks(
        Reply(
            title="t",
            checks=(
                Check(name="not paused", ok=True, seen="running"),
                Check(name="balance", ok=False, seen="5", required="at least 10"),
                Check(name="bare", ok=True),
            ),
        )
    )
    assert _section_texts(blocks)[1] == (
        "*Checks*: 2 ok, 1 FAILED\n"
        ":white_check_mark: ok not paused (running)\n"
        ":x: *FAILED* balance (seen 5, required at least 10)\n"
        ":white_check_mark: ok bare"
    )


def test_a_failed_check_without_details_says_so() -> None:
    """A failed check with no seen/required shows question marks rather than empty parentheses."""
    blocks = reply_blocks(Reply(title="t", checks=(Check(name="x", ok=False),)))
    assert ":x: *FAILED* x (seen ?, required ?)" in _section_texts(blocks)[1]


def test_checks_come_before_fields() -> None:
    """The runbook's checks are read before the details, so they come first."""
    blocks = reply_blocks(_full_reply())
    kinds = [
        "checks"
        if "text" in b and "*Checks*" in b["text"]["text"]
        else "fields"
        if "fields" in b
        else b["type"]
        for b in blocks
    ]
    assert kinds.index("checks") < kinds.index("fields")


def test_context_follows_a_divider_after_the_body() -> None:
    """Links, follow-ups and the request line are context blocks after one divider."""
    blocks = reply_blocks(_full_reply())
    kinds = [b["type"] for b in blocks]
    assert kinds[-4:] == ["divider", "context", "context", "context"]
    assert kinds.count("divider") == 1
    assert _context_texts(blocks) == [
        "<https://explorer.example/tx/0xabcdef0123?net=dev&amp;x=1>",
        "→ An approver runs /ops approve 7.\n→ You can withdraw it with /ops cancel 7.",
        "Request 7 · pending",
    ]
    assert_valid(blocks)


def test_only_well_formed_urls_become_links() -> None:
    """A link that is not a plain http(s) URL is shown as escaped text, never as <…|label>."""
    blocks = reply_blocks(
        Reply(title="t", links=("https://evil.example|click here", "ftp://x", ""))
    )
    assert _context_texts(blocks) == ["https://evil.example|click here  ·  ftp://x"]


def test_no_divider_when_there_is_no_body() -> None:
    """A title with only follow-ups needs no divider."""
    blocks = reply_blocks(Reply(title="t", follow_ups=("next",)))
    assert [b["type"] for b in blocks] == ["section", "context"]


def test_every_block_of_a_full_reply_is_valid() -> None:
    """A reply using every feature passes slack_sdk's validation and our own limits."""
    assert_valid(reply_blocks(_full_reply()))


def test_reply_text_is_the_escaped_title_and_text() -> None:
    """The notification fallback is the title and the text, escaped the same way as the blocks."""
    reply = Reply(title="Paused <!channel>", text="by @here & co")
    assert reply_text(reply) == "Paused &lt;!channel&gt;\nby @\u200dhere &amp; co"
    assert reply_text(Reply(title="Only a title")) == "Only a title"


def test_reply_text_is_cut_with_a_note() -> None:
    """A huge reply's fallback text stays within 3000 characters and says how much was left out."""
    out = reply_text(Reply(title="t", text="x" * 10_000))
    assert len(out) <= TEXT_MAX
    match = NOTE.search(out)
    assert match is not None
    assert len(out) - len(match.group(0)) + int(match.group(1)) == len("t\n" + "x" * 10_000)


# --- the approval message -----------------------------------------------------------------------


def _actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


def test_pending_request_has_approve_and_deny_buttons() -> None:
    """While pending, the message ends with Approve (primary) and Deny (danger), each valued by the
    request's whole id and the digest of the calls the message shows, which parse back whole."""
    blocks = approval_blocks(_full_reply(), request_id="7-k7mq3", state="pending", can_act=True)
    [actions] = _actions(blocks)
    assert blocks[-1] == actions
    approve, deny = actions["elements"]
    value = f"7-k7mq3:{DIGEST}"
    assert (approve["action_id"], approve["style"], approve["value"]) == (
        APPROVE_ACTION_ID,
        "primary",
        value,
    )
    assert (deny["action_id"], deny["style"], deny["value"]) == (DENY_ACTION_ID, "danger", value)
    assert parse_button_value(value) == ("7-k7mq3", DIGEST)
    assert (approve["text"]["text"], deny["text"]["text"]) == ("Approve", "Deny")
    assert "confirm" not in deny
    assert_valid(blocks)


def test_approve_asks_for_confirmation() -> None:
    """Approve opens a confirm dialog saying the request executes immediately."""
    blocks = approval_blocks(_full_reply(), request_id="12", state="pending", can_act=True)
    confirm = _actions(blocks)[0]["elements"][0]["confirm"]
    assert confirm["title"]["text"] == "Approve request 12?"
    assert confirm["text"]["text"] == "Approve request 12? It will execute immediately."
    assert confirm["confirm"]["text"] == "Approve"
    assert confirm["deny"]["text"] == "Cancel"


def test_approval_message_keeps_the_reply_but_not_its_request_line() -> None:
    """The approval message is the reply's blocks, with the buttons in place of the request line."""
    reply = _full_reply()
    plain = reply_blocks(reply)
    blocks = approval_blocks(reply, request_id="7", state="pending", can_act=True)
    assert blocks[: len(plain) - 1] == plain[:-1]
    assert "Request 7 · pending" not in _context_texts(blocks)


def test_pending_without_the_right_to_act_shows_no_buttons() -> None:
    """When buttons cannot be used, a line tells how an approver acts instead."""
    blocks = approval_blocks(_full_reply(), request_id="7", state="pending", can_act=False)
    assert _actions(blocks) == []
    assert _context_texts(blocks)[-1] == (
        ":hourglass_flowing_sand: Waiting for an approver: /ops approve 7 or /ops deny 7 &lt;reason&gt;."
    )
    assert_valid(blocks)


@pytest.mark.parametrize(
    ("state", "line"),
    [
        ("approved", ":white_check_mark: Approved by <@U0APPR0V>; executing now."),
        ("executing", ":gear: Executing (approved by <@U0APPR0V>)."),
        ("succeeded", ":white_check_mark: Executed (approved by <@U0APPR0V>)."),
        ("executed", ":white_check_mark: Executed (approved by <@U0APPR0V>)."),
        ("failed", ":x: Failed (approved by <@U0APPR0V>); see the result above."),
        ("denied", ":no_entry: Denied by <@U0APPR0V>."),
        ("expired", ":hourglass: Expired: nobody approved it in time."),
        ("cancelled", ":heavy_multiplication_x: Cancelled by <@U0APPR0V>."),
        (
            "needs-reconciliation",
            ":warning: Outcome unknown: /ops reconcile 7 settles it from the chain; nothing is resent.",
        ),
    ],
)
def test_final_states_replace_the_buttons_with_a_line(state: str, line: str) -> None:
    """Once decided, the buttons are gone and a last line says what happened and who did it."""
    blocks = approval_blocks(
        _full_reply(), request_id="7", state=state, can_act=True, actor="U0APPR0V"
    )
    assert _actions(blocks) == []
    assert _context_texts(blocks)[-1] == line
    assert_valid(blocks)


def test_final_state_without_an_actor_names_nobody() -> None:
    """Without an actor the line is the bare outcome."""
    blocks = approval_blocks(_full_reply(), request_id="7", state="denied", can_act=True)
    assert _context_texts(blocks)[-1] == ":no_entry: Denied."


@pytest.mark.parametrize(
    ("actor", "shown"),
    [("<!channel>", "&lt;!channel&gt;"), ("WARNING", "WARNING"), ("alice", "alice")],
)
def test_an_actor_that_is_not_a_user_id_is_plain_text(actor: str, shown: str) -> None:
    """Only a Slack user id becomes a mention; any other actor text is escaped and inert."""
    blocks = approval_blocks(
        _full_reply(), request_id="7", state="denied", can_act=True, actor=actor
    )
    assert _context_texts(blocks)[-1] == f":no_entry: Denied by {shown}."


def test_an_unknown_state_is_shown_escaped() -> None:
    """A state this renderer does not know is still shown, escaped, without buttons."""
    blocks = approval_blocks(_full_reply(), request_id="7", state="<!here>", can_act=True)
    assert _actions(blocks) == []
    assert _context_texts(blocks)[-1] == ":grey_question: State: &lt;!here&gt;."


@pytest.mark.parametrize("request_id", ["", "   ", "9" * 2001])
def test_an_id_that_cannot_be_a_button_value_gets_no_buttons(
    request_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty id, or one over a button value's 2000 characters, falls back to the typed commands."""
    with caplog.at_level(logging.WARNING, logger="chatops.slack.blocks.approval"):
        blocks = approval_blocks(
            Reply(title="t"), request_id=request_id, state="pending", can_act=True
        )
    assert _actions(blocks) == []
    assert _context_texts(blocks)[-1].startswith(":hourglass_flowing_sand: Waiting for an approver")
    assert any("buttons left out" in r.getMessage() for r in caplog.records)
    assert_valid(blocks)


def test_a_block_slack_sdk_refuses_becomes_a_visible_note(caplog: pytest.LogCaptureFixture) -> None:
    """The last line of defence: a block slack_sdk's validation refuses is replaced and logged."""
    too_many = SectionBlock(fields=[MarkdownTextObject(text=str(i)) for i in range(11)])
    with caplog.at_level(logging.WARNING, logger="chatops.slack.blocks.limits"):
        out = to_dicts([DividerBlock(), too_many])
    assert out == [
        {"type": "divider"},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "(part of this message could not be shown)"}],
        },
    ]
    assert any("section block failed validation" in r.getMessage() for r in caplog.records)


# --- the deny modal ---------------------------------------------------------------------------


def test_deny_modal_asks_for_a_required_reason() -> None:
    """The modal carries its callback id and the Deny button's value (the request's whole id and
    digest, so the denial is bound to what was shown), and its one input is required."""
    value = button_value("7-k7mq3", DIGEST)
    view = deny_modal(value)
    assert view["type"] == "modal"
    assert view["callback_id"] == DENY_MODAL_CALLBACK_ID
    assert view["private_metadata"] == value
    assert view["title"] == {"type": "plain_text", "text": "Deny request 7-k7mq3"}
    assert view["submit"]["text"] == "Deny"
    [section, field] = view["blocks"]
    assert section["text"]["text"].startswith("Deny request *7-k7mq3*?")
    assert field["type"] == "input"
    assert field["block_id"] == DENY_REASON_BLOCK_ID
    assert field["optional"] is False
    element = field["element"]
    assert element["type"] == "plain_text_input"
    assert element["action_id"] == DENY_REASON_ACTION_ID
    assert (element["min_length"], element["max_length"]) == (3, 300)


def test_deny_modal_title_fits_slack_limit() -> None:
    """A long request id is clipped in the 24-character title but kept whole in the metadata."""
    value = button_value("123456789012-abcdefghjkmnpqrs", DIGEST)
    view = deny_modal(value)
    assert len(view["title"]["text"]) <= 24
    assert view["private_metadata"] == value


@pytest.mark.parametrize(
    "value", ["", "7", f"7:{DIGEST[:-1]}", f"seven:{DIGEST}", f"7-k7mq3:{DIGEST}:x", "1" * 256]
)
def test_a_value_chatops_did_not_make_is_refused(value: str) -> None:
    """A button value or modal metadata that is not a whole id and a digest (forged, cut, or from an
    older message) is refused, so no click acts on a guessed request."""
    with pytest.raises(ValueError, match="not a chatops request button"):
        parse_button_value(value)
    with pytest.raises(ValueError, match="not a chatops request button"):
        deny_modal(value)


# --- Slack's limits -----------------------------------------------------------------------------


def _huge_reply() -> Reply:
    return Reply(
        title="T<&>" * 2000,
        text="line with <tags> & ampersands\n" * 2000,
        tone=Tone.ERROR,
        fields=tuple(Field(label=f"label {i} " * 50, value="v&<" * 1500) for i in range(700)),
        checks=tuple(
            Check(name=f"check {i} " * 40, ok=i % 3 != 0, seen="s&" * 400, required="r" * 300)
            for i in range(600)
        ),
        links=tuple(f"https://explorer.example/tx/{i:064x}" for i in range(200)),
        follow_ups=tuple(f"follow-up {i} <!here> " * 30 for i in range(200)),
        request_id="99",
        state="pending",
        digest=DIGEST,
    )


def test_a_huge_reply_stays_within_every_limit() -> None:
    """700 fields, 600 checks, 60 kB of text and 400 context lines still make a valid message,
    within Slack's 50 blocks and 12,000 characters of text in all."""
    blocks = reply_blocks(_huge_reply())
    assert_valid(blocks)
    assert block_text_size(blocks) <= MESSAGE_TEXT_MAX
    for block in blocks:
        for field in block.get("fields", []):
            assert len(field["text"]) <= FIELD_TEXT_MAX
    assert all(len(t) <= TEXT_MAX for t in texts(blocks))


def test_a_huge_reply_says_what_was_left_out() -> None:
    """The cut is announced: how many more fields, more checks, links and follow-ups are not shown."""
    reply = _huge_reply()
    blocks = reply_blocks(reply)
    shown_fields = len(_fields(blocks))
    notes = [t for t in _context_texts(blocks) if "truncated" in t]
    body_note = next(t for t in notes if "more fields" in t)
    left = int(re.search(r"(\d+) more fields", body_note).group(1))  # type: ignore[union-attr]
    assert shown_fields + left == len(reply.fields)
    assert re.search(r"\d+ more checks", body_note) or "*Checks*" not in "".join(
        _section_texts(blocks)
    )
    assert any(re.search(r"\d+ more links\)$", t) for t in _context_texts(blocks))
    assert any(re.search(r"\d+ more follow-ups\)$", t) for t in _context_texts(blocks))


def test_a_huge_approval_keeps_its_buttons() -> None:
    """The body gives way, never the Approve and Deny buttons."""
    blocks = approval_blocks(_huge_reply(), request_id="99", state="pending", can_act=True)
    assert blocks[-1]["type"] == "actions"
    assert blocks[-1]["elements"][0]["value"] == f"99:{DIGEST}"
    assert_valid(blocks)


def test_many_checks_keep_every_check_until_the_budget_runs_out() -> None:
    """Checks are packed into as few sections as fit, and each one is counted once."""
    checks = tuple(Check(name=f"c{i}", ok=True) for i in range(300))
    blocks = reply_blocks(Reply(title="t", checks=checks))
    lines = [line for t in _section_texts(blocks)[1:] for line in t.split("\n")]
    assert lines[0] == "*Checks*: 300 ok"
    assert lines[1:] == [f":white_check_mark: ok c{i}" for i in range(300)]
    assert_valid(blocks)


def test_long_text_spans_sections_at_line_breaks() -> None:
    """Text a little over 3000 characters is split at a line break into two sections, nothing cut."""
    text = "\n".join(f"history line {i:04d}" for i in range(250))  # 4749 characters
    blocks = reply_blocks(Reply(title="t", text=text))
    sections = _section_texts(blocks)[1:]
    assert len(sections) == 2
    assert sections[0].endswith("\n")
    assert "".join(sections) == text
    assert_valid(blocks)


def test_very_long_text_is_cut_with_an_exact_count() -> None:
    """Text longer than one message is cut at a section's end, and the note counts exactly the
    characters not shown."""
    text = "a<b&c>d " * 5000
    blocks = reply_blocks(Reply(title="t", text=text))
    shown = _unescape("".join(_section_texts(blocks)[1:]))
    [note] = [t for t in _context_texts(blocks) if "truncated" in t]
    left = int(re.search(r"([\d,]+) more characters", note).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert text.startswith(shown)
    assert len(shown) + left == len(text)
    assert_valid(blocks)


def test_a_long_field_value_is_cut_to_2000_characters() -> None:
    """A field over Slack's 2000 characters keeps its label and ends with the note."""
    blocks = reply_blocks(Reply(title="t", fields=(Field(label="Result", value="&" * 5000),)))
    [field] = _fields(blocks)
    assert len(field) <= FIELD_TEXT_MAX
    assert field.startswith("*Result*\n&amp;")
    assert NOTE.search(field)
    assert_valid(blocks)


def test_a_long_code_value_closes_its_span_before_the_note() -> None:
    """A cut call description stays one closed code span, with the note outside it."""
    blocks = reply_blocks(Reply(title="t", fields=(Field(label="Call 1", value="x" * 5000),)))
    [field] = _fields(blocks)
    body = field.removeprefix("*Call 1*\n")
    assert re.fullmatch(r"`x+`… \(truncated, \d+ more characters\)", body)


def test_a_long_title_is_cut_inside_the_bold() -> None:
    """A title over 3000 characters is cut with a note and stays one bold span."""
    blocks = reply_blocks(Reply(title="&" * 4000))
    title = blocks[0]["text"]["text"]
    assert len(title) <= TEXT_MAX
    assert title.startswith(":information_source: *&amp;")
    assert title.endswith(" more characters)*")


def test_cutting_never_splits_an_entity() -> None:
    """Whatever the limit, a cut falls between entities, never inside ``&amp;``."""
    for limit in range(40, 80):
        out = fit_mrkdwn("&" * 100, limit)
        assert len(out) <= limit
        assert re.fullmatch(r"(?:&amp;)*… \(truncated, \d+ more characters\)", out), out


def test_fit_leaves_short_text_alone() -> None:
    """Text within the limit is only escaped, with no note."""
    assert fit_mrkdwn("a < b", 100) == "a &lt; b"


def test_fields_past_the_budget_are_counted_not_lost() -> None:
    """With 1000 short fields, the shown ones plus the counted ones are exactly all of them."""
    fields = tuple(Field(label=f"f{i}", value=str(i)) for i in range(1000))
    blocks = reply_blocks(Reply(title="t", fields=fields))
    shown = _fields(blocks)
    assert shown == [f"*f{i}*\n{i}" for i in range(len(shown))]
    [note] = [t for t in _context_texts(blocks) if "truncated" in t]
    assert (
        note
        == f"… (truncated, {1000 - len(shown)} more fields; the message would exceed Slack's limits)"
    )
    assert_valid(blocks)
