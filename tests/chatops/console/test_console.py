"""The console: ``chatops console --run`` as a real subprocess, and the Repl class on a StringIO."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chatops.console.repl import Repl
from tests.fakes.bot import Harness, harness

TIMEOUT_S = 50


def clean_env(home: Path) -> dict[str, str]:
    """Only what a shell needs: no REDIS_URL, SUPRA_RPC_URL or Slack tokens, so the console embeds."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}


def console(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chatops console ARGV`` from an empty directory (no .env is picked up)."""
    return subprocess.run(
        [sys.executable, "-m", "chatops", "console", *argv],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_run_prints_help_and_a_lottery_status(tmp_path: Path) -> None:
    """--run lines run against the embedded devnet and print plain text; exit code 0."""
    done = console(tmp_path, "--run", "/ops help", "--run", "/lottery status 1")
    assert done.returncode == 0, done.stderr
    assert "Runbook commands" in done.stdout
    assert "/lottery status <lottery-id>" in done.stdout
    assert "Lottery 1" in done.stdout
    assert "Status: Active" in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: no colour codes


def test_json_prints_one_object_per_line(tmp_path: Path) -> None:
    """--json prints each reply as one JSON object with ok, title and text."""
    done = console(tmp_path, "--json", "--run", "/ops help", "--run", "/lottery status 1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    replies = [json.loads(line) for line in lines]
    for reply in replies:
        assert {"ok", "title", "text"} <= set(reply)
        assert reply["ok"] is True
    assert replies[0]["title"] == "Runbook commands"
    assert replies[1]["fields"]["Status"] == "Active"


def test_an_error_line_gives_exit_code_1(tmp_path: Path) -> None:
    """One failing line makes the exit code 1 and prints an error reply; the other lines still run."""
    done = console(tmp_path, "--json", "--run", "/lottery status 99", "--run", "/lottery status 1")
    assert done.returncode == 1, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["ok"] is False
    assert "0x6507" in first["title"]
    assert second["ok"] is True


@pytest.fixture
def bot(redis: redis.Redis) -> Iterator[Harness]:
    """The seeded devnet and the runner with the two-person flow on the test Redis."""
    with harness(redis_client=redis) as h:
        yield h


def test_repl_prints_plain_text(bot: Harness) -> None:
    """run_script writes each reply as plain text to ``out`` and returns 0 when all succeed."""
    out = io.StringIO()
    repl = Repl(bot.runner, user="alice", out=out, colour=False)
    assert repl.run_script(["/lottery status 1"]) == 0
    text = out.getvalue()
    assert text.startswith("Lottery 1\n")
    assert "  Status: Active" in text
    assert "[bold]" not in text


def test_repl_json_mode_and_error_status(bot: Harness) -> None:
    """In JSON mode each reply is one line; an error reply makes the status 1."""
    out = io.StringIO()
    repl = Repl(bot.runner, user="alice", as_json=True, out=out, colour=False)
    assert repl.run_script(["/lottery status 1", "lottery status 1"]) == 1
    ok, bad = (json.loads(line) for line in out.getvalue().splitlines())
    assert ok["ok"] is True
    assert bad == {
        "ok": False,
        "title": "Commands start with a slash, for example /ops help.",
        "text": "",
    }


def test_as_switches_the_acting_user(bot: Harness) -> None:
    """``:as bob`` makes bob the actor: he approves alice's request, which then executes."""
    out = io.StringIO()
    repl = Repl(bot.runner, user="alice", out=out, colour=False)
    requested = repl.run_line("/feed fallback 1 on 3 price spike")
    assert requested.request_id is not None
    assert bot.view("price_feed::get_price_view", "1")[0]["fallback_active"] is False
    switched = repl.run_line(":as bob")
    assert switched.title == "Now acting as bob."
    assert repl.user == "bob"
    approved = repl.run_line(f"/ops approve {requested.request_id}")
    assert approved.ok, approved
    assert approved.state == "succeeded"
    assert bot.view("price_feed::get_price_view", "1")[0]["fallback_active"] is True


def test_as_a_viewer_is_refused_actions(bot: Harness) -> None:
    """After ``:as dave`` (read-only) an action is refused for dave, not alice."""
    repl = Repl(bot.runner, user="alice", out=io.StringIO(), colour=False)
    repl.run_line(":as dave")
    reply = repl.run_line("/lottery activate 2")
    assert not reply.ok
    assert "operator role" in reply.title


def test_a_viewer_cannot_open_resolve_or_note_an_incident_or_reconcile(bot: Harness) -> None:
    """``:as dave`` (viewer): opening, noting and resolving an incident and reconciling a request are
    refused for want of their role, and the incident alice opened stays open with its timeline."""
    out = io.StringIO()
    repl = Repl(bot.runner, user="alice", out=out, colour=False)
    opened = repl.run_line('/incident open asset:1 warning "price spike"')
    assert opened.title == "Incident #1 opened", opened
    shown = repl.run_line("/incident show 1")
    repl.run_line(":as dave")
    refusals = [
        repl.run_line('/incident open asset:2 warning "stale price"'),
        repl.run_line("/incident note 1 looks fine to me"),
        repl.run_line("/incident resolve 1 fixed"),
        repl.run_line("/ops reconcile 1"),
    ]
    assert [r.title for r in refusals] == [
        "/incident open needs the operator role, which you do not have.",
        "/incident note needs the operator role, which you do not have.",
        "/incident resolve needs the operator role, which you do not have.",
        "/ops reconcile needs the approver role, which you do not have.",
    ]
    listed = repl.run_line("/incident list all")
    assert listed.title == "1 incident(s)"
    assert "#1 [open] asset:1" in listed.text
    assert repl.run_line("/incident show 1").text == shown.text


def test_console_run_as_a_viewer_opens_no_incident(tmp_path: Path) -> None:
    """``chatops console --as dave`` on the embedded demo: the refused /incident open makes the exit
    code 1 and the list after it is still empty."""
    done = console(
        tmp_path,
        "--as",
        "dave",
        "--json",
        "--run",
        '/incident open asset:1 warning "price spike"',
        "--run",
        "/incident list",
    )
    assert done.returncode == 1, done.stderr
    refused, listed = (json.loads(line) for line in done.stdout.splitlines())
    assert refused["ok"] is False
    assert refused["title"] == "/incident open needs the operator role, which you do not have."
    assert listed["title"] == "No open incidents"
