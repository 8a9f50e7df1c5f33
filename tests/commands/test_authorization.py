"""Who may run which step: the role each step declares, applied by the runner before anything runs."""

# The whole catalog is walked, so a step added later is covered without touching this file, except a
# new read step, which must add its example arguments to ``READ_EXAMPLES``.

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals.policy import BreakGlass, Policy, Role, demo_policy
from commands.ports import Plan, StepContext
from commands.registry import NoArgs, action, build_registry, write
from commands.reply import Reply
from tests.fakes.bot import Harness, harness

# A valid invocation of every read step on the seeded devnet, with incident 1 and request 1 present.
READ_EXAMPLES = {
    "/autobot check": "0xb07 auto-close",
    "/autobot list": "",
    "/autobot show": "0xb07",
    "/dualwrite flags": "",
    "/dualwrite pending": "",
    "/dualwrite status": "4",
    "/feed show": "1",
    "/history check": "5",
    "/history list": "",
    "/history status": "5",
    "/history summary": "5",
    "/incident list": "all",
    "/incident log": "",
    "/incident show": "1",
    "/lottery list": "",
    "/lottery show": "1",
    "/lottery status": "1",
    "/lottery accounting": "4",
    "/lottery validate": "1",
    "/ops abort": "0x1809",
    "/ops help": "/feed fallback",
    "/ops pending": "",
    "/ops show": "1",
    "/ops status": "",
    "/payouts caps": "",
    "/payouts plan": "4",
    "/payouts winners": "4",
    "/refund plan": "6",
    "/refund progress": "6",
    "/refund report": "6",
    "/refund state": "",
    "/roles partner-caps": "",
    "/roles premium-caps": "",
    "/vrf request": "1",
    "/vrf status": "",
}


def redis_state(client: redis_lib.Redis) -> dict[bytes, tuple[bytes, object, bool]]:
    """Every key with its type, its whole value and whether it expires: equal before and after
    means nothing was written, deleted or given a TTL."""
    state: dict[bytes, tuple[bytes, object, bool]] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        value: object
        if kind == b"string":
            value = client.get(key)
        elif kind == b"hash":
            value = client.hgetall(key)
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"set":
            value = client.smembers(key)
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"stream":
            value = client.xrange(key)
        else:
            raise AssertionError(f"{key!r} has a type this snapshot does not read: {kind!r}")
        state[key] = (kind, value, client.pttl(key) != -1)
    return state


@pytest.fixture
def ops(redis: redis_lib.Redis) -> Iterator[Harness]:
    """The demo policy's people on the seeded devnet, with an incident and a pending request
    opened by alice, so that every read step has something to read."""
    with harness(redis_client=redis) as h:
        opened = h.run('/incident open asset:1 warning "price spike"')
        asked = h.run('/feed fallback 1 on 3 "spike"')
        assert opened.title == "Incident #1 opened", opened
        assert (asked.request_id or "").startswith("1-"), asked
        yield h


def _refused(reply: Reply, step_path: str, role: Role) -> bool:
    return (
        not reply.ok and reply.title == f"{step_path} needs the {role} role, which you do not have."
    )


def test_a_viewer_is_refused_every_step_that_is_not_a_read_before_anything_changes(
    ops: Harness, redis: redis_lib.Redis
) -> None:
    """dave (viewer) is refused each write and action step of the catalog for want of its role,
    before its arguments are even read: no Redis key and no transaction changes."""
    steps = [s for s in ops.runner.registry if s.kind != "read"]
    assert len(steps) > 40  # the walk covers the catalog, not an empty list
    for step in steps:
        before, sent = redis_state(redis), ops.tx_count
        reply = ops.run(f"{step.path}", "dave")
        assert _refused(reply, step.path, step.role), (step.path, reply.title)
        assert redis_state(redis) == before, step.path
        assert ops.tx_count == sent, step.path


