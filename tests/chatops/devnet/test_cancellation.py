"""In-process tests of the emulated ``cancellation`` module (spec §4.2)."""

from __future__ import annotations

from chatops.devnet.contracts import lottery_registry, sales
from tests.chatops.devnet.lottery_support import NOW, seeded
from tests.chatops.devnet.ops_support import STRANGER, aborts


def test_cancel_with_sales_starts_refunds_and_records() -> None:
    """Canceling an Active lottery with sales stores the record, starts refunds and emits category 1."""
    t = seeded()
    t.apply("cancellation::cancel_lottery_admin", [1, 2, NOW])
    assert lottery_registry.status(t.world, 1) == 7
    state = sales.sales_state(t.world, 1)
    assert state is not None
    assert state.refund_active
    ((name, data),) = t.events
    assert name == "history::LotteryCanceledEvent"
    assert (data["event_category"], data["previous_status"], data["reason_code"]) == (1, 1, 2)
    assert (data["tickets_sold"], data["proceeds_accum"]) == ("8", "800000000")
    (record,) = t.read("views::get_cancellation", 1)
    assert record["vec"][0]["canceled_ts"] == str(NOW)


def test_cancel_draft_without_sales() -> None:
    """A Draft lottery cancels with zero totals and no sales state."""
    t = seeded()
    t.apply("cancellation::cancel_lottery_admin", [2, 3, NOW])
    assert t.events[0][1]["tickets_sold"] == "0"
    assert sales.sales_state(t.world, 2) is None


def test_cancel_aborts() -> None:
    """Reason 0 aborts 0x1211, terminal lotteries 0x1204, strangers 0x1202, unknown ids 0x6507."""
    t = seeded()
    with aborts("lottery_registry", 0x1211):
        t.apply("cancellation::cancel_lottery_admin", [1, 0, NOW])
    with aborts("lottery_registry", 0x1204):
        t.apply("cancellation::cancel_lottery_admin", [5, 1, NOW])
    with aborts("lottery_registry", 0x1202):
        t.apply("cancellation::cancel_lottery_admin", [1, 1, NOW], [STRANGER])
    with aborts("table", 0x6507):
        t.apply("cancellation::cancel_lottery_admin", [99, 1, NOW])
    state = sales.sales_state(t.world, 1)
    assert state is not None
    assert not state.refund_active
