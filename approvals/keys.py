"""Every Redis key of the approvals store, built in one place (arq style)."""

from __future__ import annotations

__all__ = [
    "ALERTS_ACTIVE",
    "ALERTS_PENDING",
    "AUDIT",
    "EXECUTING",
    "INCIDENTS_ALL",
    "INCIDENTS_OPEN",
    "INCIDENT_SEQUENCE",
    "JOURNAL",
    "JOURNAL_SEEN",
    "OPEN_CALLS",
    "OUTBOX_CHANNELS",
    "PENDING",
    "PROPOSALS",
    "PROPOSALS_FENCE",
    "PROPOSALS_LEASE",
    "SALES_LOTTERIES",
    "SEQUENCE",
    "WATCHER_FENCE",
    "WATCHER_LEASE",
    "alert_count_key",
    "approvers_key",
    "incident_alerts_key",
    "incident_by_thread_key",
    "incident_key",
    "incident_seen_key",
    "incident_thread_key",
    "incident_timeline_key",
    "legacy_submissions_key",
    "outbox_item_key",
    "outbox_lease_key",
    "outbox_next_key",
    "outbox_parent_key",
    "outbox_stream_key",
    "request_key",
    "sales_digested_key",
    "sales_history_key",
    "sales_tally_key",
    "slack_event_key",
    "slack_message_key",
    "watcher_cursor_key",
    "watcher_seen_key",
]

PREFIX = "chatops"
SEQUENCE = f"{PREFIX}:approval:seq"  # the last request number taken (the number part of ids)
PENDING = f"{PREFIX}:approvals:pending"  # zset: id -> expires_ms (pending requests)
EXECUTING = f"{PREFIX}:approvals:executing"  # zset: id -> lease_expires_ms (claimed requests)
OPEN_CALLS = f"{PREFIX}:approvals:open"  # hash: calls digest -> id of the open request with them
AUDIT = f"{PREFIX}:audit"  # stream: every transition of every request (the approvals' journal)
# hash: a proposal's reference (an on-chain proposal number, opaque here) -> the request it carries
PROPOSALS = f"{PREFIX}:approvals:proposals"
PROPOSALS_LEASE = (
    f"{PREFIX}:proposals:lease"  # "owner|fence" PX ttl: the replica executing proposals
)
PROPOSALS_FENCE = f"{PREFIX}:proposals:fence"  # INCR counter: that lease's fencing token


def request_key(number: int | str) -> str:
    """Hash with the request's fields (its whole id, tag included, is the ``id`` field); keyed by
    number, which is unique while Redis keeps its data: a stale id finds the request that now has
    its number and is told apart by the tag."""
    return f"{PREFIX}:approval:{number}"


def approvers_key(number: int | str) -> str:
    """Set of the user ids who approved (so each person counts once)."""
    return f"{PREFIX}:approval:{number}:approvers"


def legacy_submissions_key(number: int | str) -> str:
    """Hash sequence number -> expires_s where earlier versions recorded a request's transactions
    (they are now fields of the request hash); read only, by reconciliation."""
    return f"{PREFIX}:approval:{number}:submissions"


def slack_message_key(request_id: str) -> str:
    """Hash {channel, ts}: the Slack message of a request, updated in place as its state changes."""
    return f"{PREFIX}:slack:approval:{request_id}"


def slack_event_key(event_id: str) -> str:
    """Marker of a Slack event or envelope already handled (retries and duplicates run nothing twice)."""
    return f"{PREFIX}:slack:seen:{event_id}"


# --- issue 6: event watcher, incidents, monitors (chatops/notify) ---------------------------------

WATCHER_LEASE = f"{PREFIX}:watcher:lease"  # string "owner|fence" with PX ttl: the leader's lease
WATCHER_FENCE = f"{PREFIX}:watcher:fence"  # INCR counter: the fencing token of the latest leader
INCIDENT_SEQUENCE = f"{PREFIX}:incident:seq"  # INCR -> the next incident number
INCIDENTS_OPEN = f"{PREFIX}:incidents:open"  # hash subject -> incident id (one open per subject)
INCIDENTS_ALL = f"{PREFIX}:incidents:all"  # zset incident id -> opened_at_s (newest last)
ALERTS_ACTIVE = f"{PREFIX}:alerts:active"  # hash "<alert>|<subject>" -> JSON of the raised alert
ALERTS_PENDING = f"{PREFIX}:alerts:pending"  # hash "<alert>|<subject>" -> first_seen_s (held-for)
SALES_LOTTERIES = f"{PREFIX}:sales:lotteries"  # set of lottery ids with purchase tallies


