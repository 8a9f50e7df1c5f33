"""Loads the notify side's Lua scripts (``chatops/notify/lua/*.lua``, each headed by its KEYS, ARGV
and return value) as redis-py ``Script`` objects."""

from __future__ import annotations

from functools import cache
from importlib import resources

import redis
from redis.commands.core import Script

__all__ = ["load_script"]


@cache
def _source(name: str) -> str:
    return (
        resources.files("chatops.notify").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
    )


def load_script(client: redis.Redis, name: str) -> Script:
    """The script ``lua/<name>.lua`` registered on ``client`` (sent by ``EVALSHA``, loaded on first
    use)."""
    return client.register_script(_source(name))
