"""Fixtures for console scenarios: a seeded devnet, the two-person flow on the test Redis, a desk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from tests.chatops.console.operators import Desk
from tests.fakes.bot import harness


@pytest.fixture
def desk(redis: redis_lib.Redis) -> Iterator[Desk]:
    with harness(redis_client=redis) as h:
        yield Desk(h)
