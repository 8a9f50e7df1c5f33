"""Logging set-up, run once from ``__main__``: one handler, and a filter that masks tokens and secrets."""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Iterable

__all__ = ["RedactingFilter", "configure", "redact"]

# xoxb/xoxp/xoxa/xoxo/xoxs/xoxr, xoxe (refresh tokens, also in the xoxe.xoxp-… form) and xapp,
# wherever they start: a \b would miss ``TOKEN_xoxb-…``, and masking a false positive costs nothing.
_TOKEN = re.compile(r"(xox[abeposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask Slack tokens (``xox?-…``, ``xoxe-…``, ``xapp-…``) and the given secrets in ``text``."""
    masked = _TOKEN.sub(lambda m: m.group(1)[:5] + "***", text)
    for secret in secrets:
        if secret:
            masked = masked.replace(secret, "***")
    return masked


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message so no token or configured secret reaches a handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self._secrets)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info), self._secrets
            )
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        record.msg = clean
        record.args = None
        return True


def configure(level: int = logging.INFO, secrets: Iterable[str] = ()) -> None:
    """Install the root handler with the redacting filter; quiet the chatty HTTP libraries."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "root": {"level": level, "handlers": ["stderr"]},
        }
    )
    redacting = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
