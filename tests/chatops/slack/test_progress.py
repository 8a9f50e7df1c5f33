"""The progress message of a long procedure, through Bolt's request path: posted once, edited in
place at most once a second, left showing how the procedure ended, and never in the way of the
command when Slack refuses it.

The procedure is ``/payouts run`` (one transaction per batch, accounting checked after each) on the
seeded devnet, whose RPCs are slowed so that it lasts a few seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import pairwise

import pytest
import redis as redis_lib

from chatops.slack.app import build_bolt_app
from chatops.slack.blocks.limits import limit_violations
from chatops.slack.blocks.progress import progress_blocks
from chatops.slack.web.client import web_client
from chatops.slack.web.progress import ProgressMessage
from commands.reply import Reply
from tests.chatops.slack.blockkit import texts
from tests.chatops.slack.conftest import (
    ALICE,
    CHANNEL,
    Slack,
    all_text,
    make_deps,
    procedures_registry,
    slack_policy,
    slow_chain,
)
from tests.conftest import wait_until
from tests.fakes.bot import Harness, harness
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, ApiCall, SlackWebApiDouble

BATCHES = 10
RUN = (
    f"/payouts run 4 {BATCHES} 0 0 1000000"  # operations only: lottery 4 has 3 winners, no cooldown
)
DONE_TIMEOUT_S = 60.0


@pytest.fixture
def runs(redis: redis_lib.Redis) -> Iterator[Harness]:
    """The seeded devnet with every RPC answered 60 ms late: a ten-batch run takes seconds."""
    with harness(slack_policy(), redis_client=redis, registry=procedures_registry()) as h:
        slow_chain(h, delay_ms=60, count=100_000)
        yield h


@pytest.fixture
def slack(runs: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis) -> Slack:
    return Slack(build_bolt_app(make_deps(runs, slack_api, redis)), slack_api, runs)


def batches_sent(ops: Harness) -> int:
    """Payout batches committed on the devnet (its seed has some already)."""
    return sum(1 for e in ops.server.ledger.events if e.type.endswith("::PayoutBatchEvent"))


def run_to_the_end(slack: Slack) -> tuple[ApiCall, ApiCall, list[ApiCall]]:
    """Type the run, wait for its reply; returns (progress post, reply, edits of the progress)."""
    assert slack.command(RUN, ALICE).status == 200

    def replied() -> bool:
        return any("/payouts run: done" in all_text(c) for c in slack.api.calls("chat.postMessage"))

    wait_until(replied, timeout_s=DONE_TIMEOUT_S)
    posts = slack.api.calls("chat.postMessage")
    assert len(posts) == 2, [all_text(c)[:80] for c in posts]
    progress, reply = posts
    ts = progress.response.get("ts")
    edits = [c for c in slack.api.calls("chat.update") if c.params.get("ts") == ts]
    return progress, reply, edits


def test_a_long_procedure_posts_one_progress_message_and_edits_it_throttled(slack: Slack) -> None:
    """A ten-transaction run posts one progress message, edits it in place at most once a second
    (far fewer edits than progress reports), leaves it showing the finished run, then posts the
    reply with every transaction, as before."""
    before = batches_sent(slack.ops)
    progress, reply, edits = run_to_the_end(slack)

    assert progress.params["channel"] == CHANNEL
    assert "/payouts run 4 10" in all_text(progress)
    assert f"/{BATCHES}:" in all_text(progress)  # a step line such as "1/10: payouts::…"
    assert edits, "the progress message was never updated"
    assert all(e.status == 200 and e.response["ok"] for e in edits)
    # Throttled: one Slack call a second at most, against 20 progress reports (a step line and an
    # accounting line per batch).
    stamps = [progress.at_s, *(e.at_s for e in edits)]
    gaps = [later - earlier for earlier, later in pairwise(stamps)]
    assert min(gaps) >= 0.95, gaps
    assert len(edits) <= (stamps[-1] - stamps[0]) + 1
    assert len(edits) < 2 * BATCHES
    # The intermediate edits show the run advancing; the last one, how it ended.
    assert any(f"/{BATCHES}:" in all_text(e) and "finished" not in all_text(e) for e in edits[:-1])
    final = slack.api.message(CHANNEL, str(progress.response["ts"]))
    assert final is not None
    shown = "\n".join([final["text"], *texts(final["blocks"])])
    assert "finished" in shown
    assert "/payouts run: done" in shown
    assert f"{BATCHES}/{BATCHES}:" in shown
    assert edits[-1].at_s <= reply.at_s  # the final state is shown before the reply arrives
    # The reply is the reply of old: in the channel, every transaction listed.
    assert reply.params["channel"] == CHANNEL
    assert "/payouts run: done" in all_text(reply)
    assert all_text(reply).count("payouts::record_payout_batch_admin") == BATCHES
    assert batches_sent(slack.ops) == before + BATCHES
    assert slack.api.calls("chat.postEphemeral") == []


def test_a_failed_edit_is_logged_and_the_run_goes_on(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """chat.update answered ``ok:false`` once: the warning names Slack's error (no token), later
    edits still land, the final state shows, and the reply is complete."""
    caplog.set_level(logging.WARNING, logger="chatops.slack.web.progress")
    slack.api.fail_next("chat.update", error="message_not_found")
    before = batches_sent(slack.ops)
    progress, reply, edits = run_to_the_end(slack)

    assert [e.response.get("error") for e in edits[:1]] == ["message_not_found"]
    assert any(e.response["ok"] for e in edits[1:])
    final = slack.api.message(CHANNEL, str(progress.response["ts"]))
    assert final is not None
    assert "finished" in final["text"]
    assert all_text(reply).count("payouts::record_payout_batch_admin") == BATCHES
    assert batches_sent(slack.ops) == before + BATCHES
    assert "chat.update failed (message_not_found)" in caplog.text
    assert DEFAULT_BOT_TOKEN not in caplog.text


def test_a_rate_limited_edit_waits_for_retry_after_and_the_run_goes_on(slack: Slack) -> None:
    """chat.update answered 429 with Retry-After: 1: the edit is retried after it, the final state
    shows, and the run and its reply are unaffected."""
    slack.api.fail_next("chat.update", status=429, retry_after=1)
    before = batches_sent(slack.ops)
    progress, reply, edits = run_to_the_end(slack)

    assert edits[0].status == 429
    assert edits[1].status == 200
    assert edits[1].at_s - edits[0].at_s >= 0.95  # Slack's Retry-After was honoured
    final = slack.api.message(CHANNEL, str(progress.response["ts"]))
    assert final is not None
    assert "finished" in final["text"]
    assert all_text(reply).count("payouts::record_payout_batch_admin") == BATCHES
    assert batches_sent(slack.ops) == before + BATCHES


def test_edits_that_keep_failing_are_given_up_and_the_run_goes_on(slack: Slack) -> None:
    """With every chat.update refused, the bot stops editing after three tries, and the run still
    completes with its reply."""
    slack.api.fail_next("chat.update", error="message_not_found", times=1000)
    before = batches_sent(slack.ops)
    _progress, reply, edits = run_to_the_end(slack)

    assert len(edits) == 3
    assert all(e.response.get("error") == "message_not_found" for e in edits)
    assert all_text(reply).count("payouts::record_payout_batch_admin") == BATCHES
    assert batches_sent(slack.ops) == before + BATCHES


def test_a_refused_progress_post_leaves_the_run_and_its_reply_alone(slack: Slack) -> None:
    """The progress message itself refused (``not_in_channel``): no edit is attempted, the run
    completes and its reply is posted once."""
    slack.api.fail_next("chat.postMessage", error="not_in_channel")
    before = batches_sent(slack.ops)
    assert slack.command(RUN, ALICE).status == 200

    def replied() -> bool:
        return any("/payouts run: done" in all_text(c) for c in slack.api.calls("chat.postMessage"))

    wait_until(replied, timeout_s=DONE_TIMEOUT_S)
    refused, reply = slack.api.calls("chat.postMessage")
    assert refused.response == {"ok": False, "error": "not_in_channel"}
    assert "/payouts run 4 10" in all_text(refused)
    assert slack.api.calls("chat.update") == []
    assert all_text(reply).count("payouts::record_payout_batch_admin") == BATCHES
    assert batches_sent(slack.ops) == before + BATCHES


def test_a_procedure_that_stops_midway_says_so_in_its_progress_message(
    runs: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """A run cancelled after its second batch (as at shutdown) leaves the progress message showing
    "stopped" and why; the details, with what was sent, go to the asker only."""
    deps = make_deps(runs, slack_api, redis)
    slack = Slack(build_bolt_app(deps), slack_api, runs)
    before = batches_sent(runs)
    assert slack.command(RUN, ALICE).status == 200
    wait_until(lambda: batches_sent(runs) >= before + 2, timeout_s=DONE_TIMEOUT_S)
    deps.executor.cancel.set()

    (told,) = slack_api.wait_for("chat.postEphemeral", timeout_s=DONE_TIMEOUT_S)
    (progress,) = slack_api.calls("chat.postMessage")
    sent = batches_sent(runs) - before
    final = slack_api.message(CHANNEL, str(progress.response["ts"]))
    assert final is not None
    shown = "\n".join([final["text"], *texts(final["blocks"])])
    assert 2 <= sent < BATCHES
    assert "stopped" in shown
    assert f"Cancelled after {sent} of {BATCHES} transactions" in shown
    assert f"The details were sent to <@{ALICE}>" in shown
    assert told.params["user"] == ALICE
    assert f"Cancelled after {sent} of {BATCHES} transactions" in all_text(told)


def test_a_command_done_before_show_after_posts_no_progress(slack_api: SlackWebApiDouble) -> None:
    """Progress reported by a command that ends within ``show_after_s`` posts nothing: its reply
    says it all."""
    client = web_client(DEFAULT_BOT_TOKEN, slack_api.url, timeout_s=5)
    message = ProgressMessage(
        client, channel=CHANNEL, user=ALICE, command="/refund stop", show_after_s=30
    )
    message.report("1/2: feature_switch::set_mode(u64:1, u8:0)")
    message.report("2/2: feature_switch::set_mode(u64:2, u8:0)")
    message.finish(Reply(title="/refund stop: done"))

    assert message.ts is None
    assert slack_api.calls() == []


def test_progress_blocks_escape_what_was_typed_and_stay_within_limits() -> None:
    """Typed text and step lines cannot mention or broadcast, and a huge line is cut to fit."""
    typed = "/feed fallback 1 on 3 <!channel> <@U0CAROL001>"
    blocks = progress_blocks(typed, ALICE, ["1/2: <!here> " + "x" * 20_000, "2/2: @channel"])
    shown = "\n".join(texts(blocks))

    assert limit_violations(blocks) == []
    for live in ("<!channel>", "<!here>", "<@U0CAROL001>"):
        assert live not in shown
    assert "@channel" not in shown.replace("@\u200dchannel", "")
    assert "truncated" in shown
    assert f"<@{ALICE}> is running" in shown
