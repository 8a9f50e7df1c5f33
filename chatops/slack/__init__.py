"""Everything Slack-specific: the Bolt app (middleware, listeners, the invocation path), Block Kit, the
Web API and what is posted through it, serving, and the manifest."""
