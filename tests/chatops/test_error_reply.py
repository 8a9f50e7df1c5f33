"""error_reply, the one rendering of an error: a domain error is its own sentence, anything else a
reference that is also on the logged line and its traceback."""

from __future__ import annotations

import logging
import re

import pytest

from approvals.errors import InvalidStateError, SelfApprovalError, StoreUnavailableError
from chatops.chain.errors import ChainAbortError, ChainUnavailableError
from chatops.runner import error_reply
from commands.errors import CommandError, PermissionDeniedError, PreconditionError, UsageError
from commands.reply import Check, Tone

REF = re.compile(r"Internal error, reference ([0-9a-f]{8})\.")


@pytest.mark.parametrize(
    "exc",
    [
        CommandError("Lottery 9 does not exist."),
        PermissionDeniedError("Only the ops role may run /feed fallback."),
        SelfApprovalError("You cannot approve your own request."),
        InvalidStateError("Request 4 is already executed.", state="succeeded"),
        StoreUnavailableError(),
    ],
    ids=["command", "permission", "self-approval", "invalid-state", "store-down"],
)
def test_domain_errors_show_their_sentence_and_log_nothing(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """A command or approvals error is an error reply titled with its own sentence; nothing is logged."""
    with caplog.at_level(logging.ERROR, logger="chatops.runner"):
        reply = error_reply(exc)
    assert (reply.ok, reply.tone, reply.title, reply.text) == (
        False,
        Tone.ERROR,
        str(exc),
        "",
    )
    assert caplog.records == []


def test_a_chain_error_says_it_came_from_the_chain() -> None:
    """A chain failure that is no abort is named as one."""
    reply = error_reply(ChainUnavailableError("The node did not answer within 10 s."))
    assert reply.title == "Chain error: The node did not answer within 10 s."


def test_chain_abort_shows_its_decoded_name_and_where() -> None:
    """An abort shows its name and meaning, never a bare number, and says nothing changed."""
    exc = ChainAbortError(
        module="0x1::lottery", code=7, name="E_PAUSED", meaning="the lottery is paused"
    )
    reply = error_reply(exc)
    assert reply.title == "The chain refused: E_PAUSED (0x7): the lottery is paused"
    assert reply.text == "Move abort in module 0x1::lottery. Nothing changed on chain."


def test_usage_error_adds_its_usage() -> None:
    """A usage error shows how the command is typed."""
    reply = error_reply(UsageError("Missing the asset id.", usage="/feed fallback <asset-id> <r>"))
    assert (reply.title, reply.text) == (
        "Missing the asset id.",
        "Usage: /feed fallback <asset-id> <r>",
    )


def test_precondition_error_carries_its_checks() -> None:
    """A precondition error carries every check, and says nothing was sent."""
    checks = (
        Check(name="not paused", ok=True),
        Check(name="balance", ok=False, seen="5", required=">= 10"),
    )
    reply = error_reply(PreconditionError("Preflight failed: balance.", checks))
    assert reply.title == "Preflight failed: balance."
    assert reply.text == "Nothing was sent for the failed check."
    assert reply.checks == checks


def test_unknown_error_gets_a_reference_that_is_on_the_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anything else shows "Internal error, reference <id>" and logs the traceback under that id."""

    def explode() -> None:
        raise KeyError("secret internals")

    def render_in_handler() -> tuple[KeyError, str]:
        try:
            explode()
        except KeyError as exc:
            return exc, error_reply(exc, command="/feed").title
        raise AssertionError("explode() did not raise")

    with caplog.at_level(logging.ERROR, logger="chatops.runner"):
        caught, title = render_in_handler()
    found = REF.fullmatch(title)
    assert found is not None
    ref = found.group(1)
    assert "secret internals" not in title
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Internal error, reference {ref} (KeyError)"
    assert (record.__dict__["ref"], record.__dict__["command"]) == (ref, "/feed")
    assert record.exc_info is not None
    assert record.exc_info[1] is caught
    assert "explode" in caplog.text
    assert "secret internals" in caplog.text


def test_unknown_error_is_logged_even_outside_an_except_block(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The traceback comes from the exception itself, not from the interpreter's current one."""
    exc = RuntimeError("never raised")
    with caplog.at_level(logging.ERROR, logger="chatops.runner"):
        error_reply(exc)
    [record] = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[1] is exc


def test_each_unknown_error_gets_its_own_reference(caplog: pytest.LogCaptureFixture) -> None:
    """Two failures never share a reference, so a report points at one traceback."""
    with caplog.at_level(logging.ERROR, logger="chatops.runner"):
        titles = {error_reply(ValueError("x")).title for _ in range(20)}
    assert len(titles) == 20
    assert all(REF.fullmatch(title) for title in titles)
