"""In-process tests of the emulated ``sales`` module (spec §4.3, §12.3, §12.4)."""

from __future__ import annotations

import pytest
from aptos_sdk.bcs import Serializer

from chatops.devnet.contracts import lottery_registry, sales
from chatops.devnet.framework import addr, sha3
from chatops.devnet.seed import BUYERS, PREMIUM_BUYER, demo_config
from tests.chatops.devnet.lottery_support import (
    NOW,
    WorldTarget,
    buy,
    create_active,
    seeded,
)
from tests.chatops.devnet.ops_support import aborts, admin, published

B1, B2 = BUYERS[0], BUYERS[1]
START, END = NOW - 3_600, NOW + 3_600


@pytest.fixture
def target() -> WorldTarget:
    t = seeded()
    config = demo_config(
        START, END, ticket_price=333, max_tickets_total=300, max_tickets_per_address=200
    )
    create_active(t, 10, config)
    t.events.clear()
    return t


def test_purchase_books_tickets_accounting_and_event(target: WorldTarget) -> None:
    """A purchase splits the amount per §12.3 (remainder to prize) and emits TicketPurchaseEvent."""
    buy(target, 10, B1, 1, NOW)
    ((name, data),) = target.events
    assert name == "sales::TicketPurchaseEvent"
    assert (data["sale_amount"], data["prize_allocation"], data["jackpot_allocation"]) == (
        "333",
        "235",
        "49",
    )
    assert (data["operations_allocation"], data["reserve_allocation"]) == ("33", "16")
    assert (data["tickets_sold"], data["proceeds_accum"], data["event_category"]) == ("1", "333", 3)
    (acc,) = target.read("sales::accounting_snapshot", 10)
    assert acc["total_allocated"] == "251"
    assert acc["total_operations_allocated"] == "33"
    assert target.read("sales::sales_totals", 10) == ["1", "333", str(NOW)]
    assert target.read("sales::ticket_owner", 10, 0) == [B1]


@pytest.mark.parametrize(
    ("lottery_id", "quantity", "ts", "module", "code"),
    [
        (10, 0, NOW, "sales", 0x1601),
        (10, 129, NOW, "sales", 0x1602),
        (2, 1, NOW, "sales", 0x120F),
        (99, 1, NOW, "table", 0x6507),
        (10, 1, END + 1, "sales", 0x120E),
        (10, 1, START - 1, "sales", 0x120E),
    ],
)
def test_purchase_basic_aborts(
    target: WorldTarget, lottery_id: int, quantity: int, ts: int, module: str, code: int
) -> None:
    """Quantity, status, unknown id and sales window checks abort with their codes."""
    with aborts(module, code):
        buy(target, lottery_id, B1, quantity, ts)


def test_purchase_limits(target: WorldTarget) -> None:
    """Total limit (0x1603) and per-address limit (0x1604) are enforced."""
    buy(target, 10, B1, 128, NOW, 1)
    with aborts("sales", 0x1604):
        buy(target, 10, B1, 128, NOW, 2)
    buy(target, 10, B2, 128, NOW, 3)
    with aborts("sales", 0x1603):
        buy(target, 10, BUYERS[2], 45, NOW, 4)


def test_purchase_amount_overflow(target: WorldTarget) -> None:
    """quantity x ticket_price beyond u64 aborts 0x1605."""
    create_active(target, 11, demo_config(START, END, ticket_price=1 << 63))
    with aborts("sales", 0x1605):
        buy(target, 11, B1, 2, NOW)


def test_grace_rule_blocks_first_purchase_near_the_end(target: WorldTarget) -> None:
    """A first non-premium purchase within 15 s of sales_end aborts 0x160A and leaves no event."""
    with aborts("sales", 0x160A):
        buy(target, 10, B1, 1, END - 15)
    assert target.events == []
    buy(target, 10, B1, 1, END - 16)
    buy(target, 10, B1, 1, END - 5)  # not a first purchase any more
    target.apply("sales::purchase_tickets_premium", [10, 1, END, 7], [PREMIUM_BUYER])


