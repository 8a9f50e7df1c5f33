"""The ops journal: the runbook's ``incident_log.md`` kept by the bot in a Redis stream, merged
with the approvals' audit stream and exported as that table (spec §11.3) or JSON. Knows nothing
of Slack."""

from __future__ import annotations

import heapq
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, cast, get_args

import redis
from pydantic import BaseModel, ConfigDict

from approvals.keys import AUDIT
from approvals.models import AuditEntry
from chatops.notify import keys
from chatops.notify.notice import Notice
from chatops.notify.scripts import load_script

__all__ = [
    "HEADER",
    "JOURNAL_TYPES",
    "SEPARATOR",
    "Journal",
    "JournalEntry",
    "JournalType",
    "StepReply",
    "approval_entry",
    "export_json",
    "export_json_chunks",
    "export_md",
    "export_md_lines",
    "journal_notice",
    "journal_step",
    "step_type",
]

# The runbook's words (spec §10.4, §11.3), then the bot's own.
JournalType = Literal[
    "Релиз",
    "Инцидент",
    "Dry-run",
    "Backfill",
    "VRF-пополнение",
    "Cancellation",
    "Approval",
    "Command",
    "Alert",
]
JOURNAL_TYPES: tuple[JournalType, ...] = get_args(JournalType)

HEADER = "| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |"
SEPARATOR = "|------------------|-------------|----------|---------------|--------|"

_TX_HASH = re.compile(r"\b0x[0-9a-fA-F]{64}\b")
_MD_LINK = re.compile(r"^\[[^\]]*\]\([^)]*\)$")
_URL = re.compile(r"^https?://\S+$")


class JournalEntry(BaseModel):
    """One row of the journal: when (UTC seconds), what kind, what happened, who, links."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_s: int
    type: JournalType
    description: str
    responsible: str
    links: tuple[str, ...] = ()

    @property
    def at(self) -> str:
        """``YYYY-MM-DD HH:MM`` in UTC, as the runbook's table writes it."""
        return datetime.fromtimestamp(self.at_s, UTC).strftime("%Y-%m-%d %H:%M")


