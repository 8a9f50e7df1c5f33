"""chatops: run the lottery_multi operations runbook from Slack. Importing it has no side effects."""

__version__ = "0.1.0"
