"""The benchmarks' outside world in its own process: the Slack Web API double and a seeded devnet.

``python -m bench._doubles --dir TMP [--events N]`` prints one JSON line (URLs, key file, chain id)
and serves until its stdin closes. ``--events N`` commits N events before serving, one block each,
as ``POST /devnet/events`` would (a backlog for the watcher).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    args = parser.parse_args()

    signer = LocalKeySigner.generate()
    key_file = args.dir / "admin.key"
    signer.write_key_file(key_file)
    devnet = DevnetServer(admin_public_key=signer.public_key, chain_id=CHAIN_ID)
    event_type = f"{PACKAGE_ADDRESS}::{args.event_struct}"
    for n in range(args.events):
        devnet.ledger.inject_event(event_type, {"lottery_id": str(n % 6 + 1), "batch": str(n)})
    users = [SlackUser(id="U0ALICE001", name="alice"), SlackUser(id="U0BOB00001", name="bob")]
    with devnet, SlackWebApiDouble(users=users) as slack:
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
