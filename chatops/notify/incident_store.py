"""Incidents on Redis: one open incident per subject, its state, owner, timeline and thread, each
change one Lua script. Knows nothing of Slack."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis
from redis.client import Pipeline

from chatops.notify import keys
from chatops.notify.scripts import load_script
from chatops.severity import Severity

__all__ = ["Incident", "IncidentError", "IncidentState", "IncidentStore", "TimelineEntry"]

IncidentState = Literal["open", "mitigated", "resolved"]


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
        self._trim = load_script(client, "incident_trim")

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
        """Newest first: the open ones (open or mitigated) from their index, whatever the number
        resolved, or the latest of all; two round trips either way."""
        if include_resolved:
            ids = [
                _s(i)
                for i in cast("list[bytes]", self._r.zrevrange(keys.INCIDENTS_ALL, 0, limit - 1))
            ]
        else:
            open_ids = cast("list[bytes]", self._r.hvals(keys.INCIDENTS_OPEN))
            ids = sorted((_s(i) for i in open_ids), key=_newest_first)[:limit]
        if not ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        for incident_id in ids:
            pipe.hgetall(keys.incident_key(incident_id))
        rows = cast("list[dict[bytes, bytes]]", pipe.execute())
        return [Incident.from_hash(raw) for raw in rows if raw]

    def trim_resolved(self, cutoff_s: int, limit: int) -> int:
        """Delete up to ``limit`` incidents resolved before ``cutoff_s`` (retention), the oldest
        first, with their timelines and thread records; how many went."""
        ids = [
            _s(i)
            for i in cast(
                "list[bytes]",
                self._r.zrangebyscore(
                    keys.INCIDENTS_RESOLVED, "-inf", f"({cutoff_s}", start=0, num=limit
                ),
            )
        ]
        deleted = 0
        for incident_id in ids:
            thread = self.thread_ts(incident_id)
            by_thread = (
                keys.incident_by_thread_key(*thread)
                if thread is not None
                else keys.incident_thread_key(incident_id)
            )
            deleted += int(
                self._trim(
                    keys=[
                        keys.INCIDENTS_RESOLVED,
                        keys.INCIDENTS_ALL,
                        keys.incident_key(incident_id),
                        keys.incident_timeline_key(incident_id),
                        keys.incident_seen_key(incident_id),
                        keys.incident_alerts_key(incident_id),
                        keys.incident_thread_key(incident_id),
                        keys.outbox_parent_key(incident_id),
                        by_thread,
                    ],
                    args=[incident_id, cutoff_s],
                )
            )
        return deleted

    def append(
        self, incident_id: str, *, ref: str, at_s: int, kind: str, text: str, by: str
    ) -> bool:
        """Add a timeline line once per ``ref``; ``False`` if it was already there.

        Raises:
            IncidentError: no such incident.
        """
        result = int(
            self._append(
                keys=_line_keys(incident_id),
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
            keys=_line_keys(incident_id),
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
                    keys.INCIDENTS_RESOLVED,
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


def _newest_first(incident_id: str) -> tuple[int, str]:
    """Incident ids are a counter: a higher number was opened later."""
    return (-int(incident_id), incident_id) if incident_id.isdigit() else (0, incident_id)


def _line_keys(incident_id: str) -> list[str]:
    """The KEYS of ``incident_append.lua`` for one incident."""
    return [
        keys.incident_seen_key(incident_id),
        keys.incident_timeline_key(incident_id),
        keys.incident_key(incident_id),
    ]


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
