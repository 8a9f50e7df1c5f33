"""A write that timed out is not sent again by the bot's Redis clients (by URL, and the embedded store
of the console): its first attempt may have run, and a journal line, a timeline entry or a transition
must not run twice. redis-py's own default would resend it up to three times."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import pytest
import redis as redis_lib

from chatops.redis_client import embedded_redis, redis_client

# Counts its runs, then holds the server for ARGV[1] ms: longer than the client waits for a reply.
SLOW_WRITE = (
    "redis.call('INCR', KEYS[1]) local t = redis.call('TIME') "
    "local deadline = t[1] * 1000000 + t[2] + tonumber(ARGV[1]) * 1000 "
    "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= deadline return 1"
)


@pytest.fixture(params=["url", "embedded"])
def bot_client(request: pytest.FixtureRequest, redis_server: str) -> Iterator[redis_lib.Redis]:
    if request.param == "url":
        client = redis_client(f"{redis_server}?socket_timeout=0.2")
        client.flushdb()
        yield client
        client.close()
    else:
        with embedded_redis() as client:
            client.connection_pool.connection_kwargs["socket_timeout"] = 0.2
            client.connection_pool.reset()  # connections made from now on take the timeout
            yield client


def test_a_timed_out_write_runs_once(bot_client: redis_lib.Redis) -> None:
    with pytest.raises(redis_lib.TimeoutError):
        bot_client.eval(SLOW_WRITE, 1, "runs", "600")
    time.sleep(0.8)  # the server finishes what it was given (and anything resent would run too)
    assert int(cast(bytes, bot_client.get("runs"))) == 1
