"""Two-person approval of privileged steps, on Redis. Knows nothing of Slack or the chain."""
