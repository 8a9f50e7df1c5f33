"""Fixtures for the Slack app's end-to-end tests: the Web API double with a small workspace, the seeded
devnet harness with the two-person flow on the test Redis, ``SlackDeps`` and the Bolt app built on them,
and the helpers the test modules share (requests and their buttons, a slow devnet, ``chatops serve``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib
from slack_bolt import App, BoltRequest, BoltResponse

from approvals.policy import Policy, Role
from chatops.flow import ApprovalFlow
from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.ids import APPROVE_ACTION_ID, DENY_ACTION_ID
from chatops.slack.metrics import Metrics
from chatops.slack.server import HealthServer, make_wsgi
from chatops.slack.web.client import web_client
from commands.registry import Registry, build_registry
from tests.chatops.slack.blockkit import texts
from tests.conftest import REPO_ROOT, wait_until
from tests.fakes.bot import Harness, harness
from tests.fakes.slack_requests import (
    APP_ID,
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    SignedRequest,
    signed_block_actions,
    signed_request,
    signed_slash_command,
)
from tests.fakes.slack_web_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    ApiCall,
    SlackUser,
    SlackWebApiDouble,
)

ALICE = "U0ALICE001"  # operator: requests privileged steps
BOB = "U0BOB00001"  # approver through the S0APPROVERS user group only
CAROL = "U0CAROL001"  # a full member with no role at all
DAVE = "U0DAVE0001"  # a viewer: reads, never changes anything
GUEST = "U0GUEST001"  # a guest account, named approver in the policy, still refused
EXTERNAL = "U0EXT00001"  # a Slack Connect user of another workspace, named approver, still refused
BOT_USER = "U0BOTX0001"  # another app's bot user, named approver, still refused
APPROVERS = "S0APPROVERS"
CHANNEL = "C0OPS00001"
OTHER_TEAM = "T0OTHER001"
FALLBACK = "/feed fallback 1 on 3 spike"  # a privileged request alice may make


def slack_policy() -> Policy:
    """Slack user ids to roles, and the approver role through a user group.

    The guest, the external user and the bot are named approvers on purpose: their refusal must come
    from the account checks, not from the policy.
    """
    return Policy(
        users={
            ALICE: (Role.OPERATOR,),
            DAVE: (Role.VIEWER,),
            GUEST: (Role.OPERATOR, Role.APPROVER),
            EXTERNAL: (Role.OPERATOR, Role.APPROVER),
            BOT_USER: (Role.OPERATOR, Role.APPROVER),
        },
        groups={APPROVERS: Role.APPROVER},
    )


def workspace_users() -> list[SlackUser]:
    """The test workspace's people as Slack's users.info shows them."""
    return [
        SlackUser(id=ALICE, name="alice"),
        SlackUser(id=BOB, name="bob"),
        SlackUser(id=CAROL, name="carol"),
        SlackUser(id=DAVE, name="dave"),
        SlackUser(id=GUEST, name="guest", is_restricted=True),
        SlackUser(id=EXTERNAL, name="ext", team_id=OTHER_TEAM, is_stranger=True),
        SlackUser(id=BOT_USER, name="otherbot", is_bot=True),
    ]


@pytest.fixture
def slack_api() -> Iterator[SlackWebApiDouble]:
    """The Web API double with the test workspace's people and the approver group."""
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        app_tokens=[DEFAULT_APP_TOKEN],
        users=workspace_users(),
        usergroups={APPROVERS: [BOB]},
        team_id=TEAM_ID,
    ) as api:
        yield api


def procedures_registry() -> Registry:
    """The catalog with ``/payouts run`` declared as needing no second person, so a ten-transaction
    procedure runs straight from its slash command (no policy can waive the catalog's rule)."""
    return Registry(
        [replace(s, privileged=False) if s.path == "/payouts run" else s for s in build_registry()]
    )


@pytest.fixture
def ops(redis: redis_lib.Redis) -> Iterator[Harness]:
    """A seeded devnet, gateway and runner with the approval flow on the test Redis."""
    with harness(slack_policy(), redis_client=redis) as h:
        yield h


def flow_of(ops: Harness) -> ApprovalFlow:
    """The harness's approval flow (the runner holds it as its ``ApprovalGate``)."""
    flow = ops.runner.approvals
    assert isinstance(flow, ApprovalFlow)
    return flow


def slow_chain(ops: Harness, *, delay_ms: int, count: int) -> None:
    """The next ``count`` RPCs of the devnet answer ``delay_ms`` late."""
    response = httpx.post(
        f"{ops.server.url}/devnet/faults",
        json={"delay_ms": delay_ms, "count": count, "path_prefix": "/rpc/"},
        timeout=5,
    )
    response.raise_for_status()


