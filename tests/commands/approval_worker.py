"""A bot worker that claims an approved request, goes as far as ``stage`` and then hangs until the test
kills it with SIGKILL, leaving the request executing exactly as a crashed replica would.

Run as ``python -m tests.commands.approval_worker REDIS_URL DEVNET_URL REQUEST_ID KEY_FILE STAGE LEASE_MS``;
``STAGE`` is ``claimed``, ``recorded`` (sender and sequence number stored) or ``submitted`` (the
transactions are on chain, ``complete`` never runs). Prints ``READY`` and the hashes sent, never the key.
"""

from __future__ import annotations

import sys
import threading

import redis

from approvals.policy import demo_policy
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.devnet.framework import PACKAGE_ADDRESS
from chatops.chain.signer import LocalKeySigner
from chatops.wiring import DEVNET_CHAIN_ID

STAGES = ("claimed", "recorded", "submitted")


def main(argv: list[str]) -> int:
    redis_url, devnet_url, request_id, key_file, stage, lease_ms = argv
    if stage not in STAGES:
        raise SystemExit(f"stage must be one of {', '.join(STAGES)}")
    # The Redis server's clock, as the bot's own service uses (chatops.wiring.build_runner).
    service = ApprovalService(RedisApprovalStore(redis.Redis.from_url(redis_url)), demo_policy())
    token = service.claim(request_id, "doomed-worker", lease_ms=int(lease_ms))
    request = service.get(request_id)
    signer = LocalKeySigner.from_key_file(key_file, account_address=PACKAGE_ADDRESS)
    chain = ChainClient(devnet_url, chain_id=DEVNET_CHAIN_ID, max_attempts=1)
    hashes: list[str] = []
    if stage in ("recorded", "submitted"):
        seq = chain.account(signer.address).sequence_number
        service.submitting(request_id, token, signer.address, seq)
    if stage == "submitted":
        for raw in request.calls:
            call = ChainCall(
                function=raw["function"],
                args=tuple(TypedArg(type=t, value=v) for t, v in raw["args"]),
            )
            info = chain.submit_entry(
                signer, call.function_id(PACKAGE_ADDRESS), [(a.type, a.python()) for a in call.args]
            )
            hashes.append(info.hash)
    sys.stdout.write(" ".join(["READY", *hashes]) + "\n")
    sys.stdout.flush()
    threading.Event().wait()  # until SIGKILL: complete() never runs
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