def test_per_block_limit(target: WorldTarget) -> None:
    """The 65th purchase in one block for a lottery aborts 0x1608."""
    buyers = [addr(f"0xc{i:03x}") for i in range(7)]
    for n in range(64):
        buy(target, 10, buyers[n // 10], 1, NOW, 77)
    with aborts("sales", 0x1608):
        buy(target, 10, buyers[6], 1, NOW, 77)
    buy(target, 10, buyers[6], 1, NOW, 78)


def test_per_buyer_window(target: WorldTarget) -> None:
    """The 11th purchase by one buyer within 60 s aborts 0x1609; after the window it works again."""
    for n in range(10):
        buy(target, 10, B1, 1, NOW + n, 100 + n)
    with aborts("sales", 0x1609):
        buy(target, 10, B1, 1, NOW + 59, 200)
    buy(target, 10, B1, 1, NOW + 60, 201)


def test_feature_switch_gates_purchases(target: WorldTarget) -> None:
    """With feature 1 disabled purchases abort 0x1403 from sales; premium-only mode admits premium buyers."""
    target.apply("feature_switch::set_mode", [1, 2])
    with aborts("sales", 0x1403):
        buy(target, 10, B1, 1, NOW)
    target.apply("sales::purchase_tickets_premium", [10, 1, NOW, 1], [PREMIUM_BUYER])


def test_premium_checks(target: WorldTarget) -> None:
    """Premium purchase needs a cap (0x1106) that is not expired (0x1107)."""
    with aborts("sales", 0x1106):
        target.apply("sales::purchase_tickets_premium", [10, 1, NOW, 1], [B1])
    target.apply("roles::grant_premium_access_admin", [B1, NOW - 1, False, None])
    with aborts("roles", 0x1107):
        target.apply("sales::purchase_tickets_premium", [10, 1, NOW, 1], [B1])


def test_premium_without_roles_aborts_1103() -> None:
    """Without a RoleStore a premium purchase aborts 0x1103 raised in sales."""
    t = WorldTarget()
    t.apply("lottery_registry::init_registry", [])
    t.apply("sales::init_sales", [])
    with aborts("sales", 0x1103):
        t.apply("sales::purchase_tickets_premium", [1, 1, NOW, 1], [B1])


def test_purchase_without_ledger_aborts_1202() -> None:
    """An Active lottery with no SalesLedger aborts 0x1202 from sales."""
    t = WorldTarget()
    t.apply("lottery_registry::init_registry", [])
    create_active(t, 1, demo_config(START, END))
    with aborts("sales", 0x1202):
        buy(t, 1, B1, 1, NOW)


def test_init_sales_twice_aborts() -> None:
    """init_sales publishes once (0x1201 after)."""
    w = published(sales.init_sales)
    with aborts("sales", 0x1201):
        sales.init_sales(w, admin())


def test_snapshot_hash_follows_spec(target: WorldTarget) -> None:
    """The snapshot hashes full chunks only, then totals, distribution and accounting (§12.4)."""
    assert sales.snapshot(target.world, 99)[0].hex().startswith("174a464c")
    buy(target, 10, B1, 128, NOW, 1)
    buy(target, 10, B2, 128, NOW, 2)
    buy(target, 10, BUYERS[2], 3, NOW, 3)
    state = sales.sales_state(target.world, 10)
    assert state is not None
    assert state.next_chunk_seq == 1
    ser = Serializer()
    ser.u64(0)
    ser.u64(0)
    ser.uleb128(256)
    for who in [B1] * 128 + [B2] * 128:
        ser.fixed_bytes(bytes.fromhex(who[2:]))
    digest = sha3(sha3(b"lottery_multi::snapshot_seed") + ser.output())
    tail = Serializer()
    tail.u64(259)
    tail.u64(259 * 333)
    expected = sha3(digest + tail.output() + state.distribution.bcs() + state.accounting.bcs())
    assert target.read("sales::snapshot_for_draw", 10) == [
        "0x" + expected.hex(),
        "259",
        str(259 * 333),
    ]
    assert target.read("sales::ticket_owner", 10, 258) == [BUYERS[2]]
    with aborts("sales", 0x1803):
        target.read("sales::ticket_owner", 10, 259)


def test_reads_without_sales(target: WorldTarget) -> None:
    """sales_totals/accounting abort 0x1202 before the first sale; refund_progress gives defaults."""
    with aborts("sales", 0x1202):
        target.read("sales::sales_totals", 10)
    assert target.read("sales::has_state", 10) == [False]
    (progress,) = target.read("sales::refund_progress", 10)
    assert progress["active"] is False
    assert progress["refund_round"] == "0"
    assert lottery_registry.status(target.world, 10) == 1
