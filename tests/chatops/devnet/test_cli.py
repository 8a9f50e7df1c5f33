"""`chatops devnet` as an operator runs it: a subprocess on a port, answering Supra RPC v3."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.chatops.devnet.server_support import devnet_argv, view_request
from tests.conftest import free_port, wait_until

VIEW = view_request("views::get_lottery_status", "1")


@contextmanager
def devnet(tmp_path: Path, *extra: str) -> Iterator[tuple[str, Path]]:
    """Start ``python -m chatops devnet`` on a free port; yields its URL and its output file."""
    port = free_port()
    log = tmp_path / f"devnet-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            devnet_argv(port, tmp_path / "admin.key", *extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/rpc/v3/block", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout_s=20, interval_s=0.05)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_devnet_answers_a_view_call_and_keeps_its_key_private(tmp_path: Path) -> None:
    """The seeded devnet answers a view as a node would; the admin key file is 0600 and never printed."""
    with devnet(tmp_path) as (url, log):
        response = httpx.post(f"{url}/rpc/v3/view", json=VIEW, timeout=5)
        assert response.status_code == 200
        assert response.headers["x-supra-chain-id"] == "255"
        assert response.json() == {
            "result": [{"status": 1, "snapshot_frozen": False, "primary_type": 0, "tags_mask": "2"}]
        }
    key_file = tmp_path / "admin.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_text = key_file.read_text().strip().removeprefix("0x")
    output = log.read_text()
    assert url in output
    assert key_text not in output


def test_strict_views_refuses_a_non_view_function(tmp_path: Path) -> None:
    """With --strict-views the plain public functions are refused on /view, as a real node does."""
    with devnet(tmp_path, "--strict-views") as (url, _log):
        refused = httpx.post(f"{url}/rpc/v3/view", json=VIEW, timeout=5)
        assert refused.status_code == 400
        assert "not marked as a view function" in refused.json()["message"]
        allowed = httpx.post(
            f"{url}/rpc/v3/view",
            json=view_request("history::is_legacy_summary", "5"),
            timeout=5,
        )
        assert allowed.status_code == 200


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    """--state FILE: the clock moved before a restart is still moved after it (state replayed)."""
    state = tmp_path / "state.json"
    with devnet(tmp_path, "--state", str(state)) as (url, _log):
        moved = httpx.post(f"{url}/devnet/clock", json={"advance_secs": 86_400}, timeout=5)
        assert moved.status_code == 200
        before = httpx.get(f"{url}/rpc/v3/block", timeout=5).json()["header"]["height"]
    assert state.exists()
    with devnet(tmp_path, "--state", str(state)) as (url, _log):
        after = httpx.get(f"{url}/rpc/v3/block", timeout=5).json()["header"]["height"]
    assert after == before
