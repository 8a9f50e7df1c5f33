"""The incident tracker: files every notice into its subject's incident (opening one when needed), its
thread and timeline, or its channel; delivery goes through the outbox. Knows nothing of Slack."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, TypedDict

from redis.client import Pipeline

from chatops.notify.incident_store import Incident, IncidentState, IncidentStore
from chatops.notify.journal import Journal, journal_notice
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox, Send
from chatops.severity import Severity

__all__ = ["Delivery", "IncidentTracker", "OpensIncident", "OutboxDelivery"]

logger = logging.getLogger(__name__)


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

    Also a ``PageSink``: for a page of watcher events it reads the open incidents once and queues
    the timeline lines and outbox items on the watcher's transaction, up to the first notice that
    opens an incident (handed on alone, so opening stays one atomic script per subject).
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
