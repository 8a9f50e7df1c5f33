"""The package's read functions re-done from account resources and table items (spec §1.6, §6).

A real node refuses every read but ``history::is_legacy_summary`` on ``POST /view`` (spec fact 3), so
``ResourceStateReader`` answers them from ``GET /accounts/{addr}/resources/{type}`` and
``POST /tables/{handle}/item``, returning the chain JSON the view would return and raising the same
aborts (``ChainAbortError`` with the raising module and code). Reads only: no signer, no Slack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from chatops.chain.aborts import describe
from chatops.chain.calls import TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.constants import REFUND_FIRST_BATCH_SLA_SECS, REFUND_FULL_SLA_SECS
from chatops.chain.errors import ChainAbortError, ChainResponseError
from chatops.chain.signer import normalize_address

__all__ = ["READS", "STATE_ONLY", "ResourceStateReader"]

# Resources at the package account (spec §1.6), module-relative.
REGISTRY: Final = "lottery_registry::Registry"
SALES: Final = "sales::SalesLedger"
DRAW: Final = "draw::DrawLedger"
PAYOUTS: Final = "payouts::PayoutLedger"
ROLES: Final = "roles::RoleStore"
ARCHIVE: Final = "history::ArchiveLedger"
DUAL_WRITE: Final = "legacy_bridge::DualWriteControl"
MIRROR: Final = "legacy_bridge::MirrorConfig"
VRF_DEPOSIT: Final = "vrf_deposit::VrfDepositLedger"
PRICE_FEED: Final = "price_feed::PriceFeedRegistry"
AUTOMATION: Final = "automation::AutomationRegistry"
FEATURES: Final = "feature_switch::FeatureSwitchRegistry"
LEGACY_ARCHIVE: Final = "history_bridge::LegacyArchive"


@dataclass(frozen=True)
class _Table:
    """A ``0x1::table::Table`` field of a resource: where its handle is and its Move types."""

    field: str
    key_type: str
    value_type: str


LOTTERIES: Final = _Table("lotteries", "u64", "lottery_registry::Lottery")
CANCELLATIONS: Final = _Table("cancellations", "u64", "lottery_registry::CancellationRecord")
SALES_STATES: Final = _Table("states", "u64", "sales::SalesState")
DRAW_STATES: Final = _Table("states", "u64", "draw::DrawState")
WINNER_STATES: Final = _Table("states", "u64", "payouts::WinnerState")
WINNER_CHUNKS: Final = _Table("winner_chunks", "u64", "payouts::WinnerChunk")
PARTNER_CAPS: Final = _Table("partner_caps", "address", "roles::PartnerPayoutCap")
PREMIUM_CAPS: Final = _Table("premium_caps", "address", "roles::PremiumAccessCap")
SUMMARIES: Final = _Table("summaries", "u64", "history::LotterySummary")
PRICE_FEEDS: Final = _Table("feeds", "u64", "price_feed::PriceFeedRecord")
FEATURE_ENTRIES: Final = _Table("entries", "u64", "feature_switch::FeatureRecord")
LEGACY_SUMMARIES: Final = _Table("summaries", "u64", "history_bridge::LegacySummary")

# Abort codes the read functions raise (spec §8.2); module = the module that raises it.
E_REGISTRY_MISSING: Final = 0x1202
E_ROLES_NOT_INITIALIZED: Final = 0x1103
E_PAGINATION_LIMIT: Final = 0x1501
E_HISTORY_MISSING: Final = 0x1B01
E_PRICE_FEED_NOT_FOUND: Final = 0x1902
E_FEATURE_UNKNOWN: Final = 0x1401
E_FEATURE_MODE_INVALID: Final = 0x1402
E_TABLE_KEY_NOT_FOUND: Final = 0x6507

MAX_PAGE: Final = 1000
STATUS_ACTIVE: Final = 1
VRF_REQUESTED, VRF_FULFILLED = 1, 2
STATUS_NAMES: Final = (
    "draft",
    "active",
    "closing",
    "draw_requested",
    "drawn",
    "payout",
    "finalized",
    "canceled",
)
KNOWN_TAGS_MASK: Final = 0x800000000000001F
MAX_ACTIVE_TAGS: Final = 16
BASIS_POINTS_MAX: Final = 10_000


# What the views return when the module or the lottery's record does not exist (spec §6.1-6.2).
_NO_SALES: Final[dict[str, Any]] = {
    "refund_active": False,
    **dict.fromkeys(
        (
            "refund_round",
            "refund_tickets_processed",
            "refund_prize_total",
            "refund_operations_total",
            "last_refund_ts",
            "tickets_sold",
            "proceeds_accum",
        ),
        "0",
    ),
}
_NO_WINNERS: Final[dict[str, Any]] = {
    "initialized": False,
    **dict.fromkeys(
        (
            "total_required",
            "total_assigned",
            "payout_round",
            "next_winner_batch_no",
            "last_payout_ts",
        ),
        "0",
    ),
}
_NO_DEPOSIT: Final[dict[str, Any]] = {
    **dict.fromkeys(
        (
            "total_balance",
            "minimum_balance",
            "effective_balance",
            "required_minimum",
            "last_update_ts",
        ),
        "0",
    ),
    "requests_paused": False,
    "paused_since_ts": "0",
}
_NO_VRF_STATE: Final[dict[str, Any]] = {
    "status": 0,
    "attempt": 0,
    "consumed": True,
    "retry_after_ts": "0",
    "retry_strategy": 0,
    "last_request_ts": "0",
    "request_id": "0",
}


def _none() -> dict[str, list[Any]]:
    return {"vec": []}


def _some(value: Any) -> dict[str, list[Any]]:
    return {"vec": [value]}


def _n(value: Any) -> int:
    """A u64 from chain JSON (a decimal string) or a small uint (a number)."""
    return int(value)


@dataclass
class _Reads:
    """One read in progress: fetches each resource at most once and raises the chain's errors."""

    client: ChainClient
    address: str
    function_id: str
    _resources: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def _qualify(self, type_str: str) -> str:
        return f"{self.address}::{type_str}" if "::" in type_str else type_str

    def abort(self, module: str, code: int) -> ChainAbortError:
        """The error the view would raise for ``abort code`` in ``module`` (``0x1::table`` too)."""
        info = describe(module, code)
        return ChainAbortError(
            module=info.module,
            code=code,
            name=info.name,
            meaning=info.meaning,
            function=self.function_id,
        )

    def resource(self, struct: str) -> dict[str, Any] | None:
        """The resource's data, or None where the Move code would see ``!exists<T>``."""
        if struct not in self._resources:
            try:
                data: dict[str, Any] | None = self.client.resource(
                    self.address, self._qualify(struct)
                )
            except ChainResponseError as exc:
                if not _is_not_found(exc):
                    raise
                data = None
            self._resources[struct] = data
        return self._resources[struct]

    def require(self, struct: str, module: str, code: int) -> dict[str, Any]:
        """The resource, or the abort the module raises when it was never published."""
        data = self.resource(struct)
        if data is None:
            raise self.abort(module, code)
        return data

    def borrow_global(self, struct: str) -> dict[str, Any]:
        """The resource, or the VM's MISSING_DATA (the Move code borrows without checking)."""
        data = self.resource(struct)
        if data is None:
            raise ChainResponseError(
                f"{self.function_id} failed: a resource it needs does not exist "
                f"(MISSING_DATA: {self._qualify(struct)}; module not initialised?)."
            )
        return data

    def lookup(self, resource: dict[str, Any], table: _Table, key: Any) -> Any | None:
        """``table::contains`` then ``borrow``: the item, or None for an absent key."""
        handle = resource[table.field]["handle"]
        try:
            return self.client.table_item(
                handle, table.key_type, self._qualify(table.value_type), key
            )
        except ChainResponseError as exc:
            if not _is_not_found(exc):
                raise
            return None

    def borrow(self, resource: dict[str, Any], table: _Table, key: Any) -> Any:
        """``table::borrow``: the item, or the framework's 0x6507 for an absent key."""
        value = self.lookup(resource, table, key)
        if value is None:
            raise self.abort("0x1::table", E_TABLE_KEY_NOT_FOUND)
        return value

    def lookup_in(self, struct: str, table: _Table, key: Any) -> Any | None:
        """The item if the resource exists and holds ``key``; None otherwise (the views' defaults)."""
        data = self.resource(struct)
        return None if data is None else self.lookup(data, table, key)


