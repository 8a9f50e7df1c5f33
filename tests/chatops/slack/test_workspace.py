"""The bot learns its workspace from Slack's auth.test (the Web API double), through the WebClient
with its retry handlers, and refuses a configuration that names another."""

from __future__ import annotations

import pytest

from chatops.config import ConfigError
from chatops.slack.web.client import web_client
from chatops.slack.workspace import Workspace, learn_workspace
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN, SlackWebApiDouble


def test_the_workspace_is_learned_through_slack_outages() -> None:
    """auth.test answered 429 then 503 is retried; the bot learns its team, organisation, bot user
    and bot id, and a configured team and organisation that agree are accepted."""
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN], team_id="T0GRID0001", enterprise_id="E0GRID0001"
    ) as api:
        api.fail_next("auth.test", status=429, retry_after=0)
        api.fail_next("auth.test", status=503)
        client = web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5)
        learned = learn_workspace(client, team_id="T0GRID0001", enterprise_id="E0GRID0001")
        statuses = [c.status for c in api.calls("auth.test")]

    assert statuses == [429, 503, 200]
    assert learned == Workspace(
        team_id="T0GRID0001",
        enterprise_id="E0GRID0001",
        bot_user_id=api.bot_user_id,
        bot_id=api.bot_id,
        app_id=None,
    )


def test_a_configured_id_that_disagrees_is_named_with_what_slack_says() -> None:
    """A team and an organisation that are not the token's are each one problem naming
    the variable and what auth.test said; a Slack error that is not about the token names
    SLACK_API_URL, and no message carries the token."""
    with SlackWebApiDouble(bot_tokens=[DEFAULT_BOT_TOKEN], team_id="T0MINE0001") as api:
        client = web_client(DEFAULT_BOT_TOKEN, api.url, timeout_s=5)
        with pytest.raises(ConfigError) as disagrees:
            learn_workspace(client, team_id="T0OTHER001", enterprise_id="E0OTHER001")
        api.fail_next("auth.test", status=200, error="fatal_error")
        with pytest.raises(ConfigError) as failed:
            learn_workspace(client)

    assert [var for var, _why in disagrees.value.problems] == [
        "CHATOPS_SLACK_TEAM_ID",
        "CHATOPS_SLACK_ENTERPRISE_ID",
    ]
    assert "auth.test says T0MINE0001" in disagrees.value.problems[0][1]
    assert failed.value.problems == [
        ("SLACK_API_URL", "auth.test failed (fatal_error), so the bot cannot learn its workspace")
    ]
    for error in (disagrees.value, failed.value):
        assert DEFAULT_BOT_TOKEN not in str(error)
