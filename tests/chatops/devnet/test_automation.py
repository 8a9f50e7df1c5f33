"""In-process tests of the emulated ``automation`` module (spec §4.9, §6.1, §7.6)."""

from __future__ import annotations

import pytest

from chatops.devnet.contracts import automation
from chatops.devnet.framework import World, sha3
from tests.chatops.devnet.ops_support import (
    ADMIN,
    OPERATOR,
    STRANGER,
    aborts,
    admin,
    names,
    published,
    signed_by,
    stranger,
    validate,
)

HEAD = {"event_version": 1, "event_category": 6}
CRON = b"*/5 * * * *"
H = b"\x01" * 32


@pytest.fixture
def world() -> World:
    w = published(automation.init_automation)
    automation.register_bot(w, signed_by(ADMIN, OPERATOR), CRON, [4, 6], 900, 3, 10_000)
    return w


def test_init_automation_aborts() -> None:
    """init: stranger 0x1A01, twice 0x1201."""
    w = World()
    with aborts("automation", 0x1A01):
        automation.init_automation(w, stranger())
    automation.init_automation(w, admin())
    with aborts("automation", 0x1201):
        automation.init_automation(w, admin())


def test_register_bot_moves_cap_and_emits_key_rotated() -> None:
    """register_bot stores the bot, gives the operator an AutomationCap and emits KeyRotated."""
    w = published(automation.init_automation)
    call = signed_by(ADMIN, OPERATOR)
    automation.register_bot(w, call, CRON, [1], 0, 2, 500)
    assert call.events == [
        (
            "history::AutomationKeyRotatedEvent",
            {
                **HEAD,
                "operator": OPERATOR,
                "schedule_hash": "0x" + sha3(CRON).hex(),
                "expires_at": "500",
            },
        )
    ]
    cap = w.accounts[OPERATOR]["automation::AutomationCap"]
    assert (cap.operator, cap.cron_spec) == (OPERATOR, CRON)
    assert automation.automation_operators(w) == [[OPERATOR]]
    [bot] = automation.bots_json(w)
    validate("AutomationBotView", bot)
    assert bot["has_pending"] is False
    assert bot["allowed_actions"] == ["1"]


@pytest.mark.parametrize(
    ("actions", "timelock", "max_failures", "expires_at", "code"),
    [
        ([], 0, 1, 1, 0x1A05),
        ([1], 0, 0, 1, 0x1A06),
        ([1], 0, 1, 0, 0x1A04),
        ([1, 7], 899, 1, 1, 0x1A07),
    ],
)
def test_register_bot_validation_aborts(
    actions: list[int], timelock: int, max_failures: int, expires_at: int, code: int
) -> None:
    """register_bot validates actions, failures, expiry and the sensitive timelock in order."""
    w = published(automation.init_automation)
    with aborts("automation", code):
        automation.register_bot(
            w, signed_by(ADMIN, OPERATOR), CRON, actions, timelock, max_failures, expires_at
        )


def test_register_bot_caller_registry_and_duplicate_aborts(world: World) -> None:
    """Stranger admin 0x1A01, already registered 0x1A02, missing registry 0x1A01."""
    with aborts("automation", 0x1A01):
        automation.register_bot(world, signed_by(STRANGER, OPERATOR), CRON, [1], 0, 1, 1)
    with aborts("automation", 0x1A02):
        automation.register_bot(world, signed_by(ADMIN, OPERATOR), CRON, [1], 0, 1, 1)
    with aborts("automation", 0x1A01):
        automation.register_bot(World(), signed_by(ADMIN, OPERATOR), CRON, [1], 0, 1, 1)


def test_rotate_bot_clears_pending_keeps_counters(world: World) -> None:
    """rotate_bot replaces the policy, clears pending and last hash, keeps failure_count."""
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)
    automation.record_failure(world, signed_by(OPERATOR), 4, H, 1000, 9)
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 1000, 1900)
    call = signed_by(ADMIN, OPERATOR)
    automation.rotate_bot(world, call, b"new", [1], 0, 5, 20_000)
    assert names(call) == ["history::AutomationKeyRotatedEvent"]
    [status] = automation.automation_status(world, OPERATOR)
    assert status["pending_action_hash"] == "0x"
    assert status["last_action_hash"] == "0x"
    assert (status["failure_count"], status["max_failures"], status["cron_spec"]) == (
        "1",
        "5",
        "0x6e6577",
    )
    assert world.accounts[OPERATOR]["automation::AutomationCap"].cron_spec == b"new"


def test_rotate_bot_aborts(world: World) -> None:
    """rotate_bot: stranger 0x1A01, unknown bot 0x1A03."""
    with aborts("automation", 0x1A01):
        automation.rotate_bot(world, signed_by(STRANGER, OPERATOR), CRON, [1], 0, 1, 1)
    with aborts("automation", 0x1A03):
        automation.rotate_bot(world, signed_by(ADMIN, STRANGER), CRON, [1], 0, 1, 1)


def test_announce_dry_run_sets_pending(world: World) -> None:
    """announce_dry_run stores the pending hash and emits AutomationDryRunPlannedEvent."""
    call = signed_by(OPERATOR)
    automation.announce_dry_run(world, call, 6, H, 100, 1000)
    assert call.events == [
        (
            "history::AutomationDryRunPlannedEvent",
            {
                **HEAD,
                "operator": OPERATOR,
                "action_id": "6",
                "action_hash": "0x" + H.hex(),
                "executes_after_ts": "1000",
            },
        )
    ]
    bot = automation.bot_json(world, OPERATOR)
    assert bot is not None
    assert bot["has_pending"] is True
    assert bot["pending_execute_after"] == "1000"
    validate("AutomationBotView", bot)


