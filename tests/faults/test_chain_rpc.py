"""Chain RPC faults through the runner: reads that time out, answer 5xx or answer a body that is not
JSON are retried and end in a plain reply; a write whose submit is in doubt is never resent, waits for
reconciliation, and /ops reconcile settles it from the chain."""

# The devnet's fault knob (``POST /devnet/faults``) injects the faults on the real node; the
# scripted node (tests/fakes/supra_node.py) serves broken bodies and counts requests.

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import redis as redis_lib

from approvals import keys
from approvals.ids import parse_request_id
from approvals.models import Status
from approvals.policy import demo_policy
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.signer import LocalKeySigner
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.runner import Runner
from chatops.wiring import DEVNET_CHAIN_ID, embedded_devnet
from commands.invocation import Invocation
from commands.registry import build_registry
from commands.reply import Reply
from tests.approvals.clock import ManualClock
from tests.conftest import wait_until
from tests.fakes.bot import Harness
from tests.fakes.supra_node import FakeSupraNode
from tests.faults.conftest import bot, fallbacks_sent, fault, flow_of

FALLBACK = '/feed fallback 1 on 3 "spike"'
VIEW = "/rpc/v3/view"
SUBMIT = "/rpc/v3/transactions/submit"
LEASE_MS = 120_000  # approvals.service.DEFAULT_LEASE_MS: how long an executing worker is trusted


def _assert_plain(reply: Reply) -> None:
    """A reply a person can read: one sentence, no traceback, no exception names, no raw bodies."""
    shown = reply.title + "\n" + reply.text
    for leak in ("Traceback", "httpx", "Exception", "Error:", "<html", "{", "Internal error"):
        assert leak not in shown, shown


@pytest.fixture
def ops(redis: redis_lib.Redis) -> Iterator[Harness]:
    with bot(redis, read_timeout_s=0.4, max_attempts=3) as h:
        yield h


def _left(ops: Harness, path: str) -> bool:
    """Whether an injected fault is still waiting for a request on ``path`` (consumes one use)."""
    return ops.server.take_fault(path) is not None


def test_reads_are_retried_through_5xx_and_answer(ops: Harness) -> None:
    """Two 503s on the view are retried away: the answer is the same as without them."""
    clean = ops.run("/feed show 1")
    fault(ops, path_prefix=VIEW, status=503, count=2)
    reply = ops.run("/feed show 1")
    assert reply.ok, reply
    assert reply.title == clean.title
    assert not _left(ops, VIEW)  # both faulty answers were used up, so a third request came


def test_reads_failing_every_attempt_end_in_a_plain_reply(ops: Harness) -> None:
    """503 on every attempt: exactly three requests, then a plain 'unavailable' reply."""
    fault(ops, path_prefix=VIEW, status=503, count=4)
    reply = ops.run("/feed show 1")
    assert not reply.ok
    assert reply.title == (
        "Chain error: The Supra node answered 503 on POST /rpc/v3/view after 3 attempt(s)."
    )
    _assert_plain(reply)
    assert _left(ops, VIEW)  # the fourth fault was never asked for: no more than three attempts


def test_a_read_timeout_is_retried_and_answers(ops: Harness) -> None:
    """A view that takes longer than the read timeout is asked again and answers."""
    fault(ops, path_prefix=VIEW, delay_ms=1200, count=1)
    started = time.monotonic()
    reply = ops.run("/feed show 1")
    assert reply.ok, reply
    assert reply.title.startswith("Asset 1:")
    assert time.monotonic() - started < 1.2  # the slow answer was not waited for


def test_reads_timing_out_every_attempt_end_in_a_plain_reply(ops: Harness) -> None:
    """A node that never answers in time yields a plain 'timed out' reply after three attempts."""
    fault(ops, path_prefix=VIEW, delay_ms=1000, count=3)
    reply = ops.run("/feed show 1")
    assert not reply.ok
    assert reply.title == (
        "Chain error: The Supra node timed out on POST /rpc/v3/view after 3 attempt(s)."
    )
    _assert_plain(reply)


