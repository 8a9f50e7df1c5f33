"""Whatever happens around a request (clicks on current and stale messages, denials, withdrawals,
expiry, restarts of the bot, Redis losing everything), an execution runs exactly the calls its
approver was shown, at most once, and never with fewer than two distinct eligible people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import redis as redis_lib
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from approvals.policy import Policy, Role
from approvals.service import ApprovalService
from approvals.store import RedisApprovalStore
from chatops.flow import ApprovalFlow
from chatops.runner import Runner
from commands.invocation import Invocation
from commands.registry import build_registry
from tests.approvals.clock import ManualClock
from tests.fakes.bot import harness

TTL_S = 600
PEOPLE = ("alice", "bob", "carol", "dave")
POLICY = Policy(
    users={
        "alice": (Role.OPERATOR,),
        "bob": (Role.OPERATOR, Role.APPROVER),
        "carol": (Role.APPROVER,),
        "dave": (Role.VIEWER,),
    },
    ttl_s=TTL_S,
)
# Privileged steps whose calls differ from one another; whether a preflight passes depends on what
# ran before, which is part of what is explored.
LINES = (
    '/feed fallback 1 on 3 "spike"',
    '/feed fallback 1 on 2 "spike"',
    '/feed fallback 1 off 0 "recovered"',
    '/feed fallback 2 on 3 "spike"',
    '/feed fallback 2 off 0 "recovered"',
)
MODES = st.sampled_from(("digest", "id-only", "other-digest", "number-only"))
# Mostly the people who may approve, so that approvals happen often; the others still turn up.
APPROVERS_MOSTLY = st.sampled_from(("bob", "carol", "bob", "carol", "alice", "dave"))
PICK = st.integers(min_value=0, max_value=63)  # which of the messages seen so far


@dataclass(frozen=True)
class Shown:
    """A request as its message showed it: the whole id, the calls' digest and the calls."""

    request_id: str
    digest: str
    calls: tuple[tuple[str, tuple[Any, ...]], ...]
    requester: str


def _calls(raw: list[dict[str, Any]]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    return tuple((c["function"], tuple(str(v) for _t, v in c["args"])) for c in raw)


class ApprovalPath(RuleBasedStateMachine):
    """Drives the runner (console path) of a bot that may restart or lose its Redis; watches the
    devnet for what is really sent."""

    client: ClassVar[redis_lib.Redis]

    def __init__(self) -> None:
        super().__init__()
        # A fresh seeded devnet per example: what an ask finds on chain then depends only on the
        # steps drawn, so a failure replays and shrinks.
        self._devnet = harness(POLICY, redis_client=self.client)
        self.ops = self._devnet.__enter__()
        self.client.flushall()
        self.clock = ManualClock()
        self.runner = self._bot()
        self.shown: list[Shown] = []
        self.executed: set[str] = set()
        self.seen_txs = set(self.ops.server.ledger.transactions)

    def _bot(self) -> Runner:
        """A bot process as wiring builds one (a restart is a new one on the same Redis)."""
        registry = build_registry()
        service = ApprovalService(RedisApprovalStore(self.client), POLICY, self.clock)
        flow = ApprovalFlow(service, self.ops.gateway, registry)
        return Runner(registry, POLICY, self.ops.gateway, approvals=flow)

    def _sent(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Transactions committed since the last look, as (module::function, arguments)."""
        ledger = self.ops.server.ledger
        new = [h for h in ledger.transactions if h not in self.seen_txs]
        self.seen_txs.update(new)
        out = []
        for tx_hash in new:
            tx = ledger.transactions[tx_hash]
            if tx.function is not None:
                function = "::".join(tx.function.split("::")[-2:])
                out.append((function, tuple(str(a) for a in tx.arguments)))
        return out

    def _run(self, line: str, user: str) -> Any:
        return self.runner.handle(Invocation.parse_line(line, user=user))

    @rule(line=st.sampled_from(LINES), requester=st.sampled_from(("alice", "bob")))
    def ask(self, line: str, requester: str) -> None:
        reply = self._run(line, requester)
        assert self._sent() == []  # asking sends nothing
        if reply.ok and reply.state == "pending":
            assert reply.request_id is not None
            assert reply.digest is not None
            stored = self.runner.approvals
            assert isinstance(stored, ApprovalFlow)
            request = stored.service.get(reply.request_id)
            self.shown.append(
                Shown(reply.request_id, reply.digest, _calls(request.calls), requester)
            )

    def _pick(self, index: int) -> Shown | None:
        return self.shown[index % len(self.shown)] if self.shown else None

    @rule(index=PICK, user=APPROVERS_MOSTLY, mode=MODES)
    def approve(self, index: int, user: str, mode: str) -> None:
        """Someone approves a message they saw: by its button (id and digest), its typed id, a
        digest that is not its own, or a bare number."""
        shown = self._pick(index)
        if shown is None:
            return
        target = shown.request_id.split("-")[0] if mode == "number-only" else shown.request_id
        line = f"/ops approve {target}"
        if mode == "digest":
            line += f" digest={shown.digest}"
        elif mode == "other-digest":
            line += f" digest={'f' * 64 if shown.digest != 'f' * 64 else 'e' * 64}"
        reply = self._run(line, user)
        sent = self._sent()
        if not sent:
            return
        # Something went out: it is exactly what this message showed, for the first time, approved
        # by someone other than its requester who may approve.
        assert mode in ("digest", "id-only"), (mode, reply.title)
        assert list(sent) == list(shown.calls)[: len(sent)], (sent, shown)
        assert shown.request_id not in self.executed
        self.executed.add(shown.request_id)
        assert user != shown.requester
        assert POLICY.may_approve(user)
        assert reply.request_id == shown.request_id

    @rule(index=PICK, user=st.sampled_from(PEOPLE))
    def deny(self, index: int, user: str) -> None:
        shown = self._pick(index)
        if shown is None:
            return
        self._run(f"/ops deny {shown.request_id} digest={shown.digest} not now", user)
        assert self._sent() == []

    @rule(index=PICK)
    def withdraw(self, index: int) -> None:
        shown = self._pick(index)
        if shown is None:
            return
        self._run(f"/ops cancel {shown.request_id}", shown.requester)
        assert self._sent() == []

    @rule()
    def expire(self) -> None:
        """Time passes beyond every pending request's expiry, and the sweeper runs."""
        self.clock.advance(TTL_S * 1000 + 1)
        flow = self.runner.approvals
        assert isinstance(flow, ApprovalFlow)
        flow.service.sweep()
        assert self._sent() == []

    @rule()
    def restart(self) -> None:
        self.runner = self._bot()

    @rule(line=st.sampled_from(LINES), requester=st.sampled_from(("alice", "bob")))
    def lose_redis(self, line: str, requester: str) -> None:
        """Redis loses everything (no AOF, a FLUSHALL, a failover to an empty replica), and someone
        asks again at once: the new request gets a number an old message on screen still shows."""
        self.client.flushall()
        self.ask(line, requester)

    def teardown(self) -> None:
        self._devnet.__exit__(None, None, None)


def test_an_execution_runs_only_what_its_approver_saw_once_and_with_two_people(
    redis: redis_lib.Redis,
) -> None:
    """Random interleavings of asks, approvals (current, stale, forged and bare), denials,
    withdrawals, expiry, restarts and total loss of Redis: every transaction that reaches the
    chain is one a second, eligible person approved, bound to the message they saw, and no
    request runs twice."""

    class OnThisDevnet(ApprovalPath):
        pass

    OnThisDevnet.client = redis
    run_state_machine_as_test(
        OnThisDevnet,
        settings=settings(
            max_examples=100,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
