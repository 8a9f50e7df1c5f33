"""The approval scripts on the wire: ``EVALSHA``, sent once, with the calls of concurrent threads
pipelined, and, when the primary has replicas, one ``WAIT`` after a batch of writes."""

from __future__ import annotations

import _thread
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, cast

import redis

__all__ = ["Scripts"]

# How often the primary is asked how many replicas it has (INFO replication): a replica attached or
# lost is seen within this, and WAIT is only sent to a primary that has (or just had) one.
_ROLE_EVERY_S = 5.0
# How long a replica that was there is still waited for once it is gone (Redis's repl-timeout).
_REPLICA_GRACE_S = 60.0

# A connection idle for longer is checked before use (a poll syscall): one that a restarted, killed
# or timed-out server closed is replaced before a script is sent, so a send never meets a dead
# socket whose failure would leave "did it run?" open. A server cannot go down and come back within
# this window, so a connection in steady use (calls back to back, under load) skips the check.
_IDLE_CHECK_S = 0.02
_UNSET: Any = object()  # a call with no reply yet (None is a script's nil)


class _Connection(Protocol):
    """What of redis-py's ``Connection`` this module uses (redis-py leaves these untyped)."""

    def can_read(self, timeout: float = 0) -> bool: ...
    def disconnect(self) -> None: ...
    def pack_commands(self, commands: list[tuple[Any, ...]]) -> list[bytes]: ...
    def send_packed_command(self, command: list[bytes]) -> None: ...
    def read_response(self) -> Any: ...


class _Call:
    """One caller's script call, and the one-shot signal it waits on (a bare lock: cheaper than an
    Event). The leader fills ``reply`` or ``error`` and releases the lock, or sets ``lead``."""

    __slots__ = ("args", "error", "lead", "name", "replicated", "reply", "signal")

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name = name
        self.args = args
        self.reply: Any = _UNSET
        self.error: BaseException | None = None
        self.lead = False
        self.replicated = True  # False: a replica was asked to confirm it and did not (in time)
        self.signal = _thread.allocate_lock()
        self.signal.acquire()

    def outcome(self) -> tuple[Any, bool]:
        if self.error is not None:
            raise self.error
        return self.reply, self.replicated