def make_deps(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis, **overrides: Any
) -> SlackDeps:
    """``SlackDeps`` as ``chatops.wiring.serve`` builds them, pointed at the doubles."""
    options: dict[str, Any] = {
        "runner": ops.runner,
        "flow": flow_of(ops),
        "policy": ops.runner.policy,
        "store": redis,
        "client": web_client(DEFAULT_BOT_TOKEN, slack_api.url, timeout_s=5),
        "signing_secret": DEFAULT_SIGNING_SECRET,
        "team_id": TEAM_ID,
    }
    options.update(overrides)
    return SlackDeps(**options)


@pytest.fixture
def deps(ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis) -> SlackDeps:
    return make_deps(ops, slack_api, redis)


@pytest.fixture
def app(deps: SlackDeps) -> App:
    """The Bolt app under test."""
    return build_bolt_app(deps)


@pytest.fixture
def http_server(app: App, deps: SlackDeps, redis: redis_lib.Redis) -> Iterator[HealthServer]:
    """The production WSGI stack (waitress + make_wsgi + Bolt's adapter) on a free loopback port."""

    def readiness() -> dict[str, bool]:
        return {"redis": bool(redis.ping()), "chain": True}

    wsgi = make_wsgi(app, readiness, deps.metrics, signing_secret=deps.signing_secret)
    server = HealthServer(wsgi, "127.0.0.1", 0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Slack:
    """Sends signed requests to the app as Slack would, and reads what the app posted back."""

    app: App
    api: SlackWebApiDouble
    ops: Harness

    def dispatch(self, request: SignedRequest) -> BoltResponse:
        return self.app.dispatch(BoltRequest(body=request.body, headers=request.bolt_headers))

    def command(self, line: str, user: str = ALICE, **fields: Any) -> BoltResponse:
        """``/cmd text`` typed by ``user`` in the ops channel."""
        command, _, text = line.partition(" ")
        return self.dispatch(
            signed_slash_command(
                command, text, user_id=user, channel_id=fields.pop("channel_id", CHANNEL), **fields
            )
        )

    def click(self, action_id: str, value: str, user: str, **fields: Any) -> BoltResponse:
        return self.dispatch(
            signed_block_actions(action_id, value, user_id=user, channel_id=CHANNEL, **fields)
        )


@pytest.fixture
def slack(app: App, slack_api: SlackWebApiDouble, ops: Harness) -> Slack:
    return Slack(app, slack_api, ops)


REPLY_TIMEOUT_S = 10.0


def all_text(call: ApiCall) -> str:
    """The top-level text and every text inside the blocks of one posted message, joined."""
    return "\n".join([str(call.params.get("text", "")), *texts(call.params.get("blocks", []))])


def ack_text(response: BoltResponse) -> str:
    """What an ack showed the asker (its text and its blocks' texts); empty for a bare ack."""
    if not response.body:
        return ""
    body = json.loads(response.body)
    return "\n".join([str(body.get("text", "")), *texts(body.get("blocks", []))])


def commands_counted(metrics: Metrics) -> float:
    """How many slash commands ran to a reply (any command, any outcome)."""
    total = 0.0
    for family in metrics.registry.collect():
        if family.name == "chatops_commands":
            total += sum(s.value for s in family.samples if s.name == "chatops_commands_total")
    return total


def ephemeral_for(api: SlackWebApiDouble, user: str, count: int = 1) -> list[ApiCall]:
    """Wait until ``user`` was sent ``count`` ephemeral messages; return them, oldest first."""
    found: list[ApiCall] = []

    def seen() -> bool:
        found[:] = [c for c in api.calls("chat.postEphemeral") if c.params.get("user") == user]
        return len(found) >= count

    wait_until(seen, timeout_s=REPLY_TIMEOUT_S)
    return found


def settle(slack: Slack, deps: SlackDeps, expected_commands: float) -> None:
    """Run one harmless /feed show and wait for its reply and for the command count to reach
    ``expected_commands``: a request refused in Bolt or the guard never reaches the executor, so if it
    had run, the count would be higher."""

    def shows() -> int:
        return sum("Asset 1" in all_text(c) for c in slack.api.calls("chat.postMessage"))

    before = shows()
    response = slack.command("/feed show 1", ALICE)
    assert response.status == 200
    wait_until(lambda: shows() > before, REPLY_TIMEOUT_S)
    wait_until(lambda: commands_counted(deps.metrics) >= expected_commands, REPLY_TIMEOUT_S)


def serve_variables(
    tmp_path: Path, redis_server: str, slack_api: SlackWebApiDouble, port: int
) -> dict[str, str]:
    """Every variable ``chatops serve --http`` needs, on the test Redis and the Web API double (the
    policy file is written into ``tmp_path``), serving a rehearsal on the embedded devnet."""
    policy = tmp_path / "policy.yml"
    policy.write_text(f"users:\n  {ALICE}: [operator]\ngroups:\n  {APPROVERS}: approver\n")
    return {
        "REDIS_URL": redis_server,
        "SLACK_API_URL": slack_api.url,
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "CHATOPS_HTTP_PORT": str(port),
        "CHATOPS_POLICY_FILE": str(policy),
        "CHATOPS_REHEARSAL": "1",
    }


def event_request(event: dict[str, object], *, event_id: str) -> SignedRequest:
    """A signed Events API delivery of ``event`` to our app in the test workspace."""
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event_id": event_id,
            "event": event,
        }
    )
    return signed_request(body, content_type="application/json")


