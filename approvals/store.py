"""The approvals store: typed wrappers over the Lua scripts in ``approvals/lua`` (one per
transition, so each is atomic whatever the number of bots or clicks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import redis

from approvals import keys
from approvals.errors import StoreUnavailableError
from approvals.ids import RequestId, new_request_id, parse_request_id
from approvals.models import ApprovalRequest, AuditEntry, Submission
from approvals.scripts import Scripts

__all__ = ["CONFIRMED", "RedisApprovalStore", "ScriptResult"]

# The transitions a person is told about (or that guard a transaction leaving): on a primary with
# replicas, they are answered only once a replica has them, or flagged as not confirmed.
CONFIRMED = frozenset(
    {"create", "approve", "deny", "cancel", "submitting", "complete", "resolve", "proposed"}
)
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
    "proposed",
    "chain_claim",
)


@dataclass(frozen=True)
class ScriptResult:
    """A script's answer: its status word and state; ``request`` is the request as the script left
    it (the one now under that number, for 'stale'), ``other`` the open request's id for
    'duplicate'."""

    status: str
    state: str = ""
    count: int = 0
    request: ApprovalRequest | None = None
    other: str | None = None
    # False: it ran on the primary, but no replica confirmed it in time (see Scripts' confirm)
    replicated: bool = True


def _source(name: str) -> str:
    return resources.files("approvals").joinpath("lua", name).read_text(encoding="utf-8")


def _keys(number: int) -> list[str]:
    return [
        keys.request_key(number),
        keys.PENDING,
        keys.EXECUTING,
        keys.AUDIT,
        keys.SEQUENCE,
        keys.OPEN_CALLS,
        keys.FINISHED,
    ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _texts(raw: list[Any]) -> list[str]:
    return [_text(v) for v in raw]


def _pairs(flat: list[Any]) -> dict[str, str]:
    """A flat ``name, value, ...`` list (an HGETALL) as a dict."""
    items = _texts(flat)
    return dict(zip(items[::2], items[1::2], strict=True))


def _flat(fields: dict[str, str]) -> list[str]:
    """``{name: value}`` as the ``name, value, ...`` arguments of an HSET."""
    return [item for pair in fields.items() for item in pair]


def _number(request_id: str) -> int:
    """The number keying ``request_id`` (the caller has checked that it is an id)."""
    return parse_request_id(request_id).number


def _result(
    raw: Any, given: dict[str, str] | None = None, *, replicated: bool = True
) -> ScriptResult:
    """A script's reply; ``given`` are the fields the caller sent to ``create``, which replies with
    only those it set over them."""
    status = _text(raw[0])
    state = _text(raw[1]) if len(raw) > 1 else ""
    count = int(raw[2]) if len(raw) > 2 else 0
    if status == "duplicate":
        return ScriptResult(status, state, count, other=_text(raw[3]), replicated=replicated)
    request = None
    if len(raw) > 3 and raw[3]:
        request = ApprovalRequest.from_fields((given or {}) | _pairs(raw[3]))
    return ScriptResult(status, state, count, request, replicated=replicated)


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn a lost or silent Redis into the domain error (one plain sentence, shown to people)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailableError() from exc


class RedisApprovalStore:
    """Requests and the audit trail on one Redis (standalone, Sentinel or a single slot).

    Every transition is one script, so it is atomic on Redis whatever the number of bots or clicks.
    Time is the Redis server's (``TIME`` inside the scripts), the one clock every replica shares; a
    caller may pass ``now_ms`` explicitly instead, so tests control time without patching. A Redis
    that cannot be reached raises ``StoreUnavailableError``, never a redis-py exception.
    """

    def __init__(self, client: redis.Redis, *, wait_timeout_ms: int = 1000) -> None:
        """``wait_timeout_ms``: with replicas, how long a transition acknowledged to a person
        (create, approve, deny, cancel, submitting, complete, resolve) waits for one to confirm it
        before its caller is told it is not confirmed (``ScriptResult.replicated``)."""
        self.client = client
        prelude = _source("_prelude.lua")
        sources = {name: prelude + "\n" + _source(f"{name}.lua") for name in _SCRIPTS}
        self._scripts = Scripts(
            client,
            {**sources, "trim": _source("trim.lua")},
            confirm=CONFIRMED,
            wait_timeout_ms=wait_timeout_ms,
        )
        # The next request number create_next guesses (None until this store has seen one taken).
        self._next: int | None = None
        self._numbers = threading.Lock()

    def _run(
        self,
        name: str,
        request_id: str,
        now_ms: int | None,
        actor: str,
        *args: str,
        more_keys: tuple[str, ...] = (),
    ) -> ScriptResult:
        """Script ``name`` on the request ``request_id`` (its whole id); ``more_keys`` follow the
        prelude's seven."""
        clock = "" if now_ms is None else str(now_ms)  # '': the script reads the server's TIME
        with _reachable():
            raw, replicated = self._scripts.call(
                name,
                [*_keys(_number(request_id)), *more_keys],
                [clock, actor, request_id, *args],
            )
        return _result(raw, replicated=replicated)

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
    ) -> tuple[str, ScriptResult]:
        """Store a new request under the next number, with a fresh tag: (its id, the result).

        Usually one round trip: the number is guessed (the next this store has not handed out), and
        the script takes it only if it is still the next one, atomically with the create; otherwise
        it answers ``taken`` with the last number taken and writes nothing. Threads of this store
        guess in the order their scripts are queued, so concurrent creates pipelined together take
        consecutive numbers. A first create, and one whose two guesses other replicas took, take
        the number with ``INCR`` first.
        """
        clock = "" if now_ms is None else str(now_ms)
        tail = ["1" if break_glass else "0", str(ttl_ms)]
        for _attempt in range(2):
            if self._next is None:
                break
            request_id, raw, replicated = self._create_guessed(clock, actor, tail, _flat(fields))
            result = _result(raw, fields, replicated=replicated)
            if result.status != "taken":
                return str(request_id), result
            with self._numbers:
                self._next = max(self._next or 0, result.count + 1)
        with _reachable():
            number = int(cast(int, self.client.incr(keys.SEQUENCE)))
        with self._numbers:
            self._next = max(self._next or 0, number + 1)
        request_id = new_request_id(number)
        with _reachable():
            raw, replicated = self._scripts.call(
                "create",
                _keys(number),
                [clock, actor, str(request_id), str(number), *tail, "0", *_flat(fields)],
            )
        return str(request_id), _result(raw, fields, replicated=replicated)

    def _create_guessed(
        self, clock: str, actor: str, tail: list[str], fields: list[str]
    ) -> tuple[RequestId, Any, bool]:
        """Run create with a guessed number, taken from the store's count while the script is
        queued: (the id tried, the raw reply, whether a replica has it)."""
        chosen: list[RequestId] = []

        def build() -> tuple[list[str], list[str]]:
            with self._numbers:
                number = self._next or 1
                self._next = number + 1
            request_id = new_request_id(number)
            chosen.append(request_id)
            args = [clock, actor, str(request_id), str(number), *tail, "1", *fields]
            return _keys(number), args

        with _reachable():
            raw, replicated = self._scripts.call_built("create", build)
        return chosen[0], raw, replicated

    def approve(
        self,
        request_id: str,
        now_ms: int | None,
        actor: str,
        digest: str,
        *,
        token: str = "",
        lease_ms: int = 0,
    ) -> ScriptResult:
        """Record ``actor``'s approval of what they saw (``digest``, '' for the id alone); the last
        one needed also claims the request for ``token`` when one is given."""
        return self._run("approve", request_id, now_ms, actor, digest, token, str(lease_ms))

    def deny(
        self, request_id: str, now_ms: int | None, actor: str, digest: str, reason: str
    ) -> ScriptResult:
        return self._run("deny", request_id, now_ms, actor, digest, reason)

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
        return self._run("expire", request_id, now_ms, "sweeper")

    def lease_lost(self, request_id: str, now_ms: int | None) -> ScriptResult:
        return self._run("lease_lost", request_id, now_ms, "sweeper")

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

    def proposed(
        self,
        request_id: str,
        now_ms: int | None,
        actor: str,
        event: str,
        references: list[str],
        found_by: list[str],
        *,
        expires_in_ms: int | None,
        final: str,
        result: str,
    ) -> ScriptResult:
        """Record the request's proposals (``proposed.lua``) and index it by ``found_by``;
        ``result`` is the failure's with a ``final`` state, else the audit entry's detail."""
        return self._run(
            "proposed",
            request_id,
            now_ms,
            actor,
            event,
            ",".join(references),
            "" if expires_in_ms is None else str(expires_in_ms),
            final,
            result,
            *found_by,
            more_keys=(keys.PROPOSALS,),
        )

    def chain_claim(
        self,
        request_id: str,
        now_ms: int | None,
        actor: str,
        token: str,
        lease_ms: int,
        approvers: list[str],
    ) -> ScriptResult:
        return self._run(
            "chain_claim", request_id, now_ms, actor, token, str(lease_ms), ",".join(approvers)
        )

    def request_of(self, reference: str) -> str | None:
        """The id of the request that recorded proposal ``reference``, if one did."""
        with _reachable():
            found = cast(bytes | None, self.client.hget(keys.PROPOSALS, reference))
        return _text(found) if found is not None else None

    def get(self, number: int) -> ApprovalRequest | None:
        """The request stored under ``number`` (whatever its tag), or None."""
        with _reachable():
            fields = cast(dict[Any, Any], self.client.hgetall(keys.request_key(number)))
        if not fields:
            return None
        return ApprovalRequest.from_fields({_text(k): _text(v) for k, v in fields.items()})

    def legacy_submissions(self, number: int) -> list[Submission]:
        """Submissions an earlier version recorded in a hash of their own (empty if none)."""
        with _reachable():
            raw = cast(dict[Any, Any], self.client.hgetall(keys.legacy_submissions_key(number)))
        return sorted(
            (Submission(sequence_number=int(s), expires_s=int(e)) for s, e in raw.items()),
            key=lambda s: s.sequence_number,
        )

    def due_pending(self, now_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` pending ids whose expiry has passed, oldest first."""
        with _reachable():
            raw = self.client.zrangebyscore(keys.PENDING, "-inf", now_ms, start=0, num=limit)
        return _texts(cast(list[Any], raw))

    def lost_leases(self, now_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` executing ids whose lease has run out."""
        with _reachable():
            raw = self.client.zrangebyscore(keys.EXECUTING, "-inf", now_ms, start=0, num=limit)
        return _texts(cast(list[Any], raw))

    def live_pending(self, now_ms: int, offset: int, limit: int) -> tuple[int, list[str]]:
        """(how many pending requests have not expired, up to ``limit`` of their ids from
        ``offset``, soonest to expire first): a page, whatever the number pending."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcount(keys.PENDING, f"({now_ms}", "+inf")
        pipe.zrangebyscore(keys.PENDING, f"({now_ms}", "+inf", start=offset, num=limit)
        with _reachable():
            count, ids = pipe.execute()
        return int(count), _texts(ids)

    def get_many(self, request_ids: list[str]) -> list[ApprovalRequest]:
        """The requests with these ids, in order (one round trip; ids no longer there are left out)."""
        pipe = self.client.pipeline(transaction=False)
        for request_id in request_ids:
            pipe.hgetall(keys.request_key(_number(request_id)))
        with _reachable():
            found = pipe.execute()
        out = []
        for request_id, fields in zip(request_ids, found, strict=True):
            if fields:
                request = ApprovalRequest.from_fields(
                    {_text(k): _text(v) for k, v in fields.items()}
                )
                if request.id == request_id:
                    out.append(request)
        return out

    def trim(self, cutoff_ms: int, limit: int) -> list[str]:
        """Delete up to ``limit`` requests that became final before ``cutoff_ms`` (retention), the
        oldest first: the ids looked at (``trim.lua`` re-checks each atomically)."""
        with _reachable():
            raw = self.client.zrangebyscore(
                keys.FINISHED, "-inf", f"({cutoff_ms}", start=0, num=limit
            )
        ids = _texts(cast(list[Any], raw))
        if not ids:
            return []
        script_keys = [keys.FINISHED]
        for request_id in ids:
            number = _number(request_id)
            script_keys += [
                keys.request_key(number),
                keys.approvers_key(number),
                keys.legacy_submissions_key(number),
            ]
        with _reachable():
            self._scripts.run("trim", script_keys, [str(cutoff_ms), *ids])
        return ids

    def trim_audit(self, cutoff_ms: int) -> int:
        """Drop the audit stream's entries older than ``cutoff_ms`` (whole macro nodes, so a few
        just older may stay until the next call); how many went."""
        with _reachable():
            return int(cast(int, self.client.xtrim(keys.AUDIT, minid=cutoff_ms, approximate=True)))

    def pending_count(self) -> int:
        with _reachable():
            return int(cast(int, self.client.zcard(keys.PENDING)))

    def audit(self, count: int | None = None, start: str = "-") -> list[AuditEntry]:
        """The audit trail of every request, oldest first, from stream id ``start``."""
        with _reachable():
            entries = cast(
                list[tuple[Any, dict[Any, Any]]],
                self.client.xrange(keys.AUDIT, min=start, count=count),
            )
        return [
            AuditEntry.from_stream(_text(i), {_text(k): _text(v) for k, v in raw.items()})
            for i, raw in entries
        ]
