"""Slash commands: one listener for every command of the catalog, the text unwrapped into an ``Invocation``.

The listener decides with what is at hand and acks with any refusal in the ack's own response: it
never waits on the Web API, whatever happens behind it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.slack.blocks.reply import reply_messages
from chatops.slack.ids import unwrap_text
from chatops.slack.invocations import RESTARTING_TEXT, Invocations
from chatops.slack.web.reply_poster import Asker
from commands.invocation import Invocation
from commands.reply import Reply

__all__ = ["register"]


def _label(body: dict[str, Any]) -> str:
    """``/payouts run (by U…)``: a command as the shutdown log names it, without the typed text."""
    words = str(body.get("text", "")).split(maxsplit=1)
    name = f" {words[0][:40]}" if words else ""
    return f"{body.get('command', '?')}{name} (by {body.get('user_id', '?')})"


def _ack_with(ack: Ack, reply: Reply) -> None:
    """Answer in the ack itself: Slack shows a slash command's ack body to the asker alone."""
    [message, *_] = reply_messages(reply)  # a refusal is one message
    ack(text=message.text, blocks=message.blocks, response_type="ephemeral")


def register(app: App, invocations: Invocations) -> None:
    """Listen to every slash command of the runner's catalog."""

    def run_command(inv: Invocation, to: Asker) -> None:
        progress = invocations.progress_message(
            channel=inv.channel, user=inv.user, command=f"{inv.command} {inv.text}".strip()
        )
        invocations.run(inv, to, progress=progress)

    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        user, channel = str(body["user_id"]), str(body["channel_id"])
        inv = Invocation(
            user=user,
            command=str(body["command"]),
            text=unwrap_text(str(body.get("text", ""))),
            channel=channel,
        )
        to = Asker(
            user=user,
            channel=channel,
            command=_label(body),
            response_url=str(body.get("response_url") or "") or None,
        )
        refused = invocations.screen(inv)
        if refused is None:
            text = invocations.admit(
                lambda: run_command(inv, to),
                _label(body),
                owner=user,
                on_dropped=lambda: invocations.poster.reply_error(RESTARTING_TEXT, to),
            )
            refused = None if text is None else Reply.error(text)
        if refused is None:
            ack()
        else:
            _ack_with(ack, refused)

    for command in invocations.deps.runner.registry.commands:
        app.command(command)(on_command)
