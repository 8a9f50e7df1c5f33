"""A chain double at the chain's edge: the devnet gateway with chosen reads answered differently, for
checks guarding states this contract cannot reach through its own transactions (a config failing
validate_config after creation, a switch with force_enable_devnet, an overpayment between batches)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from chatops.chain.calls import ChainCall, TypedArg
from chatops.runner import Runner, execute_plan
from commands.invocation import Invocation
from commands.ports import ChainPort, Events, Outcome, StepContext
from commands.reply import Check, Reply
from tests.fakes.bot import Harness

Override = Callable[[Sequence[TypedArg]], list[Any]]


class ScriptedChain:
    """``ChainPort`` over ``inner``; reads named in ``overrides`` get the override's answer."""

    def __init__(self, inner: ChainPort, overrides: dict[str, Override] | None = None) -> None:
        self.inner = inner
        self.overrides = dict(overrides or {})
        self.submitted: list[Outcome] = []

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        override = self.overrides.get(function)
        if override is not None:
            return override(args)
        return self.inner.read(function, args)

    def simulate(self, call: ChainCall) -> Events:
        return self.inner.simulate(call)

    def submit(self, call: ChainCall) -> Outcome:
        outcome = self.inner.submit(call)
        self.submitted.append(outcome)
        return outcome

    def chain_id(self) -> int:
        return self.inner.chain_id()

    def block_height(self) -> int:
        return self.inner.block_height()

    def now_s(self) -> int:
        return self.inner.now_s()

    def package_address(self) -> str:
        return self.inner.package_address()


def run_on(ops: Harness, chain: ChainPort, line: str, user: str = "alice") -> Reply:
    """``ops.run`` with the runner talking to ``chain`` instead of the gateway."""
    runner = Runner(ops.runner.registry, ops.runner.policy, chain)
    return runner.handle(Invocation.parse_line(line, user=user), progress=ops.progress.append)


def execute_on(ops: Harness, chain: ChainPort, line: str, user: str = "alice") -> Reply:
    """``ops.execute`` (plan + execute_plan, as after an approval) against ``chain``."""
    step, args = ops.runner.resolve(Invocation.parse_line(line, user=user))
    if step.plan is None:
        raise AssertionError(f"{step.path} is not an action")
    ctx = StepContext(
        chain=chain, user=user, progress=ops.progress.append, cancel=threading.Event()
    )
    return execute_plan(ctx, step, args, step.plan(ctx, args))


def failed_check(reply: Reply, name: str) -> Check:
    """The failed check called ``name`` in a refused reply (fails the test if it passed or is absent)."""
    assert not reply.ok, reply
    for check in reply.checks:
        if check.name == name:
            assert not check.ok, check
            return check
    raise AssertionError(f"no check {name!r} in {[c.name for c in reply.checks]}")


def first_failed(reply: Reply) -> Check:
    """The first failed check of a refused reply (fails the test if the reply passed)."""
    assert not reply.ok, reply
    return next(c for c in reply.checks if not c.ok)


def assert_refused(ops: Harness, line: str, name: str, seen: str, required: str) -> None:
    """``line`` is refused by its first failed check, ``name``, with what it saw and needed in its
    text, and sends nothing."""
    before = ops.tx_count
    failed = first_failed(ops.run(line))
    assert failed.name == name
    assert seen in failed.seen
    assert required in failed.required
    assert ops.tx_count == before


def passed(reply: Reply) -> list[str]:
    """Names of the checks that passed."""
    return [c.name for c in reply.checks if c.ok]
