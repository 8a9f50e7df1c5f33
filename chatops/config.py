"""The one place that reads the environment: a frozen ``Settings`` built once in ``__main__``, with
the rules of what each mode requires."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigError", "Settings", "load_settings"]

LOTTERY_MULTI_ADDRESS = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]


class ConfigError(Exception):
    """The environment does not describe a usable configuration; ``str`` names every bad variable."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "".join(f"\n  {var}: {why}" for var, why in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):{lines}")


class Settings(BaseSettings):
    """Runtime configuration, read from the environment or a ``.env`` file.

    Every field is named by the environment variable of ARCHITECTURE.md that sets it.

    Defaults are the embedded console/devnet values and point only at 127.0.0.1; secrets are
    ``SecretStr``. An empty or blank variable is a missing one: it takes its default, or is reported
    missing where needed.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
        populate_by_name=False,
        case_sensitive=True,
        env_ignore_empty=True,
    )

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_api_url: HttpUrl = Field(
        default=HttpUrl("https://slack.com/api/"), validation_alias="SLACK_API_URL"
    )
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    supra_rpc_url: HttpUrl | None = Field(default=None, validation_alias="SUPRA_RPC_URL")
    supra_chain_id: Annotated[int, Field(ge=0, le=255)] | None = Field(
        default=None, validation_alias="SUPRA_CHAIN_ID"
    )
    lottery_address: str = Field(default=LOTTERY_MULTI_ADDRESS, validation_alias="LOTTERY_ADDRESS")
    signer_key_file: Path | None = Field(default=None, validation_alias="CHATOPS_SIGNER_KEY_FILE")
    policy_file: Path | None = Field(default=None, validation_alias="CHATOPS_POLICY_FILE")
    http_port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=3000, validation_alias="CHATOPS_HTTP_PORT"
    )
    slack_team_id: str | None = Field(default=None, validation_alias="CHATOPS_SLACK_TEAM_ID")
    slack_enterprise_id: str | None = Field(
        default=None, validation_alias="CHATOPS_SLACK_ENTERPRISE_ID"
    )
    slack_app_id: str | None = Field(default=None, validation_alias="CHATOPS_SLACK_APP_ID")
    log_level: LogLevel = Field(default="INFO", validation_alias="CHATOPS_LOG_LEVEL")
    # json: one object per line (time, level, logger, message and the work's context), for a log
    # pipeline; text: one readable line, for a terminal.
    log_format: LogFormat = Field(default="text", validation_alias="CHATOPS_LOG_FORMAT")
    # serve on the embedded devnet (no SUPRA_RPC_URL) only when asked: a rehearsal must never pass
    # for production, so every Slack message and /readyz then say so.
    rehearsal: bool = Field(default=False, validation_alias="CHATOPS_REHEARSAL")
    # What is finished (final requests, their audit lines, journal entries, resolved incidents,
    # posted outbox records) is deleted once older than this many days; 0 keeps everything.
    retention_days: Annotated[int, Field(ge=0, le=36_500)] = Field(
        default=90, validation_alias="CHATOPS_RETENTION_DAYS"
    )
    # With replicas, how long a transition acknowledged to a person waits for one to confirm it.
    redis_wait_timeout_ms: Annotated[int, Field(ge=1, le=60_000)] = Field(
        default=1000, validation_alias="CHATOPS_REDIS_WAIT_TIMEOUT_MS"
    )
    # On SIGTERM, how long commands in flight get to finish. Keep it a few seconds below the
    # orchestrator's kill timeout (docker run --stop-timeout 30, Kubernetes' default 30 s).
    shutdown_grace_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=25.0, validation_alias="CHATOPS_SHUTDOWN_GRACE_S"
    )
    # How many queued notices for one place the outbox may post as one digest message when a
    # channel has a backlog (1 turns coalescing off); 40 keeps a digest far inside Slack's limits.
    outbox_digest_items: Annotated[int, Field(ge=1, le=40)] = Field(
        default=20, validation_alias="CHATOPS_OUTBOX_DIGEST_ITEMS"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        """``SLACK_SIGNING_SECRET=`` (or spaces) must never pass for a secret: it verified requests
        against nothing. Dropping the key makes the field take its default, as if it were unset."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}

    @field_validator("lottery_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        text = value.lower().removeprefix("0x")
        if not text or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
            raise ValueError("must be a 0x-prefixed hex account address of at most 64 digits")
        return "0x" + text.rjust(64, "0")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            # The message names the scheme rule, never the URL (its userinfo is a password).
            problem = redis_url_problem(value.get_secret_value())
            if problem:
                raise ValueError(problem)
        return value

    @property
    def is_embedded(self) -> bool:
        """No Redis and no chain configured: run on the in-process store and the embedded devnet."""
        return self.redis_url is None and self.supra_rpc_url is None

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level))

    @property
    def is_rehearsal(self) -> bool:
        """Serving on the embedded devnet: asked for with ``CHATOPS_REHEARSAL``, never implied."""
        return self.supra_rpc_url is None

    def problems(self, *, serve: bool = False, http_mode: bool = False) -> list[tuple[str, str]]:
        """What this configuration lacks for the mode it runs in, one (variable, why) each: a real
        chain needs its id, a signing key and a policy; ``serve`` needs a chain (or
        ``CHATOPS_REHEARSAL``), Redis, the bot token and a policy, and in HTTP mode the signing
        secret."""
        problems: list[tuple[str, str]] = []
        if serve and self.supra_rpc_url is None and not self.rehearsal:
            problems.append(
                (
                    "SUPRA_RPC_URL",
                    "required by chatops serve (set CHATOPS_REHEARSAL=1 to serve on the embedded "
                    "devnet, a rehearsal chain, and say so in every message)",
                )
            )
        if self.supra_rpc_url is not None:
            for var, value in (
                ("SUPRA_CHAIN_ID", self.supra_chain_id),
                ("CHATOPS_SIGNER_KEY_FILE", self.signer_key_file),
                ("CHATOPS_POLICY_FILE", self.policy_file),
            ):
                if value is None:
                    problems.append((var, "required with SUPRA_RPC_URL"))
        if serve:
            if self.redis_url is None:
                problems.append(
                    ("REDIS_URL", "required by chatops serve (approvals and threads live in Redis)")
                )
            if self.slack_bot_token is None:
                problems.append(("SLACK_BOT_TOKEN", "required by chatops serve"))
            if self.policy_file is None:
                problems.append(
                    (
                        "CHATOPS_POLICY_FILE",
                        "required by chatops serve (who may request and approve)",
                    )
                )
            if http_mode and self.slack_signing_secret is None:
                problems.append(
                    (
                        "SLACK_SIGNING_SECRET",
                        "required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
                    )
                )
        return problems

    def require(self, *, serve: bool = False, http_mode: bool = False) -> None:
        """Raises: ConfigError: every variable missing for this mode, named (``problems``)."""
        problems = self.problems(serve=serve, http_mode=http_mode)
        if problems:
            raise ConfigError(problems)

    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can mask them."""
        values = [
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.redis_url,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` is not a Redis URL the bot can use, in one sentence without the URL; None if fine.

    ``redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]`` names the
    Sentinels and the service they watch; the others are redis-py's."""
    if not url.startswith(REDIS_SCHEMES):
        return f"must start with one of {', '.join(REDIS_SCHEMES)}"
    if url.startswith("redis+sentinel://"):
        rest = url.removeprefix("redis+sentinel://")
        hosts, _, path = rest.rpartition("@")[2].partition("/")
        parts = [p for p in path.split("/") if p]
        if not hosts or any(
            ":" not in h or not h.rsplit(":", 1)[1].isdigit() for h in hosts.split(",")
        ):
            return "a redis+sentinel URL lists the Sentinels as host:port,host:port"
        if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            return "a redis+sentinel URL ends with /service_name or /service_name/db"
    return None


_FIELD_TO_ENV = {
    name: field.validation_alias
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, str)
}


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: Path | None = None
) -> Settings:
    """Build ``Settings`` from the process environment (or ``env``), naming each bad variable.

    Raises:
        ConfigError: a variable is malformed; the message names the variable, never its value.
    """
    try:
        if env is None:
            return Settings(_env_file=env_file)
        known = {k: v for k, v in env.items() if k in _FIELD_TO_ENV.values()}
        return Settings.model_validate(known)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for error in exc.errors(include_input=False, include_url=False):
            loc = str(error["loc"][0]) if error["loc"] else "?"
            var = _FIELD_TO_ENV.get(loc, loc)
            problems.append((var, error["msg"]))
        raise ConfigError(problems) from None
