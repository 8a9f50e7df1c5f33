"""The whole bot for tests (any folder): a seeded devnet over real HTTP, the real gateway and runner."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis

from approvals.policy import Policy, demo_policy
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway
from chatops.chain.state_reader import ResourceStateReader
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from chatops.runner import Runner, execute_plan
from chatops.wiring import DEVNET_CHAIN_ID, build_runner, embedded_devnet
from commands.invocation import Invocation
from commands.ports import StepContext
from commands.registry import Registry, build_registry
from commands.reply import Reply


@dataclass
class Harness:
    """Types commands as a person would and inspects the devnet afterwards."""

    server: DevnetServer
    gateway: Gateway
    runner: Runner
    progress: list[str] = field(default_factory=list)

    def run(self, line: str, user: str = "alice") -> Reply:
        """Run a line through the runner exactly as the console does."""
        return self.runner.handle(
            Invocation.parse_line(line, user=user), progress=self.progress.append
        )

    def needs_approval(self, line: str, user: str = "alice") -> Reply:
        """Run privileged ``line``: it passes its checks but is refused for want of a second
        person (this harness has no approvals flow), and nothing is sent. The reply."""
        before = self.tx_count
        reply = self.run(line, user)
        assert not reply.ok
        assert "needs a second person" in reply.title
        assert self.tx_count == before
        return reply

    def execute(self, line: str, user: str = "alice") -> Reply:
        """Plan and execute a step directly, as the runner does once a privileged step is approved.

        Preflight failures still raise (nothing is sent); used until the approval flow exists.
        """
        inv = Invocation.parse_line(line, user=user)
        step, args = self.runner.resolve(inv)
        if step.plan is None:
            raise AssertionError(f"{step.path} is not an action")
        ctx = StepContext(
            chain=self.gateway, user=user, progress=self.progress.append, cancel=threading.Event()
        )
        return execute_plan(ctx, step, args, step.plan(ctx, args))

    def advance(self, secs: int) -> None:
        """Move the devnet clock through its public endpoint."""
        response = httpx.post(
            f"{self.server.url}/devnet/clock", json={"advance_secs": secs}, timeout=5
        )
        response.raise_for_status()

    def events(self, struct: str) -> list[dict[str, Any]]:
        """Data of every committed event whose type ends with ``::struct``, oldest first."""
        suffix = "::" + struct
        return [e.data for e in self.server.ledger.events if e.type.endswith(suffix)]

    def view(self, function: str, *args: Any) -> list[Any]:
        """A read through the gateway (args as chain JSON)."""
        return self.gateway.client.view(f"{PACKAGE_ADDRESS}::{function}", list(args))

    @property
    def tx_count(self) -> int:
        return len(self.server.ledger.transactions)


@contextmanager
def harness(
    policy: Policy | None = None,
    *,
    strict_views: bool = False,
    redis_client: redis.Redis | None = None,
    seed: bool = True,
    registry: Registry | None = None,
) -> Iterator[Harness]:
    """A devnet (seeded unless ``seed=False``), the gateway and the runner over ``registry`` (the
    whole catalog unless given); with ``redis_client`` the two-person flow too."""
    with embedded_devnet(strict_views=strict_views, seed=seed) as (server, admin):
        client = ChainClient(server.url, chain_id=DEVNET_CHAIN_ID, max_attempts=1)
        reader = ResourceStateReader(client, PACKAGE_ADDRESS)
        gateway = Gateway(client, admin, PACKAGE_ADDRESS, state_reader=reader)
        if redis_client is not None:
            runner = build_runner(gateway, policy or demo_policy(), redis_client, registry=registry)
        else:
            runner = Runner(registry or build_registry(), policy or demo_policy(), gateway)
        try:
            yield Harness(server, gateway, runner)
        finally:
            client.close()


def changed(reply: Reply) -> list[str]:
    """The state changes a reply lists (its "Changed" fields), in order."""
    return [f.value for f in reply.fields if f.label == "Changed"]


def apply(h: Harness, function: str, *args: object) -> None:
    """A transaction signed by the package account, outside the bot (as another operator would):
    how a test sets up chain state."""
    h.server.ledger.apply(function, list(args))


def payout_cap(
    max_batch: int = 100, budget: int = 10**15, cooldown: int = 0, stride: int = 1
) -> Callable[[Harness], None]:
    """A set-up that grants the package a PayoutBatchCap with these limits."""

    def setup(h: Harness) -> None:
        apply(
            h,
            "roles::set_payout_batch_cap_admin",
            PACKAGE_ADDRESS,
            max_batch,
            budget,
            cooldown,
            stride,
        )

    return setup


def paid_out(lottery_id: int) -> Callable[[Harness], None]:
    """A set-up that records the next payout batch paying every winner and all the prize and
    operations left of a lottery in Payout (as another operator would, outside the bot)."""

    def setup(h: Harness) -> None:
        [acc] = h.view("views::accounting_snapshot", str(lottery_id))
        [progress] = h.view("payouts::winner_progress", str(lottery_id))
        apply(
            h,
            "payouts::record_payout_batch_admin",
            lottery_id,
            int(progress["payout_round"]) + 1,
            int(progress["total_required"]),
            int(acc["total_allocated"]) - int(acc["total_prize_paid"]),
            int(acc["total_operations_allocated"]) - int(acc["total_operations_paid"]),
            h.gateway.now_s(),
        )

    return setup


def no_payout_cap(h: Harness) -> None:
    """A set-up that revokes the PayoutBatchCap."""
    apply(h, "roles::revoke_payout_batch_cap_admin")


def nothing(h: Harness) -> None:
    """The set-up that changes nothing (the seeded state)."""
    return
