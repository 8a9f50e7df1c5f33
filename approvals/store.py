"""The approvals store: typed wrappers over the Lua scripts in ``approvals/lua`` (one per transition).

Every transition is one script, so it is atomic on Redis whatever the number of bots or clicks;
the scripts take ``now_ms`` from the caller, so tests control time without patching.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast

import redis

from approvals import keys
from approvals.models import ApprovalRequest, AuditEntry

__all__ = ["RedisApprovalStore", "ScriptResult"]

ScriptResult = tuple[str, str, int]
_SCRIPTS = (
    "create",
    "approve",
    "deny",
    "cancel",
    "claim",
    "renew",
    "submitting",
    "complete",
    "expire",
    "lease_lost",
    "resolve",
)


def _source(name: str) -> str:
    return resources.files("approvals").joinpath("lua", name).read_text(encoding="utf-8")


def _keys(request_id: str) -> list[str]:
    return [
        keys.request_key(request_id),
        keys.approvers_key(request_id),
        keys.PENDING,
        keys.EXECUTING,
        keys.AUDIT,
        keys.audit_key(request_id),
    ]


def _ids(raw: Any) -> list[str]:
    """redis-py types sync replies as ``Awaitable | Any``; these are lists on the sync client."""
    return [_text(i) for i in cast(list[Any], raw)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisApprovalStore:
    """Requests, approvals and the audit trail on one Redis (standalone, Sentinel or a single slot)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        prelude = _source("_prelude.lua")
        self._scripts = {
            name: client.register_script(prelude + "\n" + _source(f"{name}.lua"))
            for name in _SCRIPTS
        }

    def _run(self, name: str, request_id: str, now_ms: int, actor: str, *args: str) -> ScriptResult:
        raw = self._scripts[name](keys=_keys(request_id), args=[now_ms, actor, *args])
        status = _text(raw[0])
        state = _text(raw[1]) if len(raw) > 1 else ""
        count = int(raw[2]) if len(raw) > 2 else 0
        return status, state, count

    def next_id(self) -> str:
        return str(self.client.incr(keys.SEQUENCE))

    def create(
        self, request_id: str, fields: dict[str, str], now_ms: int, actor: str, *, break_glass: bool
    ) -> ScriptResult:
        return self._run(
            "create", request_id, now_ms, actor, json.dumps(fields), "1" if break_glass else "0"
        )

    def approve(self, request_id: str, now_ms: int, actor: str, digest: str) -> ScriptResult:
        return self._run("approve", request_id, now_ms, actor, digest)

    def deny(self, request_id: str, now_ms: int, actor: str, reason: str) -> ScriptResult:
        return self._run("deny", request_id, now_ms, actor, reason)

    def cancel(self, request_id: str, now_ms: int, actor: str) -> ScriptResult:
        return self._run("cancel", request_id, now_ms, actor)

    def claim(
        self, request_id: str, now_ms: int, actor: str, token: str, lease_ms: int
    ) -> ScriptResult:
        return self._run("claim", request_id, now_ms, actor, token, str(lease_ms))

    def renew(self, request_id: str, now_ms: int, token: str, lease_ms: int) -> ScriptResult:
        return self._run("renew", request_id, now_ms, token, token, str(lease_ms))

    def submitting(
        self, request_id: str, now_ms: int, token: str, sender: str, seq: int
    ) -> ScriptResult:
        return self._run("submitting", request_id, now_ms, token, token, sender, str(seq))

    def complete(
        self,
        request_id: str,
        now_ms: int,
        token: str,
        outcome: str,
        result: str,
        tx_hashes: list[str],
    ) -> ScriptResult:
        return self._run(
            "complete", request_id, now_ms, token, token, outcome, result, ",".join(tx_hashes)
        )

    def expire(self, request_id: str, now_ms: int) -> ScriptResult:
        return self._run("expire", request_id, now_ms, "sweeper", request_id)

    def lease_lost(self, request_id: str, now_ms: int) -> ScriptResult:
        return self._run("lease_lost", request_id, now_ms, "sweeper", request_id)

    def resolve(
        self,
        request_id: str,
        now_ms: int,
        actor: str,
        outcome: str,
        result: str,
        tx_hashes: list[str],
    ) -> ScriptResult:
        return self._run("resolve", request_id, now_ms, actor, outcome, result, ",".join(tx_hashes))

    def get(self, request_id: str) -> ApprovalRequest | None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(keys.request_key(request_id))
        pipe.smembers(keys.approvers_key(request_id))
        fields, approvers = pipe.execute()
        if not fields:
            return None
        return ApprovalRequest.from_redis(fields, approvers)

    def due_pending(self, now_ms: int) -> list[str]:
        return _ids(self.client.zrangebyscore(keys.PENDING, "-inf", now_ms))

    def pending_ids(self) -> list[str]:
        return _ids(self.client.zrange(keys.PENDING, 0, -1))

    def lost_leases(self, now_ms: int) -> list[str]:
        return _ids(self.client.zrangebyscore(keys.EXECUTING, "-inf", now_ms))

    def audit(self, request_id: str | None = None, count: int | None = None) -> list[AuditEntry]:
        """The audit trail of one request (or of all), oldest first."""
        stream = keys.audit_key(request_id) if request_id else keys.AUDIT
        entries = cast(list[tuple[Any, dict[Any, Any]]], self.client.xrange(stream, count=count))
        out: list[AuditEntry] = []
        for stream_id, raw in entries:
            data = {_text(k): _text(v) for k, v in raw.items()}
            out.append(
                AuditEntry(
                    stream_id=_text(stream_id),
                    request_id=data.get("request_id", ""),
                    event=data.get("event", ""),
                    actor=data.get("actor", ""),
                    state=data.get("state", ""),
                    digest=data.get("digest", ""),
                    at_ms=int(data.get("at_ms", "0")),
                    detail=data.get("detail", ""),
                )
            )
        return out