def test_every_read_step_run_by_a_viewer_changes_no_redis_key_and_sends_nothing(
    ops: Harness, redis: redis_lib.Redis
) -> None:
    """Each read step, run by dave with valid arguments, answers and leaves every Redis key (value
    and TTL) and the chain as they were: ``@read`` really changes nothing.

    The requests are fresh, so the sweep that ``/ops show`` and ``/ops pending`` run first has
    nothing due; expiring a due request is the sweeper's housekeeping, which any reader may bring
    forward, and is tested with the approvals."""
    reads = {s.path for s in ops.runner.registry if s.kind == "read"}
    assert reads == set(READ_EXAMPLES), "a read step without an example (or a stale example)"
    for path, args in READ_EXAMPLES.items():
        before, sent = redis_state(redis), ops.tx_count
        reply = ops.run(f"{path} {args}".strip(), "dave")
        assert reply.ok or reply.checks, (path, reply.title)  # a check that fails is an answer too
        assert redis_state(redis) == before, path
        assert ops.tx_count == sent, path


def test_the_roles_the_catalog_declares() -> None:
    """Incident changes and request withdrawal need an operator, approval decisions and
    reconciliation an approver, transactions an operator; only reads are open to viewers."""
    registry = build_registry()
    role = {s.path: s.role for s in registry}
    for name in ("open", "assign", "note", "mitigate", "resolve"):
        assert role[f"/incident {name}"] is Role.OPERATOR
    assert role["/ops cancel"] is Role.OPERATOR
    for name in ("approve", "deny", "reconcile"):
        assert role[f"/ops {name}"] is Role.APPROVER
    assert all(s.role is Role.OPERATOR for s in registry if s.plan is not None)
    assert all(not s.calls for s in registry if s.kind == "read")
    assert [s.path for s in registry if s.break_glass] == ["/refund stop"]


def test_a_step_cannot_be_declared_a_viewer_write_or_an_unprivileged_break_glass() -> None:
    """``@write`` refuses the viewer role, and break-glass is only for a privileged action: both
    fail when the module is imported, not when someone runs the step."""

    def plan(_ctx: StepContext, _args: NoArgs) -> Plan:
        raise AssertionError("never planned")

    with pytest.raises(ValueError, match="more than the viewer role"):
        write("/x", "y", summary="s", runbook="r", role=Role.VIEWER)
    with pytest.raises(ValueError, match="only if it is privileged"):
        action("/x", "y", summary="s", runbook="r", calls=(), privileged=False, break_glass=True)(
            plan
        )
    assert action("/x", "y", summary="s", runbook="r", calls=(), break_glass=True)(plan).break_glass


def test_break_glass_is_refused_for_a_step_the_catalog_does_not_mark_capable(
    redis: redis_lib.Redis,
) -> None:
    """Even a policy built in code that lists /feed fallback for break-glass cannot make one person
    move the price feed alone: the runner refuses, and nothing is recorded or sent."""
    reckless = demo_policy().model_copy(
        update={"break_glass": BreakGlass(enabled=True, steps=("feed.fallback", "refund.stop"))}
    )
    with harness(reckless, redis_client=redis) as h:
        before, sent = redis_state(redis), h.tx_count
        reply = h.run('/feed fallback 1 on 3 "spike" --break-glass', "bob")
        assert not reply.ok
        assert reply.title == (
            "Break-glass is not allowed for /feed fallback: only /refund stop can break glass."
        )
        assert redis_state(redis) == before
        assert h.tx_count == sent


def _channel_policy(*channels: str) -> Policy:
    return demo_policy().model_copy(update={"privileged_channels": channels})


@pytest.mark.parametrize(
    ("channels", "allowed"),
    [((), True), (("C0OPS00001",), False), (("C0OPS00001", "console"), True)],
    ids=["no-channel-rule", "console-not-listed", "console-listed"],
)
def test_the_console_requests_privileged_steps_only_where_the_policy_allows(
    redis: redis_lib.Redis, channels: tuple[str, ...], allowed: bool
) -> None:
    """With ``privileged_channels`` set, the console (channel ``console``) may request a privileged
    step only if listed; refused, nothing is recorded. Steps needing no second person still run."""
    with harness(_channel_policy(*channels), redis_client=redis) as h:
        before = redis_state(redis)
        reply = h.run('/feed fallback 1 on 3 "spike"', "alice")
        if allowed:
            assert reply.ok, reply
            assert (reply.request_id or "").startswith("1-")
        else:
            assert not reply.ok
            assert "can only be requested in the operations channels" in reply.title
            assert redis_state(redis) == before
        activated = h.run("/lottery activate 2", "alice")
        assert activated.ok, activated
