"""``SlackDeps``: everything the Slack adapter is given by ``chatops.wiring``; it builds nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from slack_sdk import WebClient

from approvals.policy import Policy
from chatops.flow import ApprovalFlow
from chatops.notify.incidents import IncidentTracker
from chatops.runner import Runner
from chatops.slack.directory import Directory
from chatops.slack.executor import Executor
from chatops.slack.metrics import Metrics

__all__ = ["COURIER_QUEUE", "COURIER_WORKERS", "SlackDeps"]

# The courier's size: a refusal or a form is one short call, and a flood's refusals go in acks.
COURIER_WORKERS = 2
COURIER_QUEUE = 256


@dataclass
class SlackDeps:
    """What the Slack adapter needs; built by ``chatops.wiring``.

    ``executor`` (built from ``max_workers`` and ``max_queue``) runs every command and click; the
    owner drains it at shutdown (``Executor.drain``) before closing what the work uses. Clicks
    have a lane of their own and ``reserved_workers`` no command may hold; one person has at most
    ``per_user_limit`` commands queued or running. ``courier``, a small pool of its own, posts
    what a listener must say but may not wait for (refusals of clicks, the deny form), and the
    App Home tabs and direct messages (``dm_approvers``, ``dm_requester``: the policy's switches).
    ``directory`` (who a Slack user is) is shared by everything the adapter runs.
    ``team_id`` is the bot's own workspace (from ``auth.test``): requests from any other, or naming
    none, are refused. ``signing_secret`` is None in Socket Mode only.
    """

    runner: Runner
    flow: ApprovalFlow
    policy: Policy
    store: redis.Redis
    client: WebClient
    signing_secret: str | None
    team_id: str
    enterprise_id: str | None = None
    app_id: str | None = None
    max_workers: int = 8
    max_queue: int = 64
    reserved_workers: int = 1
    per_user_limit: int = 3
    dm_approvers: bool = False
    dm_requester: bool = False
    metrics: Metrics = field(default_factory=Metrics)
    incidents: IncidentTracker | None = None
    executor: Executor = field(init=False)
    courier: Executor = field(init=False)
    directory: Directory = field(init=False)

    def __post_init__(self) -> None:
        self.executor = Executor(
            self.max_workers,
            self.max_queue,
            per_owner=self.per_user_limit,
            reserved=min(self.reserved_workers, self.max_workers - 1),
        )
        self.courier = Executor(COURIER_WORKERS, COURIER_QUEUE)
        self.directory = Directory(self.client, list(self.policy.groups), team_id=self.team_id)
