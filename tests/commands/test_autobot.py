"""/autobot: registry reads, ensure_action as reads, and the operator payloads that the devnet accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chatops.chain.movetypes import from_json
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BOT_OPERATOR
from commands.reply import Reply
from tests.commands.chain_double import assert_refused
from tests.fakes.bot import Harness

HASH = "0x" + "ab" * 32
OTHER_HASH = "0x" + "cd" * 32
DAY = 86_400


def _now(ops: Harness) -> int:
    return ops.server.ledger.now_s


def _as_operator(ops: Harness, function: str, args: list[Any]) -> None:
    """Seed a bot's own transaction through the devnet, signed by the operator."""
    ops.server.ledger.apply(function, args, signers=[BOT_OPERATOR])


def _announce(ops: Harness, action_id: int = 1, delay: int = 900) -> None:
    now = _now(ops)
    _as_operator(
        ops, "automation::announce_dry_run", [action_id, bytes.fromhex(HASH[2:]), now, now + delay]
    )


def _reconfigure(ops: Harness, *, timelock: int, max_failures: int) -> None:
    """rotate_bot through the devnet (package account + operator) to reach other bot policies."""
    ops.server.ledger.apply(
        "automation::rotate_bot",
        [b"* * * * *", [1, 2, 4], timelock, max_failures, _now(ops) + DAY],
        signers=[PACKAGE_ADDRESS, BOT_OPERATOR],
    )


def _lock(ops: Harness) -> None:
    """Reach failure_count == max_failures (1) so every report aborts 0x1A06."""
    _reconfigure(ops, timelock=0, max_failures=1)
    _as_operator(ops, "automation::record_failure", [1, b"\x01", _now(ops), 9])


# The bot state a refusal below is checked in, made before its command runs.
_SETUPS: dict[str, Callable[[Harness], None]] = {
    "none": lambda ops: None,
    "expire": lambda ops: ops.advance(31 * DAY),
    "lock": _lock,
    "timelock0": lambda ops: _reconfigure(ops, timelock=0, max_failures=3),
    "announce": _announce,
}


def _bot(ops: Harness) -> dict[str, Any]:
    [view] = ops.view("views::get_automation_bot", BOT_OPERATOR)
    bot: dict[str, Any] = view["vec"][0]
    return bot


def _sign(ops: Harness, reply: Reply, signers: list[str]) -> None:
    """Submit the handed-off payloads exactly as given, as the named signers would."""
    assert reply.ok, reply
    assert reply.data is not None
    for payload in reply.data["payloads"]:
        types = payload["argument_types"]
        values = [from_json(t, v) for t, v in zip(types, payload["arguments"], strict=True)]
        ops.server.ledger.apply(payload["function"], values, signers=signers)


def test_list_shows_the_seeded_bot(ops: Harness) -> None:
    """list reads views::list_automation_bots: actions by name, timelock, failures, expiry."""
    reply = ops.run("/autobot list")
    assert reply.ok
    assert reply.data is not None
    [bot] = reply.data["bots"]
    assert bot["operator"] == BOT_OPERATOR
    assert bot["allowed_actions"] == [1, 2, 4]
    [field] = reply.fields
    assert "1 (auto-close), 2 (retry-vrf), 4 (topup-vrf-deposit)" in field.value
    assert "failures 0/3" in field.value


def test_list_flags_a_bot_at_its_failure_limit(ops: Harness) -> None:
    """A bot whose failure_count reached max_failures is flagged."""
    _lock(ops)
    reply = ops.run("/autobot list")
    assert "[FAILURE LIMIT]" in reply.fields[0].value
    assert reply.tone == "warning"


def test_show_decodes_the_cron_spec_and_pending(ops: Harness) -> None:
    """show reads views::get_automation_bot and shows the cron spec as text and the pending dry-run."""
    _announce(ops)
    reply = ops.run("/autobot show 0xb07")
    assert reply.ok
    fields = {f.label: f.value for f in reply.fields}
    assert fields["Cron spec"] == "*/5 * * * *"
    assert fields["Pending dry-run"] == f"{HASH} executes after {_now(ops) + 900}"


