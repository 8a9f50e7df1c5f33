"""Retention: what is finished and older than ``CHATOPS_RETENTION_DAYS`` leaves Redis, in bounded
batches (final approval requests and their audit lines, journal entries and their dedupe keys,
resolved incidents). It changes nothing that is still open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from approvals.store import RedisApprovalStore
from chatops.notify.incident_store import IncidentStore
from chatops.notify.journal import Journal

__all__ = ["DAY_MS", "Retention", "Trimmed"]

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000


@dataclass
class Trimmed:
    """What one round deleted."""

    requests: int = 0
    audit_entries: int = 0
    journal_entries: int = 0
    incidents: int = 0
    request_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.requests + self.audit_entries + self.journal_entries + self.incidents


class Retention:
    """Deletes, once older than ``days`` (0: never), what can no longer change and has had time
    to be exported (``chatops journal export --since``): final requests, audit-stream and journal
    entries, journal dedupe keys, resolved incidents with their timelines and thread records.
    Outbox records expire on their own (``outbox_worker.DEFAULT_RETAIN_MS``).

    One round does at most ``batches`` batches of ``batch`` of each kind, so a backlog (a first
    run on a year of history) drains over several rounds without holding Redis. ``forget`` hears
    the ids of deleted requests (the Slack adapter drops its record of their messages).
    """

    def __init__(
        self,
        approvals: RedisApprovalStore,
        incidents: IncidentStore,
        journal: Journal,
        *,
        days: int,
        forget: Callable[[list[str]], None] | None = None,
        batch: int = 500,
        batches: int = 20,
    ) -> None:
        self.approvals = approvals
        self.incidents = incidents
        self.journal = journal
        self.days = days
        self.forget = forget
        self.batch = batch
        self.batches = batches

    def run_once(self, now_ms: int) -> Trimmed:
        """One bounded round: delete what became final (or was written) before now - ``days``."""
        done = Trimmed()
        if self.days <= 0:
            return done
        cutoff_ms = now_ms - self.days * DAY_MS
        for _ in range(self.batches):
            looked = self.approvals.trim(cutoff_ms, self.batch)
            done.request_ids += looked
            if len(looked) < self.batch:
                break
        done.requests = len(done.request_ids)
        if done.request_ids and self.forget is not None:
            self.forget(done.request_ids)
        done.audit_entries = self.approvals.trim_audit(cutoff_ms)
        done.journal_entries = self.journal.trim(cutoff_ms, pages=self.batches, page=self.batch)
        for _ in range(self.batches):
            deleted = self.incidents.trim_resolved(cutoff_ms // 1000, self.batch)
            done.incidents += deleted
            if deleted < self.batch:
                break
        if done.total:
            logger.info(
                "retention: deleted %d requests, %d audit entries, %d journal entries and keys, "
                "%d incidents older than %d days",
                done.requests,
                done.audit_entries,
                done.journal_entries,
                done.incidents,
                self.days,
            )
        return done