# -- bodies that are not JSON (the scripted node) ----------------------------------------------------


@pytest.fixture
def recorded() -> dict[str, Any]:
    """Real answers of the devnet to the view and the block read behind ``/feed show 1``."""
    with embedded_devnet() as (server, _admin):
        view = httpx.post(
            server.url + VIEW,
            json={
                "function": f"{PACKAGE_ADDRESS}::price_feed::get_price_view",
                "type_arguments": [],
                "arguments": ["1"],
            },
            timeout=5,
        )
        block = httpx.get(server.url + "/rpc/v3/block", timeout=5)
        return {"view": view.json(), "block": block.json()}


@pytest.fixture
def node(recorded: dict[str, Any]) -> Iterator[FakeSupraNode]:
    with FakeSupraNode(chain_id=DEVNET_CHAIN_ID) as fake:
        fake.always("GET", "/rpc/v3/block", body=recorded["block"])
        yield fake


@pytest.fixture
def runner(node: FakeSupraNode) -> Iterator[Runner]:
    client = ChainClient(node.url, chain_id=DEVNET_CHAIN_ID, max_attempts=3, backoff_s=0.01)
    signer = LocalKeySigner(secrets.token_bytes(32), account_address=PACKAGE_ADDRESS)
    yield Runner(build_registry(), demo_policy(), Gateway(client, signer, PACKAGE_ADDRESS))
    client.close()


BROKEN = b"<html><body>502 Bad Gateway</body></html>"


def test_a_body_that_is_not_json_is_retried_and_answers(
    node: FakeSupraNode, runner: Runner, recorded: dict[str, Any]
) -> None:
    """Two broken bodies (a proxy's error page served as 200) are asked again; the third answers."""
    node.reply("POST", VIEW, raw=BROKEN)
    node.reply("POST", VIEW, raw=b'{"result": [')
    node.always("POST", VIEW, body=recorded["view"])
    reply = runner.handle(Invocation.parse_line("/feed show 1", user="alice"))
    assert reply.ok, reply
    assert reply.title.startswith("Asset 1:")
    assert len(node.requests_to("POST", VIEW)) == 3


def test_bodies_that_are_never_json_end_in_a_plain_reply(
    node: FakeSupraNode, runner: Runner
) -> None:
    """A node that only ever answers a broken body gets three requests, then a plain reply."""
    node.always("POST", VIEW, raw=BROKEN)
    reply = runner.handle(Invocation.parse_line("/feed show 1", user="alice"))
    assert not reply.ok
    assert reply.title == "Chain error: The Supra node returned a view result that is not JSON."
    _assert_plain(reply)
    assert len(node.requests_to("POST", VIEW)) == 3


# -- writes: never resent blindly ---------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    """The approvals' clock, started at the real time, so the test can run past the lease."""
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def ops_clocked(redis: redis_lib.Redis, clock: ManualClock) -> Iterator[Harness]:
    with bot(redis, read_timeout_s=0.4, max_attempts=3, clock_ms=clock) as h:
        yield h


def _approve_into_doubt(ops: Harness) -> str:
    request_id = ops.run(FALLBACK, "alice").request_id
    assert request_id is not None
    reply = ops.run(f"/ops approve {request_id}", "bob")
    assert not reply.ok
    assert reply.title.startswith(f"Request {request_id}: outcome unknown (")
    assert reply.title.endswith("it will be reconciled from the chain, never resent")
    _assert_plain(reply)
    assert flow_of(ops).service.get(request_id).state == Status.EXECUTING
    return request_id


