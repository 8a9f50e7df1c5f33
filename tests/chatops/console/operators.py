"""Operators at the console: lines typed into the ``Repl`` as alice (who operates) and bob (who
approves), each answer read as the text the console prints, and the devnet checked afterwards."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from approvals.models import Status
from chatops.console.render import render_text
from chatops.console.repl import Repl
from commands.reply import Reply
from tests.fakes.bot import Harness


@dataclass
class Desk:
    """One console session on the harness's devnet and two-person flow."""

    h: Harness
    repl: Repl = field(init=False)
    printed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.repl = Repl(self.h.runner, user="alice", out=io.StringIO(), colour=False)

    def type(self, line: str, user: str = "alice") -> Reply:
        """``line`` typed by ``user`` (``:as`` switches the console's user as a person would)."""
        if self.repl.user != user:
            self.repl.run_line(f":as {user}")
        reply = self.repl.run_line(line)
        self.printed.append(render_text(reply, markup=False))
        return reply

    def ok(self, line: str, user: str = "alice") -> Reply:
        """A line that must succeed (a read, or an action that runs alone)."""
        reply = self.type(line, user)
        assert reply.ok, self.printed[-1]
        return reply

    def approved(self, line: str, reason_note: str = "", approver: str = "bob") -> Reply:
        """alice asks, the request waits (nothing sent), bob approves and it executes."""
        before = self.h.tx_count
        request = self.type(line)
        assert request.state == Status.PENDING, self.printed[-1]
        assert self.h.tx_count == before, "a request sent something before its approval"
        if reason_note:
            assert reason_note in self.printed[-1]
        done = self.type(f"/ops approve {request.request_id}", approver)
        assert done.state == Status.SUCCEEDED, self.printed[-1]
        return done

    def refused(self, line: str, check: str, seen: str, required: str = "") -> str:
        """A line refused by the named check: the console prints the check as FAILED with what it
        saw (starting with ``seen``) and what it needed (containing ``required``), and the devnet
        receives nothing. The printed text."""
        before = (self.h.tx_count, len(self.h.server.ledger.events))
        reply = self.type(line)
        text = self.printed[-1]
        assert not reply.ok, text
        [failed] = [c for c in reply.checks if c.name == check]
        assert not failed.ok, text
        assert failed.seen.startswith(seen), failed.seen
        assert required in failed.required, failed.required
        assert f"[FAILED] {check} (seen {failed.seen}, required {failed.required})" in text
        assert (self.h.tx_count, len(self.h.server.ledger.events)) == before
        return text

    def fields(self, line: str, user: str = "alice") -> dict[str, str]:
        return {f.label: f.value for f in self.ok(line, user).fields}

    def view(self, function: str, *args: Any) -> Any:
        [value] = self.h.view(function, *(str(a) if isinstance(a, int) else a for a in args))
        return value

    def status(self, lottery_id: int) -> int:
        return int(self.view("views::get_lottery_status", lottery_id)["status"])

    def events(self, struct: str, lottery_id: int) -> list[dict[str, Any]]:
        return [
            e
            for e in self.h.events(struct)
            if str(lottery_id) in (e.get("lottery_id"), e.get("id"))
        ]
