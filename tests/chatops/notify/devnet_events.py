"""Helpers for notify tests: inject events into the devnet over HTTP and build a watcher stack on it."""

from __future__ import annotations

from typing import Any

import httpx

from chatops.devnet.framework import PACKAGE_ADDRESS

A = PACKAGE_ADDRESS


def inject(http: httpx.Client, struct: str, data: dict[str, Any]) -> None:
    """POST /devnet/events: commit ``module::Struct`` with ``data`` in a new block."""
    response = http.post("/devnet/events", json={"type": f"{A}::{struct}", "data": data})
    response.raise_for_status()


def advance(http: httpx.Client, secs: int) -> None:
    http.post("/devnet/clock", json={"advance_secs": secs}).raise_for_status()
