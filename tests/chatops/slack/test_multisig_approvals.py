"""Multisig mode through Slack: signed requests through Bolt's real request path, the Web API double,
the bot wired by ``chatops.wiring`` on a converted devnet. The card offers "Approve on chain", whose
click shows the command for the approver's own machine and records nothing; people approve with
``chatops multisig approve`` and their own keys; the executor loop ``chatops serve`` runs executes
once and reports to the request's message and thread; a stale head is cleared from Slack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis as redis_lib
from slack_bolt import App, BoltRequest, BoltResponse

from approvals import keys
from approvals.models import Status
from chatops.flow.multisig.execute import EXECUTOR_LOOP
from chatops.flow.multisig.refs import ProposalRef
from chatops.notify import keys as notify_keys
from chatops.notify.metrics import ChainMetrics
from chatops.serve import background_loops
from chatops.slack.app import build_bolt_app, refresh_requests, report_outcome
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import APPROVE_ACTION_ID, APPROVE_ON_CHAIN_ACTION_ID, DENY_ACTION_ID
from chatops.slack.metrics import Metrics
from chatops.slack.web.client import outbox_web_client, web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from tests.chatops.devnet.multisig_support import CHAIN_ID, A
from tests.chatops.flow.multisig_bot import (
    TIMEOUT_S,
    MultisigBot,
    converted_devnet,
    multisig_bot,
    policy_text,
)
from tests.chatops.slack.conftest import (
    ALICE,
    APPROVERS,
    BOB,
    CAROL,
    CHANNEL,
    DAVE,
    REPLY_TIMEOUT_S,
    all_text,
    buttons,
    ephemeral_for,
    serve_env,
    serve_variables,
    start_serve,
)
from tests.conftest import free_port, wait_until
from tests.fakes.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    SignedRequest,
    signed_block_actions,
    signed_slash_command,
)
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, ApiCall, SlackWebApiDouble

FALLBACK = "/feed fallback 1 on 3 spike"
SLACK_USERS = {ALICE: "[operator]", DAVE: "[viewer]"}
LOOP_TIMEOUT_S = 30.0  # the executor polls every 3 s


class MultisigSlack:
    """The Bolt app on the multisig bot, and what it posted."""

    def __init__(self, bot: MultisigBot, api: SlackWebApiDouble, redis: redis_lib.Redis) -> None:
        self.bot = bot
        self.api = api
        self.deps = SlackDeps(
            runner=bot.app.runner,
            flow=bot.app.flow,
            policy=bot.app.policy,
            store=redis,
            client=web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5),
            signing_secret=DEFAULT_SIGNING_SECRET,
            team_id=TEAM_ID,
        )
        self.app: App = build_bolt_app(self.deps)

    def dispatch(self, request: SignedRequest) -> BoltResponse:
        return self.app.dispatch(BoltRequest(body=request.body, headers=request.bolt_headers))

    def command(self, line: str, user: str) -> None:
        command, _, text = line.partition(" ")
        response = self.dispatch(
            signed_slash_command(command, text, user_id=user, channel_id=CHANNEL)
        )
        assert response.status == 200

    def click(self, action_id: str, value: str, user: str) -> None:
        response = self.dispatch(
            signed_block_actions(
                action_id, value, user_id=user, channel_id=CHANNEL, message_ts="1.1"
            )
        )
        assert response.status == 200

    def request_card(self) -> tuple[str, ApiCall]:
        """alice asks for the fallback: (the request id, its posted card)."""
        self.command(FALLBACK, ALICE)
        (posted,) = self.api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
        value = buttons(posted.params["blocks"])[APPROVE_ON_CHAIN_ACTION_ID]
        return value.split(":")[0], posted

    def updates_of(self, posted: ApiCall) -> list[ApiCall]:
        ts = posted.response["ts"]
        return [c for c in self.api.calls("chat.update") if c.params.get("ts") == ts]

    def thread_of(self, posted: ApiCall) -> list[ApiCall]:
        ts = posted.response["ts"]
        return [c for c in self.api.calls("chat.postMessage") if c.params.get("thread_ts") == ts]

    def serve_loop(self, stop: threading.Event) -> threading.Thread:
        """The executor loop as ``chatops serve`` registers it, reporting to Slack."""
        loops = background_loops(
            self.bot.app,
            OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, self.api.url)),
            ChainMetrics(Metrics().registry),
            on_swept=lambda ids: refresh_requests(self.deps, ids),
            on_executed=lambda request_id, reply: report_outcome(self.deps, request_id, reply),
        )
        thread = threading.Thread(target=loops["multisig-executor"], args=(stop,), daemon=True)
        thread.start()
        return thread


@pytest.fixture
def slack(
    tmp_path: Path, redis_server: str, redis: redis_lib.Redis, slack_api: SlackWebApiDouble
) -> Iterator[MultisigSlack]:
    names = {"alice": ALICE, "bob": BOB, "carol": CAROL}
    groups = f"groups:\n  {APPROVERS}: approver\n"
    with multisig_bot(
        tmp_path, redis_server, users=SLACK_USERS, names=names, more_policy=groups
    ) as bot:
        yield MultisigSlack(bot, slack_api, redis)


def test_the_card_offers_approve_on_chain_and_a_click_only_shows_the_command(
    slack: MultisigSlack,
) -> None:
    """The request's card names its proposal and hash and offers Approve on chain (no Approve);
    bob's click answers him alone with the command for his own machine and the Supra CLI line, the
    same text as a typed /ops approve; nothing is recorded and no vote is cast."""
    request_id, posted = slack.request_card()
    [ref] = slack.bot.refs(request_id)
    shown = buttons(posted.params["blocks"])
    assert set(shown) == {APPROVE_ON_CHAIN_ACTION_ID, DENY_ACTION_ID}
    assert APPROVE_ACTION_ID not in shown
    assert '"text": "Approve on chain"' in json.dumps(posted.params["blocks"])
    card = all_text(posted)
    assert f"Proposal {ref.number}" in card
    assert ref.payload_hash in card
    assert "1 of 3 approvals on chain (chatops)" in card

    slack.click(APPROVE_ON_CHAIN_ACTION_ID, shown[APPROVE_ON_CHAIN_ACTION_ID], BOB)
    (clicked,) = ephemeral_for(slack.api, BOB)
    slack.command(f"/ops approve {request_id}", BOB)
    _, typed = ephemeral_for(slack.api, BOB, count=2)

    text = all_text(clicked).replace("`", "")  # Slack shows the hashes as code
    assert (
        f"chatops multisig approve {ref.number} --key-file YOUR_KEY --expect-hash "
        f"{ref.payload_hash}" in text
    )
    assert "0x1::multisig_account::approve_transaction" in text
    assert clicked.params["blocks"] == typed.params["blocks"]
    request = slack.bot.request(request_id)
    assert (request.state, request.approvers) == (Status.PENDING, ())
    assert slack.bot.chain.proposal(ref.number).approvals == 1
    assert slack.api.calls("chat.update") == []


def test_a_forced_approved_state_and_clicks_execute_nothing(
    slack: MultisigSlack, redis: redis_lib.Redis
) -> None:
    """Redis forced to approved; bob clicks Approve on chain; the serve loop polls: the chain has
    only the bot's yes, so nothing is sent and the fallback stays off."""
    request_id, posted = slack.request_card()
    number = int(request_id.split("-")[0])
    redis.hset(keys.request_key(number), "state", "approved")
    before = len(slack.bot.cli.server.ledger.transactions)
    stop = threading.Event()
    loop = slack.serve_loop(stop)
    try:
        value = buttons(posted.params["blocks"])[APPROVE_ON_CHAIN_ACTION_ID]
        slack.click(APPROVE_ON_CHAIN_ACTION_ID, value, BOB)
        ephemeral_for(slack.api, BOB)
        # The loop took its lease, so it polls now; stopping lets that round finish first.
        wait_until(lambda: _polls(redis) >= 1, LOOP_TIMEOUT_S)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert len(slack.bot.cli.server.ledger.transactions) == before
    assert not slack.bot.fallback_active()
    assert slack.bot.request(request_id).state == Status.APPROVED


