"""The approval tests' service on a real redis-server, with a clock they move by hand."""

from __future__ import annotations

import pytest
import redis as redis_lib

from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from tests.approvals.clock import ManualClock
from tests.approvals.requests import approval_policy


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(redis: redis_lib.Redis, clock: ManualClock) -> ApprovalService:
    return ApprovalService(RedisApprovalStore(redis), approval_policy(), clock)
