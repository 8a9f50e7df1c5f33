"""``commands.ports.IncidentsPort`` over ``chatops.notify``: the ``/incident`` steps' view of
incidents. It lives above both (siblings that may not import each other) and only turns results
into ``Reply`` objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from chatops.notify.incident_store import Incident, IncidentError, IncidentState
from chatops.notify.incidents import IncidentTracker
from chatops.notify.journal import Journal
from chatops.severity import Severity
from commands.reply import Field, Reply, Tone

__all__ = ["IncidentDesk"]


def _line(incident: Incident) -> str:
    owner = incident.owner or "unassigned"
    return f"#{incident.id} [{incident.state}] {incident.subject}: {incident.title} ({owner})"


class IncidentDesk:
    """Implements ``IncidentsPort``; ``default_channel`` is where incidents opened by hand go."""

    def __init__(
        self,
        router: IncidentTracker,
        *,
        default_channel: str,
        now_s: Callable[[], int],
        journal: Journal | None = None,
    ) -> None:
        self.router = router
        self.default_channel = default_channel
        self.now_s = now_s
        self.journal = journal

    def open(self, subject: str, title: str, severity: Severity, user: str) -> Reply:
        existing = self.router.store.open_for(subject)
        incident = self.router.open(
            subject,
            title=title,
            severity=severity,
            channel=self.default_channel,
            at_s=self.now_s(),
            by=user,
        )
        if existing is not None:
            return Reply(
                title=f"Incident #{incident.id} is already open for {subject}",
                text=_line(incident),
                tone=Tone.WARNING,
            )
        return Reply(
            title=f"Incident #{incident.id} opened",
            text=_line(incident),
            tone=Tone.of(incident.severity),
        )

    def list(self, include_resolved: bool) -> Reply:
        found = self.router.store.recent(include_resolved=include_resolved)
        if not found:
            return Reply(title="No open incidents" if not include_resolved else "No incidents")
        return Reply(title=f"{len(found)} incident(s)", text="\n".join(_line(i) for i in found))

    def show(self, incident_id: str) -> Reply:
        incident = self.router.store.get(incident_id)
        if incident is None:
            return Reply.error(f"There is no incident {incident_id}.")
        timeline = self.router.store.timeline(incident_id)
        return Reply(
            title=f"Incident #{incident.id}: {incident.title}",
            text="\n".join(f"{e.at_s} {e.by}: {e.text}" for e in timeline),
            fields=(
                Field(label="State", value=incident.state),
                Field(label="Subject", value=incident.subject),
                Field(label="Owner", value=incident.owner or "unassigned"),
                Field(label="Severity", value=incident.severity),
            ),
            tone=Tone.of(incident.severity),
        )

    def assign(self, incident_id: str, owner: str, user: str) -> Reply:
        try:
            incident = self.router.assign(incident_id, owner, at_s=self.now_s(), by=user)
        except IncidentError as exc:
            return Reply.error(str(exc))
        return Reply(title=f"Incident #{incident.id} assigned to {owner}", text=_line(incident))

    def set_state(self, incident_id: str, state: str, note: str, user: str) -> Reply:
        before = self.router.store.get(incident_id)
        if before is not None and before.state == state:
            return Reply(
                title=f"Incident #{before.id} is already {state}",
                text=_line(before),
                tone=Tone.WARNING,
            )
        try:
            incident = self.router.set_state(
                incident_id, cast(IncidentState, state), at_s=self.now_s(), by=user, note=note
            )
        except IncidentError as exc:
            return Reply.error(str(exc))
        return Reply(
            title=f"Incident #{incident.id} {incident.state}",
            text=_line(incident),
            tone=Tone.SUCCESS if incident.state == "resolved" else Tone.INFO,
        )

    def note(self, incident_id: str, text: str, user: str) -> Reply:
        try:
            self.router.note(incident_id, text, at_s=self.now_s(), by=user)
        except IncidentError as exc:
            return Reply.error(str(exc))
        return Reply(title=f"Note added to incident #{incident_id}", text=text)

    def log(self, limit: int) -> Reply:
        if self.journal is None:
            return Reply.error("The ops journal is not available here.")
        entries = self.journal.recent(limit)
        if not entries:
            return Reply(title="The ops journal is empty")
        return Reply(
            title=f"Last {len(entries)} journal entries",
            text="\n".join(
                f"{e.at} | {e.type} | {e.description} | {e.responsible}" for e in entries
            ),
        )
