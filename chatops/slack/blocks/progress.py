"""The live message of a long command as Block Kit: who runs what, its latest lines, how it ended."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, SectionBlock

from chatops.slack.blocks.limits import TEXT_MAX, limit_violations, to_dicts
from chatops.slack.blocks.mrkdwn import code_span, context, fit, hex_as_code, mrkdwn, person
from chatops.slack.blocks.reply import FALLBACK_TEXT_MAX, SEVERITY_MARKER
from commands.reply import Reply, Tone

__all__ = ["progress_blocks", "progress_text"]

logger = logging.getLogger(__name__)

_COMMAND_MAX = 200
_PROGRESS_LINE_MAX = 900  # three of them fit one section


def _progress_head(command: str, user: str, outcome: Reply | None) -> str:
    shown = fit(command, _COMMAND_MAX, render=code_span)
    if outcome is None:
        return f":hourglass_flowing_sand: {person(user)} is running {shown}"
    title = fit(outcome.title if outcome.title.strip() else "(no title)", TEXT_MAX // 2)
    if outcome.ok:
        return f"{SEVERITY_MARKER[outcome.tone]} {shown} finished: *{title}*"
    return f"{SEVERITY_MARKER[Tone.ERROR]} {shown} stopped: *{title}*"


def progress_blocks(
    command: str,
    user: str,
    lines: Sequence[str],
    outcome: Reply | None = None,
    *,
    details_in_thread: bool = False,
) -> list[dict[str, Any]]:
    """The live message of a long command: who runs what and its latest progress lines, newest
    last; once ``outcome`` is known, how it ended (the reply itself is posted on its own: to
    ``user`` alone, or with ``details_in_thread`` in the thread the message is in)."""
    blocks: list[Block] = [SectionBlock(text=mrkdwn(_progress_head(command, user, outcome)))]
    if lines:
        shown = "\n".join(fit(line, _PROGRESS_LINE_MAX, render=hex_as_code) for line in lines)
        blocks.append(SectionBlock(text=mrkdwn(shown)))
    if outcome is None:
        blocks.append(context("Updated as the steps advance."))
    elif not outcome.ok:
        where = "follow in this thread" if details_in_thread else f"were sent to {person(user)}"
        blocks.append(context(f"The details {where}."))
    rendered = to_dicts(blocks)
    problems = limit_violations(rendered)
    if problems:
        logger.error("rendered progress breaks Slack's limits: %s", "; ".join(problems[:5]))
        return to_dicts(blocks[:1])
    return rendered


def progress_text(command: str, lines: Sequence[str], outcome: Reply | None = None) -> str:
    """The top-level ``text`` of the progress message (notifications and screen readers)."""
    if outcome is not None:
        raw = f"{command}: {'finished' if outcome.ok else 'stopped'}: {outcome.title}"
    else:
        raw = f"{command}: {lines[-1]}" if lines else f"{command}: running"
    return fit(raw, FALLBACK_TEXT_MAX)
