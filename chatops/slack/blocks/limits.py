"""Slack's documented Block Kit limits and our own check of rendered blocks against them.

Pure: it renders nothing of its own except the note that replaces a block slack_sdk refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject

__all__ = [
    "ACTIONS_ELEMENTS_MAX",
    "BUTTON_TEXT_MAX",
    "BUTTON_VALUE_MAX",
    "CONFIRM_TEXT_MAX",
    "CONFIRM_TITLE_MAX",
    "CONTEXT_ELEMENTS_MAX",
    "FIELDS_PER_SECTION",
    "FIELD_TEXT_MAX",
    "HEADER_TEXT_MAX",
    "MAX_BLOCKS",
    "MESSAGE_TEXT_BUDGET",
    "MESSAGE_TEXT_MAX",
    "MODAL_TITLE_MAX",
    "TEXT_MAX",
    "block_text_size",
    "limit_violations",
    "to_dicts",
]

logger = logging.getLogger(__name__)

# Slack's limits (docs.slack.dev, Block Kit reference); slack_sdk's models check only some of them.
MAX_BLOCKS = 50
TEXT_MAX = 3000  # a section's text, a context element, any text object
FIELD_TEXT_MAX = 2000  # each of a section's fields
FIELDS_PER_SECTION = 10
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
MODAL_TITLE_MAX = 24
# A whole message: Slack answers msg_blocks_too_long past about 12,000 characters of text in all
# its blocks, far below its documented 40,000 for the top-level text. We budget a little under it.
MESSAGE_TEXT_MAX = 12_000
MESSAGE_TEXT_BUDGET = 11_000


def to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Serialise through slack_sdk's validators; a block they refuse becomes a visible note."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        try:
            out.append(block.to_dict())
        except SlackObjectFormationError:
            logger.warning(
                "a %s block failed validation and was replaced", block.type, exc_info=True
            )
            note = MarkdownTextObject(text="(part of this message could not be shown)")
            out.append(ContextBlock(elements=[note]).to_dict())
    return out


def block_text_size(node: Any) -> int:
    """Characters of text in a block payload: every ``text`` string in it, as Slack counts toward
    ``MESSAGE_TEXT_MAX`` (sections, fields, context, buttons and their confirmations)."""
    if isinstance(node, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else block_text_size(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return sum(block_text_size(item) for item in node)
    return 0


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def limit_violations(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Every way ``blocks`` (one message) break Slack's limits (empty when they do not), including
    the ones slack_sdk does not check (field length, empty text, button value, the whole message)."""
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    size = block_text_size(list(blocks))
    if size > MESSAGE_TEXT_MAX:
        problems.append(f"{size} characters of text in all (max {MESSAGE_TEXT_MAX})")

    def text_ok(where: str, obj: Any, limit: int) -> None:
        text = _text_of(obj)
        if text is None or not text.strip():
            problems.append(f"{where}: empty or missing text")
        elif len(text) > limit:
            problems.append(f"{where}: {len(text)} characters (max {limit})")

    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"block {index} ({kind})"
        if kind == "section":
            if "text" in block:
                text_ok(where, block["text"], TEXT_MAX)
            fields = block.get("fields", [])
            if len(fields) > FIELDS_PER_SECTION:
                problems.append(f"{where}: {len(fields)} fields (max {FIELDS_PER_SECTION})")
            for n, item in enumerate(fields):
                text_ok(f"{where} field {n}", item, FIELD_TEXT_MAX)
            if "text" not in block and not fields:
                problems.append(f"{where}: neither text nor fields")
        elif kind == "header":
            text_ok(where, block.get("text"), HEADER_TEXT_MAX)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
                problems.append(f"{where}: {len(elements)} elements")
            for n, item in enumerate(elements):
                text_ok(f"{where} element {n}", item, TEXT_MAX)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
                problems.append(f"{where}: {len(elements)} elements")
            for n, item in enumerate(elements):
                if item.get("type") == "button":
                    text_ok(f"{where} button {n}", item.get("text"), BUTTON_TEXT_MAX)
                    if len(str(item.get("value", ""))) > BUTTON_VALUE_MAX:
                        problems.append(f"{where} button {n}: value too long")
    return problems
