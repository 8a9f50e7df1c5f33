"""Fixtures for command tests: a fresh seeded devnet and the real runner per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from tests.fakes.bot import Harness, harness


@pytest.fixture
def ops() -> Iterator[Harness]:
    with harness() as h:
        yield h


@pytest.fixture
def ops2(redis: redis_lib.Redis) -> Iterator[Harness]:
    """The harness with the two-person flow on the test redis-server."""
    with harness(redis_client=redis) as h:
        yield h
