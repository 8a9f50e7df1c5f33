"""The execution an approval starts, through Bolt's request path: a multi-call request approved by
button shows its progress in the request's thread (posted, edited, left showing how it ended), a
shutdown that cancels it between two transactions ends it FAILED saying how many were sent, and
``/ops approve`` typed as a command reports to that command's own progress message.

The request is ``/payouts run`` (privileged under the Slack tests' policy; one transaction per
batch, accounting checked after each) on the seeded devnet, whose RPCs are slowed so that it lasts
a few seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import pairwise

import httpx
import pytest
import redis as redis_lib

from approvals.models import Status
from chatops.notify.journal import Journal
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.executor import Unfinished
from chatops.slack.ids import APPROVE_ACTION_ID
from tests.chatops.slack.blockkit import texts
from tests.chatops.slack.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    Slack,
    all_text,
    button_value,
    flow_of,
    make_deps,
    slack_policy,
    slow_chain,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness, harness
from tests.fakes.slack_web_api import ApiCall, SlackWebApiDouble

DONE_TIMEOUT_S = 60.0
BATCHES = 10
LONG = 40  # batches of the run the shutdown cuts: about sixteen seconds at this chain's pace


def run_line(batches: int) -> str:
    """A privileged ``/payouts run`` of lottery 4 (seeded in Payout, no cooldown)."""
    return f"/payouts run 4 {batches} 0 0 1000000 reason=weekly-payout"


@pytest.fixture
def runs(redis: redis_lib.Redis) -> Iterator[Harness]:
    """The seeded devnet, ``/payouts run`` privileged, every RPC answered 60 ms late."""
    with harness(slack_policy(), redis_client=redis) as h:
        slow_chain(h, delay_ms=60, count=100_000)
        yield h


@pytest.fixture
def deps(runs: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis) -> SlackDeps:
    return make_deps(runs, slack_api, redis)


@pytest.fixture
def slack(deps: SlackDeps, slack_api: SlackWebApiDouble, runs: Harness) -> Slack:
    return Slack(build_bolt_app(deps), slack_api, runs)


def shown(api: SlackWebApiDouble, ts: str) -> str:
    """The message ``ts`` in the ops channel as it reads now (after every edit)."""
    message = api.message(CHANNEL, ts)
    assert message is not None, ts
    return "\n".join([message["text"], *texts(message.get("blocks", []))])


def batches_sent(ops: Harness) -> int:
    """Payout batches committed on the devnet (its seed has some already)."""
    return len(ops.events("PayoutBatchEvent"))


def batch_hashes(ops: Harness) -> list[str]:
    """Hashes of the committed payout batch transactions, in the ledger's order."""
    return [
        h
        for h, tx in ops.server.ledger.transactions.items()
        if tx.function is not None and tx.function.endswith("::record_payout_batch_admin")
    ]


def request(slack: Slack, batches: int) -> tuple[str, str]:
    """alice asks for the run; returns what its Approve button carries (the request's whole id and
    digest) and the ts of its approval message."""
    assert slack.command(run_line(batches), ALICE).status == 200
    (posted,) = slack.api.wait_for("chat.postMessage", timeout_s=DONE_TIMEOUT_S)
    return button_value(posted), str(posted.response["ts"])


def in_thread(api: SlackWebApiDouble, ts: str) -> list[ApiCall]:
    """Messages posted as replies in the thread of ``ts``, oldest first."""
    return [c for c in api.calls("chat.postMessage") if c.params.get("thread_ts") == ts]


def test_an_approved_multi_call_request_shows_its_progress_in_the_request_thread(
    deps: SlackDeps, slack: Slack, runs: Harness
) -> None:
    """bob's click executes a ten-transaction request: one progress message in the request's
    thread, edited in place at most once a second as the batches go out, left showing the
    finished run before the result note; the request succeeds with all ten sent."""
    before = batches_sent(runs)
    value, ts = request(slack, BATCHES)
    request_id = value.split(":")[0]
    assert flow_of(runs).service.get(request_id).state == Status.PENDING
    assert slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=ts).status == 200

    def noted() -> bool:
        return any("executed" in all_text(c) for c in in_thread(slack.api, ts))

    wait_until(noted, timeout_s=DONE_TIMEOUT_S)
    wait_until(lambda: deps.executor.in_flight() == [], timeout_s=DONE_TIMEOUT_S)
    progress, note = in_thread(slack.api, ts)
    progress_ts = str(progress.response["ts"])
    edits = [c for c in slack.api.calls("chat.update") if c.params.get("ts") == progress_ts]

    assert progress.params["channel"] == CHANNEL
    assert f"request {request_id}" in all_text(progress)
    assert f"<@{BOB}> is running" in all_text(progress)
    assert f"/{BATCHES}:" in all_text(progress)  # a step line such as "1/10: payouts::…"
    assert edits, "the progress message was never updated"
    stamps = [progress.at_s, *(e.at_s for e in edits)]
    assert all(later - earlier >= 0.95 for earlier, later in pairwise(stamps))
    assert any(f"/{BATCHES}:" in all_text(e) and "finished" not in all_text(e) for e in edits[:-1])
    final = shown(slack.api, progress_ts)
    assert "finished" in final
    assert f"Request {request_id} executed" in final
    assert f"{BATCHES}/{BATCHES}:" in final
    assert edits[-1].at_s <= note.at_s  # the final state shows before the result note
    assert "succeeded" in shown(slack.api, ts)  # the request's own message, updated in place
    assert slack.api.calls("chat.postEphemeral") == []
    done = flow_of(runs).service.get(request_id)
    assert done.state == Status.SUCCEEDED
    assert len(done.tx_hashes) == BATCHES
    assert batches_sent(runs) == before + BATCHES
    assert list(done.tx_hashes) == batch_hashes(runs)[-BATCHES:]