class Scripts:
    """Named Lua scripts, run atomically on Redis by ``EVALSHA`` (``EVAL`` once after a flush).

    Why not redis-py's ``Script`` objects through the client: every call there takes a connection
    from the pool and gives it back (with an unread-data check, a syscall), records metrics and, on
    a connection error or timeout, may *retry the command* (a client built with ``Redis(...)`` does,
    three times, unless told otherwise). For a transition that is a blind resend of a write whose
    first attempt may have run: a second ``create`` (two requests), a second ``claim`` (the worker
    that won is told it lost). Here a script is sent once, whatever the client's retry setting; a
    connection that fails is dropped and the error goes to every caller whose script was on it (the
    store turns it into ``StoreUnavailableError``). The one resend is after ``NOSCRIPT``, which
    means nothing ran.

    Calls are group-committed: the thread that finds the connection free sends every call queued so
    far as one pipeline (one write, one read on each side), hands the replies out, and passes the
    lead to a waiting caller if more calls queued meanwhile. One caller alone pays no more than a
    plain round trip; many callers share the syscalls, which on a small machine cost more than the
    scripts do (bench/approvals.py measures both). Each script still runs atomically on its own.
    """

    def __init__(
        self,
        client: redis.Redis,
        sources: dict[str, str],
        *,
        confirm: frozenset[str] = frozenset(),
        wait_timeout_ms: int = 1000,
    ) -> None:
        """``confirm``: the scripts whose writes must be on a replica before their caller is
        answered (when the primary has replicas): a batch holding one ends with ``WAIT 1
        wait_timeout_ms``, which covers every write of the batch."""
        self._pool: redis.ConnectionPool = client.connection_pool
        self._confirm = confirm
        self._wait_timeout_ms = wait_timeout_ms
        self._replicas = 0
        self._role_at = -_ROLE_EVERY_S
        self._replid = b""  # the primary's replication id: a failover changes it
        self._replica_seen_at = float("-inf")
        self._sources = sources
        self._shas = {name: hashlib.sha1(src.encode()).hexdigest() for name, src in sources.items()}  # noqa: S324 - Redis names scripts by SHA-1
        self._mutex = threading.Lock()
        self._queue: list[_Call] = []
        self._busy = False  # a leader is sending; only it touches the connection
        self._conn: _Connection | None = None
        self._last_used = 0.0

    def run(self, name: str, keys: list[str], args: list[str]) -> Any:
        """The reply of script ``name``. Raises ``redis.ConnectionError`` / ``redis.TimeoutError``
        (connection dropped, script possibly run: never resent) or ``redis.ResponseError``."""
        return self.call(name, keys, args)[0]

    def call(self, name: str, keys: list[str], args: list[str]) -> tuple[Any, bool]:
        """``run``'s reply, and whether its writes are known to be on a replica: False only for a
        script in ``confirm`` that no replica confirmed within the timeout (it did run)."""
        return self.call_built(name, lambda: (keys, args))

    def call_built(
        self, name: str, build: Callable[[], tuple[list[str], list[str]]]
    ) -> tuple[Any, bool]:
        """``call`` with the keys and arguments from ``build``, called while the call is queued:
        calls queued by concurrent threads run in the order their ``build`` ran, so what ``build``
        counts (the next request id, say) matches the order Redis sees."""
        with self._mutex:
            keys, args = build()
            call = _Call(name, (len(keys), *keys, *args))
            self._queue.append(call)
            lead = not self._busy
            self._busy = True
        if not lead:
            call.signal.acquire()  # woken with the outcome, or to lead the next batch
            if not call.lead:
                return call.outcome()
        self._lead()
        return call.outcome()

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            self._send(batch)
        finally:
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                if successor is not None:
                    successor.lead = True
                else:
                    self._busy = False
            for call in batch:
                if not call.lead:  # the leader's own call (lead=True) is not waiting
                    call.signal.release()
            if successor is not None:
                successor.signal.release()

    def _connection(self) -> _Connection:
        conn = self._conn
        if conn is None:
            conn = self._conn = cast(_Connection, self._pool.get_connection())
        elif time.monotonic() - self._last_used > _IDLE_CHECK_S:
            try:
                stale = conn.can_read()  # unread data or EOF: not a connection to reuse
            except (redis.ConnectionError, OSError):
                stale = True
            if stale:
                conn.disconnect()  # the next send connects afresh
        return conn

    def _send(self, batch: list[_Call]) -> None:
        """Send ``batch`` as one pipeline and give each call its reply; ``NOSCRIPT`` replies (nothing
        ran) are sent once more with the source."""
        try:
            conn = self._connection()
            confirm = any(c.name in self._confirm for c in batch) and self._has_replica(conn)
            self._round_trip(conn, batch, "EVALSHA", wait=confirm)
            missing = [c for c in batch if isinstance(c.error, redis.exceptions.NoScriptError)]
            if missing:
                for call in missing:
                    call.error = None
                self._round_trip(conn, missing, "EVAL", wait=confirm)
            self._last_used = time.monotonic()
        except BaseException as exc:
            if self._conn is not None:
                self._conn.disconnect()  # replies may be left unread: never reuse this connection
            failure = (
                exc
                if isinstance(exc, redis.RedisError)
                else redis.ConnectionError(f"Redis connection failed: {type(exc).__name__}")
            )
            for call in batch:
                # NOSCRIPT means it did not run, and now it will not be resent: the failure is its
                # outcome (a NoScriptError would reach a person as an internal error)
                unsent = isinstance(call.error, redis.exceptions.NoScriptError)
                if call.reply is _UNSET and (call.error is None or unsent):
                    call.error = failure
            if not isinstance(exc, redis.RedisError | OSError):
                raise  # not a Redis failure (KeyboardInterrupt...): the leader's thread sees it

    def _has_replica(self, conn: _Connection) -> bool:
        """Whether the primary has a replica (``INFO replication``, asked at most every few
        seconds), or had one less than ``_REPLICA_GRACE_S`` ago: a replica whose link dropped (a
        partition, a stall) must not let the writes it lacks be acknowledged. A new replication
        id (a failover promoted another server) starts afresh."""
        now = time.monotonic()
        if now - self._role_at >= _ROLE_EVERY_S:
            conn.send_packed_command(conn.pack_commands([("INFO", "replication")]))
            raw = conn.read_response()
            fields = dict(
                line.split(b":", 1)
                for line in (raw if isinstance(raw, bytes) else str(raw).encode()).splitlines()
                if b":" in line
            )
            replid = fields.get(b"master_replid", b"")
            if replid != self._replid:
                self._replid, self._replica_seen_at = replid, float("-inf")
            self._replicas = int(fields.get(b"connected_slaves", b"0"))
            if self._replicas > 0:
                self._replica_seen_at = now
            self._role_at = now
        return self._replicas > 0 or now - self._replica_seen_at < _REPLICA_GRACE_S

    def _round_trip(
        self, conn: _Connection, batch: list[_Call], verb: str, *, wait: bool = False
    ) -> None:
        """Send ``batch`` and read its replies; with ``wait``, a ``WAIT 1`` after it, in the same
        write, whose answer (replicas that have every write so far) marks the calls that needed it.

        Those calls count as unconfirmed until WAIT's answer is read: a primary that dies while
        WAIT waits has run the scripts (their replies came) but no replica confirmed them, and a
        reply without that answer must not reach a person as "done"."""
        scripts = self._shas if verb == "EVALSHA" else self._sources
        commands: list[tuple[Any, ...]] = [(verb, scripts[c.name], *c.args) for c in batch]
        waiting = [c for c in batch if c.name in self._confirm] if wait else []
        if wait:
            commands.append(("WAIT", 1, self._wait_timeout_ms))
        for call in waiting:
            call.replicated = False
        conn.send_packed_command(conn.pack_commands(commands))
        for call in batch:
            try:
                call.reply = conn.read_response()
            except redis.ResponseError as exc:  # this script's error reply; the stream is in step
                call.error = exc
        if wait and int(conn.read_response()) >= 1:
            for call in waiting:
                call.replicated = True
