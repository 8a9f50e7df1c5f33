"""The ops journal: append once, newest first, the exact incident_log.md table, JSON, and the hooks."""

from __future__ import annotations

import json
import re
from typing import cast

import pytest
import redis as redis_lib

from approvals.models import Submission
from approvals.policy import Policy, Role
from approvals.service import ApprovalService, NewRequest
from approvals.store import RedisApprovalStore
from chatops.__main__ import main
from chatops.notify.journal import (
    HEADER,
    SEPARATOR,
    Journal,
    JournalEntry,
    export_json,
    export_md,
    journal_notice,
    journal_step,
    step_type,
)
from chatops.notify.notice import Notice
from commands.reply import Field, Reply
from tests.conftest import wait_until

TX = "0x" + "ab" * 32
# 2025-11-30 10:15:00 UTC
T0 = 1_764_497_700


def entry(minutes: int, description: str, type_: str = "Инцидент") -> JournalEntry:
    return JournalEntry.model_validate(
        {
            "at_s": T0 + minutes * 60,
            "type": type_,
            "description": description,
            "responsible": "RootAdmin, DevOps",
            "links": ("[PR #123](https://example.org/pr/123)",),
        }
    )


# The row grammar of spec §11.3 / §10.4: five cells, the first a UTC minute, pipes inside escaped.
ROW = re.compile(r"^\| \d{4}-\d{2}-\d{2} \d{2}:\d{2} (\| (?:[^|\\]|\\.)+ ){4}\|$")


def unescaped_cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_md_export_is_the_incident_log_table_newest_first() -> None:
    """The export has the literal headers and separator, rows newest first with UTC minutes."""
    text = export_md([entry(0, "first"), entry(5, "second"), entry(2, "middle")])
    lines = text.splitlines()
    assert lines[0] == "| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |"
    assert lines[0] == HEADER
    assert lines[1] == "|------------------|-------------|----------|---------------|--------|"
    assert lines[1] == SEPARATOR
    assert lines[2] == (
        "| 2025-11-30 10:20 | Инцидент | second | RootAdmin, DevOps | "
        "[PR #123](https://example.org/pr/123) |"
    )
    assert [unescaped_cells(line)[2] for line in lines[2:]] == ["second", "middle", "first"]
    assert all(ROW.match(line) for line in lines[2:])
    assert text.endswith("\n")


def test_same_minute_entries_keep_the_order_they_were_written() -> None:
    """Within one minute the sort is stable, as the runbook's tool sorts (a later entry goes after)."""
    text = export_md([entry(0, "a"), entry(0, "b"), entry(1, "c")])
    assert [unescaped_cells(line)[2] for line in text.splitlines()[2:]] == ["c", "a", "b"]


def test_pipes_and_newlines_in_cells_cannot_break_the_table() -> None:
    """A pipe becomes \\| and a newline a <br>, so each row keeps exactly five cells."""
    text = export_md([entry(0, "price | feed\nclamped")])
    row = text.splitlines()[2]
    assert "price \\| feed <br> clamped" in row
    assert len(unescaped_cells(row)) == 5
    assert ROW.match(row)


def test_journal_appends_once_per_dedupe_key_and_reads_newest_first(
    redis: redis_lib.Redis,
) -> None:
    """A dedupe key adds its entry once; recent() is newest first and entries() oldest first."""
    journal = Journal(redis)
    assert journal.append(entry(0, "one"), dedupe="k1")
    assert not journal.append(entry(0, "one again"), dedupe="k1")
    assert journal.append(entry(1, "two"))
    assert [e.description for e in journal.recent(5)] == ["two", "one"]
    assert [e.description for e in Journal(redis).entries()] == ["one", "two"]


def test_json_export_carries_the_same_rows() -> None:
    """The JSON export is a list of rows with the table's time format and the raw fields."""
    rows = json.loads(export_json([entry(0, "a"), entry(3, "b")]))
    assert [r["description"] for r in rows] == ["b", "a"]
    assert rows[0]["at"] == "2025-11-30 10:18"
    assert rows[0]["type"] == "Инцидент"
    assert rows[0]["at_s"] == T0 + 180


def test_journal_step_uses_the_runbook_type_and_links_the_transactions(
    redis: redis_lib.Redis,
) -> None:
    """A cancellation step is a Cancellation row naming both people, with its tx hash as a link."""
    journal = Journal(redis)
    reply = Reply(title="/refund start: done", fields=(Field(label="cancel_lottery", value=TX),))
    assert journal_step(
        journal,
        reply,
        "alice",
        command="/refund",
        text="start 4 vrf VRF never answered",
        at_s=T0,
        approved_by=("bob",),
        links=("https://chatops-test.slack.com/archives/C1/p1",),
    )
    (row,) = journal.recent()
    assert row.type == "Cancellation"
    assert row.responsible == "alice, bob"
    assert row.links == (TX, "https://chatops-test.slack.com/archives/C1/p1")
    line = export_md([row]).splitlines()[2]
    assert f"tx `{TX}`" in line
    assert "[Slack](https://chatops-test.slack.com/archives/C1/p1)" in line
    assert step_type("/lottery", "create 5 10 100 3600") == "Command"
    assert step_type("/vrf", "snapshot 1 2 3") == "VRF-пополнение"