def mention_request(
    text: str, *, thread_ts: str | None, event_id: str, user: str = ALICE
) -> SignedRequest:
    """A signed Events API delivery of ``@chatops text`` by ``user`` in the ops channel (in the
    thread of ``thread_ts`` if given)."""
    event: dict[str, object] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@U0BOT00001> {text}",
        "channel": CHANNEL,
        "ts": "1700000001.000200",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event_request(event, event_id=event_id)


def home_opened_request(user: str, *, event_id: str) -> SignedRequest:
    """A signed ``app_home_opened`` for ``user`` opening the Home tab."""
    event: dict[str, object] = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": "home",
        "event_ts": "1700000002.000100",
    }
    return event_request(event, event_id=event_id)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """action_id -> value of every button in ``blocks``."""
    return {
        element["action_id"]: element["value"]
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    }


def button_value(posted: ApiCall) -> str:
    """What the Approve button of a posted request message carries (Deny's is the same): the
    request's whole id and the digest of the calls the message shows."""
    values = buttons(posted.params["blocks"])
    assert values[APPROVE_ACTION_ID] == values[DENY_ACTION_ID]
    return values[APPROVE_ACTION_ID]


def request_approval(slack: Slack) -> tuple[str, ApiCall]:
    """alice asks for the fallback; returns the request id and the posted approval message."""
    response = slack.command(FALLBACK, ALICE)
    assert response.status == 200
    found: list[ApiCall] = []

    def in_channel() -> bool:
        calls = slack.api.calls("chat.postMessage")
        found[:] = [c for c in calls if c.params.get("channel") == CHANNEL]
        return bool(found)

    wait_until(in_channel, REPLY_TIMEOUT_S)
    (posted,) = found
    return button_value(posted).split(":")[0], posted


def fallback_active(ops: Harness) -> bool:
    """Whether asset 1 is on its fallback price, as the devnet says."""
    return bool(ops.view("price_feed::get_price_view", "1")[0]["fallback_active"])


def serve_env(variables: dict[str, str]) -> dict[str, str]:
    """A clean environment for ``chatops serve``: only what Python needs, plus ``variables``."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "LANG": "C.UTF-8", **variables}


@dataclass
class Served:
    """A ``chatops serve`` subprocess, its base URL and its log."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def command(self, line: str, user: str) -> httpx.Response:
        """``line`` typed by ``user`` in the ops channel, signed and posted as Slack would."""
        command, _, text = line.partition(" ")
        signed = signed_slash_command(command, text, user_id=user, channel_id=CHANNEL)
        return httpx.post(
            f"{self.base}/slack/events", content=signed.body, headers=signed.headers, timeout=5
        )

    def post_command(self, line: str, user: str) -> int:
        return self.command(line, user).status_code

    def in_flight(self) -> float:
        """``chatops_work_in_flight`` as ``/metrics`` shows it now."""
        metrics = httpx.get(f"{self.base}/metrics", timeout=5).text
        found = re.search(r"^chatops_work_in_flight (\S+)$", metrics, re.MULTILINE)
        assert found is not None, metrics
        return float(found.group(1))


def start_serve(tmp_path: Path, env: dict[str, str], port: int, *flags: str) -> Served:
    """``chatops serve`` with ``env`` on ``port``, its output in ``tmp_path/serve.log``, once it
    answers /healthz; the caller stops it (it is killed here if it never gets healthy)."""
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", *flags],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, f"http://127.0.0.1:{port}", log)

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout_s=30, interval_s=0.1)
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return served
