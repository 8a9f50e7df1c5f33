"""Privileged steps through the real runner: request, approval by a second person, one execution on
the devnet, fresh preflight and digest at execution time, restarts, /ops pending and /ops show."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis as redis_lib

from approvals.models import Status
from approvals.policy import BreakGlass, demo_policy
from chatops.flow import ApprovalFlow
from chatops.notify.journal import Journal, export_md
from chatops.runner import Runner
from chatops.wiring import build_runner
from commands.invocation import Invocation
from commands.ports import Actor
from commands.reply import Reply
from tests.fakes.bot import Harness, harness

FALLBACK = '/feed fallback 1 on 3 "spike"'


def _sent(ops: Harness, function: str) -> int:
    """Committed transactions of ``module::name`` on the devnet, seed included."""
    return sum(
        1
        for tx in ops.server.ledger.transactions.values()
        if tx.function is not None and tx.function.endswith("::" + function)
    )


def _flow(runner: Runner) -> ApprovalFlow:
    flow = runner.approvals
    assert isinstance(flow, ApprovalFlow)
    return flow


def _request(ops: Harness, line: str = FALLBACK, user: str = "alice") -> str:
    reply = ops.run(line, user)
    assert reply.ok, reply
    assert reply.state == Status.PENDING
    assert reply.request_id is not None
    return reply.request_id


@pytest.fixture
def second_client(redis_server: str) -> Iterator[redis_lib.Redis]:
    """Another connection to the test Redis, as a restarted bot would open."""
    client = redis_lib.Redis.from_url(redis_server)
    yield client
    client.close()


def test_privileged_step_becomes_a_request_with_checks_and_simulation(ops2: Harness) -> None:
    """A privileged step sends nothing: it answers with a request id, its checks, calls and a simulation."""
    before = _sent(ops2, "set_fallback")
    reply = ops2.run(FALLBACK, "alice")
    assert reply.ok
    assert reply.request_id is not None
    assert reply.title.startswith(f"Request {reply.request_id}: Fallback on for asset 1")
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Simulation"].startswith("succeeds")
    assert fields["Requested by"] == "alice"
    assert fields["Reason"] == "spike"
    assert fields["Call 1"] == 'price_feed::set_fallback(u64:"1", bool:true, u8:3)'
    assert fields["Approvals"] == "0/1"
    assert [(c.name, c.ok) for c in reply.checks] == [("fallback state changes", True)]
    assert f"/ops approve {reply.request_id}" in reply.follow_ups[0]
    assert _sent(ops2, "set_fallback") == before
    assert ops2.view("price_feed::get_price_view", "1")[0]["fallback_active"] is False


def test_requester_and_viewer_cannot_approve(ops2: Harness) -> None:
    """alice (the requester, an operator) and dave (a viewer) are refused for want of the approver
    role before anything is recorded; nothing is sent."""
    before = _sent(ops2, "set_fallback")
    request_id = _request(ops2)
    by_alice = ops2.run(f"/ops approve {request_id}", "alice")
    by_dave = ops2.run(f"/ops approve {request_id}", "dave")
    assert not by_alice.ok
    assert by_alice.title == "/ops approve needs the approver role, which you do not have."
    assert not by_dave.ok
    assert by_dave.title == by_alice.title
    assert _flow(ops2.runner).service.get(request_id).state == Status.PENDING
    assert _sent(ops2, "set_fallback") == before


def test_an_approver_cannot_approve_their_own_request(ops2: Harness) -> None:
    """bob asks as an operator and is refused as his own second person; nothing is sent."""
    before = _sent(ops2, "set_fallback")
    request_id = _request(ops2, user="bob")
    reply = ops2.run(f"/ops approve {request_id}", "bob")
    assert not reply.ok
    assert "a second person must approve it" in reply.title
    assert _flow(ops2.runner).service.get(request_id).state == Status.PENDING
    assert _sent(ops2, "set_fallback") == before


def test_second_person_approval_executes_exactly_once(ops2: Harness) -> None:
    """bob's approval runs the fallback once: the view shows it on and one event was emitted."""
    before = _sent(ops2, "set_fallback")
    request_id = _request(ops2)
    reply = ops2.run(f"/ops approve {request_id}", "bob")
    assert reply.ok, reply
    assert reply.title.startswith(f"Request {request_id} executed")
    assert reply.state == Status.SUCCEEDED
    again = ops2.run(f"/ops approve {request_id}", "carol")
    assert not again.ok
    assert "succeeded" in again.title
    view = ops2.view("price_feed::get_price_view", "1")[0]
    assert (view["fallback_active"], view["fallback_reason"]) == (True, 3)
    assert [e["asset_id"] for e in ops2.events("PriceFeedFallbackEvent")] == ["1"]
    assert _sent(ops2, "set_fallback") == before + 1
    done = _flow(ops2.runner).service.get(request_id)
    tx_hash = next(
        h
        for h, tx in ops2.server.ledger.transactions.items()
        if tx.function is not None and tx.function.endswith("::set_fallback")
    )
    assert done.tx_hashes == (tx_hash,)
    assert done.approvers == ("bob",)