def test_a_submit_that_times_out_is_never_resent_and_is_reconciled_as_sent(
    ops_clocked: Harness, clock: ManualClock
) -> None:
    """The node commits the transaction after the client gave up: the bot says the outcome is
    unknown, refuses to run it again, and /ops reconcile finds the one transaction on chain."""
    ops = ops_clocked
    before = fallbacks_sent(ops)
    fault(ops, path_prefix=SUBMIT, delay_ms=1200, count=1)
    request_id = _approve_into_doubt(ops)
    wait_until(lambda: fallbacks_sent(ops) == before + 1, timeout_s=5)  # the node went on

    again = ops.run(f"/ops approve {request_id}", "carol")
    assert not again.ok
    early = ops.run(f"/ops reconcile {request_id}", "carol")
    assert not early.ok
    assert "its worker still holds it" in early.title
    assert flow_of(ops).service.get(request_id).state == Status.EXECUTING

    clock.advance(LEASE_MS + 1)
    assert ops.run("/ops pending", "carol").ok  # a read changes nothing
    assert flow_of(ops).service.get(request_id).state == Status.EXECUTING
    settled = ops.run(f"/ops reconcile {request_id}", "carol")  # the lease has run out
    assert settled.ok, settled
    assert settled.title == (
        f"Request {request_id}: reconciled, found 1 of 1 transaction(s) on chain"
    )
    done = flow_of(ops).service.get(request_id)
    assert done.state == Status.SUCCEEDED
    (tx_hash,) = done.tx_hashes
    assert ops.server.ledger.transactions[tx_hash].function is not None
    assert fallbacks_sent(ops) == before + 1
    assert ops.view("price_feed::get_price_view", "1")[0]["fallback_active"] is True


def test_a_submit_answered_5xx_is_never_resent_and_is_reconciled_as_not_sent(
    ops_clocked: Harness, clock: ManualClock
) -> None:
    """A 503 on submit is not retried. A proxy's 503 does not prove the node never got it, so
    reconciliation waits for the transaction's expiration; then nothing can land, it says so, and
    the request ends failed without a second attempt."""
    ops = ops_clocked
    before = fallbacks_sent(ops)
    fault(ops, path_prefix=SUBMIT, status=503, count=2)
    request_id = _approve_into_doubt(ops)
    assert _left(ops, SUBMIT)  # one submit only: the second fault was never asked for
    clock.advance(LEASE_MS + 1)
    early = ops.run(f"/ops reconcile {request_id}", "carol")
    assert not early.ok
    assert "may still land until" in early.title
    _assert_plain(early)
    assert flow_of(ops).service.get(request_id).state == Status.NEEDS_RECONCILIATION

    _past_expiration(ops, request_id)
    settled = ops.run(f"/ops reconcile {request_id}", "carol")
    assert settled.ok, settled
    assert settled.title == f"Request {request_id}: reconciled, nothing was sent"
    done = flow_of(ops).service.get(request_id)
    assert (done.state, done.tx_hashes) == (Status.FAILED, ())
    assert done.result is not None
    assert done.result.startswith("no transaction found on chain, and it expired at ")
    assert done.result.endswith(" (chain time): nothing was sent")
    assert not ops.run(f"/ops approve {request_id}", "carol").ok
    assert fallbacks_sent(ops) == before
    assert ops.view("price_feed::get_price_view", "1")[0]["fallback_active"] is False


# -- a transaction held by a slow node: reconciliation waits for facts ------------------------------

HELD_MS = 3000  # how long the node sits on the submit: well past the client's 0.4 s read timeout


def _expires_s(ops: Harness, request_id: str) -> int:
    """The expiration the bot signed into the request's one transaction (its submission log)."""
    service = flow_of(ops).service
    [submission] = service.submissions(service.get(request_id))
    return submission.expires_s


def _past_expiration(ops: Harness, request_id: str) -> None:
    """Move the devnet's clock to the second the request's transaction expires."""
    ops.advance(_expires_s(ops, request_id) - ops.server.ledger.now_s)


def _raw_state(ops: Harness, request_id: str) -> str:
    """The state field of the request's hash in Redis, read past the service."""
    client = flow_of(ops).service.store.client
    state = cast(
        bytes | None, client.hget(keys.request_key(parse_request_id(request_id).number), "state")
    )
    assert state is not None
    return state.decode()