def _is_not_found(exc: ChainResponseError) -> bool:
    """The node's 404 for an absent resource or table key (a chain-id mismatch has no status)."""
    return exc.status_code == 404


# --- lottery_registry and views -------------------------------------------------------------


def _registry(r: _Reads) -> dict[str, Any]:
    return r.require(REGISTRY, "lottery_registry", E_REGISTRY_MISSING)


def ordered_ids_snapshot(r: _Reads) -> list[Any]:
    """``lottery_registry::ordered_ids_snapshot()``: every lottery id in creation order."""
    return [[str(i) for i in _registry(r)["ordered_ids"]]]


def _lottery(r: _Reads, lottery_id: int) -> dict[str, Any]:
    lottery: dict[str, Any] = r.borrow(_registry(r), LOTTERIES, lottery_id)
    return lottery


def _config_checks(config: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(module, code, failed) in the order ``validate_config`` runs them (spec §4.1, retry skipped)."""
    mask = _n(config["tags_mask"])
    window, limits = config["sales_window"], config["ticket_limits"]
    total, per_address = _n(limits["max_tickets_total"]), _n(limits["max_tickets_per_address"])
    plan = config["prize_plan"]
    return [
        ("tags", 0x1001, _n(config["primary_type"]) > 3),
        ("tags", 0x1002, bool(mask & ~KNOWN_TAGS_MASK)),
        ("tags", 0x1003, bin(mask).count("1") > MAX_ACTIVE_TAGS),
        ("types", 0x1208, _n(window["sales_start"]) >= _n(window["sales_end"])),
        ("types", 0x1209, _n(config["ticket_price"]) == 0),
        ("types", 0x120A, total == 0 or (per_address != 0 and per_address > total)),
        (
            "economics",
            0x1301,
            sum(_n(v) for v in config["sales_distribution"].values()) != BASIS_POINTS_MAX,
        ),
        ("types", 0x120B, not plan),
        (
            "types",
            0x120C,
            any(_n(s["winners_per_slot"]) == 0 or _n(s["reward_type"]) > 3 for s in plan),
        ),
        ("types", 0x120D, _n(config["draw_algo"]) > 2),
    ]


def validate_config(r: _Reads, lottery_id: int) -> list[Any]:
    for module, code, failed in _config_checks(_lottery(r, lottery_id)["config"]):
        if failed:
            raise r.abort(module, code)
    return []


def get_lottery(r: _Reads, lottery_id: int) -> list[Any]:
    return [_lottery(r, lottery_id)["config"]]


def get_lottery_status(r: _Reads, lottery_id: int) -> list[Any]:
    lottery = _lottery(r, lottery_id)
    config = lottery["config"]
    return [
        {
            "status": lottery["status"],
            "snapshot_frozen": lottery["snapshot_frozen"],
            "primary_type": config["primary_type"],
            "tags_mask": config["tags_mask"],
        }
    ]


def get_lottery_badges(r: _Reads, lottery_id: int) -> list[Any]:
    config = _lottery(r, lottery_id)["config"]
    return [config["primary_type"], config["tags_mask"]]


def list_active(r: _Reads, start: int, limit: int) -> list[Any]:
    """Newest first; ``start`` skips matching ids; fetches lotteries only until the page is full."""
    if limit > MAX_PAGE:
        raise r.abort("views", E_PAGINATION_LIMIT)
    registry = _registry(r)
    found: list[str] = []
    skipped = 0
    for lottery_id in reversed(registry["ordered_ids"]):
        if len(found) >= limit:
            break
        if _n(r.borrow(registry, LOTTERIES, _n(lottery_id))["status"]) != STATUS_ACTIVE:
            continue
        if skipped < start:
            skipped += 1
            continue
        found.append(lottery_id)
    return [found]


def accounting_snapshot(r: _Reads, lottery_id: int) -> list[Any]:
    return [_sales_state(r, lottery_id)["accounting"]]


def get_cancellation(r: _Reads, lottery_id: int) -> list[Any]:
    record = r.lookup(_registry(r), CANCELLATIONS, lottery_id)
    return [_none() if record is None else _some(record)]


def get_refund_progress(r: _Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(SALES, SALES_STATES, lottery_id) or _NO_SALES
    return [
        {
            "active": state["refund_active"],
            "refund_round": state["refund_round"],
            "tickets_refunded": state["refund_tickets_processed"],
            "prize_refunded": state["refund_prize_total"],
            "operations_refunded": state["refund_operations_total"],
            "last_refund_ts": state["last_refund_ts"],
            "tickets_sold": state["tickets_sold"],
            "proceeds_accum": state["proceeds_accum"],
        }
    ]


def status_overview(r: _Reads, now_ts: int) -> list[Any]:
    """Spec §6.3 to the letter, quirks included (every lottery ever created, creation order)."""
    registry = _registry(r)
    counts = dict.fromkeys(
        (
            "total",
            *STATUS_NAMES,
            "vrf_requested",
            "vrf_fulfilled_pending",
            "vrf_retry_blocked",
            "winners_pending",
            "payout_backlog",
            "refund_active",
            "refund_batch_pending",
        ),
        0,
    )
    breach = False
    for raw_id in registry["ordered_ids"]:
        lottery_id = _n(raw_id)
        status = _n(r.borrow(registry, LOTTERIES, lottery_id)["status"])
        counts["total"] += 1
        if status < len(STATUS_NAMES):
            counts[STATUS_NAMES[status]] += 1
        drawn = r.lookup_in(DRAW, DRAW_STATES, lottery_id)
        if drawn is not None:
            vrf = drawn["vrf_state"]
            vrf_status, consumed = _n(vrf["status"]), bool(vrf["consumed"])
            if vrf_status == VRF_REQUESTED:
                counts["vrf_requested"] += 1
                if not consumed and _n(vrf["retry_after_ts"]) > now_ts:
                    counts["vrf_retry_blocked"] += 1
            if vrf_status == VRF_FULFILLED and not consumed:
                counts["vrf_fulfilled_pending"] += 1
        winners = r.lookup_in(PAYOUTS, WINNER_STATES, lottery_id)
        if winners is not None and winners["initialized"]:
            if _n(winners["total_required"]) > _n(winners["total_assigned"]):
                counts["winners_pending"] += 1
            if _n(winners["next_winner_batch_no"]) > _n(winners["payout_round"]):
                counts["payout_backlog"] += 1
        sales = r.lookup_in(SALES, SALES_STATES, lottery_id)
        if sales is not None and sales["refund_active"]:
            counts["refund_active"] += 1
            remaining = _n(sales["tickets_sold"]) - _n(sales["refund_tickets_processed"])
            counts["refund_batch_pending"] += remaining
            record = r.lookup(registry, CANCELLATIONS, lottery_id)
            if record is not None:
                canceled_ts, rounds = _n(record["canceled_ts"]), _n(sales["refund_round"])
                breach = breach or (
                    (rounds == 0 and now_ts > canceled_ts + REFUND_FIRST_BATCH_SLA_SECS)
                    or (
                        rounds > 0 and remaining > 0 and now_ts > canceled_ts + REFUND_FULL_SLA_SECS
                    )
                )
    return [{**{name: str(value) for name, value in counts.items()}, "refund_sla_breach": breach}]


# --- sales, draw, payouts, vrf_deposit --------------------------------------------------------


def _sales_state(r: _Reads, lottery_id: int) -> dict[str, Any]:
    """The sales state, or 0x1202 from ``sales`` (ledger missing or no ticket ever sold)."""
    ledger = r.require(SALES, "sales", E_REGISTRY_MISSING)
    state = r.lookup(ledger, SALES_STATES, lottery_id)
    if state is None:
        raise r.abort("sales", E_REGISTRY_MISSING)
    found: dict[str, Any] = state
    return found


def sales_totals(r: _Reads, lottery_id: int) -> list[Any]:
    state = _sales_state(r, lottery_id)
    return [state["tickets_sold"], state["proceeds_accum"], state["last_purchase_ts"]]


def vrf_state_view(r: _Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(DRAW, DRAW_STATES, lottery_id)
    if state is None:
        return [dict(_NO_VRF_STATE)]
    vrf = state["vrf_state"]
    return [
        {
            **{name: vrf[name] for name in ("status", "attempt", "consumed", "retry_after_ts")},
            "retry_strategy": vrf["retry_strategy"],
            "last_request_ts": state["last_request_ts"],
            "request_id": vrf["request_id"],
        }
    ]


def winner_progress(r: _Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(PAYOUTS, WINNER_STATES, lottery_id) or _NO_WINNERS
    names = ("initialized", "total_required", "total_assigned", "payout_round")
    return [{name: state[name] for name in (*names, "next_winner_batch_no", "last_payout_ts")}]


def winner_chunk(r: _Reads, lottery_id: int, chunk_seq: int) -> list[Any]:
    """``WinnerState.winner_chunks[chunk_seq]`` as ``Option<WinnerChunk>``: none when the lottery
    has no winner state or no such chunk. No function returns winners (spec §1.6)."""
    state = r.lookup_in(PAYOUTS, WINNER_STATES, lottery_id)
    chunk = None if state is None else r.lookup(state, WINNER_CHUNKS, chunk_seq)
    return [_none() if chunk is None else _some(chunk)]


def get_vrf_deposit_status(r: _Reads) -> list[Any]:
    ledger = r.resource(VRF_DEPOSIT)
    return [dict(_NO_DEPOSIT) if ledger is None else ledger["status"]]


# --- roles --------------------------------------------------------------------------------------


def _roles(r: _Reads) -> dict[str, Any]:
    return r.require(ROLES, "roles", E_ROLES_NOT_INITIALIZED)


def has_payout_batch_cap(r: _Reads) -> list[Any]:
    return [bool(_roles(r)["payout_batch"]["vec"])]


def payout_batch_cap_view(r: _Reads) -> list[Any]:
    return [_roles(r)["payout_batch"]]


def _cap(r: _Reads, table: _Table, holder: str) -> Any | None:
    return r.lookup(_roles(r), table, normalize_address(holder))


def partner_payout_cap_view(r: _Reads, partner: str) -> list[Any]:
    cap = _cap(r, PARTNER_CAPS, partner)
    return [_none() if cap is None else _some(cap)]


def has_partner_payout_cap(r: _Reads, partner: str) -> list[Any]:
    return [_cap(r, PARTNER_CAPS, partner) is not None]


def premium_cap_view(r: _Reads, holder: str) -> list[Any]:
    cap = _cap(r, PREMIUM_CAPS, holder)
    return [_none() if cap is None else _some(cap)]


def has_premium_cap(r: _Reads, holder: str) -> list[Any]:
    return [_cap(r, PREMIUM_CAPS, holder) is not None]


def _list_caps(r: _Reads, table: _Table, index: str) -> list[Any]:
    """Caps in the index vector's order (swap-removes reshuffle it), one table read each."""
    store = _roles(r)
    caps = [r.lookup(store, table, holder) for holder in store[index]]
    return [[cap for cap in caps if cap is not None]]


def list_partner_caps(r: _Reads) -> list[Any]:
    return _list_caps(r, PARTNER_CAPS, "partner_index")


def list_premium_caps(r: _Reads) -> list[Any]:
    return _list_caps(r, PREMIUM_CAPS, "premium_index")


# --- price_feed, feature_switch, automation ----------------------------------------------------


def get_price_view(r: _Reads, asset_id: int) -> list[Any]:
    record = r.lookup(r.borrow_global(PRICE_FEED), PRICE_FEEDS, asset_id)
    if record is None:
        raise r.abort("price_feed", E_PRICE_FEED_NOT_FOUND)
    return [record]


def price_feed_is_initialized(r: _Reads) -> list[Any]:
    return [r.resource(PRICE_FEED) is not None]


def feature_is_enabled(r: _Reads, feature_id: int, has_premium: bool) -> list[Any]:
    """Unlike the purchase gate, the read aborts 0x1202 when the switch was never initialised."""
    registry = r.require(FEATURES, "feature_switch", E_REGISTRY_MISSING)
    if registry["force_enable_devnet"]:
        return [True]
    entry = r.lookup(registry, FEATURE_ENTRIES, feature_id)
    if entry is None:
        raise r.abort("feature_switch", E_FEATURE_UNKNOWN)
    enabled = {0: False, 1: True, 2: has_premium}.get(_n(entry["mode"]))
    if enabled is None:
        raise r.abort("feature_switch", E_FEATURE_MODE_INVALID)
    return [enabled]


def feature_is_initialized(r: _Reads) -> list[Any]:
    return [r.resource(FEATURES) is not None]


def _bot_view(operator: str, state: dict[str, Any]) -> dict[str, Any]:
    """``AutomationBotView`` from the stored ``AutomationState`` (field order of the view)."""
    pending = state["pending_action_hash"]["vec"]
    pending_hash = pending[0] if pending else "0x"
    return {
        "operator": operator,
        "allowed_actions": state["allowed_actions"],
        "timelock_secs": state["timelock_secs"],
        "max_failures": state["max_failures"],
        "failure_count": state["failure_count"],
        "success_streak": state["success_streak"],
        "reputation_score": state["reputation_score"],
        "has_pending": pending_hash != "0x",
        "pending_execute_after": state["pending_execute_after"],
        "pending_action_hash": pending_hash,
        "expires_at": state["expires_at"],
        "cron_spec": state["cron_spec"],
        "last_action_ts": state["last_action_ts"],
        "last_action_hash": state["last_action_hash"],
    }


def _bots(r: _Reads) -> list[tuple[str, dict[str, Any]]]:
    """The inline ``vrf_hub::table`` of bots as (operator, state) in registration order."""
    registry = r.resource(AUTOMATION)
    if registry is None:
        return []
    bots = registry["bots"]
    return list(zip(bots["keys"], bots["values"], strict=True))


def list_automation_bots(r: _Reads) -> list[Any]:
    return [[_bot_view(operator, state) for operator, state in _bots(r)]]


def get_automation_bot(r: _Reads, operator: str) -> list[Any]:
    wanted = normalize_address(operator)
    for key, state in _bots(r):
        if normalize_address(key) == wanted:
            return [_some(_bot_view(key, state))]
    return [_none()]


# --- history, history_bridge, legacy_bridge ----------------------------------------------------


def _archive(r: _Reads) -> dict[str, Any]:
    return r.require(ARCHIVE, "history", E_HISTORY_MISSING)


def get_summary(r: _Reads, lottery_id: int) -> list[Any]:
    return [r.borrow(_archive(r), SUMMARIES, lottery_id)]


def list_finalized(r: _Reads, start: int, limit: int, *, module: str = "history") -> list[Any]:
    """Archived ids newest first; ``views::list_finalized_ids`` checks the limit as ``views``."""
    if limit > MAX_PAGE:
        raise r.abort(module, E_PAGINATION_LIMIT)
    newest_first = list(reversed(_archive(r)["ordered_ids"]))
    return [newest_first[start : start + limit]]


def list_finalized_ids(r: _Reads, start: int, limit: int) -> list[Any]:
    return list_finalized(r, start, limit, module="views")


def legacy_get_summary(r: _Reads, lottery_id: int) -> list[Any]:
    summary = r.lookup_in(LEGACY_ARCHIVE, LEGACY_SUMMARIES, lottery_id)
    return [_none() if summary is None else _some(summary)]


def legacy_is_initialized(r: _Reads) -> list[Any]:
    return [r.resource(LEGACY_ARCHIVE) is not None]


def _dual_write(r: _Reads, lottery_id: int | None) -> dict[str, Any]:
    control = r.resource(DUAL_WRITE)
    if control is None:
        flags = {"enabled": False, "abort_on_mismatch": False, "abort_on_missing": False}
        return {**flags, "expected_hash": _none()}
    expected = _none()
    table = control["expected_hashes"]
    if lottery_id is not None and str(lottery_id) in table["keys"]:
        expected = _some(table["values"][table["keys"].index(str(lottery_id))])
    return {
        "enabled": control["enabled"],
        "abort_on_mismatch": control["abort_on_mismatch"],
        "abort_on_missing": control["abort_on_missing"],
        "expected_hash": expected,
    }


def dual_write_status(r: _Reads, lottery_id: int) -> list[Any]:
    return [_dual_write(r, lottery_id)]


def dual_write_flags(r: _Reads) -> list[Any]:
    return [_dual_write(r, None)]


def pending_expected_hashes(r: _Reads) -> list[Any]:
    control = r.resource(DUAL_WRITE)
    return [[] if control is None else list(control["expected_hashes"]["keys"])]


def has_expected_hash(r: _Reads, lottery_id: int) -> list[Any]:
    control = r.resource(DUAL_WRITE)
    return [control is not None and str(lottery_id) in control["expected_hashes"]["keys"]]


def dual_write_is_enabled(r: _Reads) -> list[Any]:
    control = r.resource(DUAL_WRITE)
    return [control is not None and bool(control["enabled"])]


def is_mirror_enabled(r: _Reads) -> list[Any]:
    """``MirrorConfig`` has no fields: its presence at the package account is the switch."""
    return [r.resource(MIRROR) is not None]


# --- the table ---------------------------------------------------------------------------------

_ReadFn = Callable[..., list[Any]]

# ``module::name`` -> how to answer it; keep a parity case for each in tests/chatops/chain.
READS: Final[dict[str, _ReadFn]] = {
    "lottery_registry::ordered_ids_snapshot": ordered_ids_snapshot,
    "views::validate_config": validate_config,
    "views::get_lottery": get_lottery,
    "views::get_lottery_status": get_lottery_status,
    "views::get_lottery_badges": get_lottery_badges,
    "views::list_active": list_active,
    "views::list_finalized_ids": list_finalized_ids,
    "views::accounting_snapshot": accounting_snapshot,
    "views::get_vrf_deposit_status": get_vrf_deposit_status,
    "views::get_lottery_summary": get_summary,
    "views::status_overview": status_overview,
    "views::get_cancellation": get_cancellation,
    "views::get_refund_progress": get_refund_progress,
    "views::list_automation_bots": list_automation_bots,
    "views::get_automation_bot": get_automation_bot,
    "draw::vrf_state_view": vrf_state_view,
    "sales::sales_totals": sales_totals,
    "sales::accounting_snapshot": accounting_snapshot,
    "sales::refund_progress": get_refund_progress,
    "payouts::winner_progress": winner_progress,
    "vrf_deposit::get_status": get_vrf_deposit_status,
    "roles::has_payout_batch_cap": has_payout_batch_cap,
    "roles::payout_batch_cap_view": payout_batch_cap_view,
    "roles::has_partner_payout_cap": has_partner_payout_cap,
    "roles::partner_payout_cap_view": partner_payout_cap_view,
    "roles::list_partner_caps": list_partner_caps,
    "roles::has_premium_cap": has_premium_cap,
    "roles::premium_cap_view": premium_cap_view,
    "roles::list_premium_caps": list_premium_caps,
    "price_feed::get_price_view": get_price_view,
    "price_feed::is_initialized": price_feed_is_initialized,
    "legacy_bridge::dual_write_status": dual_write_status,
    "legacy_bridge::dual_write_flags": dual_write_flags,
    "legacy_bridge::pending_expected_hashes": pending_expected_hashes,
    "legacy_bridge::has_expected_hash": has_expected_hash,
    "legacy_bridge::is_enabled": dual_write_is_enabled,
    "legacy_bridge::is_mirror_enabled": is_mirror_enabled,
    "history::get_summary": get_summary,
    "history::list_finalized": list_finalized,
    "history_bridge::get_summary": legacy_get_summary,
    "history_bridge::is_initialized": legacy_is_initialized,
    "feature_switch::is_enabled": feature_is_enabled,
    "feature_switch::is_initialized": feature_is_initialized,
}


# Reads of state that no contract function returns: named after the resource field they read,
# answered from resources on every node (there is no view to try first).
STATE_ONLY: Final[dict[str, Callable[..., list[Any]]]] = {
    "payouts::WinnerState.winner_chunks": winner_chunk,
}


class ResourceStateReader:
    """``chatops.gateway.StateReader`` over resources and table items of one package account."""

    def __init__(self, client: ChainClient, package_address: str) -> None:
        self.client = client
        self.package_address = normalize_address(package_address)

    def _name(self, function: str) -> str | None:
        """``module::name`` for this package's functions (a ``0xADDR::`` prefix must be ours)."""
        parts = function.split("::")
        if len(parts) == 3:
            try:
                ours = normalize_address(parts[0]) == self.package_address
            except ValueError:
                ours = False
            return "::".join(parts[1:]) if ours else None
        return function if len(parts) == 2 else None

    def supports(self, function: str) -> bool:
        name = self._name(function)
        return name is not None and (name in READS or name in STATE_ONLY)

    def state_only(self, function: str) -> bool:
        """Whether ``function`` names resource state rather than a function (never a view)."""
        return self._name(function) in STATE_ONLY

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        """The view's result for ``function(args)``, in chain JSON.

        Raises:
            ChainAbortError: the abort the Move function would raise (module and code).
            ChainResponseError: MISSING_DATA where the function borrows an absent resource.
            ValueError: ``function`` is not one this reader knows (check ``supports``).
        """
        name = self._name(function)
        fn = (READS.get(name) or STATE_ONLY.get(name)) if name is not None else None
        if name is None or fn is None:
            raise ValueError(f"{function} has no resource-based reader")
        reads = _Reads(self.client, self.package_address, f"{self.package_address}::{name}")
        return fn(reads, *(a.python() for a in args))
