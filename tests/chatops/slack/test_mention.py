"""@chatops mentioned inside an incident's thread: the text joins that incident's timeline."""

from __future__ import annotations

import redis as redis_lib

from chatops.incident_port import IncidentDesk
from chatops.notify.incident_store import Incident
from chatops.notify.incidents import IncidentTracker
from chatops.slack.app import build_bolt_app
from tests.chatops.slack.conftest import (
    ALICE,
    CAROL,
    CHANNEL,
    DAVE,
    Slack,
    all_text,
    make_deps,
    mention_request,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.slack_web_api import SlackWebApiDouble

PARENT_TS = "1700000000.000100"


def _mention(
    slack: Slack, *, thread_ts: str | None, event_id: str, text: str, user: str = ALICE
) -> int:
    request = mention_request(text, thread_ts=thread_ts, event_id=event_id, user=user)
    return slack.dispatch(request).status


def _incident_thread(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> tuple[IncidentTracker, Incident, Slack]:
    """An open incident whose thread is PARENT_TS in the ops channel, and the app that knows it."""
    desk = ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    router = desk.router
    incident, _ = router.store.open_or_join(
        "asset:1", channel=CHANNEL, title="price spike", severity="warning", at_s=1, by="test"
    )
    router.store.set_thread(incident.id, CHANNEL, PARENT_TS)
    app = build_bolt_app(make_deps(ops, slack_api, redis, incidents=router))
    return router, incident, Slack(app, slack_api, ops)


def test_a_mention_in_an_incident_thread_becomes_a_timeline_note(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """The mention's text (without the bot mention) is noted on the incident, by its author, once."""
    router, incident, slack = _incident_thread(ops, slack_api, redis)
    assert (
        _mention(slack, thread_ts=PARENT_TS, event_id="Ev0001", text="provider confirmed the quote")
        == 200
    )
    assert (
        _mention(slack, thread_ts=PARENT_TS, event_id="Ev0001", text="provider confirmed the quote")
        == 200
    )

    def noted() -> list[str]:
        return [
            e.text for e in router.store.timeline(incident.id) if "provider confirmed" in e.text
        ]

    wait_until(lambda: len(noted()) >= 1)
    [note] = noted()  # the duplicate delivery (same event_id) noted nothing more
    assert note.endswith("provider confirmed the quote")
    assert "<@U0BOT00001>" not in note
    by = [e.by for e in router.store.timeline(incident.id) if "provider confirmed" in e.text]
    assert by == [ALICE]


def test_a_mention_outside_an_incident_thread_changes_nothing(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """A mention in the channel or in an unrelated thread notes nothing anywhere."""
    desk = ops.runner.incidents
    assert isinstance(desk, IncidentDesk)
    router = desk.router
    incident, _ = router.store.open_or_join(
        "asset:2", channel=CHANNEL, title="stale", severity="info", at_s=1, by="test"
    )
    before = len(router.store.timeline(incident.id))
    app = build_bolt_app(make_deps(ops, slack_api, redis, incidents=router))
    slack = Slack(app, slack_api, ops)
    assert _mention(slack, thread_ts=None, event_id="Ev0002", text="hello") == 200
    assert _mention(slack, thread_ts="1699999999.000001", event_id="Ev0003", text="hello") == 200
    assert len(router.store.timeline(incident.id)) == before


def test_a_mention_by_someone_without_the_operator_role_notes_nothing(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """dave (viewer) and carol (no role) mention the bot in an incident's thread: nothing joins the
    timeline, and each is told why in the thread, to them alone, as /incident note would say."""
    router, incident, slack = _incident_thread(ops, slack_api, redis)
    before = router.store.timeline(incident.id)
    assert (
        _mention(slack, thread_ts=PARENT_TS, event_id="Ev0004", text="all good", user=DAVE) == 200
    )
    assert (
        _mention(slack, thread_ts=PARENT_TS, event_id="Ev0005", text="all good", user=CAROL) == 200
    )

    told = slack_api.wait_for("chat.postEphemeral", count=2)
    by_user = {c.params["user"]: c for c in told}
    assert set(by_user) == {DAVE, CAROL}
    for call in by_user.values():
        assert call.params["thread_ts"] == PARENT_TS
        assert "Not added to the incident: /incident note needs the operator role" in all_text(call)
    assert router.store.timeline(incident.id) == before
