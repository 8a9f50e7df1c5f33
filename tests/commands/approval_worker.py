"""A bot worker that claims an approved request, goes as far as ``stage`` and then hangs until the test
kills it with SIGKILL, leaving the request executing exactly as a crashed replica would."""

# Run as ``python -m tests.commands.approval_worker REDIS_URL DEVNET_URL REQUEST_ID KEY_FILE STAGE
# LEASE_MS``; ``STAGE`` is one of:
# - ``claimed``: nothing recorded, nothing sent;
# - ``recorded``: the first transaction is signed and recorded (sender, sequence number, expiration)
#   by the bot's own ``FencedChain``, and the worker dies just before sending it: from the chain's
#   side the same as a transaction still waiting in a slow node's mempool;
# - ``partial``: every call but the last is sent and committed, the last is recorded and not sent;
# - ``submitted``: every call is on chain, ``complete`` never runs.
#
# Prints ``READY`` and the hashes sent, never the key.

from __future__ import annotations

import sys
import threading
from typing import NoReturn

import redis

from approvals.policy import demo_policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.flow import FencedChain
from chatops.wiring import DEVNET_CHAIN_ID

STAGES = ("claimed", "recorded", "partial", "submitted")


def _ready(hashes: list[str]) -> NoReturn:
    """Tell the test how far the worker got, then hang until SIGKILL: complete() never runs."""
    sys.stdout.write(" ".join(["READY", *hashes]) + "\n")
    sys.stdout.flush()
    threading.Event().wait()
    raise SystemExit(0)  # pragma: no cover - never reached


def main(argv: list[str]) -> int:
    redis_url, devnet_url, request_id, key_file, stage, lease_ms = argv
    if stage not in STAGES:
        raise SystemExit(f"stage must be one of {', '.join(STAGES)}")
    # The Redis server's clock, as the bot's own service uses (chatops.wiring.build_runner).
    service = ApprovalService(RedisApprovalStore(redis.Redis.from_url(redis_url)), demo_policy())
    token, request = service.claim(request_id, "doomed-worker", lease_ms=int(lease_ms))
    signer = LocalKeySigner.from_key_file(key_file, account_address=PACKAGE_ADDRESS)
    gateway = Gateway(
        ChainClient(devnet_url, chain_id=DEVNET_CHAIN_ID, max_attempts=1), signer, PACKAGE_ADDRESS
    )
    chain = FencedChain(gateway, service, request_id, token, lease_ms=int(lease_ms))
    calls = [
        ChainCall(
            function=raw["function"], args=tuple(TypedArg(type=t, value=v) for t, v in raw["args"])
        )
        for raw in request.calls
    ]
    hashes: list[str] = []
    if stage == "claimed":
        _ready(hashes)
    sent = {"recorded": 0, "partial": len(calls) - 1, "submitted": len(calls)}[stage]
    for call in calls[:sent]:
        hashes.append(chain.submit(call).tx_hash)
    if sent < len(calls):

        def die_before_sending(sequence_number: int, expires_s: int) -> None:
            chain.before_send(sequence_number, expires_s)
            _ready(hashes)

        gateway.submit(calls[sent], before_send=die_before_sending)
    _ready(hashes)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