def _new_request() -> NewRequest:
    return NewRequest(
        command="/feed",
        text="fallback 1 true 2 provider down",
        policy_key="feed.fallback",
        calls=[],
        digest="d" * 64,
        summary="fallback on for asset 1",
        requester="alice",
        reason="provider down",
        channel="C1",
        thread=None,
        plan_time_s=T0,
    )


def _next_millisecond(redis: redis_lib.Redis) -> None:
    """Wait until the Redis clock has moved on by a millisecond."""

    def now_ms() -> int:
        seconds, micros = cast(tuple[int, int], redis.time())
        return seconds * 1000 + micros // 1000

    start_ms = now_ms()

    def moved() -> bool:
        return now_ms() > start_ms

    wait_until(moved, timeout_s=1, interval_s=0.0005)


def test_approval_transitions_are_journal_rows_written_with_the_transitions(
    redis: redis_lib.Redis,
) -> None:
    """Each approval transition is a journal row once, read from the audit stream the transition
    itself wrote, interleaved in time with the journal's own rows; the executed request is a row of
    its step's type (a fallback is an incident) with both people and its transaction."""
    journal = Journal(redis)
    service = ApprovalService(RedisApprovalStore(redis), Policy(users={"bob": (Role.APPROVER,)}))
    request = service.create(_new_request())
    _next_millisecond(redis)  # within one millisecond the two streams' order is not known
    journal.append(entry(0, "between the request and its approval"))
    _next_millisecond(redis)
    approval = service.approve(request.id, "bob", claim_for="worker-1")
    assert approval.token is not None
    service.submitting(
        request.id, approval.token, "0xsender", Submission(sequence_number=1, expires_s=T0)
    )
    service.complete(request.id, approval.token, ok=True, result="fallback on", tx_hashes=[TX])

    rows = journal.entries()
    assert [r.type for r in rows] == ["Approval", "Инцидент", "Approval", "Инцидент"]
    assert rows[0].description == (
        f"Request {request.id} (/feed fallback 1 true 2 provider down): requested by alice; "
        "provider down"
    )
    assert rows[1].description == "between the request and its approval"
    assert rows[2].description.startswith(f"Request {request.id} (/feed fallback 1 true 2 ")
    assert "approved by bob" in rows[2].description
    assert rows[3].description == (
        f"/feed fallback 1 true 2 provider down: done. Request {request.id}: fallback on"
    )
    assert (rows[3].responsible, rows[3].links) == ("alice, bob", (TX,))
    assert journal.recent(2) == [rows[3], rows[2]]
    assert journal.entries() == rows  # reading writes nothing


def test_journal_notice_writes_alerts_once(redis: redis_lib.Redis) -> None:
    """An alert notice becomes one Alert row however often it is journaled."""
    journal = Journal(redis)
    alert = Notice(
        id="alert:vrf_balance_low:vrf-deposit:raised:1",
        kind="alert",
        subject="vrf-deposit",
        severity="critical",
        title="VRF balance below minimum",
        at_s=T0,
    )
    assert journal_notice(journal, alert)
    assert not journal_notice(journal, alert)
    (row,) = journal.recent()
    assert row.type == "Alert"
    assert row.description == "[critical] vrf-deposit: VRF balance below minimum"


def test_cli_exports_the_journal_of_a_scripted_incident(
    redis: redis_lib.Redis,
    redis_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`chatops journal export` prints the incident_log.md table of what the bot journaled."""
    journal = Journal(redis)
    raised = Notice(
        id="alert:price_feed_clamp_active:asset:1:raised:1",
        kind="alert",
        subject="asset:1",
        severity="warning",
        title="Clamp active > 5 min",
        at_s=T0,
    )
    journal_notice(journal, raised)
    journal_step(
        journal,
        Reply(title="/feed clear-clamp: done", fields=(Field(label="clear_clamp", value=TX),)),
        "alice",
        command="/feed",
        text="clear-clamp 1",
        at_s=T0 + 600,
        approved_by=("bob",),
    )
    monkeypatch.setenv("REDIS_URL", redis_server)
    assert main(["journal", "export"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:2] == [HEADER, SEPARATOR]
    assert lines[2] == (
        "| 2025-11-30 10:25 | Инцидент | /feed clear-clamp 1: done. /feed clear-clamp: done "
        f"| alice, bob | tx `{TX}` |"
    )
    assert lines[3] == (
        "| 2025-11-30 10:15 | Alert | [warning] asset:1: Clamp active > 5 min | chatops | - |"
    )
    assert out == export_md(journal.entries())
    assert main(["journal", "export", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["type"] for r in rows] == ["Инцидент", "Alert"]
