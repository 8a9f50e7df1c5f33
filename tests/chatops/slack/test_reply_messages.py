"""A reply too long for one Slack message becomes several, each within Slack's limits, with nothing
cut silently: the catalog's help, 200 failed checks, 5,000 ids, and a request card's thread."""

from __future__ import annotations

import re
from typing import Any

from chatops.slack.blocks.approval import approval_messages
from chatops.slack.blocks.limits import MESSAGE_TEXT_MAX, block_text_size
from chatops.slack.blocks.reply import MAX_MESSAGES, Message, reply_blocks, reply_messages
from commands.ops import HelpArgs, help_
from commands.reply import Check, Field, Reply
from tests.chatops.slack.blockkit import assert_valid, texts

DIGEST = "cd" * 32


def _valid(messages: list[Message]) -> None:
    for message in messages:
        assert_valid(message.blocks)
        assert block_text_size(message.blocks) <= MESSAGE_TEXT_MAX
        assert message.text.strip()


def _sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_short_reply_is_one_message_as_reply_blocks_draws_it() -> None:
    """A reply that fits is one message, the same blocks reply_blocks gives."""
    reply = Reply(title="Asset 1", text="price 42", fields=(Field(label="Round", value="7"),))
    [message] = reply_messages(reply)
    assert message.blocks == reply_blocks(reply)
    assert message.text == "Asset 1\nprice 42"


def test_the_catalogs_help_is_split_and_lists_every_command() -> None:
    """/ops help, about 10,000 characters, comes as messages Slack accepts, listing every line."""
    assert help_.run is not None
    reply = help_.run(None, HelpArgs())  # type: ignore[arg-type]  # help reads no port
    messages = reply_messages(reply)
    _valid(messages)
    shown = _unescape("".join("".join(_sections(m.blocks)) for m in messages))
    for line in reply.text.splitlines():
        assert line in shown


def test_two_hundred_failed_checks_arrive_each_once_in_order() -> None:
    """200 failed checks (about 44,000 characters) take several messages; each check appears
    exactly once, in order, and each later message says which reply it continues."""
    checks = tuple(
        Check(name=f"winner {i:03d} paid", ok=False, seen="0 " * 50, required="amount " * 12)
        for i in range(200)
    )
    reply = Reply(title="Preflight failed: payouts", checks=checks, ok=False)
    messages = reply_messages(reply)
    assert 1 < len(messages) <= MAX_MESSAGES
    _valid(messages)
    found = [
        int(m.group(1))
        for message in messages
        for m in re.finditer(r"winner (\d{3}) paid", "\n".join(_sections(message.blocks)))
    ]
    assert found == list(range(200))
    for number, message in enumerate(messages[1:], start=2):
        label = message.blocks[0]["elements"][0]["text"]
        assert label == f"*Preflight failed: payouts*, continued ({number}/{len(messages)})"
        assert message.text == f"Preflight failed: payouts (continued {number}/{len(messages)})"


def test_a_list_of_five_thousand_ids_is_split_without_losing_one() -> None:
    """5,000 ids in the text come back whole, in order, across the messages."""
    text = "\n".join(f"0x{i:06x}" for i in range(5000))
    messages = reply_messages(Reply(title="Tickets", text=text))
    _valid(messages)
    shown = _unescape(
        "".join("".join(_sections(m.blocks)[1 if n == 0 else 0 :]) for n, m in enumerate(messages))
    )
    assert shown == text


def test_past_the_last_message_the_rest_is_counted_in_a_note() -> None:
    """Text longer than five messages ends the fifth with a note counting exactly the characters not
    shown; the follow-ups still end the reply."""
    text = "word " * 20_000
    reply = Reply(title="Huge", text=text, follow_ups=("/ops help lists the commands.",))
    messages = reply_messages(reply)
    assert len(messages) == MAX_MESSAGES
    _valid(messages)
    shown = _unescape(
        "".join("".join(_sections(m.blocks)[1 if n == 0 else 0 :]) for n, m in enumerate(messages))
    )
    notes = [t for t in texts(messages[-1].blocks) if "truncated" in t]
    [note] = notes
    left = int(re.search(r"([\d,]+) more characters", note).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert text.startswith(shown)
    assert len(shown) + left == len(text)
    assert "more than 5 messages" in note
    assert messages[-1].blocks[-1]["elements"][0]["text"] == "→ /ops help lists the commands."


def _ten_call_request() -> Reply:
    calls = tuple(
        Field(
            label=f"Call {i}",
            value=f"payouts::pay_batch(u64 {i}, vector<address> [" + "0xab" * 400 + "])",
        )
        for i in range(1, 11)
    )
    return Reply(
        title="Request 12-k7mq3: pay ten batches",
        text="State: pending",
        fields=(Field(label="Requested by", value="U0ALICE001"), *calls),
        request_id="12-k7mq3",
        state="pending",
        digest=DIGEST,
    )


def test_a_long_request_card_keeps_its_buttons_and_continues_in_its_thread() -> None:
    """A ten-call request is a card with its Approve and Deny buttons, saying it continues in the
    thread, and the thread messages hold every call the card could not."""
    messages = approval_messages(
        _ten_call_request(), request_id="12-k7mq3", state="pending", can_act=True
    )
    assert len(messages) > 1
    _valid(messages)
    card = messages[0].blocks
    assert card[-1]["type"] == "actions"
    assert card[-1]["elements"][0]["value"] == f"12-k7mq3:{DIGEST}"
    assert any("continued in the thread" in t for t in texts(card))
    calls = [
        int(m.group(1))
        for message in messages
        for block in message.blocks
        for f in block.get("fields", [])
        if (m := re.match(r"\*Call (\d+)\*", f["text"]))
    ]
    assert calls == list(range(1, 11))
