"""Chain events, monitoring alerts, incident threads, the outbox to Slack and the ops journal (no Slack imports)."""
