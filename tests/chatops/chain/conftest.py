"""Fixtures for the chain gateway tests: a scripted Supra node and a ChainClient pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from chatops.chain.client import ChainClient
from tests.fakes.supra_node import FakeSupraNode

CHAIN_ID = 6


class SleepLog:
    """Stands in for time.sleep: records each requested delay and returns at once."""

    def __init__(self) -> None:
        self.delays_s: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays_s.append(seconds)


@pytest.fixture
def supra_node() -> Iterator[FakeSupraNode]:
    with FakeSupraNode(chain_id=CHAIN_ID) as node:
        yield node


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
def client(supra_node: FakeSupraNode, sleeps: SleepLog) -> Iterator[ChainClient]:
    with ChainClient(
        supra_node.url,
        chain_id=CHAIN_ID,
        timeout=httpx.Timeout(1.5, connect=1.5),  # roomy: CI shares 2 cores with the fakes
        max_attempts=3,
        sleep=sleeps,
        now_s=lambda: 1_800_000_000.0,
    ) as chain:
        yield chain
