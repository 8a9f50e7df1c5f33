"""The read surface a real node offers without ``#[view]``: account resources and ``0x1::table``
items, rendered from the contract modules' Python state (spec §1.6)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chatops.chain import movetypes
from chatops.devnet.contracts.payouts import WINNER_CHUNK_CAPACITY
from chatops.devnet.event_handles import EVENT_HANDLES, handle_creation_number
from chatops.devnet.event_log import EventLog
from chatops.devnet.framework import PACKAGE_ADDRESS, World, addr, hexb, opt, sha3, u64

__all__ = [
    "ChainState",
    "TableError",
    "account_resource",
    "account_resources",
    "table_handle",
    "table_item",
]

A = PACKAGE_ADDRESS


class ChainState(Protocol):
    """What rendering reads of a chain (the ledger): its World and its event log's handle counters."""

    @property
    def world(self) -> World: ...

    @property
    def log(self) -> EventLog: ...


class TableError(Exception):
    """A table-item request the node refuses (``status`` 400 bad types, 404 unknown handle/key)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """One ``0x1::table::Table`` instance: its Move key/value types and a lookup by Python key."""

    key_type: str
    value_type: str
    lookup: Callable[[Any], Any]  # python key -> chain JSON value, or _MISSING


_MISSING = object()


def table_handle(path: str) -> str:
    """Deterministic handle of the table at ``path`` (e.g. ``sales::SalesState/7/tickets_per_address``)."""
    return "0x" + sha3(f"{A}/{path}".encode()).hex()


def _get(mapping: dict[Any, Any], render: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def lookup(key: Any) -> Any:
        return render(mapping[key]) if key in mapping else _MISSING

    return lookup


class _Render:
    """Renders one World; collects every table it meets so ``table_item`` can find it by handle."""

    def __init__(self, ledger: ChainState) -> None:
        self.ledger = ledger
        self.world: World = ledger.world
        self.tables: dict[str, _Table] = {}

    def table(
        self, path: str, key_type: str, value_type: str, lookup: Callable[[Any], Any]
    ) -> dict[str, str]:
        handle = table_handle(path)
        self.tables[handle] = _Table(key_type, _qualify(value_type), lookup)
        return {"handle": handle}

    def handle(self, struct: str, name: str) -> dict[str, Any]:
        """An ``EventHandle`` field: ``{counter, guid: {id: {addr, creation_num}}}``."""
        creation = handle_creation_number(struct, name)
        counter = self.ledger.log.handle_counters.get((A, creation), 0)
        return {
            "counter": u64(counter),
            "guid": {"id": {"addr": A, "creation_num": u64(creation)}},
        }

    def handles(self, struct: str) -> dict[str, Any]:
        for name, handles in EVENT_HANDLES:
            if name == struct:
                return {field: self.handle(struct, field) for field, _ in handles}
        return {}

    # --- per resource --------------------------------------------------------------------------

    def registry(self, state: Any) -> dict[str, Any]:
        s = "lottery_registry::Registry"
        handles = self.handles(s)
        return {
            "lotteries": self.table(
                "lottery_registry::Registry/lotteries",
                "u64",
                "lottery_registry::Lottery",
                _get(state.lotteries, _lottery),
            ),
            "ordered_ids": [u64(i) for i in state.ordered_ids],
            "created_events": handles["created_events"],
            "canceled_events": handles["canceled_events"],
            "cancellations": self.table(
                "lottery_registry::Registry/cancellations",
                "u64",
                "lottery_registry::CancellationRecord",
                _get(state.cancellations, lambda r: r.to_json()),
            ),
        }

    def sales_state(self, lottery_id: int, st: Any) -> dict[str, Any]:
        base = f"sales::SalesState/{lottery_id}"
        return {
            "ticket_price": u64(st.ticket_price),
            "tickets_sold": u64(st.tickets_sold),
            "proceeds_accum": u64(st.proceeds_accum),
            "last_purchase_ts": u64(st.last_purchase_ts),
            "last_purchase_block": u64(st.last_purchase_block),
            "block_purchase_count": u64(st.block_purchase_count),
            "next_chunk_seq": u64(st.next_chunk_seq),
            "tickets_per_address": self.table(
                f"{base}/tickets_per_address", "address", "u64", _get(st.tickets_per_address, u64)
            ),
            "ticket_chunks": self.table(
                f"{base}/ticket_chunks",
                "u64",
                "sales::TicketChunk",
                _get(
                    st.ticket_chunks,
                    lambda c: {
                        "lottery_id": u64(lottery_id),
                        "chunk_seq": u64(c.chunk_seq),
                        "start_index": u64(c.start_index),
                        "buyers": [addr(b) for b in c.buyers],
                    },
                ),
            ),
            "rate_track": self.table(
                f"{base}/rate_track",
                "address",
                "sales::RateTrack",
                _get(
                    st.rate_track,
                    lambda r: {
                        "window_start": u64(r.window_start),
                        "purchase_count": u64(r.purchase_count),
                    },
                ),
            ),
            "distribution": st.distribution.to_json(),
            "accounting": st.accounting.to_json(),
            "refund_active": st.refund_active,
            "refund_round": u64(st.refund_round),
            "refund_tickets_processed": u64(st.refund_tickets_processed),
            "refund_prize_total": u64(st.refund_prize_total),
            "refund_operations_total": u64(st.refund_operations_total),
            "last_refund_ts": u64(st.last_refund_ts),
        }

    def sales(self, state: Any) -> dict[str, Any]:
        states = state.states
        # Render nested tables of every state now so their handles are registered.
        rendered = {lid: self.sales_state(lid, st) for lid, st in states.items()}
        handles = self.handles("sales::SalesLedger")
        return {
            "states": self.table(
                "sales::SalesLedger/states",
                "u64",
                "sales::SalesState",
                lambda key: rendered.get(key, _MISSING),
            ),
            **handles,
        }

    def draw(self, state: Any) -> dict[str, Any]:
        return {
            "states": self.table(
                "draw::DrawLedger/states", "u64", "draw::DrawState", _get(state.states, _draw_state)
            ),
            "nonce_to_lottery": self.table(
                "draw::DrawLedger/nonce_to_lottery", "u64", "u64", _get(state.nonce_to_lottery, u64)
            ),
            **self.handles("draw::DrawLedger"),
        }

    def winner_state(self, lottery_id: int, st: Any) -> dict[str, Any]:
        base = f"payouts::WinnerState/{lottery_id}"
        records = list(st.winners)
        chunks: dict[int, dict[str, Any]] = {}
        for seq in range(-(-len(records) // WINNER_CHUNK_CAPACITY)):
            part = records[seq * WINNER_CHUNK_CAPACITY : (seq + 1) * WINNER_CHUNK_CAPACITY]
            chunks[seq] = {
                "lottery_id": u64(lottery_id),
                "chunk_seq": u64(seq),
                "start_ordinal": u64(seq * WINNER_CHUNK_CAPACITY),
                "records": [
                    {
                        "slot_id": u64(r.slot_id),
                        "ticket_index": u64(r.ticket_index),
                        "winner": addr(r.winner),
                        "winner_hash": hexb(r.winner_hash),
                    }
                    for r in part
                ],
            }
        assigned = set(st.assigned_indices)
        return {
            "initialized": st.initialized,
            "total_required": u64(st.total_required),
            "total_assigned": u64(st.total_assigned),
            "total_tickets": u64(st.total_tickets),
            "snapshot_hash": hexb(st.snapshot_hash),
            "payload_hash": hexb(st.payload_hash),
            "schema_version": st.schema_version,
            "attempt": st.attempt,
            "random_numbers": [u64(n) for n in st.random_numbers],
            "winners_batch_hash": hexb(st.winners_batch_hash),
            "cursor": {
                "last_processed_index": u64(st.last_processed_index),
                "checksum_after_batch": hexb(st.checksum_after_batch),
            },
            "next_chunk_seq": u64(len(chunks)),
            "winner_chunks": self.table(
                f"{base}/winner_chunks",
                "u64",
                "payouts::WinnerChunk",
                lambda key: chunks.get(key, _MISSING),
            ),
            "assigned_indices": self.table(
                f"{base}/assigned_indices",
                "u64",
                "bool",
                lambda key: True if key in assigned else _MISSING,
            ),
            "payout_round": u64(st.payout_round),
            "last_payout_ts": u64(st.last_payout_ts),
            "next_winner_batch_no": u64(st.next_winner_batch_no),
        }

    def payouts(self, state: Any) -> dict[str, Any]:
        rendered = {lid: self.winner_state(lid, st) for lid, st in state.states.items()}
        return {
            "states": self.table(
                "payouts::PayoutLedger/states",
                "u64",
                "payouts::WinnerState",
                lambda key: rendered.get(key, _MISSING),
            ),
            **self.handles("payouts::PayoutLedger"),
        }

    def roles(self, state: Any) -> dict[str, Any]:
        batch = state.payout_batch
        return {
            "payout_batch": opt(batch.to_json() if batch is not None else None),
            "partner_caps": self.table(
                "roles::RoleStore/partner_caps",
                "address",
                "roles::PartnerPayoutCap",
                _get(state.partner_caps, lambda c: c.to_json()),
            ),
            "partner_index": [addr(a) for a in state.partner_index],
            "premium_caps": self.table(
                "roles::RoleStore/premium_caps",
                "address",
                "roles::PremiumAccessCap",
                _get(state.premium_caps, lambda c: c.to_json()),
            ),
            "premium_index": [addr(a) for a in state.premium_index],
            "events": self.handles("roles::RoleEvents"),
        }

    def history(self, state: Any) -> dict[str, Any]:
        return {
            "summaries": self.table(
                "history::ArchiveLedger/summaries",
                "u64",
                "history::LotterySummary",
                _get(state.summaries, lambda s: s.to_json()),
            ),
            "imported_flags": self.table(
                "history::ArchiveLedger/imported_flags",
                "u64",
                "bool",
                _get(state.imported_flags, bool),
            ),
            "ordered_ids": [u64(i) for i in state.ordered_ids],
            **self.handles("history::ArchiveLedger"),
        }

    def dual_write(self, state: Any) -> dict[str, Any]:
        return {
            "enabled": state.enabled,
            "abort_on_mismatch": state.abort_on_mismatch,
            "abort_on_missing": state.abort_on_missing,
            # vrf_hub::table::Table is a plain struct of two vectors, stored inline (spec §1.6).
            "expected_hashes": {
                "keys": [u64(i) for i in state.expected_ids],
                "values": [hexb(h) for h in state.expected_hashes],
            },
            **self.handles("legacy_bridge::DualWriteControl"),
        }

    def vrf_deposit(self, state: Any) -> dict[str, Any]:
        return {
            "config": {
                "min_balance_multiplier_bps": u64(state.min_balance_multiplier_bps),
                "effective_floor": u64(state.effective_floor),
            },
            "status": state.status.to_json(),
            **self.handles("vrf_deposit::VrfDepositLedger"),
        }

    def price_feed(self, state: Any) -> dict[str, Any]:
        return {
            "version": state.version,
            "feeds": self.table(
                "price_feed::PriceFeedRegistry/feeds",
                "u64",
                "price_feed::PriceFeedRecord",
                _get(state.feeds, _price_record),
            ),
            **self.handles("price_feed::PriceFeedRegistry"),
        }

    def automation(self, state: Any) -> dict[str, Any]:
        return {
            "bots": {
                "keys": [addr(a) for a in state.bots],
                "values": [_automation_state(s) for s in state.bots.values()],
            },
            **self.handles("automation::AutomationRegistry"),
        }

    def feature_switch(self, state: Any) -> dict[str, Any]:
        return {
            "force_enable_devnet": state.force_enable_devnet,
            "entries": self.table(
                "feature_switch::FeatureSwitchRegistry/entries",
                "u64",
                "feature_switch::FeatureRecord",
                _get(state.entries, lambda mode: {"mode": int(mode)}),
            ),
        }

    def history_bridge(self, state: Any) -> dict[str, Any]:
        return {
            "summaries": self.table(
                "history_bridge::LegacyArchive/summaries",
                "u64",
                "history_bridge::LegacySummary",
                _get(state.summaries, lambda s: s.to_json()),
            ),
            **self.handles("history_bridge::LegacyArchive"),
        }

    # --- assembly ------------------------------------------------------------------------------

    def package_resources(self) -> list[dict[str, Any]]:
        """Every resource published at the package address, in a stable order."""
        out: list[dict[str, Any]] = []
        modules = self.world.modules
        for module, struct, render in (
            ("lottery_registry", "lottery_registry::Registry", self.registry),
            ("sales", "sales::SalesLedger", self.sales),
            ("draw", "draw::DrawLedger", self.draw),
            ("payouts", "payouts::PayoutLedger", self.payouts),
            ("roles", "roles::RoleStore", self.roles),
            ("history", "history::ArchiveLedger", self.history),
            ("legacy_bridge", "legacy_bridge::DualWriteControl", self.dual_write),
            ("vrf_deposit", "vrf_deposit::VrfDepositLedger", self.vrf_deposit),
            ("price_feed", "price_feed::PriceFeedRegistry", self.price_feed),
            ("automation", "automation::AutomationRegistry", self.automation),
            ("feature_switch", "feature_switch::FeatureSwitchRegistry", self.feature_switch),
            ("history_bridge", "history_bridge::LegacyArchive", self.history_bridge),
        ):
            state = modules.get(module)
            if state is not None:
                out.append({"type": f"{A}::{struct}", "data": render(state)})
            if module == "feature_switch" and state is not None:
                out.append(
                    {
                        "type": f"{A}::feature_switch::FeatureSwitchAdminCap",
                        "data": {"dummy_field": False},
                    }
                )
        return out

    def resources_of(self, address: str) -> list[dict[str, Any]]:
        out = self.package_resources() if address == A else []
        for name, value in self.world.accounts.get(address, {}).items():
            if name.count("::") != 1:
                continue
            out.append({"type": f"{A}::{name}", "data": _account_resource(value)})
        return out


def _qualify(type_str: str) -> str:
    """Module-relative struct names get the package address; addresses are normalised."""
    if type_str in ("u8", "u16", "u32", "u64", "u128", "u256", "bool", "address"):
        return type_str
    if type_str.count("::") == 1:
        type_str = f"{A}::{type_str}"
    return _normalise_addresses(type_str)


def _normalise_addresses(type_str: str) -> str:
    return re.sub(r"0x[0-9a-fA-F]+", lambda m: addr(m.group(0)), type_str.replace(" ", ""))


def _lottery(lottery: Any) -> dict[str, Any]:
    return {
        "id": u64(lottery.id),
        "config": lottery.config.to_json(),
        "status": lottery.status,
        "snapshot_frozen": lottery.snapshot_frozen,
        "slots_checksum": hexb(lottery.slots_checksum),
    }


def _draw_state(st: Any) -> dict[str, Any]:
    v = st.vrf_state
    return {
        "vrf_state": {
            "status": v.status,
            "attempt": v.attempt,
            "consumed": v.consumed,
            "retry_after_ts": u64(v.retry_after_ts),
            "retry_strategy": v.retry_strategy,
            "request_id": u64(v.request_id),
            "payload_hash": hexb(v.payload_hash),
            "schema_version": v.schema_version,
            "closing_block_height": u64(v.closing_block_height),
            "chain_id": v.chain_id,
        },
        "rng_count": st.rng_count,
        "client_seed": u64(st.client_seed),
        "last_request_ts": u64(st.last_request_ts),
        "snapshot_hash": hexb(st.snapshot_hash),
        "total_tickets": u64(st.total_tickets),
        "winners_batch_hash": hexb(st.winners_batch_hash),
        "checksum_after_batch": hexb(st.checksum_after_batch),
        "verified_numbers": [u64(n) for n in st.verified_numbers],
        "payload": hexb(st.payload),
        "next_client_seed": u64(st.next_client_seed),
    }


def _price_record(record: Any) -> dict[str, Any]:
    return {
        "asset_id": u64(record.asset_id),
        "price": u64(record.price),
        "decimals": record.decimals,
        "last_updated_ts": u64(record.last_updated_ts),
        "staleness_window": u64(record.staleness_window),
        "clamp_threshold_bps": u64(record.clamp_threshold_bps),
        "fallback_active": record.fallback_active,
        "fallback_reason": record.fallback_reason,
        "clamp_active": record.clamp_active,
    }


def _automation_state(s: Any) -> dict[str, Any]:
    return {
        "allowed_actions": [u64(a) for a in s.allowed_actions],
        "max_failures": u64(s.max_failures),
        "timelock_secs": u64(s.timelock_secs),
        "expires_at": u64(s.expires_at),
        "cron_spec": hexb(s.cron_spec),
        "failure_count": u64(s.failure_count),
        "success_streak": u64(s.success_streak),
        "reputation_score": u64(s.reputation_score),
        "pending_action_hash": opt(hexb(s.pending_action_hash) if s.pending_action_hash else None),
        "pending_execute_after": u64(s.pending_execute_after),
        "last_action_ts": u64(s.last_action_ts),
        "last_action_hash": hexb(s.last_action_hash),
    }


def _account_resource(value: Any) -> Any:
    """A per-account resource (``AutomationCap``, ``MirrorConfig``): dataclass fields, u64 as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, bytes):
                out[f.name] = hexb(item)
            elif isinstance(item, bool):
                out[f.name] = item
            elif isinstance(item, int):
                out[f.name] = u64(item)
            elif isinstance(item, str) and item.startswith("0x"):
                out[f.name] = addr(item)
            else:
                out[f.name] = item
        return out
    return {"dummy_field": False}  # a Move struct with no fields (e.g. MirrorConfig)