def test_privileged_step_without_reason_asks_for_one(ops2: Harness) -> None:
    """A privileged step with no reason argument and no reason= word is a usage error naming reason=."""
    reply = ops2.run("/feed update 1 1300000", "alice")
    assert not reply.ok
    assert 'reason="why this is needed"' in reply.title
    assert 'reason="..."' in reply.text
    assert _flow(ops2.runner).service.pending() == (0, [])
    with_reason = ops2.run('/feed update 1 1300000 reason="provider confirmed"', "alice")
    assert with_reason.ok
    assert with_reason.state == Status.PENDING


def test_execution_refuses_when_the_preflight_no_longer_holds(ops2: Harness) -> None:
    """A clamp cleared on chain after the request makes the approved clear-clamp fail its check, unsent."""
    now = ops2.server.ledger.now_s
    ops2.server.ledger.apply("price_feed::update_price", [1, 10**9, now])
    assert ops2.view("price_feed::get_price_view", "1")[0]["clamp_active"] is True
    request_id = _request(ops2, '/feed clear-clamp 1 reason="provider confirmed"')
    ops2.server.ledger.apply("price_feed::clear_clamp", [1, now])
    before = _sent(ops2, "clear_clamp")

    reply = ops2.run(f"/ops approve {request_id}", "bob")
    assert not reply.ok
    assert reply.state == Status.FAILED
    assert "preflight no longer holds" in reply.title
    assert [(c.name, c.ok) for c in reply.checks] == [("clamp_active = true", False)]
    assert _sent(ops2, "clear_clamp") == before
    done = _flow(ops2.runner).service.get(request_id)
    assert (done.state, done.tx_hashes, done.submit_seq) == (Status.FAILED, (), None)


def test_execution_refuses_when_the_calls_changed(ops2: Harness) -> None:
    """Another payout batch recorded after the request moves the round: the calls differ, nothing is sent."""
    request_id = _request(ops2, '/payouts batch 4 1 operations-paid=10 reason="round one"')
    now = ops2.server.ledger.now_s
    ops2.server.ledger.apply("payouts::record_payout_batch_admin", [4, 1, 1, 1000, 10, now])
    before = _sent(ops2, "record_payout_batch_admin")

    reply = ops2.run(f"/ops approve {request_id}", "bob")
    assert not reply.ok
    assert reply.state == Status.FAILED
    assert "the calls would differ from what was approved" in reply.title
    assert _sent(ops2, "record_payout_batch_admin") == before
    assert _flow(ops2.runner).service.get(request_id).submit_seq is None


def test_request_survives_a_bot_restart(ops2: Harness, second_client: redis_lib.Redis) -> None:
    """A request made before a restart is approved and executed by the new bot, exactly once."""
    before = _sent(ops2, "set_fallback")
    request_id = _request(ops2)
    restarted = build_runner(ops2.gateway, demo_policy(), second_client)

    pending = restarted.handle(Invocation.parse_line("/ops pending", user="bob"))
    assert [f.label for f in pending.fields] == [f"#{request_id} {FALLBACK}"]
    reply = restarted.handle(Invocation.parse_line(f"/ops approve {request_id}", user="bob"))
    assert reply.ok, reply
    assert reply.state == Status.SUCCEEDED
    assert _sent(ops2, "set_fallback") == before + 1
    old = ops2.run(f"/ops approve {request_id}", "carol")
    assert not old.ok
    assert _sent(ops2, "set_fallback") == before + 1
    assert _flow(ops2.runner).service.get(request_id).state == Status.SUCCEEDED


