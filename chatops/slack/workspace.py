"""The workspace the bot belongs to, learned from Slack's ``auth.test`` at start, never assumed.

Requests from any other workspace are refused; a configured id that disagrees stops the start.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.config import ConfigError

__all__ = ["Workspace", "learn_workspace"]

# auth.test's answers that mean the token itself is no good (Slack's error words).
_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)


@dataclass(frozen=True)
class Workspace:
    """Who the bot token says the bot is."""

    team_id: str
    enterprise_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    app_id: str | None


def learn_workspace(
    client: WebClient,
    *,
    team_id: str | None = None,
    enterprise_id: str | None = None,
    app_id: str | None = None,
) -> Workspace:
    """Ask ``auth.test`` (through ``client``'s retry handlers) which workspace the bot token belongs
    to; ``team_id``, ``enterprise_id`` and ``app_id``, when configured, must agree with it.

    Raises:
        ConfigError: Slack refused the token, could not be reached, or names another workspace; the
            message says which and never carries the token.
    """
    try:
        found = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in _TOKEN_ERRORS:
            why = f"Slack does not accept this bot token (auth.test: {error})"
            raise ConfigError([("SLACK_BOT_TOKEN", why)]) from None
        why = f"auth.test failed ({error}), so the bot cannot learn its workspace"
        raise ConfigError([("SLACK_API_URL", why)]) from None
    except OSError as exc:  # refused, reset, timed out, unknown host: after the retries
        reason = getattr(exc, "reason", exc)
        why = (
            "Slack's Web API could not be reached to learn the bot's workspace "
            f"(auth.test: {type(reason).__name__})"
        )
        raise ConfigError([("SLACK_API_URL", why)]) from None
    learned = Workspace(
        team_id=str(found.get("team_id") or ""),
        enterprise_id=_text(found.get("enterprise_id")),
        bot_user_id=_text(found.get("user_id")),
        bot_id=_text(found.get("bot_id")),
        app_id=_text(found.get("app_id")) or app_id,
    )
    problems: list[tuple[str, str]] = []
    if not learned.team_id:
        problems.append(("SLACK_BOT_TOKEN", "auth.test named no workspace for this token"))
    for var, configured, actual, what in (
        ("CHATOPS_SLACK_TEAM_ID", team_id, learned.team_id, "workspace"),
        ("CHATOPS_SLACK_ENTERPRISE_ID", enterprise_id, learned.enterprise_id, "organisation"),
        ("CHATOPS_SLACK_APP_ID", app_id, learned.app_id, "app"),
    ):
        if configured is not None and configured != actual:
            found_as = f"auth.test says {actual}" if actual else "auth.test names none"
            problems.append(
                (var, f"is not the {what} of SLACK_BOT_TOKEN ({found_as}); correct or unset it")
            )
    if problems:
        raise ConfigError(problems)
    return learned


def _text(value: object) -> str | None:
    return str(value) if value else None
