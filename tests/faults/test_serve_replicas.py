"""Two ``chatops serve --http`` processes on one Redis and one chain, clicked at as Slack would: fifty
approvers at once across both execute the request exactly once, and the first request a freshly
started process ever gets, an Approve click, executes (no set-up left to a first slash command)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis as redis_lib

from approvals.models import Status
from approvals.policy import Policy, Role
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from chatops.slack.ids import APPROVE_ACTION_ID
from chatops.wiring import DEVNET_CHAIN_ID, embedded_devnet
from tests.conftest import REPO_ROOT, free_port, wait_until
from tests.fakes.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    SignedRequest,
    signed_block_actions,
    signed_slash_command,
)
from tests.fakes.slack_web_api import (
    DEFAULT_BOT_TOKEN,
    ApiCall,
    SlackUser,
    SlackWebApiDouble,
)

ALICE = "U0ALICE001"
APPROVERS = [f"U0APPR{i:04d}" for i in range(50)]
GROUP = "S0APPROVERS"
CHANNEL = "C0OPS00001"
FALLBACK = ("/feed", 'fallback 1 on 3 "spike"')

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def slack_api() -> Iterator[SlackWebApiDouble]:
    users = [SlackUser(id=ALICE, name="alice"), *(SlackUser(id=u, name=u) for u in APPROVERS)]
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN], users=users, usergroups={GROUP: APPROVERS}, team_id=TEAM_ID
    ) as api:
        yield api


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[tuple[DevnetServer, Path]]:
    """The chain both processes share, and the package account's key file they sign with."""
    with embedded_devnet() as (server, admin):
        key_file = tmp_path / "package.key"
        admin.write_key_file(key_file)
        yield server, key_file


@contextmanager
def serve(
    tmp_path: Path, name: str, env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One ``chatops serve --http`` process; yields its base URL once /healthz answers."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--http"],
            cwd=tmp_path,
            env={**env, "CHATOPS_HTTP_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout_s=60, interval_s=0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()


def _env(
    tmp_path: Path,
    redis_server: str,
    slack_api: SlackWebApiDouble,
    devnet: tuple[DevnetServer, Path],
) -> dict[str, str]:
    server, key_file = devnet
    policy = tmp_path / "policy.yml"
    policy.write_text(f"users:\n  {ALICE}: [operator]\ngroups:\n  {GROUP}: approver\n")
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "LANG": "C.UTF-8",
        "REDIS_URL": redis_server,
        "SLACK_API_URL": slack_api.url,
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "CHATOPS_POLICY_FILE": str(policy),
        "SUPRA_RPC_URL": server.url,
        "SUPRA_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "CHATOPS_SIGNER_KEY_FILE": str(key_file),
        "LOTTERY_ADDRESS": PACKAGE_ADDRESS,
    }


def _post(base: str, request: SignedRequest) -> int:
    """Deliver a signed request to a process as Slack would: HTTP POST to /slack/events."""
    url = f"{base}/slack/events"
    return httpx.post(url, content=request.body, headers=request.headers, timeout=30).status_code


def _ask(base: str, slack_api: SlackWebApiDouble) -> tuple[str, str, str]:
    """alice asks through ``base``; (request id, its Approve button's value, the message ts)."""
    command, text = FALLBACK
    assert (
        _post(base, signed_slash_command(command, text, user_id=ALICE, channel_id=CHANNEL)) == 200
    )

    def posted() -> list[ApiCall]:
        return [
            c
            for c in slack_api.calls("chat.postMessage")
            if any(block.get("type") == "actions" for block in c.params.get("blocks", []))
        ]

    wait_until(lambda: bool(posted()), timeout_s=20)
    message = posted()[-1]
    value = next(
        str(element["value"])
        for block in message.params["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == APPROVE_ACTION_ID
    )
    return value.split(":")[0], value, str(message.response["ts"])


def _fallbacks(server: DevnetServer) -> int:
    return sum(
        1
        for tx in server.ledger.transactions.values()
        if tx.function is not None and tx.function.endswith("::price_feed::set_fallback")
    )


def _service(client: redis_lib.Redis) -> ApprovalService:
    return ApprovalService(RedisApprovalStore(client), Policy(users={ALICE: (Role.OPERATOR,)}))


def test_fifty_clicks_across_two_processes_execute_once(
    tmp_path: Path,
    redis_server: str,
    redis: redis_lib.Redis,
    slack_api: SlackWebApiDouble,
    devnet: tuple[DevnetServer, Path],
) -> None:
    """Fifty approvers click Approve at once, half on each process: one transaction reaches the
    chain, the request ends succeeded with one approver, and nobody reads "Internal error"."""
    server = devnet[0]
    env = _env(tmp_path, redis_server, slack_api, devnet)
    with serve(tmp_path, "a", env) as (first, _a), serve(tmp_path, "b", env) as (second, _b):
        request_id, value, ts = _ask(first, slack_api)
        before = _fallbacks(server)
        clicks = [
            signed_block_actions(
                APPROVE_ACTION_ID, value, user_id=user, channel_id=CHANNEL, message_ts=ts
            )
            for user in APPROVERS
        ]
        start = threading.Barrier(len(clicks))
        answers: list[int] = []

        def click(index: int) -> None:
            start.wait()
            answers.append(_post((first, second)[index % 2], clicks[index]))

        threads = [threading.Thread(target=click, args=(i,)) for i in range(len(clicks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        service = _service(redis)
        wait_until(lambda: service.get(request_id).is_final, timeout_s=60)
        wait_until(lambda: len(slack_api.calls("chat.postEphemeral")) >= len(APPROVERS) - 1, 60)

    assert answers == [200] * len(APPROVERS)
    assert _fallbacks(server) == before + 1
    done = service.get(request_id)
    assert done.state == Status.SUCCEEDED
    assert len(done.approvers) == 1
    assert done.approvers[0] in APPROVERS
    assert "Internal error" not in str([c.params for c in slack_api.calls()])


def test_the_first_click_a_restarted_process_gets_executes(
    tmp_path: Path,
    redis_server: str,
    redis: redis_lib.Redis,
    slack_api: SlackWebApiDouble,
    devnet: tuple[DevnetServer, Path],
) -> None:
    """alice asks through one process, which then stops; a new process, whose first request ever
    is bob's Approve click, executes the request once."""
    server = devnet[0]
    env = _env(tmp_path, redis_server, slack_api, devnet)
    with serve(tmp_path, "before", env) as (before_restart, _old):
        request_id, value, ts = _ask(before_restart, slack_api)
    sent = _fallbacks(server)
    with serve(tmp_path, "after", env) as (after_restart, _new):
        click = signed_block_actions(
            APPROVE_ACTION_ID, value, user_id=APPROVERS[0], channel_id=CHANNEL, message_ts=ts
        )
        assert _post(after_restart, click) == 200
        service = _service(redis)
        wait_until(lambda: service.get(request_id).is_final, timeout_s=30)

    assert _fallbacks(server) == sent + 1
    assert service.get(request_id).state == Status.SUCCEEDED
    assert "Internal error" not in str([c.params for c in slack_api.calls()])
