"""Fifty approvers clicking at once on two bot replicas (own Redis client and gateway each, same devnet
and Redis): the request executes exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals.models import Status
from approvals.policy import Policy, Role
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.flow import ApprovalFlow
from chatops.runner import Runner
from chatops.wiring import DEVNET_CHAIN_ID, build_runner
from commands.invocation import Invocation
from commands.reply import Reply
from tests.fakes.bot import Harness, harness

APPROVERS = [f"approver{i:02d}" for i in range(50)]


def _policy(needed: int) -> Policy:
    users: dict[str, tuple[Role, ...]] = {
        "alice": (Role.OPERATOR,),
        **dict.fromkeys(APPROVERS, (Role.APPROVER,)),
    }
    return Policy(users=users, approvals_needed=needed)


@pytest.fixture(params=[1, 2], ids=["one-needed", "two-needed"])
def replicas(
    request: pytest.FixtureRequest, redis: redis_lib.Redis, redis_server: str
) -> Iterator[tuple[Harness, Runner]]:
    """The harness's bot plus a second replica with its own Redis client and chain gateway."""
    policy = _policy(int(request.param))
    with harness(policy, redis_client=redis) as ops:
        client = redis_lib.Redis.from_url(redis_server)
        chain = ChainClient(ops.server.url, chain_id=DEVNET_CHAIN_ID, max_attempts=1)
        try:
            other = build_runner(
                Gateway(chain, ops.gateway.signer, PACKAGE_ADDRESS), policy, client
            )
            yield ops, other
        finally:
            chain.close()
            client.close()


def test_fifty_simultaneous_approvals_on_two_replicas_execute_once(
    replicas: tuple[Harness, Runner],
) -> None:
    """However many approvers click at once on whichever replica, one transaction reaches the chain."""
    ops, other = replicas
    runners = [ops.runner, other]
    before = ops.tx_count
    created = ops.run('/feed fallback 1 on 3 "spike"', "alice")
    assert created.request_id is not None
    request_id = created.request_id

    barrier = threading.Barrier(len(APPROVERS))
    replies: list[Reply] = []
    lock = threading.Lock()

    def click(index: int, user: str) -> None:
        inv = Invocation.parse_line(f"/ops approve {request_id}", user=user)
        barrier.wait()
        reply = runners[index % 2].handle(inv)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=click, args=(i, user)) for i, user in enumerate(APPROVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(replies) == len(APPROVERS)

    executed = [r for r in replies if r.title.startswith(f"Request {request_id} executed")]
    assert len(executed) == 1
    assert not any("Internal error" in r.title for r in replies)
    assert ops.tx_count == before + 1
    sent = [
        tx
        for tx in ops.server.ledger.transactions.values()
        if tx.function is not None and tx.function.endswith("::price_feed::set_fallback")
    ]
    assert len(sent) == 1
    assert len(ops.events("PriceFeedFallbackEvent")) == 1

    flow = ops.runner.approvals
    assert isinstance(flow, ApprovalFlow)
    done = flow.service.get(request_id)
    assert done.state == Status.SUCCEEDED
    assert done.tx_hashes == (sent[0].hash,)
    events = [e.event for e in flow.service.history(done)]
    assert events.count("approved") == 1  # the last approval claims in the same step
    assert events.count("succeeded") == 1
