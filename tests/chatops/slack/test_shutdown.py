"""Stopping with work in flight: commands already taken finish and are answered, commands arriving
meanwhile are told the bot is restarting, and a grace period that runs out cancels procedures
between transactions. First on the Bolt app's executor, then on ``chatops serve`` and SIGTERM.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_lib

from chatops.slack.app import build_bolt_app
from chatops.slack.deps import SlackDeps
from chatops.slack.executor import Unfinished
from chatops.slack.invocations import RESTARTING_TEXT
from tests.chatops.slack.conftest import (
    ALICE,
    BOB,
    Served,
    Slack,
    ack_text,
    all_text,
    make_deps,
    procedures_registry,
    serve_env,
    serve_variables,
    slack_policy,
    slow_chain,
    start_serve,
)
from tests.conftest import free_port, wait_until
from tests.fakes.bot import Harness, harness
from tests.fakes.slack_web_api import ApiCall, SlackWebApiDouble

TIMEOUT_S = 30.0


def ephemerals_to(api: SlackWebApiDouble, user: str) -> list[ApiCall]:
    return [c for c in api.calls("chat.postEphemeral") if c.params.get("user") == user]


def draining(deps: SlackDeps, grace_s: float) -> tuple[threading.Thread, list[Unfinished]]:
    """Start ``deps.executor.drain(grace_s)`` as ``serve`` does on SIGTERM, on a thread; returns the
    thread and the list that receives what was left running."""
    left: list[Unfinished] = []
    thread = threading.Thread(target=lambda: left.extend(deps.executor.drain(grace_s)))
    thread.start()
    wait_until(lambda: deps.executor.is_closing)
    return thread, left


# -- the Bolt app's executor ---------------------------------------------------------------------


def test_a_slow_command_in_flight_finishes_and_a_new_one_is_told_to_retry(
    slack: Slack, deps: SlackDeps, ops: Harness
) -> None:
    """A /feed show whose chain read takes two seconds is still answered with its result after the
    drain began; a command typed meanwhile gets the "restarting" refusal at once, in its ack."""
    slow_chain(ops, delay_ms=2000, count=1)
    assert slack.command("/feed show 1", ALICE).status == 200
    wait_until(lambda: deps.executor.in_flight() != [])

    drain, left = draining(deps, grace_s=20)
    refused = slack.command("/feed show 2", BOB)
    answered_before = slack.api.calls("chat.postMessage")  # refused while the first still works
    drain.join(TIMEOUT_S)

    (answer,) = slack.api.calls("chat.postMessage")
    assert not drain.is_alive()
    assert left == []
    assert refused.status == 200
    assert RESTARTING_TEXT in ack_text(refused)
    assert answered_before == []
    assert "Asset 1" in all_text(answer)
    assert "error" not in all_text(answer).lower()
    assert slack.api.calls("chat.postEphemeral") == []
    assert "Asset 2" not in "".join(all_text(c) for c in slack.api.calls())


@pytest.fixture
def runs(redis: redis_lib.Redis) -> Iterator[Harness]:
    """A devnet whose catalog lets ``/payouts run`` go without a second person."""
    with harness(slack_policy(), redis_client=redis, registry=procedures_registry()) as h:
        yield h


def test_grace_running_out_cancels_a_procedure_between_transactions(
    runs: Harness, slack_api: SlackWebApiDouble, redis: redis_lib.Redis
) -> None:
    """With one worker busy on a forty-batch run and a command queued behind it, a 10 s grace
    period runs out: in its last 2 s the run stops between two batches and tells its asker what was
    sent, and the queued command is never run and its asker is told the bot is restarting."""
    deps = make_deps(runs, slack_api, redis, max_workers=1)
    slack = Slack(build_bolt_app(deps), slack_api, runs)
    slow_chain(runs, delay_ms=60, count=100_000)  # a batch takes 0.4 s or more, the run 16 s
    before = sum(1 for e in runs.server.ledger.events if e.type.endswith("::PayoutBatchEvent"))
    assert slack.command("/payouts run 4 40 0 0 1000000", ALICE).status == 200
    assert slack.command("/feed show 1", BOB).status == 200
    wait_until(lambda: len(deps.executor.in_flight()) == 2)

    started = time.monotonic()
    drain, left = draining(deps, grace_s=10)
    drain.join(TIMEOUT_S)
    elapsed = time.monotonic() - started

    slack_api.wait_for("chat.postEphemeral", count=2, timeout_s=TIMEOUT_S)
    sent = sum(1 for e in runs.server.ledger.events if e.type.endswith("::PayoutBatchEvent"))
    sent -= before
    cancelled = [c for c in ephemerals_to(slack_api, ALICE) if "Cancelled after" in all_text(c)]
    assert left == []
    assert 8 <= elapsed < 10.5
    assert 0 < sent < 40
    assert len(cancelled) == 1
    assert f"Cancelled after {sent} of 40 transactions; nothing more sent" in all_text(cancelled[0])
    (restarting,) = ephemerals_to(slack_api, BOB)
    assert RESTARTING_TEXT in all_text(restarting)
    assert not any("Asset 1" in all_text(c) for c in slack_api.calls())


# -- chatops serve and SIGTERM -------------------------------------------------------------------


@pytest.fixture
def served(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_server: str,
    slack_api: SlackWebApiDouble,
    redis: redis_lib.Redis,
) -> Iterator[Served]:
    """``chatops serve --http`` on the embedded devnet, the test Redis and the Web API double;
    ``CHATOPS_SHUTDOWN_GRACE_S`` is 20 unless the test passes another (indirect parametrize)."""
    grace_s = str(getattr(request, "param", 20))
    port = free_port()
    variables = serve_variables(tmp_path, redis_server, slack_api, port)
    env = serve_env({**variables, "CHATOPS_SHUTDOWN_GRACE_S": grace_s})
    served = start_serve(tmp_path, env, port, "--http")
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_sigterm_lets_the_command_in_flight_answer_and_refuses_new_ones(
    served: Served, slack_api: SlackWebApiDouble
) -> None:
    """SIGTERM while a command waits on Slack for four seconds: /readyz turns 503, a command sent
    then is told the bot is restarting (in its ack), the first command is answered with its result (not an
    internal error: the chain client and Redis were still open), and serve exits 0."""
    slack_api.set_latency("users.info", 4.0)  # the command's first step, on the executor
    assert served.post_command("/feed show 1", ALICE) == 200
    wait_until(lambda: served.in_flight() == 1, timeout_s=10)

    served.proc.send_signal(signal.SIGTERM)

    def not_ready() -> bool:
        ready = httpx.get(f"{served.base}/readyz", timeout=5)
        return ready.status_code == 503 and ready.json()["checks"]["accepting"] is False

    wait_until(not_ready, timeout_s=10)
    refused = served.command("/feed show 2", ALICE)
    answered_before = slack_api.calls("chat.postMessage")
    (answer,) = slack_api.wait_for("chat.postMessage", timeout_s=TIMEOUT_S)
    returncode = served.proc.wait(timeout=TIMEOUT_S)

    output = served.log.read_text()
    assert returncode == 0, output
    assert refused.status_code == 200
    assert RESTARTING_TEXT in refused.json()["text"]
    assert refused.json()["response_type"] == "ephemeral"
    assert answered_before == []
    assert "Asset 1" in all_text(answer)
    assert len(slack_api.calls("chat.postMessage")) == 1
    assert slack_api.calls("chat.postEphemeral") == []
    assert "waiting up to 20 s for 1 in flight" in output
    assert "stopped" in output
    assert "Internal error" not in output
    assert "Traceback" not in output
    assert "still running" not in output


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("served", [1], indirect=True)
def test_sigterm_with_a_stuck_command_exits_after_the_grace_period_naming_it(
    served: Served, slack_api: SlackWebApiDouble
) -> None:
    """With a one-second grace period and a command stuck for twenty seconds, serve exits 0 within a
    few seconds of SIGTERM, and its log names the command that was still running."""
    slack_api.set_latency("users.info", 20.0)
    assert served.post_command("/feed show 1", ALICE) == 200
    wait_until(lambda: served.in_flight() == 1, timeout_s=10)

    started = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    returncode = served.proc.wait(timeout=TIMEOUT_S)
    elapsed = time.monotonic() - started

    output = served.log.read_text()
    assert returncode == 0, output
    assert elapsed < 10, output
    assert f"still running: /feed show (by {ALICE})" in output
    assert slack_api.calls("chat.postMessage") == []
