"""Unsigned oversized bodies against ``POST /slack/events`` of ``chatops serve --http``, in parallel.

Eight clients each send a 50 MB body with a forged signature (declared by Content-Length), then eight
send the same chunked, then eight send one just under the 1 MiB cap. Measured: the answers, how far
the bot's peak RSS (``/proc/<pid>/status`` VmHWM) rose above its idle peak, and how much its log (at
INFO, the default level) grew.

    .venv/bin/python -m bench.body_flood [--clients 8] [--body-mb 50]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._support import Row, doubles, free_port, print_table, redis_server, serve_env, serving

RSS_GROWTH_TARGET_MB = 50.0  # one 50 MB body held in memory would exceed it
LOG_GROWTH_TARGET_KB = 64.0
_PIECE = 1 << 20
MAX_BODY_BYTES = (
    1 << 20
)  # chatops.slack.gate.MAX_BODY_BYTES, written out so the bench runs on any version


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def flood(port: int, size: int, *, chunked: bool) -> str:
    """One forged request of ``size`` bytes, sent until the server answers or closes; its status."""
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % size
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Slack-Request-Timestamp: %d\r\nX-Slack-Signature: v0=%s\r\n%s\r\n"
        % (int(time.time()), b"0" * 64, framing)
    )
    body = b'{"text": "' + b"x" * (size - 12) + b'"}'  # JSON, as Slack's events are
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head)
            for at in range(0, size, _PIECE):
                piece = body[at : at + _PIECE]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole body went out
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            return "reset"
    if not answer:
        return "closed"
    return answer.split(b"\r\n", 1)[0].decode(errors="replace").split(" ", 2)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="parallel senders (default 8)")
    parser.add_argument("--body-mb", type=int, default=50, help="body size in MB (default 50)")
    args = parser.parse_args()

    rows: list[Row] = []
    with redis_server() as redis_url, doubles() as world, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = serve_env(
            Path(tmp), redis_url=redis_url, slack_url=world.slack_url, port=port, devnet=world
        )
        env["CHATOPS_LOG_LEVEL"] = "INFO"
        log = Path(tmp) / "serve.log"
        with serving(Path(tmp), env, log) as proc:
            time.sleep(1)
            idle_mb, log_before = peak_rss_mb(proc.pid), log.stat().st_size
            rounds = (
                ("Content-Length", args.body_mb << 20, False),
                ("chunked", args.body_mb << 20, True),
                ("forged, under the cap", MAX_BODY_BYTES - 1024, False),
            )
            for kind, size, chunked in rounds:
                started = time.monotonic()
                with ThreadPoolExecutor(args.clients) as pool:
                    sends = [
                        pool.submit(flood, port, size, chunked=chunked) for _ in range(args.clients)
                    ]
                    statuses = [send.result() for send in sends]
                answers = ", ".join(f"{s} x{statuses.count(s)}" for s in sorted(set(statuses)))
                expected = "401" if size <= MAX_BODY_BYTES else "413"
                rows.append(
                    Row(
                        f"{args.clients} x {size / 2**20:.2f} MiB ({kind}): answers",
                        answers,
                        f"{expected} only",
                        set(statuses) == {expected},
                    )
                )
                rows.append(
                    Row(f"  time for all {args.clients}", f"{time.monotonic() - started:.2f} s")
                )
            grown_mb = peak_rss_mb(proc.pid) - idle_mb
            grown_kb = (log.stat().st_size - log_before) / 1024
            rows.append(
                Row(
                    "peak RSS above idle",
                    f"{grown_mb:.1f} MB",
                    f"< {RSS_GROWTH_TARGET_MB:.0f} MB",
                    grown_mb < RSS_GROWTH_TARGET_MB,
                )
            )
            rows.append(
                Row(
                    "log growth",
                    f"{grown_kb:.1f} KB",
                    f"< {LOG_GROWTH_TARGET_KB:.0f} KB",
                    grown_kb < LOG_GROWTH_TARGET_KB,
                )
            )
    print_table("Oversized unsigned bodies against POST /slack/events", rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
