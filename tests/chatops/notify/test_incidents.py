"""Incident threads end to end: devnet events -> watcher -> incident tracker -> outbox -> the chat double."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.notify.alerts import AlertBook, AlertCondition
from chatops.notify.incident_store import IncidentError, IncidentStore
from chatops.notify.incidents import IncidentTracker, OutboxDelivery
from chatops.notify.journal import Journal
from chatops.notify.notice import Notice
from chatops.notify.outbox import Outbox
from chatops.notify.outbox_worker import OutboxWorker
from chatops.notify.router import EventRouter
from chatops.notify.watcher import Watcher, WatcherConfig
from tests.chatops.notify.conftest import Chain
from tests.chatops.notify.devnet_events import inject
from tests.conftest import wait_until
from tests.fakes.notify import RecordingPoster

A = PACKAGE_ADDRESS
CHANNEL = "#lottery-ops"


class Stack:
    def __init__(self, redis: redis_lib.Redis, poster: RecordingPoster) -> None:
        self.router = EventRouter(A)
        self.store = IncidentStore(redis)
        self.journal = Journal(redis)
        self.incidents = IncidentTracker(
            self.store,
            OutboxDelivery(Outbox(redis)),
            self.router.opens_incident,
            journal=self.journal,
        )
        self.alerts = AlertBook(
            redis, self.incidents, lambda name, sev: (sev, self.router.default_channel, False)
        )
        self.poster = poster

    def thread_of(self, incident_id: str) -> list[str]:
        """Titles of the messages in an incident's thread."""
        found = self.store.thread_ts(incident_id)
        if found is None:
            return []
        return self.poster.thread_titles(*found)


@pytest.fixture
def stack(redis: redis_lib.Redis) -> Iterator[Stack]:
    poster = RecordingPoster()
    s = Stack(redis, poster)
    worker = OutboxWorker(redis, poster, threads=s.store, interval_ms=10)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_s": 0.01})
    thread.start()
    yield s
    stop.set()
    thread.join(timeout=5)


def test_events_land_in_the_thread_of_their_subject(
    chain: Chain, redis: redis_lib.Redis, stack: Stack
) -> None:
    """A critical event opens an incident; later events about the same subject join its thread."""
    watcher = Watcher(
        chain.client,
        redis,
        stack.router,
        stack.incidents,
        stack.alerts,
        event_types=[
            f"{A}::history::{s}"
            for s in ("LotteryCanceledEvent", "RefundBatchEvent", "VrfFulfilledEvent")
        ],
        config=WatcherConfig(window_blocks=1000, start_height=None),
    )
    watcher.poll_once()
    inject(chain.http, "history::LotteryCanceledEvent", {"lottery_id": "4", "reason_code": "1"})
    inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "4", "refund_round": "1"})
    inject(chain.http, "history::VrfFulfilledEvent", {"lottery_id": "9"})
    inject(chain.http, "history::RefundBatchEvent", {"lottery_id": "4", "refund_round": "2"})
    assert watcher.poll_once() == 4
    incident = stack.store.open_for("lottery:4")
    assert incident is not None
    wait_until(lambda: len(stack.thread_of(incident.id)) == 3, timeout_s=10)
    assert stack.thread_of(incident.id) == [
        "Lottery canceled (lottery:4)",
        "Refund batch (lottery:4)",
        "Refund batch (lottery:4)",
    ]

    def top_level() -> list[str]:
        return [
            n.title for m in stack.poster.posts(CHANNEL) if m.thread_ts is None for n in m.notices
        ]

    wait_until(lambda: "VRF fulfilled (lottery:9)" in top_level(), timeout_s=10)
    assert top_level()[0].startswith(f"Incident #{incident.id} [open]")
    assert stack.store.open_for("lottery:9") is None


def test_an_alert_opens_and_its_clearing_resolves_the_incident(stack: Stack) -> None:
    """A raised alert opens the subject's incident; clearing it resolves and broadcasts the change."""
    raised = AlertCondition(
        "VrfDepositLow", "vrf-deposit", active=True, severity="critical", title="VRF low"
    )
    assert stack.alerts.observe(raised, at_s=100) == "raised"
    assert stack.alerts.observe(raised, at_s=160) is None  # unchanged: no repeat
    incident = stack.store.open_for("vrf-deposit")
    assert incident is not None
    cleared = AlertCondition("VrfDepositLow", "vrf-deposit", active=False)
    assert stack.alerts.observe(cleared, at_s=200) == "resolved"
    final = stack.store.require(incident.id)
    assert final.state == "resolved"
    assert stack.store.open_for("vrf-deposit") is None
    wait_until(
        lambda: any(
            m.op == "update" and "[resolved]" in m.notice.title for m in stack.poster.calls
        ),
        timeout_s=10,
    )
    wait_until(
        lambda: any(
            m.notice.title == f"Incident #{incident.id} resolved: condition cleared"
            for m in stack.poster.posts(CHANNEL)
        ),
        timeout_s=10,
    )
    types = [e.type for e in stack.journal.recent(10)]
    assert "Alert" in types
    assert "Инцидент" in types


def test_commands_assign_note_and_resolve_an_incident(stack: Stack) -> None:
    """Owner, notes and states are kept on the timeline; a resolved incident is final."""
    incident = stack.incidents.open(
        "lottery:2", title="Draw stuck", severity="warning", channel=CHANNEL, at_s=10, by="alice"
    )
    again = stack.incidents.open(
        "lottery:2", title="Other", severity="warning", channel=CHANNEL, at_s=11, by="bob"
    )
    assert again.id == incident.id  # one open incident per subject
    stack.incidents.assign(incident.id, "bob", at_s=12, by="alice")
    stack.incidents.note(incident.id, "VRF callback late", at_s=13, by="bob")
    stack.incidents.set_state(incident.id, "mitigated", at_s=14, by="bob")
    stack.incidents.set_state(incident.id, "resolved", at_s=15, by="bob", note="fulfilled")
    with pytest.raises(IncidentError):
        stack.incidents.set_state(incident.id, "open", at_s=16, by="bob")
    timeline = [e.text for e in stack.store.timeline(incident.id)]
    assert timeline == [
        "opened: Draw stuck",
        "owner: bob",
        "Note from bob: VRF callback late",
        "mitigated",
        "resolved: fulfilled",
    ]
    assert stack.store.require(incident.id).owner == "bob"
    wait_until(lambda: "Note from bob" in stack.thread_of(incident.id), timeout_s=10)


def test_emitting_the_same_notice_twice_changes_nothing(
    stack: Stack, redis: redis_lib.Redis
) -> None:
    """A notice re-emitted after a crash neither duplicates the timeline nor the outbox item."""
    raised = AlertCondition("PayoutBacklog", "payouts", active=True, title="Backlog")
    stack.alerts.observe(raised, at_s=1)
    incident = stack.store.open_for("payouts")
    assert incident is not None
    before = len(stack.store.timeline(incident.id))
    notice = Notice(
        id="alert:PayoutBacklog:payouts:raised:1",
        kind="alert",
        subject="payouts",
        severity="warning",
        title="Backlog",
        at_s=1,
    )
    stack.incidents.emit(notice, channel=CHANNEL)
    stack.incidents.emit(notice, channel=CHANNEL)
    assert len(stack.store.timeline(incident.id)) == before
    wait_until(lambda: len(stack.thread_of(incident.id)) >= 1, timeout_s=10)
    assert stack.thread_of(incident.id).count("Backlog") == 1