def test_show_unknown_operator_is_an_error(ops: Harness) -> None:
    """An operator with no bot gets a plain error, not an empty view."""
    reply = ops.run("/autobot show 0xdead")
    assert not reply.ok
    assert "No automation bot is registered" in reply.title


def test_check_passes_once_the_dry_run_is_due(ops: Harness) -> None:
    """check replaces ensure_action: every named check passes after the timelock elapsed."""
    _announce(ops)
    ops.advance(900)
    reply = ops.run("/autobot check 0xb07 auto-close")
    assert reply.ok, reply
    assert [c.name for c in reply.checks] == [
        "bot registered",
        "bot not expired (now <= expires_at)",
        "failure_count < max_failures",
        "action allowed",
        "dry-run pending",
        "timelock elapsed (now >= pending_execute_after)",
    ]


def test_check_without_timelock_needs_no_dry_run(ops: Harness) -> None:
    """A bot with timelock 0 may act without a dry-run."""
    _reconfigure(ops, timelock=0, max_failures=3)
    reply = ops.run("/autobot check 0xb07 2")
    assert reply.ok, reply
    assert reply.checks[-1].name == "timelock"


@pytest.mark.parametrize(
    ("setup", "line", "name", "seen", "required"),
    [
        ("none", "/autobot check 0xdead 1", "bot registered", "not registered", "AutomationBot"),
        ("expire", "/autobot check 0xb07 1", "bot not expired (now <= expires_at)", "now", "<="),
        ("lock", "/autobot check 0xb07 1", "failure_count < max_failures", "1", "< 1"),
        ("none", "/autobot check 0xb07 cancel", "action allowed", "7 (cancel)", "1 (auto-close)"),
        ("none", "/autobot check 0xb07 1", "dry-run pending", "none", "timelock 900 s"),
        (
            "announce",
            "/autobot check 0xb07 1",
            "timelock elapsed (now >= pending_execute_after)",
            "now",
            ">=",
        ),
    ],
)
def test_check_names_the_failing_condition(
    ops: Harness, setup: str, line: str, name: str, seen: str, required: str
) -> None:
    """Each ensure_action condition fails by name with what was seen and what is required."""
    _SETUPS[setup](ops)
    assert_refused(ops, line, name, seen, required)


def test_dry_run_payload_commits_when_the_operator_signs(ops: Harness) -> None:
    """dry-run sends nothing, hands the exact announce_dry_run payload to the operator, and that
    payload commits: the bot then has the pending hash at now + timelock."""
    before = ops.tx_count
    now = _now(ops)
    reply = ops.run(f"/autobot dry-run 0xb07 retry-vrf {HASH}")
    assert ops.tx_count == before
    assert reply.data is not None
    assert reply.data["handoff_to"] == BOT_OPERATOR
    assert (
        reply.data["payloads"][0]["function"] == f"{PACKAGE_ADDRESS}::automation::announce_dry_run"
    )
    _sign(ops, reply, [BOT_OPERATOR])
    bot = _bot(ops)
    assert (bot["has_pending"], bot["pending_action_hash"]) == (True, HASH)
    assert bot["pending_execute_after"] == str(now + 900)
    [event] = ops.events("AutomationDryRunPlannedEvent")
    assert (event["action_id"], event["operator"]) == ("2", BOT_OPERATOR)


def test_dry_run_takes_a_longer_delay(ops: Harness) -> None:
    """An explicit delay above the timelock sets executes_after_ts = now + delay."""
    now = _now(ops)
    _sign(ops, ops.run(f"/autobot dry-run 0xb07 1 {HASH} 2h"), [BOT_OPERATOR])
    assert _bot(ops)["pending_execute_after"] == str(now + 7_200)


