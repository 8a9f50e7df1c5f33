"""Slash commands: one listener for every command of the catalog, the text unwrapped into an ``Invocation``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.slack.ids import unwrap_text
from chatops.slack.invocations import Invocations
from commands.invocation import Invocation
from commands.reply import Reply

__all__ = ["register"]


def _label(body: dict[str, Any]) -> str:
    """``/payouts run (by U…)``: a command as the shutdown log names it, without the typed text."""
    words = str(body.get("text", "")).split(maxsplit=1)
    name = f" {words[0][:40]}" if words else ""
    return f"{body.get('command', '?')}{name} (by {body.get('user_id', '?')})"


def register(app: App, invocations: Invocations) -> None:
    """Listen to every slash command of the runner's catalog."""

    def run_command(body: dict[str, Any]) -> None:
        user, channel = str(body["user_id"]), str(body["channel_id"])
        inv = Invocation(
            user=user,
            command=str(body["command"]),
            text=unwrap_text(str(body.get("text", ""))),
            channel=channel,
        )
        progress = invocations.progress_message(
            channel=channel, user=user, command=f"{inv.command} {inv.text}".strip()
        )
        invocations.run(inv, progress=progress)

    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        channel, user = str(body["channel_id"]), str(body["user_id"])

        def refuse(text: str) -> None:
            invocations.poster.reply(Reply.error(text), channel=channel, user=user)

        invocations.admit(lambda: run_command(body), _label(body), refuse)

    for command in invocations.deps.runner.registry.commands:
        app.command(command)(on_command)
