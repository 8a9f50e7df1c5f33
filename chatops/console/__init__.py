"""The terminal adapter: the same runner as Slack, with text output and readline history."""
