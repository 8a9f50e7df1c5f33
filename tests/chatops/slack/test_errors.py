"""error_text: domain errors show their own sentence; anything else shows a reference id that is
also on the logged traceback."""

from __future__ import annotations

import logging
import re

import pytest

from approvals.errors import ApprovalError, InvalidStateError, SelfApprovalError
from chatops.chain.errors import ChainAbortError, ChainError, ChainUnavailableError
from chatops.slack.errors import error_text
from commands.errors import CommandError, PermissionDeniedError, PreconditionError, UsageError
from commands.reply import Check

REF = re.compile(r"[0-9a-f]{8}")


@pytest.mark.parametrize(
    "exc",
    [
        CommandError("Lottery 9 does not exist."),
        PermissionDeniedError("Only the ops role may run /feed fallback."),
        ChainUnavailableError("The node did not answer within 10 s."),
        SelfApprovalError("You cannot approve your own request."),
        InvalidStateError("Request 4 is already executed.", state="succeeded"),
    ],
    ids=["command", "permission", "chain", "self-approval", "invalid-state"],
)
def test_domain_errors_show_their_sentence_without_reference(exc: Exception) -> None:
    """Each domain family renders as its own sentence, with no reference and nothing logged."""
    assert error_text(exc) == (str(exc), None)


def test_chain_abort_shows_its_decoded_name() -> None:
    """An abort shows its name and meaning, never a bare number."""
    exc = ChainAbortError(
        module="0x1::lottery", code=7, name="E_PAUSED", meaning="the lottery is paused"
    )
    assert error_text(exc) == ("E_PAUSED (0x7): the lottery is paused", None)


def test_domain_error_text_is_escaped() -> None:
    """Untrusted text inside a domain error cannot mention, broadcast or link."""
    text, ref = error_text(CommandError("No lottery named <!channel> or <@U1> & @here."))
    assert text == "No lottery named &lt;!channel&gt; or &lt;@U1&gt; &amp; @\u200dhere."
    assert ref is None


def test_usage_error_adds_its_usage_as_code() -> None:
    """A usage error shows how the command is typed, in a code span."""
    text, _ = error_text(
        UsageError("Missing the asset id.", usage="/feed fallback <asset-id> <reason>")
    )
    assert text == "Missing the asset id.\nUsage: `/feed fallback &lt;asset-id&gt; &lt;reason&gt;`"


def test_precondition_error_lists_the_failed_checks() -> None:
    """A precondition error shows each failed check with what was seen and required."""
    checks = (
        Check(name="not paused", ok=True),
        Check(name="balance", ok=False, seen="5", required=">= 10"),
    )
    text, _ = error_text(PreconditionError("The preflight failed.", checks))
    assert text == "The preflight failed.\n• [FAILED] balance (seen 5, required &gt;= 10)"


def test_many_failed_checks_are_counted() -> None:
    """Past five failed checks the rest are counted, not listed."""
    checks = tuple(Check(name=f"c{i}", ok=False) for i in range(8))
    text, _ = error_text(PreconditionError("The preflight failed.", checks))
    assert text.count("• [FAILED]") == 5
    assert text.endswith("… (truncated, 3 more failed checks)")


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (CommandError(), "The command could not run."),
        (ChainError(""), "The chain request failed."),
        (ApprovalError("  "), "The approval could not be recorded."),
    ],
)
def test_an_empty_domain_error_gets_a_sentence_of_its_family(exc: Exception, sentence: str) -> None:
    """A domain error raised without a message still tells the operator something."""
    assert error_text(exc) == (sentence, None)


def test_a_huge_domain_message_is_cut() -> None:
    """A domain sentence never outgrows a section's 3000 characters."""
    text, _ = error_text(ChainError("x" * 10_000))
    assert len(text) <= 3000
    assert re.search(r"… \(truncated, \d+ more characters\)$", text)


def test_unknown_error_gets_a_reference_that_is_on_the_log_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anything else shows "Internal error, reference <id>" and logs the traceback under that id."""

    def explode() -> None:
        raise KeyError("secret internals")

    def render_in_handler() -> tuple[KeyError, tuple[str, str | None]]:
        try:
            explode()
        except KeyError as exc:
            return exc, error_text(exc)
        raise AssertionError("explode() did not raise")

    with caplog.at_level(logging.ERROR, logger="chatops.slack.errors"):
        caught, (text, ref) = render_in_handler()
    assert ref is not None
    assert REF.fullmatch(ref)
    assert text.startswith(f"Internal error, reference {ref}")
    assert "secret internals" not in text
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.__dict__["ref"] == ref
    assert ref in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is caught
    assert "explode" in caplog.text
    assert "secret internals" in caplog.text


def test_unknown_error_is_logged_even_outside_an_except_block(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The traceback comes from the exception itself, not from the interpreter's current one."""
    exc = RuntimeError("never raised")
    with caplog.at_level(logging.ERROR, logger="chatops.slack.errors"):
        _, ref = error_text(exc)
    [record] = caplog.records
    assert record.__dict__["ref"] == ref
    assert record.exc_info is not None
    assert record.exc_info[1] is exc


def test_each_unknown_error_gets_its_own_reference(caplog: pytest.LogCaptureFixture) -> None:
    """Two failures never share a reference, so a report points at one traceback."""
    with caplog.at_level(logging.ERROR, logger="chatops.slack.errors"):
        refs = {error_text(ValueError("x"))[1] for _ in range(20)}
    assert len(refs) == 20


def test_base_exceptions_are_internal_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Even a BaseException that is no Exception is rendered, with a reference."""
    with caplog.at_level(logging.ERROR, logger="chatops.slack.errors"):
        text, ref = error_text(KeyboardInterrupt())
    assert ref is not None
    assert text.startswith("Internal error, reference")
