"""The Redis keys of the Slack adapter: a request's message and the events already handled."""

from __future__ import annotations

__all__ = ["slack_event_key", "slack_message_key"]

PREFIX = "chatops"  # every key of the bot starts with it


def slack_message_key(request_id: str) -> str:
    """Hash {channel, ts}: the Slack message of a request, updated in place as its state changes."""
    return f"{PREFIX}:slack:approval:{request_id}"


def slack_event_key(event_id: str) -> str:
    """Marker of a Slack event or envelope already handled (retries and duplicates run nothing twice)."""
    return f"{PREFIX}:slack:seen:{event_id}"
