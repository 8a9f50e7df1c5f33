"""The benchmarks' outside world in its own process: the Slack Web API double and a seeded devnet.

``python -m bench._doubles --dir TMP [--events N] [--slack-latency-ms MS] [--slack-rate-limits]
[--slack-error-rate F]`` prints one JSON line (URLs, key file, chain id) and serves until its stdin
closes. ``--events N`` commits N events before serving, one block each, as ``POST /devnet/events``
would (a backlog for the watcher). The Slack double answers after ``--slack-latency-ms`` (Slack's
Web API takes 30-300 ms), and with the flags limits each method to its tier and fails a share of
calls with 503, as Slack does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench._support import BENCH_USERS, SLACK_LATENCY_MS
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from tests.fakes.slack_web_api import SlackUser, SlackWebApiDouble

CHAIN_ID = 255


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--event-struct", default="history::PayoutBatchEvent")
    parser.add_argument("--slack-latency-ms", type=float, default=SLACK_LATENCY_MS)
    parser.add_argument("--slack-rate-limits", action="store_true")
    parser.add_argument("--slack-error-rate", type=float, default=0.0)
    args = parser.parse_args()

    signer = LocalKeySigner.generate()
    key_file = args.dir / "admin.key"
    signer.write_key_file(key_file)
    devnet = DevnetServer(admin_public_key=signer.public_key, chain_id=CHAIN_ID)
    event_type = f"{PACKAGE_ADDRESS}::{args.event_struct}"
    for n in range(args.events):
        devnet.ledger.inject_event(event_type, {"lottery_id": str(n % 6 + 1), "batch": str(n)})
    users = [SlackUser(id="U0ALICE001", name="alice"), SlackUser(id="U0BOB00001", name="bob")]
    users += [SlackUser(id=user) for user in BENCH_USERS]
    slack = SlackWebApiDouble(
        users=users,
        latency_s=args.slack_latency_ms / 1000,
        rate_limits=args.slack_rate_limits,
        server_error_rate=args.slack_error_rate,
    )
    with devnet, slack:
        print(
            json.dumps(
                {
                    "slack_url": slack.url,
                    "devnet_url": devnet.url,
                    "key_file": str(key_file),
                    "chain_id": CHAIN_ID,
                    "package_address": PACKAGE_ADDRESS,
                }
            ),
            flush=True,
        )
        sys.stdin.read()  # until the benchmark closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
