"""Slack's Web API: the clients and their retry handlers, and the messages chatops posts through them."""
