"""The one Slack renderer of exceptions: a domain error becomes its own plain sentence (escaped for
mrkdwn); anything else becomes "Internal error, reference <id>" and its traceback is logged under that id.

Renders only; it decides nothing and changes no state.
"""

from __future__ import annotations

import logging
import secrets

from approvals.errors import ApprovalError
from chatops.chain.errors import ChainError
from chatops.slack.blocks.mrkdwn import fit_mrkdwn
from commands.errors import CommandError, PreconditionError, UsageError

__all__ = ["DOMAIN_ERRORS", "error_text"]

logger = logging.getLogger(__name__)

# Their str() is one plain sentence, safe to show (STYLE.md 4.5).
DOMAIN_ERRORS: tuple[type[Exception], ...] = (CommandError, ChainError, ApprovalError)

_FALLBACK_SENTENCE: tuple[tuple[type[Exception], str], ...] = (
    (CommandError, "The command could not run."),
    (ChainError, "The chain request failed."),
    (ApprovalError, "The approval could not be recorded."),
)
_SENTENCE_MAX = 2000
_USAGE_MAX = 400
_CHECK_MAX = 300
_CHECKS_SHOWN = 5


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    if text:
        return text
    for family, sentence in _FALLBACK_SENTENCE:
        if isinstance(exc, family):
            return sentence
    return "The request failed."  # pragma: no cover - every domain error is in a family above


def _domain_text(exc: Exception) -> str:
    parts = [fit_mrkdwn(_sentence(exc), _SENTENCE_MAX)]
    if isinstance(exc, UsageError) and exc.usage:
        usage = exc.usage.replace("`", "'")
        parts.append(f"Usage: `{fit_mrkdwn(usage, _USAGE_MAX)}`")
    if isinstance(exc, PreconditionError):
        failed = [c.line() for c in exc.checks if not c.ok]
        parts.extend(f"• {fit_mrkdwn(line, _CHECK_MAX)}" for line in failed[:_CHECKS_SHOWN])
        if len(failed) > _CHECKS_SHOWN:
            parts.append(f"… (truncated, {len(failed) - _CHECKS_SHOWN} more failed checks)")
    return "\n".join(parts)


def error_text(exc: BaseException) -> tuple[str, str | None]:
    """The mrkdwn an operator sees for ``exc`` (at most 3000 characters, fit for one section) and,
    for an unexpected error, the reference id logged with its traceback (``extra={"ref": id}``).
    Domain errors (commands, chain, approvals) show their own sentence and have no reference."""
    if isinstance(exc, DOMAIN_ERRORS):
        return _domain_text(exc), None
    ref = secrets.token_hex(4)
    # logger.exception's record, made safe outside an ``except`` block by passing exc_info itself.
    logger.error(
        "Internal error, reference %s (%s)",
        ref,
        type(exc).__name__,
        exc_info=exc,
        extra={"ref": ref},
    )
    return f"Internal error, reference {ref}. The details are in the bot's logs.", ref