def _polls(redis: redis_lib.Redis) -> int:
    """How many replicas have held the executor's lease (its fence counter)."""
    return int(cast(bytes | None, redis.get(notify_keys.loop_fence_key(EXECUTOR_LOOP))) or 0)


def test_two_approvals_on_chain_and_the_serve_loop_executes_once_into_the_thread(
    slack: MultisigSlack,
) -> None:
    """A wrong hash is refused by alice's CLI; alice and bob then approve with their own keys; the
    loop of chatops serve notices by itself, executes once, updates the card and posts the result
    in the request's thread."""
    request_id, posted = slack.request_card()
    [ref] = slack.bot.refs(request_id)
    wrong = slack.bot.approve_on_chain("alice", ref.number, "0x" + "00" * 32)
    assert wrong.returncode == 1
    assert "nothing was signed" in wrong.stderr
    slack.bot.approved_by_two(request_id)
    stop = threading.Event()
    loop = slack.serve_loop(stop)
    try:
        wait_until(lambda: bool(slack.thread_of(posted)), LOOP_TIMEOUT_S)
    finally:
        stop.set()
        loop.join(timeout=10)
    (note,) = slack.thread_of(posted)
    assert f"Request {request_id} executed" in all_text(note)
    assert slack.updates_of(posted)
    assert "Executed" in all_text(slack.updates_of(posted)[-1])
    assert slack.bot.fallback_active()
    assert len(slack.bot.events("PriceFeedFallbackEvent")) == 1
    assert slack.bot.request(request_id).state == Status.SUCCEEDED


