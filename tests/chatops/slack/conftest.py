"""Fixtures for the Slack app's end-to-end tests: the Web API double with a small workspace, the seeded
devnet harness with the two-person flow on the test Redis, ``SlackDeps`` and the Bolt app built on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import redis as redis_lib
from slack_bolt import App, BoltRequest, BoltResponse

from approvals.policy import Policy, Role
from chatops.flow import ApprovalFlow
from chatops.slack.app import SlackDeps, build_app, web_client
from commands.registry import Registry, build_registry
from tests.commands.harness import Harness, harness
from tests.fakes.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    SignedRequest,
    signed_block_actions,
    signed_slash_command,
)
from tests.fakes.slack_web_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
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


@pytest.fixture
def slack_api() -> Iterator[SlackWebApiDouble]:
    """The Web API double with the test workspace's people and the approver group."""
    users = [
        SlackUser(id=ALICE, name="alice"),
        SlackUser(id=BOB, name="bob"),
        SlackUser(id=CAROL, name="carol"),
        SlackUser(id=DAVE, name="dave"),
        SlackUser(id=GUEST, name="guest", is_restricted=True),
        SlackUser(id=EXTERNAL, name="ext", team_id=OTHER_TEAM, is_stranger=True),
        SlackUser(id=BOT_USER, name="otherbot", is_bot=True),
    ]
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        app_tokens=[DEFAULT_APP_TOKEN],
        users=users,
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


def make_deps(
    ops: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis, **overrides: Any
) -> SlackDeps:
    """``SlackDeps`` as ``chatops.wiring.serve`` builds them, pointed at the doubles."""
    flow = ops.runner.approvals
    assert isinstance(flow, ApprovalFlow)
    options: dict[str, Any] = {
        "runner": ops.runner,
        "flow": flow,
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
    return build_app(deps)


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
