"""Bolt middleware: Slack concerns only, before any listener runs (authorization is the runner's)."""
