"""Runbook "AutomationBot" at the console: the operator's payloads name each function by its full
package address, and exactly those payloads commit when the operator signs them."""

from __future__ import annotations

from chatops.chain.movetypes import from_json
from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.seed import BOT_OPERATOR
from tests.chatops.console.operators import Desk

HASH = "0x" + "ab" * 32


def test_dry_run_and_success_payloads_name_full_function_ids(desk: Desk) -> None:
    """dry-run sends nothing and hands over 0x<package>::automation::announce_dry_run; signed as
    given by the operator it commits, and the record-success payload after the timelock does too."""
    before = desk.h.tx_count
    reply = desk.ok(f"/autobot dry-run {BOT_OPERATOR} retry-vrf {HASH}")
    assert desk.h.tx_count == before
    [payload] = (reply.data or {})["payloads"]
    assert payload["function"] == f"{PACKAGE_ADDRESS}::automation::announce_dry_run"
    assert f"Call 1: {PACKAGE_ADDRESS}::automation::announce_dry_run(" in desk.printed[-1]
    values = [
        from_json(t, v)
        for t, v in zip(payload["argument_types"], payload["arguments"], strict=True)
    ]
    desk.h.server.ledger.apply(payload["function"], values, signers=[BOT_OPERATOR])
    [bot] = desk.view("views::get_automation_bot", BOT_OPERATOR)["vec"]
    assert (bot["has_pending"], bot["pending_action_hash"]) == (True, HASH)

    desk.h.advance(900)
    success = desk.ok(f"/autobot success {BOT_OPERATOR} retry-vrf {HASH}")
    [payload] = (success.data or {})["payloads"]
    assert payload["function"] == f"{PACKAGE_ADDRESS}::automation::record_success"
    values = [
        from_json(t, v)
        for t, v in zip(payload["argument_types"], payload["arguments"], strict=True)
    ]
    desk.h.server.ledger.apply(payload["function"], values, signers=[BOT_OPERATOR])
    [bot] = desk.view("views::get_automation_bot", BOT_OPERATOR)["vec"]
    assert bot["has_pending"] is False
