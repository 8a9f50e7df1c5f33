"""The approvals store: typed wrappers over the Lua scripts in ``approvals/lua`` (one per transition).

Every transition is one script, so it is atomic on Redis whatever the number of bots or clicks.
Time is the Redis server's (``TIME`` inside the scripts), the one clock every replica shares; a
caller may pass ``now_ms`` explicitly instead, so tests control time without patching.
A Redis that cannot be reached raises ``StoreUnavailableError``, never a redis-py exception.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, Final, cast

import redis

from approvals import keys
from approvals.errors import StoreUnavailableError
from approvals.models import ApprovalRequest, AuditEntry, Submission
from approvals.scripts import Scripts

__all__ = ["SUBMISSIONS_RETENTION_S", "RedisApprovalStore", "ScriptResult"]

ScriptResult = tuple[str, str, int]
# How long a request's submissions hash outlives its latest write: long past any reconciliation (a
# request waits for one days at most), and it bounds what is left behind.
SUBMISSIONS_RETENTION_S: Final = 30 * 24 * 3600
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
        keys.SEQUENCE,
        keys.submissions_key(request_id),
    ]


def _ids(raw: Any) -> list[str]:
    """redis-py types sync replies as ``Awaitable | Any``; these are lists on the sync client."""
    return [_text(i) for i in cast(list[Any], raw)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn a lost or silent Redis into the domain error (one plain sentence, shown to people)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailableError() from exc


def _flat(fields: dict[str, str]) -> list[str]:
    """``{name: value}`` as the ``name, value, ...`` arguments of an HSET."""
    return [item for pair in fields.items() for item in pair]


def _texts(raw: list[Any]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in raw]


def _pairs(flat: list[Any]) -> dict[str, str]:
    """A script's flat ``name, value, ...`` list (an HGETALL) as a dict."""
    items = _texts(flat)
    return dict(zip(items[::2], items[1::2], strict=True))


def _request(flat: list[Any], approvers: list[Any]) -> ApprovalRequest:
    """An ``ApprovalRequest`` from a script's HGETALL (flat name, value list) and SMEMBERS."""
    return ApprovalRequest.from_fields(_pairs(flat), _texts(approvers))


def _created(raw: Any, fields: dict[str, str]) -> ApprovalRequest | None:
    """The request create stored: the caller's ``fields`` and those the script set over them (its
    reply carries only those). None when it stored nothing."""
    if len(raw) < 5:
        return None
    return ApprovalRequest.from_fields(fields | _pairs(raw[3]), ())


def _result(raw: Any) -> ScriptResult:
    status = _text(raw[0])
    state = _text(raw[1]) if len(raw) > 1 else ""
    count = int(raw[2]) if len(raw) > 2 else 0
    return status, state, count