def test_pending_lists_open_requests_and_show_gives_history(ops2: Harness) -> None:
    """/ops pending lists the open requests only; /ops show gives each transition with its actor."""
    first = _request(ops2)
    second = _request(ops2, '/feed update 1 1300000 reason="provider confirmed"')
    listed = ops2.run("/ops pending", "dave")
    assert listed.title == "2 request(s) waiting for approval"
    assert [f.label.split()[0] for f in listed.fields] == [f"#{first}", f"#{second}"]
    assert "by alice" in listed.fields[0].value
    assert listed.fields[0].value.endswith(": spike")

    assert ops2.run(f"/ops approve {first}", "bob").ok
    listed = ops2.run("/ops pending", "dave")
    assert [f.label.split()[0] for f in listed.fields] == [f"#{second}"]

    shown = ops2.run(f"/ops show #{first}", "dave")
    assert shown.ok
    history = shown.text.splitlines()
    assert history[0] == "State: succeeded"
    events = [line.split(" UTC ", 1)[1] for line in history[1:]]
    assert events[:2] == ["created by alice -> pending", "approved by bob -> executing"]
    assert events[2].startswith("submitting by worker-")
    assert events[3].endswith("-> succeeded")
    assert len(events) == 4


def test_deny_and_cancel_through_the_runner_are_final(ops2: Harness) -> None:
    """A denied and a cancelled request cannot be approved afterwards, and nothing is sent."""
    before = _sent(ops2, "set_fallback")
    denied = _request(ops2)
    cancelled = _request(ops2, '/feed fallback 1 on 2 "spike"')
    deny = ops2.run(f'/ops deny {denied} "wrong asset"', "carol")
    assert deny.ok
    assert deny.state == Status.DENIED
    by_bob = ops2.run(f"/ops cancel {cancelled}", "bob")
    assert not by_bob.ok
    assert "Only the person who asked" in by_bob.title
    assert ops2.run(f"/ops cancel {cancelled}", "alice").state == Status.CANCELLED
    for request_id in (denied, cancelled):
        reply = ops2.run(f"/ops approve {request_id}", "bob")
        assert not reply.ok
        assert "cannot be approved now" in reply.title
    assert _sent(ops2, "set_fallback") == before


def test_break_glass_is_refused_by_the_demo_policy(ops2: Harness) -> None:
    """--break-glass is refused when the policy does not enable it, and no request or transaction exists."""
    before = _sent(ops2, "set_fallback")
    reply = ops2.run(f"{FALLBACK} --break-glass", "alice")
    assert not reply.ok
    assert "Break-glass is not allowed" in reply.title
    assert _sent(ops2, "set_fallback") == before
    assert _flow(ops2.runner).service.pending() == (0, [])


def test_reply_of_an_unknown_request_is_an_error(ops2: Harness) -> None:
    """Approving or showing a request id that does not exist says so."""
    replies: list[Reply] = [
        ops2.run("/ops approve 99-abcde", "bob"),
        ops2.run("/ops show 99", "bob"),
    ]
    assert [(r.ok, r.title) for r in replies] == [
        (False, "There is no request 99-abcde; nothing was approved."),
        (False, "There is no request 99."),
    ]


def test_an_approved_request_whose_worker_died_before_claiming_runs_on_the_next_click(
    ops2: Harness,
) -> None:
    """Approved but never claimed (replica died between approve and claim): the next eligible click runs it once."""
    request_id = _request(ops2)
    flow = _flow(ops2.runner)
    flow.service.approve(request_id, "bob")  # approved; nobody claims it
    assert flow.service.get(request_id).state == Status.APPROVED
    assert _sent(ops2, "set_fallback") == 0
    reply = ops2.run(f"/ops approve {request_id}", user="carol")
    assert reply.ok, reply
    assert reply.state == "succeeded"
    again = ops2.run(f"/ops approve {request_id}", user="bob")
    assert not again.ok
    assert _sent(ops2, "set_fallback") == 1


