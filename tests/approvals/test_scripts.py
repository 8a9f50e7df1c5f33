"""approvals.scripts on a real redis-server: concurrent calls are pipelined and each caller gets its
own reply or error; a script is never resent after a timeout or a dropped connection (only after
NOSCRIPT, when nothing ran); a connection the server closed while idle is replaced."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest
import redis as redis_lib

from approvals.scripts import Scripts

SOURCES = {
    # Counts its runs and echoes its argument: how many times a script ran is what these tests check.
    "count": "redis.call('INCR', KEYS[1]) return ARGV[1]",
    # Fails with an error reply of its own when asked to.
    "maybe_fail": (
        "if ARGV[1] == 'fail' then return redis.error_reply('ERR refused ' .. ARGV[2]) end "
        "redis.call('INCR', KEYS[1]) return ARGV[2]"
    ),
    # Counts, then holds the server for ARGV[1] ms (longer than the client waits).
    "slow": (
        "redis.call('INCR', KEYS[1]) local t = redis.call('TIME') "
        "local deadline = t[1] * 1000000 + t[2] + tonumber(ARGV[1]) * 1000 "
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= deadline return 1"
    ),
}


class CountingConnection(redis_lib.Connection):
    """Counts what the client sends: one ``send_packed_command`` is one round trip."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


def _client(url: str, **kwargs: Any) -> redis_lib.Redis:
    pool = redis_lib.ConnectionPool.from_url(url, connection_class=CountingConnection, **kwargs)
    return redis_lib.Redis(connection_pool=pool)


def _runs(client: redis_lib.Redis) -> int:
    return int(cast(bytes | None, client.get("runs")) or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_concurrent_calls_share_round_trips_and_each_gets_its_own_reply(
    redis: redis_lib.Redis, redis_server: str
) -> None:
    client = _client(redis_server)
    scripts = Scripts(client, SOURCES)
    scripts.run("count", ["runs"], ["warm"])
    threads, per_thread = 8, 60
    replies: dict[int, list[str]] = {n: [] for n in range(threads)}
    start = threading.Barrier(threads)

    def caller(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            replies[n].append(_text(scripts.run("count", ["runs"], [f"{n}:{i}"])))

    before = CountingConnection.sends
    workers = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    sends = CountingConnection.sends - before

    assert all(replies[n] == [f"{n}:{i}" for i in range(per_thread)] for n in range(threads))
    assert _runs(redis) == 1 + threads * per_thread  # each ran exactly once
    assert sends < threads * per_thread  # calls queued together went out as one pipeline
    client.close()


def test_a_script_error_reaches_its_caller_only_and_the_connection_stays_usable(
    redis: redis_lib.Redis, redis_server: str
) -> None:
    scripts = Scripts(_client(redis_server), SOURCES)
    outcomes: dict[str, str] = {}
    start = threading.Barrier(6)

    def caller(n: int) -> None:
        start.wait()
        verb = "fail" if n % 2 else "pass"
        try:
            outcomes[f"{verb}{n}"] = _text(scripts.run("maybe_fail", ["runs"], [verb, str(n)]))
        except redis_lib.ResponseError as exc:
            outcomes[f"{verb}{n}"] = str(exc)

    workers = [threading.Thread(target=caller, args=(n,)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    assert outcomes == {
        "pass0": "0",
        "fail1": "refused 1",
        "pass2": "2",
        "fail3": "refused 3",
        "pass4": "4",
        "fail5": "refused 5",
    }
    assert _runs(redis) == 3
    assert _text(scripts.run("count", ["runs"], ["after"])) == "after"


def test_after_a_script_flush_the_source_is_sent_once_and_runs_once(
    redis: redis_lib.Redis, redis_server: str
) -> None:
    scripts = Scripts(_client(redis_server), SOURCES)
    assert _text(scripts.run("count", ["runs"], ["a"])) == "a"
    redis.script_flush()
    assert _text(scripts.run("count", ["runs"], ["b"])) == "b"  # NOSCRIPT: nothing ran, so EVAL
    assert _text(scripts.run("count", ["runs"], ["c"])) == "c"  # and it is cached again
    assert _runs(redis) == 3


def test_a_timed_out_script_is_not_resent(redis: redis_lib.Redis, redis_server: str) -> None:
    """redis-py's client would retry the command after the timeout (its default Retry); a write
    whose first attempt ran must not run again."""
    scripts = Scripts(_client(redis_server, socket_timeout=0.2), SOURCES)
    scripts.run("count", ["warm"], ["x"])
    with pytest.raises(redis_lib.TimeoutError):
        scripts.run("slow", ["runs"], ["600"])
    time.sleep(0.6)  # the server finishes the script it was given
    assert _runs(redis) == 1
    assert _text(scripts.run("count", ["runs"], ["next"])) == "next"  # a fresh connection, in step
    assert _runs(redis) == 2


def test_a_connection_the_server_closed_while_idle_is_replaced(
    redis: redis_lib.Redis, redis_server: str
) -> None:
    scripts = Scripts(_client(redis_server), SOURCES)
    assert _text(scripts.run("count", ["runs"], ["a"])) == "a"
    killed = cast(int, redis.client_kill_filter(_type="normal", skipme=True))
    assert killed >= 1
    time.sleep(0.05)  # idle longer than the check window
    assert _text(scripts.run("count", ["runs"], ["b"])) == "b"
    assert _runs(redis) == 2
