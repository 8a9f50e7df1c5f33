"""/incident through the runner on real Redis: a monitor alert's incident managed by hand, and the journal."""

# The alert comes from the devnet (a price-feed fallback held 5 min), goes through the incident
# tracker and the outbox to a recording chat; people then drive it with ``/incident`` exactly as
# typed.

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify.alerts import AlertBook
from chatops.notify.incident_store import IncidentStore
from chatops.notify.incidents import IncidentTracker, OutboxDelivery
from chatops.notify.journal import HEADER, JOURNAL_TYPES, SEPARATOR, Journal, export_md
from chatops.notify.monitors import Monitors
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.router import DEFAULT_CHANNEL, EventRouter
from tests.conftest import wait_until
from tests.fakes.bot import Harness, harness
from tests.fakes.notify import RecordingPoster


@dataclass
class Desk:
    ops: Harness
    redis: redis_lib.Redis
    monitors: Monitors
    store: IncidentStore
    journal: Journal
    poster: RecordingPoster

    def thread(self, incident_id: str) -> list[str]:
        """Titles posted in the incident's thread so far."""
        found = self.store.thread_ts(incident_id)
        if found is None:
            return []
        return self.poster.thread_titles(*found)


@pytest.fixture
def desk(redis: redis_lib.Redis) -> Iterator[Desk]:
    poster = RecordingPoster()
    store = IncidentStore(redis)
    worker = OutboxWorker(redis, poster, threads=store, interval_ms=10)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    try:
        with harness(redis_client=redis) as ops:
            router = EventRouter(PACKAGE_ADDRESS)
            journal = Journal(redis)
            incidents = IncidentTracker(
                store, OutboxDelivery(Outbox(redis)), router.opens_incident, journal=journal
            )
            book = AlertBook(redis, incidents, lambda name, sev: (sev, DEFAULT_CHANNEL, False))
            monitors = Monitors(
                ops.gateway, book, events=ops.gateway.client, package_address=PACKAGE_ADDRESS
            )
            yield Desk(ops, redis, monitors, store, journal, poster)
    finally:
        stop.set()
        thread.join(timeout=5)


def fallback_incident(desk: Desk) -> str:
    """Switch asset 1 to the fallback price for 5 min so the monitors open its incident."""
    desk.ops.server.ledger.apply("price_feed::set_fallback", [1, True, 2])
    desk.monitors.check_once()
    desk.ops.advance(301)
    assert ("PriceFeedFallback", "asset:1", "raised") in desk.monitors.check_once()
    incident = desk.store.open_for("asset:1")
    assert incident is not None
    return incident.id


def test_an_alert_opens_one_incident_and_does_not_repeat_while_unchanged(desk: Desk) -> None:
    """The raised alert opens the asset's incident with the alert in its thread; later passes add nothing."""
    incident_id = fallback_incident(desk)
    wait_until(lambda: len(desk.thread(incident_id)) == 1, timeout_s=10)
    for _ in range(3):
        desk.ops.advance(60)
        assert desk.monitors.check_once() == []
    posted = len(desk.poster.calls)
    wait_until(lambda: Outbox(desk.redis).depth() == 0, timeout_s=10)
    assert len(desk.poster.calls) == posted
    assert desk.thread(incident_id) == ["Price feed fallback active on asset 1 for more than 5 min"]
    parents = [m for m in desk.poster.posts(DEFAULT_CHANNEL) if m.thread_ts is None]
    assert [m.notice.title for m in parents] == [
        f"Incident #{incident_id} [open] Price feed fallback active on asset 1 for more than 5 min"
    ]


