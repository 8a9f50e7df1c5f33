"""manifest.yml: generated from the catalog, valid against Slack's schema, and kept in sync."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_sdk import WebClient

from chatops.slack.manifest import BOT_SCOPES, build_manifest, manifest_yaml
from commands.registry import build_registry
from tests.conftest import REPO_ROOT
from tests.fakes.slack_web_api import METHOD_SCOPES


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


def _web_api_methods() -> dict[str, str]:
    """slack_sdk's WebClient method names and the Web API method each one calls."""
    out: dict[str, str] = {}
    for name, function in inspect.getmembers(WebClient, inspect.isfunction):
        found = re.search(r'api_call\(\s*"([\w.]+)"', inspect.getsource(function))
        if not name.startswith("_") and found:
            out[name] = found.group(1)
    return out


def _called_methods() -> dict[str, list[str]]:
    """Every Web API method the bot's code calls through a WebClient, and where."""
    methods = _web_api_methods()
    called: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "chatops").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = methods.get(node.func.attr)
                if method is not None:
                    where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
                    called.setdefault(method, []).append(where)
    return called


def test_every_web_api_method_called_has_its_scopes_in_the_manifest() -> None:
    """Each Web API method called anywhere in chatops/ needs scopes (Slack's method reference, as
    the double enforces it) that the manifest asks for: a call added without its scope fails here,
    not in production with missing_scope."""
    called = _called_methods()
    granted = set(build_manifest(build_registry())["oauth_config"]["scopes"]["bot"])
    assert {"chat.postMessage", "conversations.history", "usergroups.users.list"} <= set(called)
    for method, where in called.items():
        assert method in METHOD_SCOPES, f"{method} ({where[0]}): add its scopes to METHOD_SCOPES"
        missing = METHOD_SCOPES[method] - granted
        assert not missing, f"{method} ({', '.join(where)}) needs {sorted(missing)}"


def test_slash_commands_are_the_catalog_and_scopes_minimal() -> None:
    """Every catalog command has a slash command, and only the needed scopes are asked for."""
    registry = build_registry()
    manifest = build_manifest(registry)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == registry.commands
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert {"commands", "chat:write", "users:read", "usergroups:read"} <= set(BOT_SCOPES)
