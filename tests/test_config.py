"""Configuration: every variable parsed, errors name the variable, secrets never leak."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chatops import logs
from chatops.config import ConfigError, Settings, load_settings


def test_defaults_are_embedded_and_loopback_only() -> None:
    """With nothing set, the bot runs embedded (no Redis, no chain) and binds nothing public."""
    settings = load_settings({})
    assert settings.is_embedded
    assert settings.http_port == 3000
    assert settings.lottery_address.endswith("caafe0")


def test_every_architecture_variable_is_read() -> None:
    """Each variable of ARCHITECTURE.md's list lands in its field."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_APP_TOKEN": "xapp-1-A-abc",
        "SLACK_SIGNING_SECRET": "s3cr3t-signing",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SUPRA_RPC_URL": "http://127.0.0.1:8080",
        "SUPRA_CHAIN_ID": "6",
        "LOTTERY_ADDRESS": "0xABC",
        "CHATOPS_SIGNER_KEY_FILE": "/tmp/key",
        "CHATOPS_POLICY_FILE": "/tmp/policy.yml",
        "CHATOPS_HTTP_PORT": "3100",
        "CHATOPS_LOG_LEVEL": "debug",
    }
    s = load_settings(env)
    assert s.slack_bot_token is not None
    assert s.slack_bot_token.get_secret_value() == "xoxb-1-2-abc"
    assert s.supra_chain_id == 6
    assert s.lottery_address == "0x" + "0" * 61 + "abc"
    assert s.http_port == 3100
    assert s.log_level == "DEBUG"
    assert str(s.signer_key_file) == "/tmp/key"
    assert not s.is_embedded


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("CHATOPS_HTTP_PORT", "http"),
        ("SUPRA_CHAIN_ID", "300"),
        ("LOTTERY_ADDRESS", "0xZZ"),
        ("SUPRA_RPC_URL", "not a url"),
        ("CHATOPS_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_variable_is_named(var: str, value: str) -> None:
    """A malformed variable raises ConfigError whose message names it, without echoing the value."""
    with pytest.raises(ConfigError) as info:
        load_settings({var: value})
    assert var in str(info.value)
    assert value not in str(info.value) or value in ("300",)


def test_secrets_absent_from_repr_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Tokens are SecretStr: repr, str and log lines never carry their values."""
    env = {"SLACK_BOT_TOKEN": "xoxb-9-9-topsecret", "SLACK_SIGNING_SECRET": "signing-topsecret"}
    s = load_settings(env)
    assert "topsecret" not in repr(s)
    assert "topsecret" not in str(s)
    logger = logging.getLogger("chatops.test")
    handler = logging.Handler()
    handler.addFilter(logs.RedactingFilter(s.secrets()))
    records: list[str] = []
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning(
            "token %s and secret %s and xapp-1-A-leak", "xoxb-9-9-topsecret", "signing-topsecret"
        )
    finally:
        logger.removeHandler(handler)
    assert records
    assert all("topsecret" not in r and "leak" not in r for r in records)


ALL_VARIABLES = sorted(
    str(field.validation_alias)
    for field in Settings.model_fields.values()
    if isinstance(field.validation_alias, str)
)


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_blank_variable_is_a_missing_one(blank: str) -> None:
    """Every variable set to an empty or blank value gives exactly the settings of an empty
    environment: a blank secret is no secret, a blank port or URL falls back to its default."""
    assert len(ALL_VARIABLES) == len(Settings.model_fields)  # every field has its variable
    unset = load_settings({})
    assert load_settings(dict.fromkeys(ALL_VARIABLES, blank)) == unset
    for var in ALL_VARIABLES:
        assert load_settings({var: blank}) == unset, var


def test_blank_variables_in_the_environment_and_a_dotenv_file_are_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The process environment and a ``.env`` file read blank values as unset too (the path
    ``chatops`` itself takes), while a real value beside them is kept."""
    for var in ALL_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  ")
    monkeypatch.setenv("CHATOPS_HTTP_PORT", "3100")
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_APP_TOKEN=\nREDIS_URL=   \nCHATOPS_POLICY_FILE=\n", encoding="utf-8")

    settings = load_settings(env_file=dotenv)

    assert settings.slack_signing_secret is None
    assert settings.slack_bot_token is None
    assert settings.slack_app_token is None
    assert settings.redis_url is None
    assert settings.policy_file is None
    assert settings.http_port == 3100
    assert settings.secrets() == []


def test_ops_variables_are_read() -> None:
    """Log format, rehearsal, retention and the replica wait land in their fields; blank is default."""
    s = load_settings(
        {
            "CHATOPS_LOG_FORMAT": "JSON",
            "CHATOPS_REHEARSAL": "1",
            "CHATOPS_RETENTION_DAYS": "30",
            "CHATOPS_REDIS_WAIT_TIMEOUT_MS": "250",
        }
    )
    assert (s.log_format, s.rehearsal, s.retention_days, s.redis_wait_timeout_ms) == (
        "json",
        True,
        30,
        250,
    )
    blank = load_settings({"CHATOPS_LOG_FORMAT": " ", "CHATOPS_RETENTION_DAYS": ""})
    assert (blank.log_format, blank.retention_days, blank.rehearsal) == ("text", 90, False)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/chatops/0", True),
        ("redis+sentinel://:pw@10.0.0.1:26379/chatops", True),
        ("redis+sentinel://127.0.0.1:26379", False),
        ("redis+sentinel://127.0.0.1/chatops", False),
        ("redis+sentinel://127.0.0.1:26379/chatops/x", False),
        ("http://127.0.0.1:6379", False),
    ],
)
def test_redis_url_forms(url: str, ok: bool) -> None:
    """REDIS_URL takes redis-py's schemes and redis+sentinel://host:port,.../service[/db]; anything
    else is named, without echoing the URL (it may hold a password)."""
    if ok:
        assert load_settings({"REDIS_URL": url}).redis_url is not None
        return
    with pytest.raises(ConfigError) as info:
        load_settings({"REDIS_URL": url})
    assert "REDIS_URL" in str(info.value)
    assert url not in str(info.value)


@pytest.mark.parametrize(
    ("var", "value"), [("CHATOPS_LOG_FORMAT", "xml"), ("CHATOPS_RETENTION_DAYS", "-1")]
)
def test_malformed_ops_variable_is_named(var: str, value: str) -> None:
    """A log format other than text/json or a negative retention is refused, naming the variable."""
    with pytest.raises(ConfigError) as info:
        load_settings({var: value})
    assert var in str(info.value)
