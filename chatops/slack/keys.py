"""The Redis keys of the Slack adapter: a request's messages, the events already handled, and App Home."""

from __future__ import annotations

from approvals.keys import PREFIX  # every key of the bot starts with it

__all__ = [
    "HOME_REFRESH",
    "HOME_VIEWERS",
    "slack_dm_key",
    "slack_event_key",
    "slack_message_key",
    "slack_told_key",
    "slack_user_requests_key",
]


# Set of the users who opened chatops's App Home: whose tab is published again when it changes.
HOME_VIEWERS = f"{PREFIX}:slack:home:viewers"


def slack_message_key(request_id: str) -> str:
    """Hash {channel, ts}: the Slack message of a request, updated in place as its state changes."""
    return f"{PREFIX}:slack:approval:{request_id}"


def slack_dm_key(request_id: str) -> str:
    """Hash user -> "channel ts": the request's card in each approver's direct messages."""
    return f"{PREFIX}:slack:approval:{request_id}:dms"


def slack_told_key(request_id: str, state: str) -> str:
    """Marker: the requester was sent a direct message about ``state`` (once, across replicas)."""
    return f"{PREFIX}:slack:approval:{request_id}:told:{state}"


def slack_user_requests_key(user: str) -> str:
    """List of the request ids ``user`` asked for from Slack, newest first (their App Home)."""
    return f"{PREFIX}:slack:user:{user}:requests"


def slack_event_key(event_id: str) -> str:
    """Marker of a Slack event or envelope already handled (retries and duplicates run nothing twice)."""
    return f"{PREFIX}:slack:seen:{event_id}"


# Marker that a round publishing every open App Home tab again waits to start: it covers every
# change made meanwhile, on every replica.
HOME_REFRESH = f"{PREFIX}:slack:home:refresh"