@pytest.mark.parametrize(
    ("setup", "line", "name", "seen", "required"),
    [
        ("none", f"/autobot dry-run 0xdead 1 {HASH}", "bot registered", "not", "AutomationBot"),
        ("none", "/autobot dry-run 0xb07 1 0x", "action hash non-empty", "0 bytes", "at least 1"),
        (
            "expire",
            f"/autobot dry-run 0xb07 1 {HASH}",
            "bot not expired (now <= expires_at)",
            "now",
            "<=",
        ),
        ("lock", f"/autobot dry-run 0xb07 1 {HASH}", "failure_count < max_failures", "1", "< 1"),
        (
            "none",
            f"/autobot dry-run 0xb07 unpause {HASH}",
            "action allowed",
            "5 (unpause)",
            "one of",
        ),
        ("timelock0", f"/autobot dry-run 0xb07 1 {HASH}", "timelock_secs > 0", "0 s", "> 0"),
        (
            "announce",
            f"/autobot dry-run 0xb07 1 {HASH}",
            "no pending dry-run",
            "pending 0xabab",
            "none",
        ),
        (
            "none",
            f"/autobot dry-run 0xb07 1 {HASH} 10m",
            "executes_after_ts >= now + timelock_secs",
            "delay 600 s",
            ">= 900 s",
        ),
    ],
)
def test_dry_run_refuses_what_the_contract_would_abort(
    ops: Harness, setup: str, line: str, name: str, seen: str, required: str
) -> None:
    """Each announce_dry_run abort condition is caught by a named check; nothing is handed off."""
    _SETUPS[setup](ops)
    assert_refused(ops, line, name, seen, required)


def test_success_payload_commits_after_the_timelock(ops: Harness) -> None:
    """success hands off record_success with the pending hash; signed, it clears the pending
    dry-run and raises the streak."""
    _announce(ops)
    ops.advance(900)
    before = ops.tx_count
    reply = ops.run(f"/autobot success 0xb07 auto-close {HASH}")
    assert ops.tx_count == before
    _sign(ops, reply, [BOT_OPERATOR])
    bot = _bot(ops)
    assert (bot["has_pending"], bot["success_streak"], bot["last_action_hash"]) == (
        False,
        "1",
        HASH,
    )
    assert ops.events("AutomationTickEvent")[-1]["success"] is True


@pytest.mark.parametrize("verb", ["success", "failure"])
@pytest.mark.parametrize(
    ("setup", "hash_", "name", "seen", "required"),
    [
        ("none", HASH, "dry-run pending", "none", "an announced dry-run"),
        ("announce_due", OTHER_HASH, "action hash = pending hash", OTHER_HASH, HASH),
        ("announce", HASH, "timelock elapsed (now >= pending_execute_after)", "now", ">="),
        ("lock", HASH, "failure_count < max_failures", "1", "< 1"),
    ],
)
def test_reports_refuse_what_the_contract_would_abort(
    ops: Harness, verb: str, setup: str, hash_: str, name: str, seen: str, required: str
) -> None:
    """record_success/record_failure conditions (pending, hash, timelock, limit) fail by name."""
    if setup in ("announce", "announce_due"):
        _announce(ops)
    if setup == "announce_due":
        ops.advance(900)
    if setup == "lock":
        _lock(ops)
    code = " 42" if verb == "failure" else ""
    assert_refused(ops, f"/autobot {verb} 0xb07 1 {hash_}{code}", name, seen, required)


def test_failure_payload_commits_and_counts_the_failure(ops: Harness) -> None:
    """failure hands off record_failure; signed, failure_count rises and the error event carries
    the code in its swapped timestamp field."""
    _announce(ops)
    ops.advance(900)
    reply = ops.run(f"/autobot failure 0xb07 1 {HASH} 42")
    assert "failure_count becomes 1 of 3" in reply.text
    _sign(ops, reply, [BOT_OPERATOR])
    bot = _bot(ops)
    assert (bot["failure_count"], bot["has_pending"]) == ("1", False)
    [error] = ops.events("AutomationErrorEvent")
    assert error["timestamp"] == "42"


