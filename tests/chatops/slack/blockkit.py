"""Checks shared by the Block Kit tests: Slack's limits, slack_sdk's own validation, and the texts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from chatops.slack.blocks.limits import MAX_BLOCKS, limit_violations

# An "&" that does not start one of the three entities Slack decodes.
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
# A broadcast word that would notify: the "@" directly followed by the word.
LIVE_BROADCAST = re.compile(r"@(?:here|channel|everyone)", re.IGNORECASE)


def texts(node: Any) -> Iterator[str]:
    """Every ``text`` string anywhere in a block payload (sections, fields, context, buttons, ...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """The ``text`` of every mrkdwn text object (the ones Slack parses for mentions and links)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


def assert_valid(blocks: Sequence[dict[str, Any]]) -> None:
    """Within Slack's limits by our own checks, and accepted by slack_sdk's validators."""
    assert len(blocks) <= MAX_BLOCKS
    assert limit_violations(blocks) == []
    for payload in blocks:
        model = Block.parse(dict(payload))
        assert model is not None, payload
        model.validate_json()
        assert model.to_dict() == payload


def assert_inert(text: str) -> None:
    """No control sequence, no bare "&", no live broadcast word in a mrkdwn string."""
    assert "<" not in text, text
    assert ">" not in text, text
    assert BARE_AMPERSAND.search(text) is None, text
    assert LIVE_BROADCAST.search(text) is None, text
