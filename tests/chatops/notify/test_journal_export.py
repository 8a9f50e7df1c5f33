"""The journal read newest first a page at a time, merged with the audit stream, cut by time."""

from __future__ import annotations

import json
import time
from typing import cast

import pytest
import redis as redis_lib

from approvals.policy import Policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.__main__ import main
from chatops.notify.journal import (
    Journal,
    JournalEntry,
    export_json,
    export_json_chunks,
    export_md,
    export_md_lines,
)
from chatops.notify.keys import JOURNAL
from tests.approvals.requests import USERS, fallback_request


def _fill(redis: redis_lib.Redis, entries: int) -> Journal:
    """A journal of ``entries`` of its own, interleaved with approval lines on the audit stream."""
    journal = Journal(redis)
    service = ApprovalService(
        RedisApprovalStore(redis), Policy.model_validate({"users": USERS, "ttl_s": 600})
    )
    for n in range(entries):
        # at_s is when it happened: now, as the stream's id says when it was written
        now_s = int(time.time())
        journal.append(JournalEntry(at_s=now_s, type="Alert", description=f"e{n}", responsible="x"))
        if n % 3 == 0:
            request = service.create(fallback_request("alice", f"{n + 1:064x}"))
            service.cancel(request.id, "alice")
    return journal


def test_paged_merge_is_the_whole_journal_newest_first(redis: redis_lib.Redis) -> None:
    """Read in pages of 4 from both streams, the merge is every entry, newest first, the same
    table and JSON as the whole journal sorted at once."""
    journal = _fill(redis, 25)
    streamed = list(journal.newest_first(page=4))
    whole = journal.entries()
    assert len(streamed) == len(whole) == 25 + 9 * 2
    assert streamed == list(reversed(whole))
    assert "".join(export_md_lines(streamed)) == export_md(whole)
    assert "".join(export_json_chunks(streamed)) == export_json(whole)
    assert "".join(export_json_chunks([])) == export_json([])


def test_since_and_until_cut_by_the_time_written(redis: redis_lib.Redis) -> None:
    """since/until (ms, inclusive) keep exactly the entries whose stream ids fall between them."""
    journal = Journal(redis)
    written: list[tuple[int, str]] = []
    for n in range(8):
        journal.append(JournalEntry(at_s=n, type="Alert", description=f"e{n}", responsible="x"))
        [(raw_id, _fields)] = cast("list[tuple[bytes, object]]", redis.xrevrange(JOURNAL, count=1))
        written.append((int(raw_id.decode().split("-")[0]), f"e{n}"))
    since, until = written[2][0], written[5][0]
    wanted = [name for at, name in reversed(written) if since <= at <= until]
    assert [e.description for e in journal.newest_first(since, until, page=2)] == wanted


def test_cli_export_takes_since_and_until(
    redis: redis_lib.Redis,
    redis_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``chatops journal export --since/--until`` (unix seconds or ISO 8601) prints only that
    window; a malformed time is a usage error naming the accepted forms."""
    journal = _fill(redis, 3)
    monkeypatch.setenv("REDIS_URL", redis_server)
    assert main(["journal", "export", "--format", "json", "--since", "2999-01-01"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["journal", "export", "--format", "json", "--until", "0"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["journal", "export", "--format", "json", "--since", "2000-01-01T00:00"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(journal.entries())
    with pytest.raises(SystemExit):
        main(["journal", "export", "--since", "yesterday"])
    assert "ISO 8601" in capsys.readouterr().err
