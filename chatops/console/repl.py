"""The text backend: a line -> Invocation -> Runner -> Reply printed; readline history, ``--as`` users.

It runs the very same Runner as Slack, so rehearsing here exercises the real checks and approvals.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from chatops.console.render import render_text
from chatops.runner import Runner
from commands.errors import UsageError
from commands.invocation import Invocation
from commands.reply import Reply

__all__ = ["Repl"]

HISTORY_FILE = Path.home() / ".chatops_history"


class Repl:
    """Reads commands (interactive or scripted) and prints replies as text or one JSON per line."""

    def __init__(
        self,
        runner: Runner,
        *,
        user: str,
        as_json: bool = False,
        out: TextIO | None = None,
        colour: bool | None = None,
    ) -> None:
        self.runner = runner
        self.user = user
        self.as_json = as_json
        self._out = out or sys.stdout
        self._console = Console(
            file=self._out, highlight=False, force_terminal=colour, no_color=colour is False
        )

    def _emit(self, reply: Reply) -> None:
        if self.as_json:
            self._out.write(json.dumps(reply.as_json(), sort_keys=True) + "\n")
            self._out.flush()
        else:
            self._console.print(render_text(reply), soft_wrap=True)

    def _progress(self) -> Callable[[str], None]:
        def report(message: str) -> None:
            if self.as_json:
                self._out.write(json.dumps({"progress": message}) + "\n")
            else:
                self._console.print(f"[dim]... {escape(message)}[/]")

        return report

    def run_line(self, line: str, cancel: threading.Event | None = None) -> Reply:
        """Run one typed line; ``:as NAME`` switches the acting user (so a second person can approve)."""
        stripped = line.strip()
        if stripped.startswith(":as "):
            self.user = stripped[4:].strip()
            return Reply(title=f"Now acting as {self.user}.", ephemeral=True)
        try:
            inv = Invocation.parse_line(stripped, user=self.user)
        except UsageError as exc:
            return Reply.error(str(exc))
        return self.runner.handle(inv, progress=self._progress(), cancel=cancel)

    def run_script(self, lines: Sequence[str]) -> int:
        """Run ``--run`` lines in order; the exit code is 1 if any reply was an error."""
        status = 0
        for line in lines:
            reply = self.run_line(line)
            self._emit(reply)
            if not reply.ok:
                status = 1
        return status

    def _run_cancellable(self, line: str) -> Reply:
        """Run on a worker thread so Ctrl-C can cancel a long procedure between its steps."""
        cancel = threading.Event()
        result: list[Reply] = []
        worker = threading.Thread(
            target=lambda: result.append(self.run_line(line, cancel)), daemon=True
        )
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:
                cancel.set()
                self._console.print("[yellow]cancelling after the current step...[/]")
        return result[0] if result else Reply.error("The command stopped without an answer.")

    def interact(self) -> int:
        """The prompt loop; Ctrl-C cancels a running procedure, Ctrl-D leaves."""
        with contextlib.suppress(ImportError):
            import readline

            with contextlib.suppress(OSError):
                readline.read_history_file(HISTORY_FILE)
        self._console.print(
            "chatops console. /ops help lists the runbook; :as NAME switches user; Ctrl-D quits."
        )
        while True:
            try:
                line = input(f"{self.user}> ")
            except EOFError:
                self._out.write("\n")
                break
            except KeyboardInterrupt:
                self._out.write("\n")
                continue
            if not line.strip():
                continue
            self._emit(self._run_cancellable(line))
        with contextlib.suppress(ImportError, OSError):
            import readline

            readline.write_history_file(HISTORY_FILE)
        return 0
