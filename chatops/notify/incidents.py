"""Incidents: one open incident per subject, its thread, state, owner and timeline, and the ``Sink`` that
routes every notice into the right thread.

The store is Redis made atomic with Lua; delivery goes through a ``Delivery`` port (the outbox). Nothing
here knows Slack: a thread is "the incident's parent message", resolved to a ts by the outbox.
``IncidentTracker`` is also a ``PageSink``: for a page of watcher events it reads the open incidents
once and queues the timeline lines and outbox items on the watcher's transaction, up to the first
notice that opens an incident (handed on alone, so opening stays one atomic script per subject).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, cast

import redis
from redis.client import Pipeline

from chatops.notify import keys
from chatops.notify.journal import Journal, journal_notice
from chatops.notify.notice import Notice, Severity
from chatops.notify.outbox import Outbox, Send
from chatops.notify.scripts import load_script

__all__ = [
    "Delivery",
    "Incident",
    "IncidentError",
    "IncidentState",
    "IncidentStore",
    "IncidentTracker",
    "OpensIncident",
    "OutboxDelivery",
    "TimelineEntry",
]

logger = logging.getLogger(__name__)

IncidentState = Literal["open", "mitigated", "resolved"]
_STATES: tuple[IncidentState, ...] = ("open", "mitigated", "resolved")


class IncidentError(Exception):
    """An incident operation that cannot be done (unknown id, already resolved); one plain sentence."""


@dataclass(frozen=True)
class Incident:
    id: str
    subject: str
    state: IncidentState
    owner: str
    channel: str
    title: str
    severity: Severity
    opened_at_s: int
    opened_by: str
    updated_at_s: int

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Incident:
        d = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            id=d["id"],
            subject=d["subject"],
            state=cast("IncidentState", d["state"]),
            owner=d.get("owner", ""),
            channel=d["channel"],
            title=d["title"],
            severity=cast("Severity", d["severity"]),
            opened_at_s=int(d["opened_at_s"]),
            opened_by=d.get("opened_by", ""),
            updated_at_s=int(d.get("updated_at_s", d["opened_at_s"])),
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an incident's timeline: a notice, a note or a state change."""

    at_s: int
    kind: str
    text: str
    by: str
    ref: str


