"""A reply always reaches the person, through Bolt's request path and a Slack double that takes its
time: through the command's response_url when Slack will not take the post, split when long, and a
refusal with a reason when Slack does not answer (never a cached "no members")."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import redis as redis_lib

from chatops.slack.app import build_bolt_app
from chatops.slack.blocks.limits import MESSAGE_TEXT_MAX, block_text_size
from commands.invocation import MAX_TEXT_CHARS
from tests.chatops.slack.blockkit import assert_valid
from tests.chatops.slack.conftest import (
    ALICE,
    APPROVERS,
    BOB,
    CHANNEL,
    REPLY_TIMEOUT_S,
    Slack,
    ack_text,
    all_text,
    ephemeral_for,
    make_deps,
    slack_policy,
)
from tests.fakes.bot import harness
from tests.fakes.slack_web_api import (
    DEFAULT_BOT_TOKEN,
    ApiCall,
    SlackChannel,
    SlackUser,
    SlackWebApiDouble,
)

LATENCY_S = (0.03, 0.1)  # Slack's Web API answers in tens to hundreds of milliseconds
OUTSIDE = "C0NOTJOINED"  # a channel the bot was never invited to


@pytest.fixture
def slow_api() -> Iterator[SlackWebApiDouble]:
    """The workspace of the other Slack tests, on a double that takes Slack's time and knows a
    channel the bot is not a member of."""
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        users=[SlackUser(id=ALICE, name="alice"), SlackUser(id=BOB, name="bob")],
        usergroups={APPROVERS: [BOB]},
        channels=[CHANNEL, SlackChannel(OUTSIDE, is_member=False)],
        latency_s=LATENCY_S,
    ) as api:
        yield api


@pytest.fixture
def bot(slow_api: SlackWebApiDouble, redis: redis_lib.Redis) -> Iterator[Slack]:
    with harness(slack_policy(), redis_client=redis) as ops:
        yield Slack(build_bolt_app(make_deps(ops, slow_api, redis)), slow_api, ops)


def _hooked(api: SlackWebApiDouble, count: int = 1) -> list[ApiCall]:
    return api.wait_for("response_url", count=count, timeout_s=REPLY_TIMEOUT_S)


def test_a_result_in_a_channel_without_the_bot_arrives_through_the_response_url(
    bot: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """/feed show typed where the bot is not a member: chat.postMessage fails not_in_channel, the
    result reaches the channel through the command's response_url, and the log names who asked,
    what and where."""
    caplog.set_level(logging.WARNING, logger="chatops.slack.web.reply_poster")
    url = bot.api.response_url("show")
    assert bot.command("/feed show 1", ALICE, channel_id=OUTSIDE, response_url=url).status == 200
    (hooked,) = _hooked(bot.api)

    (refused,) = bot.api.calls("chat.postMessage")
    assert refused.response["error"] == "not_in_channel"
    assert hooked.status == 200
    assert hooked.params["response_type"] == "in_channel"
    assert "Asset 1" in all_text(hooked)
    [line] = [r.getMessage() for r in caplog.records if "response_url" in r.getMessage()]
    assert ALICE in line
    assert "/feed show" in line
    assert OUTSIDE in line
    assert "invite the bot" in line


def test_an_error_in_a_channel_without_the_bot_reaches_the_asker_alone(bot: Slack) -> None:
    """An error there (chat.postEphemeral: not_in_channel) comes back through the response_url as
    an ephemeral message."""
    url = bot.api.response_url("error")
    bot.command("/feed show 99999", ALICE, channel_id=OUTSIDE, response_url=url)
    (hooked,) = _hooked(bot.api)
    assert bot.api.calls("chat.postEphemeral")[0].response["error"] == "not_in_channel"
    assert hooked.params["response_type"] == "ephemeral"
    assert hooked.status == 200


def test_a_request_in_a_channel_without_the_bot_is_posted_through_the_response_url(
    bot: Slack,
) -> None:
    """A privileged request typed where the bot is not: its card, with Approve and Deny, reaches
    the channel through the response_url."""
    url = bot.api.response_url("request")
    bot.command("/feed fallback 1 on 3 spike", ALICE, channel_id=OUTSIDE, response_url=url)
    (hooked,) = _hooked(bot.api)
    assert hooked.params["response_type"] == "in_channel"
    kinds = [block["type"] for block in hooked.params["blocks"]]
    assert kinds[-1] == "actions"


def test_a_message_slack_finds_too_long_goes_again_in_halves(bot: Slack) -> None:
    """When Slack answers msg_blocks_too_long, the reply is sent again through the response_url
    in two messages that together hold all of it."""
    url = bot.api.response_url("halves")
    bot.api.fail_next("chat.postEphemeral", error="msg_blocks_too_long")
    bot.command("/ops help feed", ALICE, response_url=url)
    first, second = _hooked(bot.api, count=2)
    assert (first.status, second.status) == (200, 200)
    shown = all_text(first) + all_text(second)
    assert "/feed fallback" in shown
    assert "/feed show" in shown


def test_a_long_reply_arrives_whole_in_several_messages(bot: Slack) -> None:
    """/ops help (the whole catalog) comes as several ephemeral messages, each one Slack takes,
    that list every command."""
    bot.command("/ops help", ALICE)
    parts = ephemeral_for(bot.api, ALICE, count=2)
    assert all(part.status == 200 and part.response["ok"] for part in parts)
    assert all(block_text_size(p.params["blocks"]) <= MESSAGE_TEXT_MAX for p in parts)
    shown = "\n".join(all_text(p) for p in parts)
    for command in bot.ops.runner.registry.commands:
        assert command in shown


def test_a_command_over_the_length_cap_is_refused_in_its_ack(bot: Slack) -> None:
    """A command with 5,000 characters of text is refused at once, naming the cap; nothing runs."""
    acked = bot.command("/feed show " + "1" * 5000, ALICE)
    assert f"at most {MAX_TEXT_CHARS:,} are read" in ack_text(acked)
    assert bot.api.calls("users.info") == []


def test_a_failed_group_lookup_refuses_with_a_reason_and_is_asked_again(bot: Slack) -> None:
    """usergroups.users.list failing (503 after the client's retries) refuses bob's command with
    the reason, and is not remembered as "no members": his next command asks again and runs."""
    bot.api.fail_next("usergroups.users.list", status=503, times=3)
    bot.command("/ops pending", BOB)
    (refused,) = ephemeral_for(bot.api, BOB)
    assert "Slack did not say who is in the approver groups" in all_text(refused)

    bot.command("/ops pending", BOB)
    (answer,) = ephemeral_for(bot.api, BOB, count=2)[1:]
    assert "approver groups" not in all_text(answer)
    assert len(bot.api.calls("usergroups.users.list")) == 4


def test_a_refusal_in_an_ack_is_an_ephemeral_slack_message(bot: Slack) -> None:
    """A refusal in an ack is a message Slack shows the asker alone: valid blocks, no Web API call."""
    acked = bot.command("/feed nonsense", ALICE)
    body = json.loads(acked.body)
    assert body["response_type"] == "ephemeral"
    assert "Unknown subcommand" in body["text"]
    assert_valid(body["blocks"])
    assert bot.api.calls("chat.postEphemeral") == []
