"""``SlackDeps``: everything the Slack adapter is given by ``chatops.wiring``; it builds nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from slack_sdk import WebClient

from approvals.policy import Policy
from chatops.flow import ApprovalFlow
from chatops.notify.incidents import IncidentTracker
from chatops.runner import Runner
from chatops.slack.executor import Executor
from chatops.slack.metrics import Metrics

__all__ = ["SlackDeps"]


@dataclass
class SlackDeps:
    """What the Slack adapter needs; built by ``chatops.wiring``.

    ``executor`` (built from ``max_workers`` and ``max_queue``) runs every command and click; the
    owner drains it at shutdown (``Executor.drain``) before closing what the work uses.
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
    metrics: Metrics = field(default_factory=Metrics)
    incidents: IncidentTracker | None = None
    executor: Executor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = Executor(self.max_workers, self.max_queue)
