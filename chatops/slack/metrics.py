"""The bot's own Prometheus metrics, on a registry per app (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "chatops_commands_total",
            "Slash commands whose reply was handed to Slack, by outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.approvals = Counter(
            "chatops_approval_actions_total",
            "Approve/deny clicks",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "chatops_ack_seconds",
            "Time from receiving a Slack request to acknowledging it",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "chatops_slack_errors_total",
            "Slack Web API calls that failed, by the method called and Slack's error",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_api_seconds = Histogram(
            "chatops_slack_api_seconds",
            "Slack Web API calls by the method called, retries included",
            ["method"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.busy = Counter(
            "chatops_busy_total",
            "Requests refused because the executor was full",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