def test_incident_commands_manage_the_alerts_incident_until_it_clears(desk: Desk) -> None:
    """assign, note, mitigate, show and list work on the alert's incident; clearing resolves it."""
    incident_id = fallback_incident(desk)
    listed = desk.ops.run("/incident list")
    assert listed.ok
    assert f"#{incident_id} [open] asset:1" in listed.text
    assert desk.ops.run(f"/incident assign #{incident_id} bob").title == (
        f"Incident #{incident_id} assigned to bob"
    )
    assert desk.ops.run(f"/incident note {incident_id} provider paged", user="bob").ok
    mitigated = desk.ops.run(f"/incident mitigate {incident_id} backup quotes", user="bob")
    assert mitigated.title == f"Incident #{incident_id} mitigated"
    shown = desk.ops.run(f"/incident show {incident_id}")
    assert {f.label: f.value for f in shown.fields}["State"] == "mitigated"
    assert {f.label: f.value for f in shown.fields}["Owner"] == "bob"
    assert "Note from bob: provider paged" in shown.text
    assert "mitigated: backup quotes" in shown.text
    wait_until(lambda: "Note from bob" in desk.thread(incident_id), timeout_s=10)
    # the condition clears on chain: the monitor resolves the alert and with it the incident
    desk.ops.server.ledger.apply("price_feed::set_fallback", [1, False, 0])
    assert ("PriceFeedFallback", "asset:1", "resolved") in desk.monitors.check_once()
    assert desk.store.require(incident_id).state == "resolved"
    assert desk.ops.run("/incident list").title == "No open incidents"
    assert f"#{incident_id} [resolved]" in desk.ops.run("/incident list all").text
    again = desk.ops.run(f"/incident resolve {incident_id} twice")
    assert again.title == f"Incident #{incident_id} is already resolved"
    reopened = desk.ops.run(f"/incident mitigate {incident_id} too late")
    assert not reopened.ok
    assert "is resolved; open a new one" in reopened.title
    wait_until(
        lambda: any(
            c.op == "update" and c.notice.title.startswith(f"Incident #{incident_id} [resolved]")
            for c in desk.poster.calls
        ),
        timeout_s=10,
    )


def test_incident_open_by_hand_joins_the_subjects_open_incident(desk: Desk) -> None:
    """/incident open creates one incident per subject; a second open reports the existing one."""
    opened = desk.ops.run("/incident open lottery:4 warning draw looks stuck")
    assert opened.ok
    assert opened.title.startswith("Incident #")
    again = desk.ops.run("/incident open lottery:4 critical still stuck", user="bob")
    assert again.title.endswith("is already open for lottery:4")
    assert len(desk.store.recent()) == 1
    assert not desk.ops.run("/incident show 999").ok
    assert not desk.ops.run("/incident assign 999 bob").ok
    assert not desk.ops.run("/incident open Lottery 4 warning bad subject").ok


ROW = re.compile(
    r"^\| \d{4}-\d{2}-\d{2} \d{2}:\d{2} \| (?P<type>[^|]+) \| (?:[^|]|\\\|)+ \| [^|]+ \| [^|]+ \|$"
)


def test_incident_log_and_the_export_of_a_scripted_incident(desk: Desk) -> None:
    """/incident log lists the journal; its md export is the incident_log.md table, newest first."""
    incident_id = fallback_incident(desk)
    desk.ops.run(f"/incident assign {incident_id} bob")
    desk.ops.run(f"/incident note {incident_id} switched | to backup")
    desk.ops.server.ledger.apply("price_feed::set_fallback", [1, False, 0])
    desk.monitors.check_once()
    log = desk.ops.run("/incident log 10")
    assert log.ok
    lines = log.text.splitlines()
    assert any(" | Alert | [warning] asset:1: Price feed fallback" in line for line in lines)
    assert any(f"Incident #{incident_id} opened" in line for line in lines)
    assert any(f"Incident #{incident_id} resolved: condition cleared" in line for line in lines)
    table = export_md(desk.journal.entries()).splitlines()
    assert table[:2] == [HEADER, SEPARATOR]
    rows = table[2:]
    assert len(rows) == len(desk.journal.entries()) >= 4
    for row in rows:
        found = ROW.match(row)
        assert found is not None, row
        assert found["type"] in JOURNAL_TYPES
    stamps = [row[2:18] for row in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert "Alert" in {ROW.match(r)["type"] for r in rows}  # type: ignore[index]
    assert "Инцидент" in {ROW.match(r)["type"] for r in rows}  # type: ignore[index]
