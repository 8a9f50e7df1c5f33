"""Fixtures for notify tests: a seeded devnet over real HTTP, a chain client and an HTTP client to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from chatops.chain.client import ChainClient
from chatops.devnet.server import DevnetServer
from chatops.wiring import DEVNET_CHAIN_ID, embedded_devnet


@dataclass
class Chain:
    server: DevnetServer
    client: ChainClient
    http: httpx.Client


@pytest.fixture
def chain() -> Iterator[Chain]:
    with embedded_devnet() as (server, _admin):
        client = ChainClient(server.url, chain_id=DEVNET_CHAIN_ID, max_attempts=1)
        http = httpx.Client(base_url=server.url, timeout=10)
        try:
            yield Chain(server, client, http)
        finally:
            http.close()
            client.close()