class Journal:
    """The journal stream on Redis (``chatops.notify.keys.JOURNAL``), oldest entry first.

    Entries are appended (optionally once per dedupe key) to the journal stream; approval
    transitions are read from the approvals' audit stream, written atomically with each transition,
    and shown as entries (``approval_entry``). Read back newest first.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._append = load_script(client, "journal_append")
        self._seen_cursor = 0  # where trim's scan of the dedupe hash goes on

    def append(self, entry: JournalEntry, *, dedupe: str | None = None) -> bool:
        """Add ``entry``; with ``dedupe``, only the first append under that key counts.

        Returns whether the entry was added.
        """
        added = self._append(
            keys=[keys.JOURNAL, keys.JOURNAL_SEEN],
            args=[entry.model_dump_json(), dedupe or ""],
        )
        return bool(added)

    def recent(self, n: int = 20) -> list[JournalEntry]:
        """The ``n`` latest entries, newest first."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xrevrange(keys.JOURNAL, count=n)
        # Approval entries the journal leaves out (submissions) are few: twice n is plenty.
        pipe.xrevrange(AUDIT, count=2 * n)
        own, audit = pipe.execute()
        merged = sorted(
            [*_stream_entries(own, keys.JOURNAL), *_stream_entries(audit, AUDIT)],
            key=lambda item: item[0],
            reverse=True,
        )
        return [entry for _at, entry in merged[:n]]

    def newest_first(
        self, since_ms: int | None = None, until_ms: int | None = None, *, page: int = 1000
    ) -> Iterator[JournalEntry]:
        """Every entry written from ``since_ms`` to ``until_ms`` (inclusive, by when it was
        written), newest first, read a page at a time from both streams and merged as it goes:
        memory stays flat whatever the length of the journal."""
        streams = [
            _pages_newest_first(self.client, stream, since_ms, until_ms, page)
            for stream in (keys.JOURNAL, AUDIT)
        ]
        merged = heapq.merge(*streams, key=lambda item: item[0], reverse=True)
        return (entry for _at, entry in merged)

    def trim(self, cutoff_ms: int, *, pages: int = 10, page: int = 1000) -> int:
        """Retention: drop the journal's entries written before ``cutoff_ms`` and, scanning at most
        ``pages`` pages of its dedupe hash from where the last call stopped, the dedupe keys of
        entries already dropped. How many entries and keys went."""
        dropped = int(cast(int, self.client.xtrim(keys.JOURNAL, minid=cutoff_ms, approximate=True)))
        for _ in range(pages):
            cursor, found = cast(
                tuple[int, dict[bytes, bytes]],
                self.client.hscan(keys.JOURNAL_SEEN, self._seen_cursor, count=page),
            )
            self._seen_cursor = int(cursor)
            old = [
                k.decode()
                for k, v in found.items()
                if int(v.decode().partition("-")[0]) < cutoff_ms
            ]
            if old:
                dropped += int(cast(int, self.client.hdel(keys.JOURNAL_SEEN, *old)))
            if self._seen_cursor == 0:
                break
        return dropped

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first."""
        found: list[tuple[tuple[int, int, int], JournalEntry]] = []
        for stream in (keys.JOURNAL, AUDIT):
            start = "-"
            while True:
                raw = cast(
                    list[tuple[bytes, dict[bytes, bytes]]],
                    self.client.xrange(stream, min=start, count=1000),
                )
                found.extend(_stream_entries(raw, stream))
                if len(raw) < 1000:
                    break
                start = "(" + raw[-1][0].decode()
        return [entry for _at, entry in sorted(found, key=lambda item: item[0])]


def _pages_newest_first(
    client: redis.Redis, stream: str, since_ms: int | None, until_ms: int | None, page: int
) -> Iterator[tuple[tuple[int, int, int], JournalEntry]]:
    """One stream's entries as journal rows, newest first, ``page`` items per read."""
    top = "+" if until_ms is None else f"{until_ms}-18446744073709551615"
    bottom = "-" if since_ms is None else str(since_ms)
    while True:
        raw = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            client.xrevrange(stream, max=top, min=bottom, count=page),
        )
        yield from _stream_entries(raw, stream)
        if len(raw) < page:
            return
        top = "(" + raw[-1][0].decode()


def _order(stream_id: bytes, stream: str) -> tuple[int, int, int]:
    """Where an item of either stream stands in the journal: both streams are on one Redis clock,
    so their ids order them; within one millisecond, the journal's own entries come first."""
    ms, _, seq = stream_id.decode().partition("-")
    return int(ms), int(stream == AUDIT), int(seq or 0)


def _stream_entries(
    raw: list[tuple[bytes, dict[bytes, bytes]]], stream: str
) -> list[tuple[tuple[int, int, int], JournalEntry]]:
    """Journal entries of one stream's items (the audit stream's as ``approval_entry`` shows them)."""
    out: list[tuple[tuple[int, int, int], JournalEntry]] = []
    for stream_id, fields in raw:
        if stream == keys.JOURNAL:
            out.append((_order(stream_id, stream), _entry(fields)))
            continue
        audit = AuditEntry.from_stream(
            stream_id.decode(), {k.decode(): v.decode() for k, v in fields.items()}
        )
        entry = approval_entry(audit)
        if entry is not None:
            out.append((_order(stream_id, stream), entry))
    return out


def _entry(fields: dict[bytes, bytes]) -> JournalEntry:
    return JournalEntry.model_validate_json(fields[b"entry"])


# --- export ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """One table cell: a line of its own, pipes escaped as ``\\|`` (the runbook tool's rule)."""
    flat = " <br> ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    return flat.replace("|", "\\|") or "-"


def _link(raw: str) -> str:
    raw = raw.strip()
    if _MD_LINK.match(raw):
        return raw
    if _TX_HASH.fullmatch(raw):
        return f"tx `{raw}`"
    if _URL.match(raw):
        label = "Slack" if ".slack.com/" in raw else "link"
        return f"[{label}]({raw})"
    return raw


