"""Bolt listeners, one module per kind of request: each acks first, builds an ``Invocation`` and hands it
to ``chatops.slack.invocations``; none decides anything about who may do what.
"""
