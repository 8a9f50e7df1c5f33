"""Configuration: every variable parsed, errors name the variable, secrets never leak."""

from __future__ import annotations

import logging

import pytest

from chatops import logs
from chatops.config import ConfigError, load_settings


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


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_blank_variables_count_as_missing(value: str) -> None:
    """An empty or blank variable is unset: its default applies and nothing is refused."""
    s = load_settings({"SUPRA_RPC_URL": value, "SUPRA_CHAIN_ID": value, "LOTTERY_ADDRESS": value})
    assert s.supra_rpc_url is None
    assert s.supra_chain_id is None
    assert s.lottery_address == load_settings({}).lottery_address
    assert s.is_embedded