def test_an_approved_step_writes_the_ops_journal(ops2: Harness, redis: redis_lib.Redis) -> None:
    """The runbook's journal (incident_log.md) gets the request, the approval and the executed step."""
    request_id = _request(ops2)
    reply = ops2.run(f"/ops approve {request_id}", user="bob")
    assert reply.state == "succeeded"
    entries = Journal(redis).entries()
    kinds = [e.type for e in entries]
    assert "Approval" in kinds
    executed = [
        e for e in entries if e.type == "Инцидент"
    ]  # price-feed fallback is an incident row
    assert len(executed) == 1
    assert "alice" in executed[0].responsible
    assert "bob" in executed[0].responsible
    assert any(link.startswith("0x") for link in executed[0].links)
    table = export_md(reversed(entries))
    assert (
        table.splitlines()[0]
        == "| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |"
    )


def _set_modes(ops: Harness) -> list[str]:
    """Hashes of the committed ``feature_switch::set_mode`` transactions, in the ledger's order."""
    return [
        h
        for h, tx in ops.server.ledger.transactions.items()
        if tx.function is not None and tx.function.endswith("::set_mode")
    ]


def test_a_cancel_between_two_transactions_ends_the_request_failed_saying_what_was_sent(
    ops2: Harness, redis: redis_lib.Redis
) -> None:
    """``/ops approve`` runs the two-call emergency stop with the command's progress and cancel;
    cancelled once its first call is under way, it sends that call only and the request ends
    FAILED (never left executing) with "stopped at shutdown after 1 of 2", its hash, and the same
    words in its audit trail and the journal."""
    request_id = _request(ops2, "/refund stop mass DoS on sales")
    before = _set_modes(ops2)
    cancel = threading.Event()
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if line.startswith("1/2:"):  # as a shutdown would, while the first call goes out
            cancel.set()

    reply = ops2.runner.handle(
        Invocation.parse_line(f"/ops approve {request_id}", user="bob"),
        progress=progress,
        cancel=cancel,
    )

    stopped = "stopped at shutdown after 1 of 2 transactions; the rest were not sent"
    sent = _set_modes(ops2)[len(before) :]
    assert not reply.ok
    assert reply.state == Status.FAILED
    assert reply.title.startswith(f"Request {request_id} failed: {stopped}")
    assert lines[0] == '1/2: feature_switch::set_mode(u64:"1", u8:0)'
    assert not any(line.startswith("2/2:") for line in lines)
    assert len(sent) == 1
    assert not ops2.view("feature_switch::is_enabled", "1", True)[0]  # purchases stopped
    assert ops2.view("feature_switch::is_enabled", "3", True)[0]  # draws never were
    done = _flow(ops2.runner).service.get(request_id)
    assert done.state == Status.FAILED
    assert done.tx_hashes == tuple(sent)
    assert (done.result or "").startswith(stopped)
    audit = _flow(ops2.runner).service.history(done)
    assert [e.event for e in audit] == ["created", "approved", "submitting", "failed"]
    assert audit[-1].detail.startswith(stopped)
    journal = [e for e in Journal(redis).entries() if stopped in e.description]
    assert len(journal) == 1  # the request's "failed", as the step's line, with the hash
    assert journal[0].links == (sent[0],)


def test_a_single_call_request_cancelled_before_it_is_sent_sends_nothing(ops2: Harness) -> None:
    """The cancel is only checked between transactions: a one-call request whose cancel is already
    set is not sent at all, and ends FAILED saying nothing was sent."""
    before = _sent(ops2, "set_fallback")
    request_id = _request(ops2)
    cancel = threading.Event()
    cancel.set()

    reply = _flow(ops2.runner).approve(request_id, Actor("bob", cancel=cancel))

    assert reply.state == Status.FAILED
    assert "stopped at shutdown before its first transaction: nothing was sent" in reply.title
    assert _sent(ops2, "set_fallback") == before
    assert ops2.view("price_feed::get_price_view", "1")[0]["fallback_active"] is False
    done = _flow(ops2.runner).service.get(request_id)
    assert done.tx_hashes == ()
    assert [e.event for e in _flow(ops2.runner).service.history(done)][-1] == "failed"