def _row(entry: JournalEntry) -> str:
    links = ", ".join(_link(link) for link in entry.links if link.strip())
    cells = (entry.at, entry.type, entry.description, entry.responsible, links)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def newest_first(entries: Iterable[JournalEntry]) -> list[JournalEntry]:
    """By minute, newest first; within a minute in the order written (spec §10.4: a stable sort)."""
    return sorted(entries, key=lambda e: e.at, reverse=True)


def export_md(entries: Iterable[JournalEntry]) -> str:
    """The ``incident_log.md`` table: header, separator, one row per entry, newest first."""
    lines = [HEADER, SEPARATOR, *(_row(e) for e in newest_first(entries))]
    return "\n".join(lines) + "\n"


def export_md_lines(newest: Iterable[JournalEntry]) -> Iterator[str]:
    """``export_md``'s lines (each with its newline) from entries already newest first, as they
    come: only one minute's entries are held at a time, to put them back in the order written."""
    yield HEADER + "\n"
    yield SEPARATOR + "\n"
    for _minute, group in itertools.groupby(newest, key=lambda e: e.at):
        for entry in reversed(list(group)):
            yield _row(entry) + "\n"


def export_json_chunks(newest: Iterable[JournalEntry]) -> Iterator[str]:
    """``export_json``'s text, piece by piece, from entries already newest first (held a minute
    at a time, as ``export_md_lines``)."""
    first = True
    for _minute, group in itertools.groupby(newest, key=lambda e: e.at):
        for entry in reversed(list(group)):
            row = json.dumps(
                {"at": entry.at, **entry.model_dump(mode="json")}, ensure_ascii=False, indent=2
            )
            yield ("[\n" if first else ",\n") + "\n".join("  " + line for line in row.splitlines())
            first = False
    yield "[]\n" if first else "\n]\n"


