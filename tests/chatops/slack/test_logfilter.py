"""Slack tokens never reach a log handler: chatops.logs.RedactingFilter masks xoxb-, xoxp-, xapp-
and xoxe- tokens in messages, arguments, exception text and stack traces."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from chatops.logs import RedactingFilter
from chatops.runner import error_reply

TOKENS = [
    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "xoxp-1234567890-0987654321-1111-abcdef",
    "xapp-1-A0123456789-1234567890-abcdef0123456789",
    "xoxe-1-My0xLTEyMzQ1Ng-abcdef",
    "xoxe.xoxp-1-Mi0yLTEyMzQ1Ng-abcdef",
]


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A logger whose only handler writes formatted records (tracebacks included) through the filter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.logfilter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    runner = logging.getLogger("chatops.runner")
    runner.addHandler(handler)
    yield out
    logger.removeHandler(handler)
    runner.removeHandler(handler)


def _secret_part(token: str) -> str:
    return token.split("-", 1)[1]


@pytest.mark.parametrize("token", TOKENS)
def test_tokens_in_messages_and_arguments_are_masked(stream: io.StringIO, token: str) -> None:
    """A token in the message or in a %-argument is replaced by its prefix and stars."""
    logger = logging.getLogger("tests.logfilter")
    logger.info("bearer %s", token)
    message = f"inline {token} and TOKEN_{token}"
    logger.info(message)
    text = stream.getvalue()
    assert _secret_part(token) not in text
    assert "***" in text


@pytest.mark.parametrize("token", TOKENS)
def test_tokens_in_exception_text_are_masked(stream: io.StringIO, token: str) -> None:
    """A token carried by an exception message is masked in the logged traceback."""
    logger = logging.getLogger("tests.logfilter")

    def call_slack() -> None:
        raise RuntimeError(f"auth failed for {token}")

    try:
        call_slack()
    except RuntimeError:
        logger.exception("call failed")
    text = stream.getvalue()
    assert "RuntimeError: auth failed for " in text
    assert _secret_part(token) not in text


def test_pre_formatted_exception_text_is_masked(stream: io.StringIO) -> None:
    """A record that arrives with its traceback already rendered (no exc_info) is masked too."""
    record = logging.LogRecord("tests.logfilter", logging.ERROR, __file__, 1, "failed", None, None)
    record.exc_text = f"Traceback ...\nValueError: {TOKENS[0]}"
    logging.getLogger("tests.logfilter").handle(record)
    assert _secret_part(TOKENS[0]) not in stream.getvalue()
    assert "ValueError: xoxb-***" in stream.getvalue()


def test_tokens_in_stack_info_are_masked(stream: io.StringIO) -> None:
    """stack_info shows source lines, which may hold a token; they are masked like the rest."""
    logging.getLogger("tests.logfilter").info("here", stack_info=True)  # xoxb-999-in-the-source
    text = stream.getvalue()
    assert "Stack (most recent call last)" in text
    assert "xoxb-999-in-the-source" not in text


def test_internal_error_reference_survives_redaction(stream: io.StringIO) -> None:
    """The internal error's log line keeps its reference while the token in the exception is masked."""
    reply = error_reply(ValueError(f"bad token {TOKENS[0]}"))
    ref = reply.title.removeprefix("Internal error, reference ").removesuffix(".")
    text = stream.getvalue()
    assert f"Internal error, reference {ref} (ValueError)" in text
    assert "ValueError: bad token xoxb-***" in text
    assert _secret_part(TOKENS[0]) not in text
