"""The devnet's state file (``--state FILE``): a versioned JSON journal, written with an atomic rename.

The ledger appends an entry per change and rebuilds the chain by replaying them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["JOURNAL_VERSION", "read_journal", "write_journal"]

JOURNAL_VERSION = 1


def write_journal(path: Path, chain_id: int, entries: list[dict[str, Any]]) -> None:
    """Write the journal with an atomic rename (a crash leaves the previous file intact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": JOURNAL_VERSION, "chain_id": chain_id, "entries": entries}
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, separators=(",", ":"))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's entries, the first being genesis; another version or no genesis raises."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("version") != JOURNAL_VERSION:
        raise ValueError(f"{path}: unsupported devnet journal version {payload.get('version')!r}")
    entries: list[dict[str, Any]] = payload["entries"]
    if not entries or entries[0].get("kind") != "genesis":
        raise ValueError(f"{path}: the journal does not start with genesis")
    return entries