class IncidentStore:
    """Incidents on Redis; also the outbox's ``ThreadLookup`` (incident id -> parent message)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client
        self._open = load_script(client, "incident_open")
        self._append = load_script(client, "incident_append")
        self._set_state = load_script(client, "incident_set_state")
        self._alerts = load_script(client, "incident_alerts")

    def open_or_join(
        self, subject: str, *, channel: str, title: str, severity: Severity, at_s: int, by: str
    ) -> tuple[Incident, bool]:
        """The open incident of ``subject``, or a new one; ``True`` if it was created now."""
        prefix = keys.incident_key("")
        incident_id, created = self._open(
            keys=[keys.INCIDENT_SEQUENCE, keys.INCIDENTS_OPEN, keys.INCIDENTS_ALL],
            args=[subject, channel, title, severity, at_s, by, prefix],
        )
        return self.require(_s(incident_id)), bool(int(created))

    def open_for(self, subject: str) -> Incident | None:
        found = self._r.hget(keys.INCIDENTS_OPEN, subject)
        return self.get(_s(found)) if found is not None else None

    def open_for_many(self, subjects: Iterable[str]) -> dict[str, Incident]:
        """The open incident of each of ``subjects`` that has one, in at most two round trips."""
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        ids = cast("list[bytes | None]", self._r.hmget(keys.INCIDENTS_OPEN, wanted))
        found = [(subject, _s(raw)) for subject, raw in zip(wanted, ids, strict=True) if raw]
        if not found:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for _subject, incident_id in found:
            pipe.hgetall(keys.incident_key(incident_id))
        rows = cast("list[dict[bytes, bytes]]", pipe.execute())
        return {
            subject: Incident.from_hash(raw)
            for (subject, _id), raw in zip(found, rows, strict=True)
            if raw
        }

    def get(self, incident_id: str) -> Incident | None:
        raw = cast("dict[bytes, bytes]", self._r.hgetall(keys.incident_key(incident_id)))
        return Incident.from_hash(raw) if raw else None

    def require(self, incident_id: str) -> Incident:
        """Raises: IncidentError: no such incident."""
        found = self.get(incident_id)
        if found is None:
            raise IncidentError(f"There is no incident {incident_id}.")
        return found

    def recent(self, *, limit: int = 20, include_resolved: bool = False) -> list[Incident]:
        """Newest first."""
        ids = cast("list[bytes]", self._r.zrevrange(keys.INCIDENTS_ALL, 0, -1))
        out: list[Incident] = []
        for raw_id in ids:
            incident = self.get(_s(raw_id))
            if incident is None or (incident.state == "resolved" and not include_resolved):
                continue
            out.append(incident)
            if len(out) >= limit:
                break
        return out

    def append(
        self, incident_id: str, *, ref: str, at_s: int, kind: str, text: str, by: str
    ) -> bool:
        """Add a timeline line once per ``ref``; ``False`` if it was already there.

        Raises:
            IncidentError: no such incident.
        """
        result = int(
            self._append(
                keys=[
                    keys.incident_seen_key(incident_id),
                    keys.incident_timeline_key(incident_id),
                    keys.incident_key(incident_id),
                ],
                args=[ref, at_s, kind, text, by],
            )
        )
        if result < 0:
            raise IncidentError(f"There is no incident {incident_id}.")
        return result == 1

    def append_into(
        self, tx: Pipeline, incident_id: str, *, ref: str, at_s: int, kind: str, text: str, by: str
    ) -> None:
        """``append`` queued on ``tx`` (the caller executes it; an unknown incident adds nothing)."""
        self._append(
            keys=[
                keys.incident_seen_key(incident_id),
                keys.incident_timeline_key(incident_id),
                keys.incident_key(incident_id),
            ],
            args=[ref, at_s, kind, text, by],
            client=tx,
        )

    def timeline(self, incident_id: str, *, limit: int = 200) -> list[TimelineEntry]:
        rows = cast(
            "list[tuple[bytes, dict[bytes, bytes]]]",
            self._r.xrange(keys.incident_timeline_key(incident_id), count=limit),
        )
        out = []
        for _id, fields in rows:
            d = {k.decode(): v.decode() for k, v in fields.items()}
            out.append(TimelineEntry(int(d["at_s"]), d["kind"], d["text"], d["by"], d["ref"]))
        return out

    def set_state(
        self, incident_id: str, state: IncidentState, *, at_s: int, by: str, note: str = ""
    ) -> bool:
        """Move to ``state``; ``False`` if it already was there.

        Raises:
            IncidentError: unknown incident, or it is resolved (final).
        """
        previous = _s(
            self._set_state(
                keys=[
                    keys.incident_key(incident_id),
                    keys.INCIDENTS_OPEN,
                    keys.incident_timeline_key(incident_id),
                ],
                args=[state, at_s, by, f": {note}" if note else ""],
            )
        )
        if previous == "":
            raise IncidentError(f"There is no incident {incident_id}.")
        if previous == "=":
            return False
        if previous == "resolved":
            raise IncidentError(f"Incident {incident_id} is resolved; open a new one instead.")
        return True

    def assign(self, incident_id: str, owner: str, *, at_s: int, by: str) -> None:
        """Raises: IncidentError: no such incident."""
        self.require(incident_id)
        self._r.hset(keys.incident_key(incident_id), mapping={"owner": owner})
        self.append(
            incident_id,
            ref=f"assign:{owner}:{at_s}",
            at_s=at_s,
            kind="assign",
            text=f"owner: {owner}",
            by=by,
        )

    def alert_raised(self, incident_id: str, member: str) -> int:
        return int(self._alerts(keys=[keys.incident_alerts_key(incident_id)], args=["add", member]))

    def alert_cleared(self, incident_id: str, member: str) -> int:
        """How many alerts are still raised in the incident after removing ``member``."""
        return int(
            self._alerts(keys=[keys.incident_alerts_key(incident_id)], args=["remove", member])
        )

    def mark(self, incident_id: str, flag: str) -> bool:
        """Set a one-time flag on the incident; ``True`` the first time (e.g. parent enqueued)."""
        return bool(self._r.hsetnx(keys.incident_key(incident_id), f"flag:{flag}", "1"))

    # --- ThreadLookup (read by the outbox) ---------------------------------------------------

    def thread_ts(self, incident_id: str) -> tuple[str, str] | None:
        """The (channel, ts) of the incident's parent message once the outbox posted it."""
        raw = cast("dict[bytes, bytes]", self._r.hgetall(keys.incident_thread_key(incident_id)))
        if not raw:
            return None
        return raw[b"channel"].decode(), raw[b"ts"].decode()

    def set_thread(self, incident_id: str, channel: str, ts: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(keys.incident_thread_key(incident_id), mapping={"channel": channel, "ts": ts})
        pipe.set(keys.incident_by_thread_key(channel, ts), incident_id)
        pipe.execute()

    def incident_for_thread(self, channel: str, ts: str) -> str | None:
        """The incident whose parent message is ``ts`` in ``channel`` (a mention in its thread)."""
        raw = self._r.get(keys.incident_by_thread_key(channel, ts))
        return _s(raw) if raw is not None else None


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Delivery(Protocol):
    """How the incident tracker hands messages to the outbox."""

    def post(self, notice: Notice, *, channel: str, thread_of: str | None) -> None:
        """Post once per notice id; ``thread_of`` (an incident id) puts it in that thread."""
        ...

    def post_into(self, tx: Pipeline, posts: Sequence[Send]) -> None:
        """``post`` of each of ``posts`` (notice, channel, thread_of), in order, queued on ``tx``:
        a Redis transaction the caller executes."""
        ...

    def post_parent(self, notice: Notice, *, channel: str, incident_id: str) -> None:
        """Post the incident's parent message; its ts becomes the incident's thread."""
        ...

    def update_parent(self, notice: Notice, *, channel: str, incident_id: str) -> None:
        """Edit the incident's parent message in place (state broadcast)."""
        ...


class OutboxDelivery:
    """``Delivery`` over the outbox: threads and parent edits resolved by the outbox worker."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def post(self, notice: Notice, *, channel: str, thread_of: str | None) -> None:
        self.outbox.enqueue(notice, channel=channel, thread_of=thread_of)

    def post_into(self, tx: Pipeline, posts: Sequence[Send]) -> None:
        self.outbox.enqueue_into(tx, posts)

    def post_parent(self, notice: Notice, *, channel: str, incident_id: str) -> None:
        self.outbox.enqueue(notice, channel=channel, parent_of=incident_id)

    def update_parent(self, notice: Notice, *, channel: str, incident_id: str) -> None:
        # the notice id dedupes, so each version of the parent gets its own
        version = notice.model_copy(
            update={"id": f"{notice.id}:v{notice.at_s}:{_digest(notice.title + notice.text)}"}
        )
        self.outbox.enqueue(version, channel=channel, update_of=incident_id)


OpensIncident = Callable[[Notice], bool]


class _Line(TypedDict):
    """The keyword arguments of a timeline line (``IncidentStore.append``)."""

    ref: str
    at_s: int
    kind: str
    text: str
    by: str


class IncidentTracker:
    """The ``Sink`` of the watcher, the monitors and the command results.

    A notice about a subject with an open incident goes into that incident's thread and timeline;
    one that ``opens_incident`` (alerts; critical events per the routing rules) opens it first; the
    rest go to the channel. ``alert-resolved`` notices clear their alert, and the incident resolves
    when no alert is left raised in it. Every step is idempotent per notice id, so a watcher that
    crashed after ``emit`` and emits again changes nothing.
    """

    def __init__(
        self,
        store: IncidentStore,
        delivery: Delivery,
        opens_incident: OpensIncident,
        *,
        incident_channel: str | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.store = store
        self.delivery = delivery
        self._opens = opens_incident
        self._incident_channel = incident_channel
        self._journal = journal

    # --- Sink ------------------------------------------------------------------------------

    def emit(self, notice: Notice, *, channel: str) -> None:
        if notice.kind in ("alert", "alert-resolved"):
            self._journal_entry(notice, "monitor")
        incident = self.store.open_for(notice.subject)
        if notice.kind == "alert-resolved":
            self._resolved_alert(notice, incident, channel)
            return
        if incident is None and self._opens(notice):
            incident = self.open(
                notice.subject,
                title=notice.title,
                severity=notice.severity,
                channel=self._incident_channel or channel,
                at_s=notice.at_s,
                by=_actor(notice),
            )
        if incident is None:
            self.delivery.post(notice, channel=channel, thread_of=None)
            return
        self._into_thread(incident, notice)
        if notice.kind == "alert":
            self.store.alert_raised(incident.id, _alert_member(notice))

    def emit_page(self, notices: Sequence[tuple[Notice, str]], tx: Pipeline) -> int:
        """``PageSink``: queue on ``tx`` what ``emit`` would write for a prefix of ``notices``.

        The open incidents of the page's subjects are read once, up front. Notices go into their
        incident's thread (timeline line and post) or to their channel; the first one that needs a
        round trip of its own (one that opens an incident, or an alert) ends the prefix, and the
        caller hands it on with ``emit``. Returns the length of the prefix queued.
        """
        open_now = self.store.open_for_many(notice.subject for notice, _channel in notices)
        posts: list[Send] = []
        for notice, channel in notices:
            if notice.kind in ("alert", "alert-resolved"):
                break
            incident = open_now.get(notice.subject)
            if incident is None and self._opens(notice):
                break
            if incident is None:
                posts.append((notice, channel, None))
            else:
                self.store.append_into(tx, incident.id, **self._timeline_line(notice))
                posts.append((notice, incident.channel, incident.id))
        self.delivery.post_into(tx, posts)
        return len(posts)

    # --- operations (the /incident commands go through these) ------------------------------

    def open(
        self, subject: str, *, title: str, severity: Severity, channel: str, at_s: int, by: str
    ) -> Incident:
        incident, created = self.store.open_or_join(
            subject, channel=channel, title=title, severity=severity, at_s=at_s, by=by
        )
        if self.store.mark(incident.id, "parent"):
            self.delivery.post_parent(
                self.parent_notice(incident), channel=incident.channel, incident_id=incident.id
            )
        if created:
            logger.info("incident opened", extra={"incident": incident.id, "subject": subject})
            opened = self.parent_notice(incident).model_copy(
                update={
                    "id": f"incident:{incident.id}:opened",
                    "title": f"Incident #{incident.id} opened: {title}",
                }
            )
            self._journal_entry(opened, by)
        return incident

    def note(self, incident_id: str, text: str, *, at_s: int, by: str) -> None:
        """Raises: IncidentError: no such incident."""
        incident = self.store.require(incident_id)
        notice = Notice(
            id=f"incident:{incident_id}:note:{at_s}:{by}:{_digest(text)}",
            kind="incident",
            subject=incident.subject,
            severity="info",
            title=f"Note from {by}",
            text=text,
            at_s=at_s,
        )
        self._into_thread(incident, notice, by=by)

    def assign(self, incident_id: str, owner: str, *, at_s: int, by: str) -> Incident:
        """Raises: IncidentError: no such incident."""
        self.store.assign(incident_id, owner, at_s=at_s, by=by)
        return self._broadcast(incident_id, f"assigned to {owner}", at_s=at_s, by=by)

    def set_state(
        self, incident_id: str, state: IncidentState, *, at_s: int, by: str, note: str = ""
    ) -> Incident:
        """Raises: IncidentError: unknown or already resolved."""
        if self.store.set_state(incident_id, state, at_s=at_s, by=by, note=note):
            suffix = f": {note}" if note else ""
            return self._broadcast(incident_id, f"{state}{suffix}", at_s=at_s, by=by)
        return self.store.require(incident_id)

    # --- internals -------------------------------------------------------------------------

    def _into_thread(self, incident: Incident, notice: Notice, *, by: str | None = None) -> None:
        self.store.append(incident.id, **self._timeline_line(notice, by))
        self.delivery.post(notice, channel=incident.channel, thread_of=incident.id)

    @staticmethod
    def _timeline_line(notice: Notice, by: str | None = None) -> _Line:
        return {
            "ref": notice.id,
            "at_s": notice.at_s,
            "kind": notice.kind,
            "text": notice.title + (f": {notice.text}" if notice.text else ""),
            "by": by or _actor(notice),
        }

    def _resolved_alert(self, notice: Notice, incident: Incident | None, channel: str) -> None:
        if incident is None:
            self.delivery.post(notice, channel=channel, thread_of=None)
            return
        self._into_thread(incident, notice)
        left = self.store.alert_cleared(incident.id, _alert_member(notice))
        if left == 0:
            self.set_state(
                incident.id, "resolved", at_s=notice.at_s, by="monitor", note="condition cleared"
            )

    def _broadcast(self, incident_id: str, change: str, *, at_s: int, by: str) -> Incident:
        incident = self.store.require(incident_id)
        self.delivery.update_parent(
            self.parent_notice(incident), channel=incident.channel, incident_id=incident.id
        )
        notice = Notice(
            id=f"incident:{incident.id}:change:{at_s}:{_digest(change)}",
            kind="incident",
            subject=incident.subject,
            severity="info" if incident.state == "resolved" else incident.severity,
            title=f"Incident #{incident.id} {change}",
            text=incident.title,
            fields=(("by", by),),
            at_s=at_s,
        )
        self.delivery.post(notice, channel=incident.channel, thread_of=None)
        self._journal_entry(notice, by)
        return incident

    def _journal_entry(self, notice: Notice, by: str) -> None:
        if self._journal is not None:
            journal_notice(self._journal, notice, responsible=by)

    @staticmethod
    def parent_notice(incident: Incident) -> Notice:
        owner = incident.owner or "unassigned"
        return Notice(
            id=f"incident:{incident.id}:parent",
            kind="incident",
            subject=incident.subject,
            severity=incident.severity if incident.state != "resolved" else "info",
            title=f"Incident #{incident.id} [{incident.state}] {incident.title}",
            text=f"Subject {incident.subject}. Owner: {owner}. Timeline in this thread.",
            fields=(("state", incident.state), ("owner", owner), ("subject", incident.subject)),
            at_s=incident.updated_at_s,
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _actor(notice: Notice) -> str:
    return {
        "event": "chain",
        "alert": "monitor",
        "alert-resolved": "monitor",
        "digest": "watcher",
    }.get(notice.kind, "chatops")


def _alert_member(notice: Notice) -> str:
    """``alert:<name>:<subject>:raised:<n>`` / ``...:resolved:<n>`` -> ``<name>|<subject>``."""
    parts = notice.id.split(":")
    if len(parts) >= 3 and parts[0] == "alert":
        name = parts[1]
        return f"{name}|{notice.subject}"
    return f"{notice.id}|{notice.subject}"