def test_announce_dry_run_aborts(world: World) -> None:
    """Dry-run checks: no cap 0x1A03, empty hash 0x1A0B, expired 0x1A04, action 0x1A05, early 0x1A07, pending 0x1A08."""
    with aborts("automation", 0x1A03):
        automation.announce_dry_run(world, stranger(), 4, H, 1, 1000)
    with aborts("automation", 0x1A0B):
        automation.announce_dry_run(world, signed_by(OPERATOR), 4, b"", 1, 1000)
    with aborts("automation", 0x1A04):
        automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 10_001, 20_000)
    with aborts("automation", 0x1A05):
        automation.announce_dry_run(world, signed_by(OPERATOR), 1, H, 1, 1000)
    with aborts("automation", 0x1A07):
        automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 999)
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)
    with aborts("automation", 0x1A08):
        automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)


def test_announce_dry_run_without_timelock_aborts() -> None:
    """A bot with timelock 0 cannot dry-run at all (0x1A07)."""
    w = published(automation.init_automation)
    automation.register_bot(w, signed_by(ADMIN, OPERATOR), CRON, [1], 0, 1, 100)
    with aborts("automation", 0x1A07):
        automation.announce_dry_run(w, signed_by(OPERATOR), 1, H, 1, 2)


def test_record_success_after_timelock(world: World) -> None:
    """record_success after the timelock bumps streak and reputation and emits a Tick."""
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)
    call = signed_by(OPERATOR)
    automation.record_success(world, call, 4, H, 1000)
    assert call.events == [
        (
            "history::AutomationTickEvent",
            {
                **HEAD,
                "operator": OPERATOR,
                "action_id": "4",
                "action_hash": "0x" + H.hex(),
                "executed_ts": "1000",
                "success": True,
                "reputation_score": "1",
                "success_streak": "1",
                "failure_count": "0",
            },
        )
    ]
    [status] = automation.automation_status(world, OPERATOR)
    assert status["last_action_hash"] == "0x" + H.hex()
    assert status["pending_action_hash"] == "0x"


def test_record_success_timelock_aborts(world: World) -> None:
    """record_success: no dry-run 0x1A0A, other hash 0x1A09, too early 0x1A07."""
    with aborts("automation", 0x1A0A):
        automation.record_success(world, signed_by(OPERATOR), 4, H, 1000)
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)
    with aborts("automation", 0x1A09):
        automation.record_success(world, signed_by(OPERATOR), 4, b"\x02", 1000)
    with aborts("automation", 0x1A07):
        automation.record_success(world, signed_by(OPERATOR), 4, H, 999)


def test_record_failure_emits_swapped_error_event(world: World) -> None:
    """record_failure emits Tick(false) and an AutomationErrorEvent with error_code/timestamp swapped."""
    automation.announce_dry_run(world, signed_by(OPERATOR), 4, H, 100, 1000)
    call = signed_by(OPERATOR)
    automation.record_failure(world, call, 4, H, 1234, 77)
    assert names(call) == ["history::AutomationTickEvent", "history::AutomationErrorEvent"]
    assert call.events[0][1]["failure_count"] == "1"
    assert call.events[0][1]["success"] is False
    assert call.events[1][1] == {
        **HEAD,
        "operator": OPERATOR,
        "action_id": "4",
        "action_hash": "0x" + H.hex(),
        "error_code": "1234",
        "timestamp": "77",
    }


def test_failure_limit_blocks_reports() -> None:
    """Once failure_count reaches max_failures every report aborts 0x1A06."""
    w = published(automation.init_automation)
    automation.register_bot(w, signed_by(ADMIN, OPERATOR), CRON, [1], 0, 1, 100)
    automation.record_failure(w, signed_by(OPERATOR), 1, H, 5, 1)
    with aborts("automation", 0x1A06):
        automation.record_failure(w, signed_by(OPERATOR), 1, H, 6, 1)
    with aborts("automation", 0x1A06):
        automation.record_success(w, signed_by(OPERATOR), 1, H, 6)


def test_report_call_rejected(world: World) -> None:
    """report_call_rejected only emits AutomationCallRejectedEvent, even for an expired bot."""
    call = signed_by(OPERATOR)
    automation.report_call_rejected(world, call, 9, b"", 3)
    assert call.events == [
        (
            "history::AutomationCallRejectedEvent",
            {
                **HEAD,
                "operator": OPERATOR,
                "action_id": "9",
                "action_hash": "0x",
                "reason_code": "3",
            },
        )
    ]


def test_report_call_rejected_without_cap_aborts(world: World) -> None:
    """report_call_rejected by an address without a cap aborts 0x1A03."""
    with aborts("automation", 0x1A03):
        automation.report_call_rejected(world, stranger(), 1, H, 1)


def test_status_reads() -> None:
    """automation_status aborts 0x1A01/0x1A03; the option and operator reads default."""
    w = World()
    with aborts("automation", 0x1A01):
        automation.automation_status(w, OPERATOR)
    assert automation.automation_status_option(w, OPERATOR) == [{"vec": []}]
    assert automation.automation_operators(w) == [[]]
    assert automation.bots_json(w) == []
    assert automation.bot_json(w, OPERATOR) is None
    automation.init_automation(w, admin())
    with aborts("automation", 0x1A03):
        automation.automation_status(w, OPERATOR)
    automation.register_bot(w, signed_by(ADMIN, OPERATOR), CRON, [1], 0, 1, 100)
    [option] = automation.automation_status_option(w, OPERATOR)
    assert option["vec"][0]["operator"] == OPERATOR
    assert "has_pending" not in option["vec"][0]
