"""Log lines: text or JSON, the work's context on every line, secrets masked in both."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from chatops.logs import build_handler, log_context

SECRET = "signing-topsecret-123"
TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKl"


def _fail(exc: Exception) -> None:
    raise exc


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, dict[str, io.StringIO]]]:
    """One logger with a JSON and a text handler, each on its own buffer."""
    out = {"json": io.StringIO(), "text": io.StringIO()}
    logger = logging.getLogger("tests.logs")
    handlers = [
        build_handler(out["json"], [SECRET], fmt="json"),
        build_handler(out["text"], [SECRET], fmt="text"),
    ]
    for handler in handlers:
        logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, out
    for handler in handlers:
        logger.removeHandler(handler)


def test_json_line_is_one_object_with_time_level_logger_message_and_context(
    capture: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    """A JSON line carries time, level, logger, message, the log_context fields and extra= fields."""
    logger, out = capture
    with log_context(request_id="r-1", user="U1", channel="C1", command="/ops"):
        logger.info("approved %s", "12-abcd", extra={"approval_id": "12-abcd"})
    lines = out["json"].getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs"
    assert line["message"] == "approved 12-abcd"
    assert line["time"].startswith("20")
    assert "T" in line["time"]
    assert line["request_id"] == "r-1"
    assert line["user"] == "U1"
    assert line["channel"] == "C1"
    assert line["command"] == "/ops"
    assert line["approval_id"] == "12-abcd"


def test_context_ends_with_its_block(
    capture: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    """A line logged after the log_context block carries none of its fields."""
    logger, out = capture
    with log_context(request_id="r-2"):
        pass
    logger.info("later")
    assert "request_id" not in json.loads(out["json"].getvalue())


def test_text_line_shows_the_reference_passed_with_extra(
    capture: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    """The text format keeps extra= context (the "Internal error, reference X" a user sees)."""
    logger, out = capture
    try:
        _fail(RuntimeError("boom"))
    except RuntimeError:
        logger.exception("unexpected error", extra={"ref": "abc123"})
    text = out["text"].getvalue()
    assert "unexpected error [ref=abc123]" in text
    assert "RuntimeError: boom" in text
    line = json.loads(out["json"].getvalue())
    assert line["ref"] == "abc123"
    assert "RuntimeError: boom" in line["exc_info"]


def test_secrets_are_masked_in_messages_context_and_tracebacks(
    capture: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    """A token or configured secret in a message, a context value or a traceback is masked in both
    formats."""
    logger, out = capture
    with log_context(note=f"token {TOKEN}"):
        try:
            _fail(ValueError(f"bad secret {SECRET}"))
        except ValueError:
            logger.exception("failed with %s", SECRET, extra={"detail": TOKEN})
    for text in out.values():
        value = text.getvalue()
        assert SECRET not in value
        assert TOKEN not in value
        assert "***" in value
