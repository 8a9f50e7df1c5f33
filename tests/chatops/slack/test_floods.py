"""Fair under floods, through Bolt's request path and a Slack double that takes Slack's time: a person
outside the policy cannot take anyone's turn, and an approver's click is never queued behind a flood.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals.models import Status
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import APPROVE_ACTION_ID
from tests.chatops.slack.conftest import (
    ALICE,
    APPROVERS,
    BOB,
    BOT_USER,
    CAROL,
    DAVE,
    EXTERNAL,
    GUEST,
    REPLY_TIMEOUT_S,
    Slack,
    ack_text,
    all_text,
    ephemeral_for,
    flow_of,
    make_deps,
    request_approval,
    slack_policy,
    workspace_users,
)
from tests.conftest import wait_until
from tests.fakes.bot import harness
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble

LATENCY_S = (0.03, 0.1)
FLOOD = 400  # commands from the person outside the policy
FLOOD_THREADS = 8  # the connections they came over


@pytest.fixture
def slow_api() -> Iterator[SlackWebApiDouble]:
    """The test workspace on a double that takes Slack's time to answer."""
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        users=workspace_users(),
        usergroups={APPROVERS: [BOB]},
        latency_s=LATENCY_S,
    ) as api:
        yield api


@pytest.fixture
def small(slow_api: SlackWebApiDouble, redis: redis_lib.Redis) -> Iterator[tuple[Slack, SlackDeps]]:
    """The bot with four workers (one kept for clicks) and room for sixteen commands."""
    with harness(slack_policy(), redis_client=redis) as ops:
        deps = make_deps(ops, slow_api, redis, max_workers=4, max_queue=16)
        yield Slack(build_bolt_app(deps), slow_api, ops), deps


def _results(api: SlackWebApiDouble) -> int:
    return sum("Asset 1" in all_text(c) for c in api.calls("chat.postMessage"))


def _answered_after(api: SlackWebApiDouble, before: int) -> bool:
    return _results(api) > before


@pytest.mark.timeout(120)
def test_an_outsiders_flood_takes_nobodys_turn(small: tuple[Slack, SlackDeps]) -> None:
    """carol, outside the policy, sends 400 commands over 8 connections while alice runs 20, one
    after the other: every request is acked at once, all 20 of alice's are answered with their
    result and none is refused, and carol's are refused in their acks once Slack has said who she
    is; she never has more than her three commands on the executor."""
    slack, deps = small
    acks: list[float] = []
    refusals: list[str] = []
    lock = threading.Lock()

    def flood(count: int) -> None:
        for _ in range(count):
            started = time.monotonic()
            response = slack.command("/lottery status 1", CAROL)
            with lock:
                acks.append(time.monotonic() - started)
                refusals.append(ack_text(response))

    threads = [
        threading.Thread(target=flood, args=(FLOOD // FLOOD_THREADS,)) for _ in range(FLOOD_THREADS)
    ]
    for thread in threads:
        thread.start()
    alice_acks: list[str] = []
    for _ in range(20):
        before = _results(slack.api)
        alice_acks.append(ack_text(slack.command("/feed show 1", ALICE)))
        wait_until(functools.partial(_answered_after, slack.api, before), REPLY_TIMEOUT_S)
    for thread in threads:
        thread.join(60)

    assert alice_acks == [""] * 20
    assert _results(slack.api) == 20
    assert len(acks) == FLOOD
    assert max(acks) < 1.0, max(acks)
    roled = sum("needs the viewer role" in text for text in refusals)
    run = len(ephemeral_for(slack.api, CAROL))  # refused by the worker: Slack was asked first
    assert roled + sum("You already have 3" in text for text in refusals) + run == FLOOD
    assert 1 <= run <= deps.per_user_limit
    assert roled > FLOOD / 2


@pytest.mark.timeout(120)
def test_an_approve_click_is_not_queued_behind_a_flood(small: tuple[Slack, SlackDeps]) -> None:
    """With every ordinary worker held for three seconds by a flood of fifteen commands and its
    queue full, bob's Approve click still runs at once: the request has executed before any
    command of the flood is answered."""
    slack, deps = small
    request_id, posted = request_approval(slack)
    slack.command("/ops pending", BOB)  # Slack says who bob is, before the flood
    ephemeral_for(slack.api, BOB)
    slack.api.set_latency("users.info", 3.0)  # each newcomer's first lookup holds a worker
    flooders = [DAVE, CAROL, GUEST, EXTERNAL, BOT_USER]
    for user in flooders:
        for _ in range(3):
            assert slack.command("/feed show 1", user).status == 200
    wait_until(lambda: len(deps.executor.in_flight()) == 15)

    value = next(
        element["value"]
        for block in posted.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == APPROVE_ACTION_ID
    )
    assert (
        slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=posted.response["ts"]).status == 200
    )
    service = flow_of(slack.ops).service
    wait_until(lambda: service.get(request_id).state == Status.SUCCEEDED, REPLY_TIMEOUT_S)

    answered = [
        c
        for c in slack.api.calls()
        if c.method in ("chat.postMessage", "chat.postEphemeral")
        and (c.params.get("user") in flooders or "Asset 1" in all_text(c))
    ]
    assert answered == []
    assert len(deps.executor.in_flight()) >= 12  # the flood is still there