def test_a_break_glass_execution_reports_progress_and_stops_at_shutdown_between_transactions(
    redis: redis_lib.Redis,
) -> None:
    """Break-glass runs the request at once under the asking command: its progress reaches that
    command, and a shutdown's cancel stops it between two transactions, the request ending FAILED
    with what was sent, as an execution started by the last approval does."""
    policy = demo_policy().model_copy(update={"break_glass": BreakGlass(enabled=True)})
    with harness(policy, redis_client=redis) as ops:
        before = _set_modes(ops)
        cancel = threading.Event()
        lines: list[str] = []

        def progress(line: str) -> None:
            lines.append(line)
            if line.startswith("1/2:"):
                cancel.set()

        reply = ops.runner.handle(
            Invocation.parse_line("/refund stop mass DoS on sales --break-glass", user="alice"),
            progress=progress,
            cancel=cancel,
        )
        sent = _set_modes(ops)[len(before) :]
        assert reply.title.startswith("BREAK-GLASS by alice: Request ")
        assert "stopped at shutdown after 1 of 2 transactions" in reply.title
        assert lines[0] == '1/2: feature_switch::set_mode(u64:"1", u8:0)'
        assert not any(line.startswith("2/2:") for line in lines)
        assert len(sent) == 1
        assert reply.request_id is not None
        done = _flow(ops.runner).service.get(reply.request_id)
        assert (done.state, done.break_glass, done.tx_hashes) == (Status.FAILED, True, tuple(sent))


def test_a_plan_that_needs_approval_beats_a_policy_that_unprivileges_the_step(
    redis: redis_lib.Redis,
) -> None:
    """The policy may lift the catalog's privilege, never a plan's: a pause-lifting snapshot still
    goes to a second person when the policy lists vrf.snapshot as unprivileged."""
    policy = demo_policy().model_copy(update={"unprivileged": ("vrf.snapshot",)})
    with harness(policy, redis_client=redis) as h:
        h.server.ledger.apply(
            "vrf_deposit::record_snapshot_admin", [1, 10_000_000_000, 1, h.gateway.now_s()]
        )
        before = h.tx_count
        reply = h.run("/vrf snapshot 30000000000 10000000000 30000000000 topped up by treasury")
        assert reply.state == Status.PENDING, reply
        assert h.tx_count == before
        fields = {f.label: f.value for f in reply.fields}
        assert fields["Reason"] == "topped up by treasury"
        assert fields["Needs approval because"].startswith("it lifts the VRF pause")


def test_a_reason_works_as_the_last_words_and_as_reason_equals(ops2: Harness) -> None:
    """/vrf resume takes its reason positionally or as reason="...", with the same request."""
    for line in ("/vrf resume topped up", '/vrf resume reason="topped up"'):
        ops2.server.ledger.apply(
            "vrf_deposit::record_snapshot_admin", [1, 10_000_000_000, 1, ops2.gateway.now_s()]
        )
        reply = ops2.run(line, "alice")
        assert reply.state == Status.PENDING, reply
        assert {f.label: f.value for f in reply.fields}["Reason"] == "topped up"
        assert ops2.run(f"/ops cancel {reply.request_id}", "alice").ok


def test_a_value_typed_wrong_is_not_taken_for_a_reason(ops2: Harness) -> None:
    """A mistyped amount stays an argument error rather than becoming the request's reason."""
    reply = ops2.run("/refund batch 6 5 45O000000", "alice")
    assert not reply.ok
    assert reply.title.startswith("Bad <prize-refund>")
    assert _flow(ops2.runner).service.pending() == (0, [])


def test_a_condition_that_time_has_undone_by_the_last_approval_refuses_the_execution(
    ops2: Harness,
) -> None:
    """A partner cap asked for with an expiry ten minutes ahead is approved an hour later: the
    preflight run again at execution judges the expiry by the chain's time now, not the time the
    request was made, so nothing is sent and the request ends failed naming the check."""
    partner = "0x" + "b" * 64
    expires_at = ops2.server.ledger.now_s + 600
    request_id = _request(
        ops2, f"/roles partner-cap {partner} 1000000 0 1 {expires_at} new partner budget"
    )
    ops2.advance(3600)
    before = _sent(ops2, "upsert_partner_payout_cap_admin")

    reply = ops2.run(f"/ops approve {request_id}", "bob")

    assert not reply.ok
    assert reply.state == Status.FAILED
    assert "preflight no longer holds at execution" in reply.title
    assert "expires_at 0 or in the future" in reply.title
    assert f"seen {expires_at}" in reply.title
    assert _sent(ops2, "upsert_partner_payout_cap_admin") == before
    assert _flow(ops2.runner).service.get(request_id).submit_seq is None