def watcher_cursor_key(event_type: str) -> str:
    """String: the next block height to scan for ``event_type`` (everything below is handed on)."""
    return f"{PREFIX}:watcher:{event_type}:cursor"


def watcher_seen_key(event_type: str) -> str:
    """Zset of event dedupe keys (creation:account:seq) handed on, scored by block height."""
    return f"{PREFIX}:watcher:{event_type}:seen"


def incident_by_thread_key(channel: str, ts: str) -> str:
    """String: the incident whose parent message is (channel, ts), for @chatops mentions in threads."""
    return f"{PREFIX}:incident:thread:{channel}:{ts}"


def incident_key(incident_id: str) -> str:
    """Hash with the incident's fields (subject, state, owner, channel, title, ...)."""
    return f"{PREFIX}:incident:{incident_id}"


def incident_timeline_key(incident_id: str) -> str:
    """Stream: the incident's timeline (notices, notes, state changes), oldest first."""
    return f"{PREFIX}:incident:{incident_id}:timeline"


def incident_seen_key(incident_id: str) -> str:
    """Set of notice ids already on the timeline (a retried emit appends nothing twice)."""
    return f"{PREFIX}:incident:{incident_id}:seen"


def incident_alerts_key(incident_id: str) -> str:
    """Set of "<alert>|<subject>" alerts still raised in this incident (resolves when empty)."""
    return f"{PREFIX}:incident:{incident_id}:alerts"


def incident_thread_key(incident_id: str) -> str:
    """Hash {channel, ts}: the parent message of the incident's thread, once posted."""
    return f"{PREFIX}:incident:{incident_id}:thread"


def sales_tally_key(lottery_id: str) -> str:
    """Hash digest period (unix s // period) -> tickets bought in it, for the sales digest."""
    return f"{PREFIX}:sales:{lottery_id}:tally"


def sales_history_key(lottery_id: str) -> str:
    """List of tickets per past digest period, newest last, for the 3-sigma rule."""
    return f"{PREFIX}:sales:{lottery_id}:history"


def sales_digested_key(lottery_id: str) -> str:
    """String: the last digest period already summarised (each digest is posted once)."""
    return f"{PREFIX}:sales:{lottery_id}:digested"


def alert_count_key(alert: str, subject: str) -> str:
    """Counter: how many times this alert was raised for this subject (the n in notice ids)."""
    return f"{PREFIX}:alert:{alert}:{subject}:raised"


# --- notify: the outbox (chatops.notify.outbox) and the ops journal (chatops.notify.journal) ------

OUTBOX_CHANNELS = f"{PREFIX}:outbox:channels"  # zset: channel -> ms its head item may be tried
JOURNAL = f"{PREFIX}:journal:entries"  # stream: the ops journal (incident_log.md rows)
JOURNAL_SEEN = f"{PREFIX}:journal:seen"  # hash: dedupe key -> stream id (entries written once)


def outbox_stream_key(channel: str) -> str:
    """Stream of a channel's queued outbox items (FIFO; consumer group ``outbox``)."""
    return f"{PREFIX}:outbox:{channel}:stream"


def outbox_next_key(channel: str) -> str:
    """The ms before which nothing more is sent to ``channel`` (1 per second, Retry-After)."""
    return f"{PREFIX}:outbox:{channel}:next"


def outbox_lease_key(channel: str) -> str:
    """Lease (token, PX) of the worker sending ``channel``'s head item: one sender per channel."""
    return f"{PREFIX}:outbox:{channel}:lease"


def outbox_item_key(item_id: str) -> str:
    """Hash of one outbox item (notice, target, state, ts): its existence dedupes the enqueue."""
    return f"{PREFIX}:outbox-item:{item_id}"


def outbox_parent_key(incident_id: str) -> str:
    """Hash {item, channel, ts} of the outbox item that posts an incident's parent message."""
    return f"{PREFIX}:outbox-parent:{incident_id}"
