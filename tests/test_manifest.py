"""manifest.yml: generated from the catalog, valid against Slack's schema, and kept in sync."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from chatops.slack.manifest import BOT_SCOPES, build_manifest, manifest_yaml
from commands.registry import build_registry
from tests.conftest import REPO_ROOT


def _schema(shared: Path) -> dict[str, object]:
    data = json.loads((shared / "reference/slack/manifest.schema.1.0.0.json").read_text())
    assert isinstance(data, dict)
    return data


def test_committed_manifest_equals_generated() -> None:
    """Adding a command without regenerating manifest.yml fails here (run chatops manifest --write)."""
    committed = (REPO_ROOT / "manifest.yml").read_text(encoding="utf-8")
    assert committed == manifest_yaml(build_manifest(build_registry()))


@pytest.mark.parametrize(
    ("mode", "url"), [("socket", None), ("http", "https://chatops.example.org")]
)
def test_manifest_validates_against_slack_schema(shared: Path, mode: str, url: str | None) -> None:
    """Both modes produce a manifest that Slack's own JSON schema accepts."""
    manifest = yaml.safe_load(manifest_yaml(build_manifest(build_registry(), mode=mode, url=url)))  # type: ignore[arg-type]
    jsonschema.validate(manifest, _schema(shared))
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is (mode == "socket")
    if url:
        assert settings["interactivity"]["request_url"] == f"{url}/slack/events"


def test_schema_rejects_the_invalid_example(shared: Path) -> None:
    """The schema check can fail: Slack's invalid example is refused."""
    invalid = json.loads((shared / "reference/slack/manifest.invalid.example.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(invalid, _schema(shared))


def test_slash_commands_are_the_catalog_and_scopes_minimal() -> None:
    """Every catalog command has a slash command, and only the needed scopes are asked for."""
    registry = build_registry()
    manifest = build_manifest(registry)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == registry.commands
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert {"commands", "chat:write", "users:read", "usergroups:read"} <= set(BOT_SCOPES)
