"""Everything Slack-specific: the Bolt app, Block Kit rendering, posting and the manifest."""
