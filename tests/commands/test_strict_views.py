"""Commands on a node that refuses non-#[view] reads, as a real Supra node does (spec fact 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatops.chain.calls import TypedArg
from chatops.chain.errors import ViewNotAllowedError
from chatops.chain.state_reader import READS
from chatops.devnet.contracts import all_specs
from chatops.devnet.framework import PACKAGE_ADDRESS
from commands.registry import build_registry
from tests.fakes.bot import Harness, harness


@pytest.fixture
def strict() -> Iterator[Harness]:
    with harness(strict_views=True) as h:
        yield h


def _fields(h: Harness, line: str) -> dict[str, str]:
    reply = h.run(line)
    assert reply.ok, reply
    return {f.label: f.value for f in reply.fields}


def test_the_harness_node_really_refuses_views(strict: Harness) -> None:
    """The strict harness's node refuses views::get_lottery_status on /view."""
    with pytest.raises(ViewNotAllowedError):
        strict.gateway.client.view(f"{PACKAGE_ADDRESS}::views::get_lottery_status", ["1"])


def test_lottery_status_reads_from_resources(strict: Harness) -> None:
    """/lottery status 1 shows the Active lottery and its sales totals."""
    fields = _fields(strict, "/lottery status 1")
    assert fields["Status"] == "Active"
    assert fields["Tickets sold"] == "8"


def test_ops_status_reads_the_overview_from_resources(strict: Harness) -> None:
    """/ops status counts the six seeded lotteries from the status_overview re-done on resources."""
    reply = strict.run("/ops status")
    assert reply.ok, reply
    assert reply.title == "6 lotteries"
    assert "active 1" in reply.text
    assert "canceled 1" in reply.text


def test_payouts_plan_reads_from_resources(strict: Harness) -> None:
    """/payouts plan 4 builds its plan from resource reads of the Payout-stage lottery."""
    fields = _fields(strict, "/payouts plan 4")
    assert fields["Winners"] == "3/3 assigned"
    assert fields["Prize"] == "0 paid of 1,050,000,000 allocated"


def test_feed_show_reads_from_resources(strict: Harness) -> None:
    """/feed show 1 prints the seeded SUPRA/USD price read from the price-feed table."""
    reply = strict.run("/feed show 1")
    assert reply.ok, reply
    assert "1250000 at 8 decimals" in reply.title


def test_lottery_activate_checks_and_sends_on_a_strict_node(strict: Harness) -> None:
    """/lottery activate 2 runs its checks (validate_config included) from resources and activates."""
    reply = strict.run("/lottery activate 2")
    assert reply.ok, reply
    assert all(c.ok for c in reply.checks)
    [view] = strict.gateway.read("views::get_lottery_status", [TypedArg.of("u64", 2)])
    assert view["status"] == 1


def test_every_command_read_is_a_view_or_resource_readable() -> None:
    """Each read a command declares is either #[view] or answered by ResourceStateReader."""
    specs = {f"{s.module}::{s.name}": s for s in all_specs().values()}
    unreadable = {
        function
        for step in build_registry()
        for function in step.reads
        if not specs[function].is_view and function not in READS
    }
    assert unreadable == set()