def test_failure_warns_when_it_reaches_the_limit(ops: Harness) -> None:
    """The failure that reaches max_failures says the bot will be locked until a rotation."""
    _reconfigure(ops, timelock=0, max_failures=1)
    reply = ops.run(f"/autobot failure 0xb07 1 {HASH} 7")
    assert reply.ok, reply
    assert "That reaches the limit" in reply.text


def test_rotate_needs_a_second_person(ops: Harness) -> None:
    """rotate passes its checks but is privileged: refused without approval, nothing sent."""
    before = ops.tx_count
    expires = _now(ops) + DAY
    reply = ops.run(f'/autobot rotate 0xb07 "*/10 * * * *" 1,payout-batch 900 5 {expires}')
    assert "needs a second person" in reply.title
    assert ops.tx_count == before


def test_rotate_payload_commits_with_both_signers(ops: Harness) -> None:
    """Once approved, rotate hands off rotate_bot to the operator (two signers); signed, it
    replaces the policy, clears pending and keeps failure_count."""
    _announce(ops)
    ops.advance(900)
    _as_operator(ops, "automation::record_failure", [1, bytes.fromhex(HASH[2:]), _now(ops), 5])
    _announce(ops)
    assert (_bot(ops)["failure_count"], _bot(ops)["has_pending"]) == ("1", True)
    expires = _now(ops) + 2 * DAY
    reply = ops.execute(f'/autobot rotate 0xb07 "*/10 * * * *" 1,payout-batch 1h 5 {expires}')
    assert reply.data is not None
    assert reply.data["handoff_to"] == BOT_OPERATOR
    assert "clears the pending dry-run" in reply.text
    assert "does not reset failure_count (it stays 1)" in reply.text
    _sign(ops, reply, [PACKAGE_ADDRESS, BOT_OPERATOR])
    bot = _bot(ops)
    assert bot["allowed_actions"] == ["1", "6"]
    assert (bot["timelock_secs"], bot["max_failures"], bot["expires_at"]) == (
        "3600",
        "5",
        str(expires),
    )
    assert bot["has_pending"] is False
    assert bot["failure_count"] == "1"
    assert ops.events("AutomationKeyRotatedEvent")[-1]["operator"] == BOT_OPERATOR


@pytest.mark.parametrize(
    ("args", "name", "seen", "required"),
    [
        ("0xdead x 1 900 3 {future}", "bot registered", "not registered", "AutomationBot"),
        ('0xb07 x "" 900 3 {future}', "actions non-empty", "none", "at least one"),
        ("0xb07 x 1 900 0 {future}", "max_failures > 0", "0", "> 0"),
        ("0xb07 x 1 900 3 0", "expires_at > 0 and in the future", "0", "> now"),
        ("0xb07 x 1 900 3 {past}", "expires_at > 0 and in the future", "", "> now"),
        (
            "0xb07 x 1,cancel 600 3 {future}",
            "timelock >= 900 s for actions 5/6/7",
            "600 s with 7 (cancel)",
            ">= 900 s",
        ),
    ],
)
def test_rotate_refuses_what_the_contract_would_abort(
    ops: Harness, args: str, name: str, seen: str, required: str
) -> None:
    """rotate_bot's validations fail by name before anything is handed off."""
    line = "/autobot rotate " + args.format(future=_now(ops) + DAY, past=_now(ops) - 1)
    assert_refused(ops, line, name, seen, required)


def test_unknown_action_name_is_a_usage_error(ops: Harness) -> None:
    """An action that is neither a number nor a spec §2 name is refused with the list of names."""
    reply = ops.run("/autobot check 0xb07 reboot")
    assert not reply.ok
    assert "payout-batch" in reply.title