def test_a_shutdown_cuts_an_approved_request_between_transactions_and_it_ends_failed(
    deps: SlackDeps, slack: Slack, runs: Harness, redis: redis_lib.Redis
) -> None:
    """A drain whose grace period runs out while a forty-transaction request executes cancels it
    between two batches: the request ends FAILED (not left executing), saying how many of the
    forty were sent, with their hashes, in its audit trail, the journal, the progress message
    ("stopped") and the result note in its thread; the devnet has exactly those batches."""
    before = batches_sent(runs)
    value, ts = request(slack, LONG)
    request_id = value.split(":")[0]
    assert slack.click(APPROVE_ACTION_ID, value, BOB, message_ts=ts).status == 200
    wait_until(lambda: batches_sent(runs) >= before + 2, timeout_s=DONE_TIMEOUT_S)

    left: list[Unfinished] = []
    drain = threading.Thread(target=lambda: left.extend(deps.executor.drain(10)))
    drain.start()  # as serve does on SIGTERM: the last 2 s of the 10 are for cancelling
    drain.join(DONE_TIMEOUT_S)

    assert not drain.is_alive()
    assert left == []  # stopped and answered within the grace period
    sent = batches_sent(runs) - before
    assert 2 <= sent < LONG
    stopped = f"stopped at shutdown after {sent} of {LONG} transactions; the rest were not sent"
    done = flow_of(runs).service.get(request_id)
    assert done.state == Status.FAILED
    assert (done.result or "").startswith(stopped)
    assert list(done.tx_hashes) == batch_hashes(runs)[-sent:]
    audit = flow_of(runs).service.history(flow_of(runs).service.get(request_id))
    assert (audit[-1].event, audit[-1].state) == ("failed", "failed")
    assert audit[-1].detail.startswith(stopped)
    assert "lease-lost" not in [e.event for e in audit]
    journal = [e.description for e in Journal(redis).entries()]
    assert any(stopped in d and "FAILED" in d for d in journal), journal  # the step's entry
    assert any(f"Request {request_id}" in d and stopped in d for d in journal), journal

    progress, note = in_thread(slack.api, ts)
    final = shown(slack.api, str(progress.response["ts"]))
    assert "stopped" in final
    assert stopped in final
    assert "The details follow in this thread." in final
    assert f"Request {request_id} failed: {stopped}" in all_text(note)
    assert "failed" in shown(slack.api, ts)
    assert "Not approved" not in "".join(all_text(c) for c in slack.api.calls())


def test_ops_approve_typed_as_a_command_reports_to_its_own_progress_message(
    deps: SlackDeps, slack: Slack, runs: Harness
) -> None:
    """``/ops approve N`` typed by bob executes the request under that command: the command's own
    progress message (in the channel) follows the batches and ends "finished"."""
    before = batches_sent(runs)
    value, _ts = request(slack, BATCHES)
    request_id = value.split(":")[0]
    assert slack.command(f"/ops approve {request_id}", BOB).status == 200

    def done() -> bool:
        return flow_of(runs).service.get(request_id).state == Status.SUCCEEDED

    wait_until(done, timeout_s=DONE_TIMEOUT_S)
    wait_until(lambda: deps.executor.in_flight() == [], timeout_s=DONE_TIMEOUT_S)
    head = f"/ops approve {request_id}: "  # the progress text: the command, then its latest line
    (progress,) = [
        c for c in slack.api.calls("chat.postMessage") if str(c.params["text"]).startswith(head)
    ]
    assert progress.params["channel"] == CHANNEL
    assert progress.params.get("thread_ts") is None
    assert f"/{BATCHES}:" in all_text(progress)
    final = shown(slack.api, str(progress.response["ts"]))
    assert "finished" in final
    assert f"Request {request_id} executed" in final
    assert f"{BATCHES}/{BATCHES}:" in final
    assert batches_sent(runs) == before + BATCHES


def test_a_request_that_fails_under_a_typed_approve_says_so_in_its_message_and_thread(
    deps: SlackDeps, slack: Slack, runs: Harness
) -> None:
    """``/ops approve N`` typed, and the node refuses the transaction: the request's own message
    shows it failed (no buttons left) and its thread has the result, as when Approve is clicked;
    bob is told too."""
    before = batches_sent(runs)
    value, ts = request(slack, 2)
    request_id = value.split(":")[0]
    httpx.post(
        f"{runs.server.url}/devnet/faults",
        json={"path_prefix": "/rpc/v3/transactions/submit", "status": 400, "count": 100},
        timeout=5,
    ).raise_for_status()
    try:
        assert slack.command(f"/ops approve {request_id}", BOB).status == 200
        wait_until(
            lambda: flow_of(runs).service.get(request_id).state == Status.FAILED,
            timeout_s=DONE_TIMEOUT_S,
        )
        wait_until(lambda: deps.executor.in_flight() == [], timeout_s=DONE_TIMEOUT_S)
    finally:
        httpx.delete(f"{runs.server.url}/devnet/faults", timeout=5).raise_for_status()
    message = slack.api.message(CHANNEL, ts)
    assert message is not None
    assert "failed" in shown(slack.api, ts)
    assert APPROVE_ACTION_ID not in str(message.get("blocks"))
    (note,) = in_thread(slack.api, ts)
    assert f"Request {request_id} failed" in all_text(note)
    told = [
        c
        for c in slack.api.calls("chat.postEphemeral")
        if c.params.get("user") == BOB and f"Request {request_id} failed" in all_text(c)
    ]
    assert told
    assert batches_sent(runs) == before