# --- public API ----------------------------------------------------------------------------------


def account_resources(ledger: ChainState, address: str) -> list[dict[str, Any]]:
    """``GET /accounts/{addr}/resources``: every resource at ``address`` as ``{type, data}``.

    Renders the contract modules' Python state as the Move resources of spec §1.6 (type names, field
    names, chain JSON), with ``0x1::table::Table`` fields as ``{"handle": ...}`` whose items are
    served by ``POST /tables/{handle}/item``, and event-handle fields with live counters. Handles
    are derived from the resource path, so they are stable across calls and restarts.
    """
    return _Render(ledger).resources_of(addr(address))


def account_resource(ledger: ChainState, address: str, type_str: str) -> dict[str, Any] | None:
    """``GET /accounts/{addr}/resources/{type}``; ``None`` if absent (the node's 404)."""
    try:
        wanted = _normalise_addresses(type_str)
    except ValueError:
        return None
    for item in account_resources(ledger, address):
        if item["type"] == wanted:
            return item
    return None


def table_item(ledger: ChainState, handle: str, key_type: str, value_type: str, key: Any) -> Any:
    """``POST /tables/{handle}/item``: the value at ``key`` (chain JSON) in the table ``handle``."""
    render = _Render(ledger)
    render.package_resources()
    table = render.tables.get(handle.lower())
    if table is None:
        raise TableError(404, f"Table not found: {handle}")
    try:
        if (
            _qualify(key_type.strip()) != table.key_type
            or _qualify(value_type.strip()) != table.value_type
        ):
            raise TableError(
                400,
                f"table {handle} is Table<{table.key_type}, {table.value_type}>, "
                f"not Table<{key_type}, {value_type}>",
            )
        python_key = movetypes.from_json(table.key_type, key)
    except (ValueError, movetypes.MoveTypeError) as exc:
        raise TableError(400, f"invalid table key: {exc}") from exc
    value = table.lookup(python_key)
    if value is _MISSING:
        raise TableError(404, f"Table Item not found by Table handle({handle}) and key({key})")
    return value
