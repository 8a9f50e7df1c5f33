"""Every command and every approval transition is one INFO line with its context."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis as redis_lib

from chatops.logs import ContextFilter
from tests.fakes.bot import harness


@pytest.fixture(autouse=True)
def _context_on_captured_lines(caplog: pytest.LogCaptureFixture) -> None:
    """The captured records get the log context, as the handler ``logs.configure`` installs does."""
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    """The INFO lines of ``logger``, each as its record's attributes (context included)."""
    return [vars(r) for r in caplog.records if r.name == logger and r.levelno == logging.INFO]


def test_a_command_is_one_info_line_with_request_user_channel_outcome_and_duration(
    redis: redis_lib.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A typed command logs one INFO line naming its request id, user, channel, command, outcome
    and duration; a refused one says error."""
    with harness(redis_client=redis) as h:
        assert h.run("/lottery status 1").ok
        assert not h.run("/lottery status nope").ok
    lines = _lines(caplog, "chatops.runner")
    assert len(lines) == 2
    ok, refused = lines
    for line in lines:
        assert len(str(line["request_id"])) == 12
        assert line["user"] == "alice"
        assert line["channel"] == "console"
        assert line["command"] == "/lottery"
        assert float(line["duration_ms"]) >= 0
    assert ok["outcome"] == "ok"
    assert refused["outcome"] == "error"
    assert ok["request_id"] != refused["request_id"]


def test_each_approval_transition_is_one_info_line_inside_its_command(
    redis: redis_lib.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Asking and approving log one line per transition (created, approved and claimed, succeeded),
    each carrying the approval id and the request id of the command that made it."""
    with harness(redis_client=redis) as h:
        asked = h.run("/feed fallback 1 on 3 price spike")
        assert asked.request_id is not None
        assert h.run(f"/ops approve {asked.request_id}", user="bob").ok
    events = [(r["event"], r["actor"]) for r in _lines(caplog, "approvals.service")]
    assert events[:2] == [("created", "alice"), ("approved and claimed", "bob")]
    assert events[2][0] == "succeeded"
    assert len(events) == 3
    transitions = _lines(caplog, "approvals.service")
    assert {r["approval_id"] for r in transitions} == {asked.request_id}
    commands = _lines(caplog, "chatops.runner")
    # the approval's lines carry the request id of the /ops approve command they happened in
    assert transitions[1]["request_id"] == commands[1]["request_id"]
    assert transitions[0]["request_id"] == commands[0]["request_id"]