class RedisApprovalStore:
    """Requests, approvals and the audit trail on one Redis (standalone, Sentinel or a single slot)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        prelude = _source("_prelude.lua")
        self._scripts = Scripts(
            client, {name: prelude + "\n" + _source(f"{name}.lua") for name in _SCRIPTS}
        )
        # The next request id create_next guesses (None until this store has seen one taken).
        self._next_id: int | None = None
        self._ids = threading.Lock()

    def _call(self, name: str, request_id: str, now_ms: int | None, actor: str, *args: str) -> Any:
        """Script ``name`` on request ``request_id``'s keys: its raw reply."""
        clock = "" if now_ms is None else str(now_ms)  # '': the script reads the server's TIME
        with _reachable():
            return self._scripts.run(name, _keys(request_id), [clock, actor, *args])

    def _run(
        self, name: str, request_id: str, now_ms: int | None, actor: str, *args: str
    ) -> ScriptResult:
        return _result(self._call(name, request_id, now_ms, actor, *args))

    def _run_and_get(
        self, name: str, request_id: str, now_ms: int | None, actor: str, *args: str
    ) -> tuple[ScriptResult, ApprovalRequest | None]:
        """A script that appends the request to its reply (``with_request`` in the prelude): the
        result and the request exactly as this transition left it, read inside the same script, so
        in one round trip and with no MULTI. None when the script did not hand it back (errors)."""
        raw = self._call(name, request_id, now_ms, actor, *args)
        request = _request(raw[3], raw[4]) if len(raw) > 4 and raw[3] else None
        return _result(raw), request

    def next_id(self) -> str:
        """Take the next request id from the sequence (``INCR``)."""
        with _reachable():
            last = int(cast(int, self.client.incr(keys.SEQUENCE)))
        with self._ids:
            self._next_id = max(self._next_id or 0, last + 1)
        return str(last)

    def server_time_ms(self) -> int:
        """The Redis server's clock, the one the scripts decide on when no ``now_ms`` is given."""
        with _reachable():
            seconds, micros = cast(tuple[int, int], self.client.time())
        return int(seconds) * 1000 + int(micros) // 1000

    def create_next(
        self,
        fields: dict[str, str],
        now_ms: int | None,
        actor: str,
        *,
        break_glass: bool,
        ttl_ms: int,
    ) -> tuple[str, ScriptResult, ApprovalRequest | None]:
        """Store a new request under the next id of the sequence: (its id, result, the request).

        Usually one round trip: the id is guessed (the next this store has not handed out), and the
        script takes it from the sequence only if it is still the next one, atomically with the
        create; otherwise it answers ``taken`` with the last id taken and writes nothing. Threads of
        this store guess in the order their scripts are queued, so concurrent creates pipelined
        together take consecutive ids. A first create, and one whose two guesses other replicas
        took, take the id with ``INCR`` first.
        """
        extra = ["1" if break_glass else "0", str(ttl_ms)]
        clock = "" if now_ms is None else str(now_ms)
        for _attempt in range(2):
            if self._next_id is None:
                break
            request_id, raw = self._create_guessed([clock, actor, *extra, "1"], _flat(fields))
            result = _result(raw)
            if result[0] != "taken":
                return request_id, result, _created(raw, fields)
            with self._ids:
                self._next_id = max(self._next_id or 0, result[2] + 1)
        request_id = self.next_id()
        raw = self._call(
            "create", request_id, now_ms, actor, *extra, "0", request_id, *_flat(fields)
        )
        return request_id, _result(raw), _created(raw, fields)

    def _create_guessed(self, head: list[str], tail: list[str]) -> tuple[str, Any]:
        """Run create with the guessed id (inserted between ``head`` and ``tail``), taken from the
        store's count while the script is queued: (that id, the raw reply)."""
        chosen: list[str] = []

        def build() -> tuple[list[str], list[str]]:
            with self._ids:
                guess = str(self._next_id)
                self._next_id = (self._next_id or 0) + 1
            chosen.append(guess)
            return _keys(guess), [*head, guess, *tail]

        with _reachable():
            raw = self._scripts.run_built("create", build)
        return chosen[0], raw

    def approve(self, request_id: str, now_ms: int | None, actor: str, digest: str) -> ScriptResult:
        return self._run("approve", request_id, now_ms, actor, digest)

    def approve_and_get(
        self, request_id: str, now_ms: int | None, actor: str, digest: str
    ) -> tuple[ScriptResult, ApprovalRequest | None]:
        """``approve`` and the request as it left it, in one round trip."""
        return self._run_and_get("approve", request_id, now_ms, actor, digest)

    def deny(self, request_id: str, now_ms: int | None, actor: str, reason: str) -> ScriptResult:
        return self._run("deny", request_id, now_ms, actor, reason)

    def cancel(self, request_id: str, now_ms: int | None, actor: str) -> ScriptResult:
        return self._run("cancel", request_id, now_ms, actor)

    def claim(
        self, request_id: str, now_ms: int | None, actor: str, token: str, lease_ms: int
    ) -> ScriptResult:
        return self._run("claim", request_id, now_ms, actor, token, str(lease_ms))

    def renew(self, request_id: str, now_ms: int | None, token: str, lease_ms: int) -> ScriptResult:
        return self._run("renew", request_id, now_ms, token, token, str(lease_ms))

    def submitting(
        self,
        request_id: str,
        now_ms: int | None,
        token: str,
        sender: str,
        submission: Submission,
        lease_ms: int,
    ) -> ScriptResult:
        """Check the lease, record ``submission``, renew the lease: one script (``submitting.lua``)."""
        return self._run(
            "submitting",
            request_id,
            now_ms,
            token,
            token,
            sender,
            str(submission.sequence_number),
            str(submission.expires_s),
            str(lease_ms),
            str(SUBMISSIONS_RETENTION_S),
        )

    def complete(
        self,
        request_id: str,
        now_ms: int | None,
        token: str,
        outcome: str,
        result: str,
        tx_hashes: list[str],
    ) -> ScriptResult:
        return self._run(
            "complete", request_id, now_ms, token, token, outcome, result, ",".join(tx_hashes)
        )

    def expire(self, request_id: str, now_ms: int | None) -> ScriptResult:
        return self._run("expire", request_id, now_ms, "sweeper", request_id)

    def lease_lost(self, request_id: str, now_ms: int | None) -> ScriptResult:
        return self._run("lease_lost", request_id, now_ms, "sweeper", request_id)

    def resolve(
        self,
        request_id: str,
        now_ms: int | None,
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
        with _reachable():
            fields, approvers = pipe.execute()
        if not fields:
            return None
        return ApprovalRequest.from_fields(
            {_text(k): _text(v) for k, v in fields.items()}, [_text(a) for a in approvers]
        )

    def submissions(self, request_id: str) -> list[Submission]:
        """The request's recorded submissions, by sequence number (empty if none was recorded)."""
        with _reachable():
            raw = cast(dict[Any, Any], self.client.hgetall(keys.submissions_key(request_id)))
        recorded = [
            Submission(sequence_number=int(seq), expires_s=int(expires))
            for seq, expires in raw.items()
        ]
        return sorted(recorded, key=lambda s: s.sequence_number)

    def due_pending(self, now_ms: int) -> list[str]:
        with _reachable():
            return _ids(self.client.zrangebyscore(keys.PENDING, "-inf", now_ms))

    def pending_ids(self) -> list[str]:
        with _reachable():
            return _ids(self.client.zrange(keys.PENDING, 0, -1))

    def lost_leases(self, now_ms: int) -> list[str]:
        with _reachable():
            return _ids(self.client.zrangebyscore(keys.EXECUTING, "-inf", now_ms))

    def audit(self, request_id: str | None = None, count: int | None = None) -> list[AuditEntry]:
        """The audit trail of one request (or of all), oldest first."""
        stream = keys.audit_key(request_id) if request_id else keys.AUDIT
        with _reachable():
            entries = cast(
                list[tuple[Any, dict[Any, Any]]], self.client.xrange(stream, count=count)
            )
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
