"""Every Redis key of the notify side (watcher, incidents, alerts, sales, outbox, journal), built here."""

from __future__ import annotations

from approvals.keys import PREFIX  # every key of the bot starts with it

__all__ = [
    "ALERTS_ACTIVE",
    "ALERTS_PENDING",
    "INCIDENTS_ALL",
    "INCIDENTS_OPEN",
    "INCIDENTS_RESOLVED",
    "INCIDENT_SEQUENCE",
    "JOURNAL",
    "JOURNAL_SEEN",
    "OUTBOX_CHANNELS",
    "SALES_LOTTERIES",
    "WATCHER_FENCE",
    "WATCHER_LEASE",
    "alert_count_key",
    "incident_alerts_key",
    "incident_by_thread_key",
    "incident_key",
    "incident_seen_key",
    "incident_thread_key",
    "incident_timeline_key",
    "loop_fence_key",
    "loop_lease_key",
    "outbox_item_key",
    "outbox_lease_key",
    "outbox_next_key",
    "outbox_parent_key",
    "outbox_stream_key",
    "sales_digested_key",
    "sales_history_key",
    "sales_tally_key",
    "watcher_cursor_key",
    "watcher_seen_key",
]

WATCHER_LEASE = f"{PREFIX}:watcher:lease"  # string "owner|fence" with PX ttl: the leader's lease
WATCHER_FENCE = f"{PREFIX}:watcher:fence"  # INCR counter: the fencing token of the latest leader
INCIDENTS_RESOLVED = f"{PREFIX}:incidents:resolved"  # zset incident id -> resolved_at_s (retention)
INCIDENT_SEQUENCE = f"{PREFIX}:incident:seq"  # INCR -> the next incident number
INCIDENTS_OPEN = f"{PREFIX}:incidents:open"  # hash subject -> incident id (one open per subject)
INCIDENTS_ALL = f"{PREFIX}:incidents:all"  # zset incident id -> opened_at_s (newest last)
ALERTS_ACTIVE = f"{PREFIX}:alerts:active"  # hash "<alert>|<subject>" -> JSON of the raised alert
ALERTS_PENDING = f"{PREFIX}:alerts:pending"  # hash "<alert>|<subject>" -> first_seen_s (held-for)
SALES_LOTTERIES = f"{PREFIX}:sales:lotteries"  # set of lottery ids with purchase tallies


def loop_lease_key(loop: str) -> str:
    """String "owner|fence" with a PX ttl: the lease of the replica running singleton ``loop``."""
    return f"{PREFIX}:lease:{loop}"


def loop_fence_key(loop: str) -> str:
    """INCR counter: the fencing token of ``loop``'s latest leader."""
    return f"{PREFIX}:lease:{loop}:fence"


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