def export_json(entries: Iterable[JournalEntry]) -> str:
    """The same rows as JSON objects (``at`` as in the table plus ``at_s``), newest first."""
    rows: list[dict[str, Any]] = [
        {"at": e.at, **e.model_dump(mode="json")} for e in newest_first(entries)
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


# --- hooks: what becomes an entry ----------------------------------------------------------------

# Runbook types of the steps the runbooks ask to log (spec §11.3 "Where the runbooks ask ...").
_STEP_TYPES: dict[tuple[str, str], JournalType] = {
    ("/vrf", "snapshot"): "VRF-пополнение",
    ("/vrf", "resume"): "VRF-пополнение",
    ("/refund", "start"): "Cancellation",
    ("/refund", "batch"): "Cancellation",
    ("/refund", "archive"): "Cancellation",
    ("/feed", "fallback"): "Инцидент",
    ("/feed", "clear-clamp"): "Инцидент",
    ("/autobot", "dry-run"): "Dry-run",
    ("/history", "import"): "Backfill",
    ("/history", "rollback"): "Backfill",
    ("/history", "classify"): "Backfill",
}


def step_type(command: str, text: str) -> JournalType:
    """The runbook's type for a command (``/refund start ...`` is a Cancellation), else Command."""
    words = text.split()
    name = words[0].lower() if words else ""
    return _STEP_TYPES.get((command, name), "Command")


class _Valued(Protocol):
    @property
    def value(self) -> str: ...


class StepReply(Protocol):
    """What ``journal_step`` reads of a step's answer (``commands.reply.Reply`` fits; notify may
    not import ``commands``, a sibling layer)."""

    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def fields(self) -> Sequence[_Valued]: ...
    @property
    def links(self) -> Sequence[str]: ...


def _hashes(reply: StepReply) -> list[str]:
    found: list[str] = []
    for text in (
        reply.title,
        reply.text,
        *(f.value for f in reply.fields),
        *reply.links,
    ):
        found.extend(m.group(0) for m in _TX_HASH.finditer(text))
    return list(dict.fromkeys(found))


def journal_step(
    journal: Journal,
    reply: StepReply,
    user: str,
    *,
    command: str,
    text: str,
    at_s: int,
    links: Sequence[str] = (),
    approved_by: Sequence[str] = (),
    dedupe: str | None = None,
) -> bool:
    """Journal an executed step (a plan that sent, or tried to send, transactions).

    ``reply`` is what the step answered; its tx hashes become links next to ``links`` (e.g. the
    Slack permalink). ``approved_by`` joins the responsible people. Returns whether it was added.
    """
    outcome = "done" if reply.ok else "FAILED"
    description = f"{command} {text}".strip() + f": {outcome}. {reply.title}"
    if not reply.ok and reply.text.strip():
        description += f" ({reply.text.strip()})"
    people = ", ".join(dict.fromkeys([user, *approved_by]))
    entry = JournalEntry(
        at_s=at_s,
        type=step_type(command, text),
        description=description,
        responsible=people,
        links=(*_hashes(reply), *links),
    )
    return journal.append(entry, dedupe=dedupe)


_APPROVAL_WORDS = {
    "created": "requested",
    "created-break-glass": "BREAK-GLASS run",
    "approval": "approved (more approvals needed)",
    "approved": "approved",
    "approve-refused": "approval refused",
    "retro-approved": "break-glass signed off",
    "denied": "denied",
    "cancelled": "cancelled",
    "expired": "expired",
    "claimed": "execution started",
    "lease-lost": "worker lost mid-execution, needs reconciliation",
    "reconciled": "reconciled from the chain",
    "proposed": "proposed on chain",
    "proposal-failed": "could not be proposed on chain",
    "proposal-cleared": "proposal cleared on chain",
    "chain-approved": "approved on chain, execution started",
}
# The transitions that are no line of the journal (each transaction of an execution is recorded
# before it is sent; the outcome line lists them all).
_NOT_JOURNALLED = frozenset({"submitting"})


def approval_entry(event: AuditEntry) -> JournalEntry | None:
    """The journal line of one approval transition, from the audit stream (None for those the
    journal leaves out). An executed request is a line of its step's type (a ``/refund start`` is
    a Cancellation), with everyone responsible and its transactions as links."""
    if event.event in _NOT_JOURNALLED:
        return None
    command = f"{event.command} {event.text}".strip()
    people = [event.requester, *event.approvers]
    if event.event == "denied":
        people.append(event.actor)
    responsible = ", ".join(dict.fromkeys(p for p in people if p))
    if event.event in ("succeeded", "failed"):
        outcome = "done" if event.event == "succeeded" else "FAILED"
        return JournalEntry(
            at_s=event.at_ms // 1000,
            type=step_type(event.command, event.text),
            description=f"{command}: {outcome}. Request {event.request_id}: {event.detail}",
            responsible=responsible,
            links=event.tx_hashes,
        )
    what = _APPROVAL_WORDS.get(event.event, event.event)
    description = f"Request {event.request_id} ({command}): {what}"
    if event.actor and event.event not in ("expired", "claimed", "lease-lost", "chain-approved"):
        description += f" by {event.actor}"
    if event.detail.strip():
        description += f"; {event.detail.strip()}"
    return JournalEntry(
        at_s=event.at_ms // 1000,
        type="Approval",
        description=description,
        responsible=responsible,
        links=event.tx_hashes if event.event == "reconciled" else (),
    )


def journal_notice(
    journal: Journal,
    notice: Notice,
    *,
    responsible: str = "chatops",
    type: JournalType | None = None,
    links: Sequence[str] = (),
) -> bool:
    """Journal an alert, an alert resolution or an incident change; once per notice id."""
    if type is None:
        type = "Инцидент" if notice.kind == "incident" else "Alert"
    description = notice.title + (f": {notice.text}" if notice.text.strip() else "")
    entry = JournalEntry(
        at_s=notice.at_s,
        type=type,
        description=f"[{notice.severity}] {notice.subject}: {description}",
        responsible=responsible,
        links=(*notice.links, *links),
    )
    return journal.append(entry, dedupe=f"notice:{notice.id}")