def test_an_expired_head_is_cleared_from_slack_and_the_next_one_runs(slack: MultisigSlack) -> None:
    """The first request's proposal times out and blocks the second, approved one; /ops pending
    says so; alice's /ops clear removes it and updates its card; the loop then runs the second."""
    stale_id, stale_card = slack.request_card()
    [stale] = slack.bot.refs(stale_id)
    slack.bot.cli.advance(TIMEOUT_S + 1)
    slack.command("/lottery activate 2 reason=ready", ALICE)
    cards = slack.api.wait_for("chat.postMessage", count=2, timeout_s=REPLY_TIMEOUT_S)
    fresh_value = buttons(cards[1].params["blocks"])[APPROVE_ON_CHAIN_ACTION_ID]
    fresh_id = fresh_value.split(":")[0]
    slack.bot.approved_by_two(fresh_id)

    slack.command("/ops pending", DAVE)
    (pending,) = ephemeral_for(slack.api, DAVE)
    assert f"proposal {stale.number} (expired) blocks the 1 behind it" in all_text(pending)
    slack.command(f"/ops clear {stale.number}", ALICE)
    wait_until(lambda: bool(slack.updates_of(stale_card)), REPLY_TIMEOUT_S)
    assert "Expired" in all_text(slack.updates_of(stale_card)[-1])
    assert slack.bot.request(stale_id).state == Status.EXPIRED

    stop = threading.Event()
    loop = slack.serve_loop(stop)
    try:
        wait_until(lambda: bool(slack.thread_of(cards[1])), LOOP_TIMEOUT_S)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert slack.bot.request(fresh_id).state == Status.SUCCEEDED
    assert not slack.bot.fallback_active()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_chatops_serve_in_multisig_mode_executes_what_the_chain_approved_by_itself(
    tmp_path: Path, redis_server: str, redis: redis_lib.Redis, slack_api: SlackWebApiDouble
) -> None:
    """``chatops serve --http`` wired for multisig mode from its environment: alice's signed slash
    command becomes a card with its proposal; alice and bob approve on their machines; serve's
    loop notices by itself, executes once and posts the result in the card's thread."""
    with converted_devnet(tmp_path) as (cli, people_keys, addresses):
        bot_key = tmp_path / "bot.key"
        cli.bot.write_key_file(bot_key)
        port = free_port()
        env = serve_variables(tmp_path, redis_server, slack_api, port)
        names = {"alice": ALICE, "bob": BOB, "carol": CAROL}
        policy = Path(env["CHATOPS_POLICY_FILE"])
        policy.write_text(
            policy_text(
                SLACK_USERS,
                {names[p]: addresses[p] for p in names},
                f"groups:\n  {APPROVERS}: approver\n",
            )
        )
        env.update(
            {
                "SUPRA_RPC_URL": cli.server.url,
                "SUPRA_CHAIN_ID": str(CHAIN_ID),
                "LOTTERY_ADDRESS": A,
                "CHATOPS_SIGNER_KEY_FILE": str(bot_key),
            }
        )
        served = start_serve(tmp_path, serve_env(env), port, "--http")
        try:
            acked = served.command(FALLBACK, ALICE)
            assert acked.status_code == 200
            (card,) = slack_api.wait_for("chat.postMessage", timeout_s=REPLY_TIMEOUT_S)
            request_id = buttons(card.params["blocks"])[APPROVE_ON_CHAIN_ACTION_ID].split(":")[0]
            number = int(request_id.split("-")[0])
            token = cast(bytes, redis.hget(keys.request_key(number), "proposals")).decode()
            ref = ProposalRef.parse(token)
            for person in ("alice", "bob"):
                voted = cli.run(
                    "multisig",
                    "approve",
                    str(ref.number),
                    "--key-file",
                    str(people_keys[person]),
                    "--expect-hash",
                    ref.payload_hash,
                )
                assert voted.returncode == 0, voted.stderr

            def in_thread() -> list[ApiCall]:
                ts = card.response["ts"]
                return [
                    c
                    for c in slack_api.calls("chat.postMessage")
                    if c.params.get("thread_ts") == ts
                ]

            wait_until(lambda: bool(in_thread()), timeout_s=LOOP_TIMEOUT_S)
        finally:
            served.proc.terminate()
            returncode = served.proc.wait(timeout=15)
        (note,) = in_thread()
        [feed] = cli.client.view(f"{A}::price_feed::get_price_view", [("u64", 1)])
        fallback_events = [
            e for e in cli.server.ledger.events if e.type.endswith("::PriceFeedFallbackEvent")
        ]
    assert returncode == 0, served.log.read_text()
    assert f"Request {request_id} executed" in all_text(note)
    assert feed["fallback_active"] is True
    assert len(fallback_events) == 1