def _hold_and_lose_the_lease(ops: Harness, clock: ManualClock) -> tuple[str, float]:
    """The node sits on the submit; the bot gives up on it and its lease runs out. Returns the
    request id and when (monotonic) the node will act on the transaction it holds."""
    fault(ops, path_prefix=SUBMIT, delay_ms=HELD_MS, count=1)
    started = time.monotonic()
    request_id = _approve_into_doubt(ops)
    clock.advance(LEASE_MS + 1)
    # The sweeper's round (serve runs it in the background): the request needs reconciliation.
    assert flow_of(ops).service.sweep() == ([], [request_id])
    assert _raw_state(ops, request_id) == Status.NEEDS_RECONCILIATION
    return request_id, started + HELD_MS / 1000


def test_a_transaction_a_slow_node_still_holds_is_not_settled_and_then_found(
    ops_clocked: Harness, clock: ManualClock
) -> None:
    """While the node holds the transaction, reconciliation refuses to conclude and changes nothing
    (saying when to try again); once the node commits it, reconciliation finds it: succeeded."""
    ops = ops_clocked
    before = fallbacks_sent(ops)
    request_id, _lands_at = _hold_and_lose_the_lease(ops, clock)
    audit = flow_of(ops).service.history(flow_of(ops).service.get(request_id))

    early = ops.run(f"/ops reconcile {request_id}", "carol")
    assert fallbacks_sent(ops) == before, "the node committed before the test could look"
    assert not early.ok
    assert early.title.startswith(
        f"Request {request_id} is not settled yet: its transaction (sequence number "
    )
    assert early.title.endswith(
        f"Nothing was changed; run /ops reconcile {request_id} again after "
        f"{datetime.fromtimestamp(_expires_s(ops, request_id), UTC):%Y-%m-%d %H:%M:%S} UTC."
    )
    _assert_plain(early)
    assert _raw_state(ops, request_id) == Status.NEEDS_RECONCILIATION
    assert flow_of(ops).service.history(flow_of(ops).service.get(request_id)) == audit

    wait_until(lambda: fallbacks_sent(ops) == before + 1, timeout_s=HELD_MS / 1000 + 5)
    settled = ops.run(f"/ops reconcile {request_id}", "carol")
    assert settled.ok, settled
    assert settled.title == (
        f"Request {request_id}: reconciled, found 1 of 1 transaction(s) on chain"
    )
    done = flow_of(ops).service.get(request_id)
    assert done.state == Status.SUCCEEDED
    assert _raw_state(ops, request_id) == Status.SUCCEEDED
    (tx_hash,) = done.tx_hashes
    assert ops.server.ledger.transactions[tx_hash].function is not None
    assert ops.view("price_feed::get_price_view", "1")[0]["fallback_active"] is True


def test_a_held_transaction_past_its_expiration_is_settled_as_not_sent_and_never_lands(
    ops_clocked: Harness, clock: ManualClock
) -> None:
    """Once the chain's clock passes the held transaction's expiration, reconciliation settles the
    request as not sent, and the node that still held it can no longer commit it."""
    ops = ops_clocked
    before = fallbacks_sent(ops)
    request_id, acts_at = _hold_and_lose_the_lease(ops, clock)
    early = ops.run(f"/ops reconcile {request_id}", "carol")
    assert not early.ok
    assert "may still land until" in early.title

    _past_expiration(ops, request_id)
    assert time.monotonic() < acts_at, "the node acted on the transaction before the test could"
    settled = ops.run(f"/ops reconcile {request_id}", "carol")
    assert settled.title == f"Request {request_id}: reconciled, nothing was sent"
    assert flow_of(ops).service.get(request_id).state == Status.FAILED
    assert _raw_state(ops, request_id) == Status.FAILED

    time.sleep(max(0.0, acts_at - time.monotonic()) + 0.5)  # the node acts on what it held
    assert fallbacks_sent(ops) == before
    assert ops.view("price_feed::get_price_view", "1")[0]["fallback_active"] is False
