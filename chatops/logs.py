"""Logging set-up, run once from ``__main__``: one handler writing text or JSON lines, the context of
the work in hand on every line, and a filter that masks tokens and secrets."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "ContextFilter",
    "JsonLineFormatter",
    "RedactingFilter",
    "TextFormatter",
    "build_handler",
    "configure",
    "current_context",
    "log_context",
    "redact",
]

# xoxb/xoxp/xoxa/xoxo/xoxs/xoxr, xoxe (refresh tokens, also in the xoxe.xoxp-… form) and xapp,
# wherever they start: a \b would miss ``TOKEN_xoxb-…``, and masking a false positive costs nothing.
_TOKEN = re.compile(r"(xox[abeposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")

# The attributes every LogRecord has: anything else on a record is context (``extra=`` or ours).
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

# The work the current thread is doing (a command, a click, an approval): on every line it logs.
_NO_CONTEXT: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("chatops_log_context", default=_NO_CONTEXT)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask Slack tokens (``xox?-…``, ``xoxe-…``, ``xapp-…``) and the given secrets in ``text``."""
    masked = _TOKEN.sub(lambda m: m.group(1)[:5] + "***", text)
    for secret in secrets:
        if secret:
            masked = masked.replace(secret, "***")
    return masked


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every line logged inside the block (on this thread) carries ``fields`` (None ones are left
    out); blocks nest, the inner adding to the outer."""
    merged = {**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, object]:
    """The fields ``log_context`` set for the work in hand (to hand them to another thread)."""
    return dict(_CONTEXT.get())


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


class ContextFilter(logging.Filter):
    """Puts the ``log_context`` fields on each record; what ``extra=`` set on the line wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message, traceback and context values so no token or
    configured secret reaches a handler."""

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
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value, self._secrets))
        record.msg = clean
        record.args = None
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [key=value ...]``: the line's context after its message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        extras = _extras(record)
        if not extras:
            return line
        return line + " [" + " ".join(f"{k}={v}" for k, v in sorted(extras.items())) + "]"


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, the
    context fields, and ``exc_info`` (the traceback) when there is one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )
        self._secrets = [s for s in secrets if s]

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The formatter renders tracebacks itself, past the filter's redacted copy: mask here too.
        return {
            k: redact(v, self._secrets) if isinstance(v, str) else v for k, v in log_data.items()
        }


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (as logging's last resort does),
    not the one there was at start: a replaced stderr (a test's capture) never gets stale."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


def build_handler(
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
    *,
    fmt: Literal["text", "json"] = "text",
) -> logging.Handler:
    """A handler writing text or JSON lines to ``stream`` (stderr), with the context and the
    redacting filters (the one ``configure`` installs; tests build their own)."""
    secrets = [s for s in secrets if s]
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonLineFormatter(secrets) if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    return handler


def configure(
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
    *,
    fmt: Literal["text", "json"] = "text",
) -> None:
    """Install the one root handler (``build_handler``); quiet the chatty HTTP libraries."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(build_handler(None, secrets, fmt=fmt))
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
