"""Start-up of ``chatops devnet --port N``: from spawning the process to the first answered view call
(target: it starts in under 2 s and answers a view call).

    .venv/bin/python -m bench.devnet_startup [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._support import Row, free_port, print_table, stop_process
from tests.chatops.devnet.server_support import devnet_argv, view_request

TARGET_S = 2.0
VIEW = view_request("views::get_lottery_status", "1")


def one_start(workdir: Path) -> float:
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        devnet_argv(port, workdir / "admin.key"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                try:
                    if (
                        client.post(f"http://127.0.0.1:{port}/rpc/v3/view", json=VIEW).status_code
                        == 200
                    ):
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > 30:
                    raise TimeoutError("the devnet did not answer within 30 s")
                time.sleep(0.005)
    finally:
        stop_process(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = [one_start(Path(tmp)) for _ in range(args.runs)]
    median, worst = statistics.median(times), max(times)
    print_table(
        "chatops devnet: spawn to first answered view call",
        [
            Row("median over runs", f"{median:.2f} s", f"< {TARGET_S:.0f} s", median < TARGET_S),
            Row("slowest run", f"{worst:.2f} s", f"< {TARGET_S:.0f} s", worst < TARGET_S),
        ],
        notes=["reproduce: .venv/bin/python -m bench.devnet_startup"],
    )
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
