"""The package's read functions re-done from account resources and table items (spec §1.6, §6), for
the reads a real node refuses on ``POST /view``. Reads only: no signer, no Slack."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from chatops.chain import package_layout as pkg
from chatops.chain.calls import TypedArg
from chatops.chain.client import ChainClient
from chatops.chain.constants import REFUND_FIRST_BATCH_SLA_SECS, REFUND_FULL_SLA_SECS
from chatops.chain.movetypes import as_int
from chatops.chain.resource_reads import Reads, Table
from chatops.chain.signer import normalize_address
from chatops.chain.statuses import LotteryStatus, VrfStatus

__all__ = ["READS", "STATE_ONLY", "ResourceStateReader"]

MAX_PAGE: Final = 1000
KNOWN_TAGS_MASK: Final = 0x800000000000001F
MAX_ACTIVE_TAGS: Final = 16
BASIS_POINTS_MAX: Final = 10_000


def _none() -> dict[str, list[Any]]:
    return {"vec": []}


def _some(value: Any) -> dict[str, list[Any]]:
    return {"vec": [value]}


# --- lottery_registry and views -------------------------------------------------------------


def _registry(r: Reads) -> dict[str, Any]:
    return r.require(pkg.REGISTRY, "lottery_registry", pkg.E_REGISTRY_MISSING)


def ordered_ids_snapshot(r: Reads) -> list[Any]:
    """``lottery_registry::ordered_ids_snapshot()``: every lottery id in creation order."""
    return [[str(i) for i in _registry(r)["ordered_ids"]]]


def _lottery(r: Reads, lottery_id: int) -> dict[str, Any]:
    lottery: dict[str, Any] = r.borrow(_registry(r), pkg.LOTTERIES, lottery_id)
    return lottery


def _config_checks(config: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(module, code, failed) in the order ``validate_config`` runs them (spec §4.1, retry skipped)."""
    mask = as_int(config["tags_mask"])
    window, limits = config["sales_window"], config["ticket_limits"]
    total, per_address = (
        as_int(limits["max_tickets_total"]),
        as_int(limits["max_tickets_per_address"]),
    )
    plan = config["prize_plan"]
    return [
        ("tags", 0x1001, as_int(config["primary_type"]) > 3),
        ("tags", 0x1002, bool(mask & ~KNOWN_TAGS_MASK)),
        ("tags", 0x1003, bin(mask).count("1") > MAX_ACTIVE_TAGS),
        ("types", 0x1208, as_int(window["sales_start"]) >= as_int(window["sales_end"])),
        ("types", 0x1209, as_int(config["ticket_price"]) == 0),
        ("types", 0x120A, total == 0 or (per_address != 0 and per_address > total)),
        (
            "economics",
            0x1301,
            sum(as_int(v) for v in config["sales_distribution"].values()) != BASIS_POINTS_MAX,
        ),
        ("types", 0x120B, not plan),
        (
            "types",
            0x120C,
            any(as_int(s["winners_per_slot"]) == 0 or as_int(s["reward_type"]) > 3 for s in plan),
        ),
        ("types", 0x120D, as_int(config["draw_algo"]) > 2),
    ]


def validate_config(r: Reads, lottery_id: int) -> list[Any]:
    for module, code, failed in _config_checks(_lottery(r, lottery_id)["config"]):
        if failed:
            raise r.abort(module, code)
    return []


def get_lottery(r: Reads, lottery_id: int) -> list[Any]:
    return [_lottery(r, lottery_id)["config"]]


def get_lottery_status(r: Reads, lottery_id: int) -> list[Any]:
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


def get_lottery_badges(r: Reads, lottery_id: int) -> list[Any]:
    config = _lottery(r, lottery_id)["config"]
    return [config["primary_type"], config["tags_mask"]]


def list_active(r: Reads, start: int, limit: int) -> list[Any]:
    """Newest first; ``start`` skips matching ids; fetches lotteries only until the page is full."""
    if limit > MAX_PAGE:
        raise r.abort("views", pkg.E_PAGINATION_LIMIT)
    registry = _registry(r)
    found: list[str] = []
    skipped = 0
    for lottery_id in reversed(registry["ordered_ids"]):
        if len(found) >= limit:
            break
        if (
            as_int(r.borrow(registry, pkg.LOTTERIES, as_int(lottery_id))["status"])
            != LotteryStatus.ACTIVE
        ):
            continue
        if skipped < start:
            skipped += 1
            continue
        found.append(lottery_id)
    return [found]


def accounting_snapshot(r: Reads, lottery_id: int) -> list[Any]:
    return [_sales_state(r, lottery_id)["accounting"]]


def get_cancellation(r: Reads, lottery_id: int) -> list[Any]:
    record = r.lookup(_registry(r), pkg.CANCELLATIONS, lottery_id)
    return [_none() if record is None else _some(record)]


def get_refund_progress(r: Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(pkg.SALES, pkg.SALES_STATES, lottery_id) or pkg.NO_SALES
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


def status_overview(r: Reads, now_ts: int) -> list[Any]:
    """Spec §6.3 to the letter, quirks included (every lottery ever created, creation order)."""
    registry = _registry(r)
    counts = dict.fromkeys(
        (
            "total",
            *(status.key for status in LotteryStatus),
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
        lottery_id = as_int(raw_id)
        status = as_int(r.borrow(registry, pkg.LOTTERIES, lottery_id)["status"])
        counts["total"] += 1
        if status < len(LotteryStatus):
            counts[LotteryStatus(status).key] += 1
        drawn = r.lookup_in(pkg.DRAW, pkg.DRAW_STATES, lottery_id)
        if drawn is not None:
            vrf = drawn["vrf_state"]
            vrf_status, consumed = as_int(vrf["status"]), bool(vrf["consumed"])
            if vrf_status == VrfStatus.REQUESTED:
                counts["vrf_requested"] += 1
                if not consumed and as_int(vrf["retry_after_ts"]) > now_ts:
                    counts["vrf_retry_blocked"] += 1
            if vrf_status == VrfStatus.FULFILLED and not consumed:
                counts["vrf_fulfilled_pending"] += 1
        winners = r.lookup_in(pkg.PAYOUTS, pkg.WINNER_STATES, lottery_id)
        if winners is not None and winners["initialized"]:
            if as_int(winners["total_required"]) > as_int(winners["total_assigned"]):
                counts["winners_pending"] += 1
            if as_int(winners["next_winner_batch_no"]) > as_int(winners["payout_round"]):
                counts["payout_backlog"] += 1
        sales = r.lookup_in(pkg.SALES, pkg.SALES_STATES, lottery_id)
        if sales is not None and sales["refund_active"]:
            counts["refund_active"] += 1
            remaining = as_int(sales["tickets_sold"]) - as_int(sales["refund_tickets_processed"])
            counts["refund_batch_pending"] += remaining
            record = r.lookup(registry, pkg.CANCELLATIONS, lottery_id)
            if record is not None:
                canceled_ts, rounds = as_int(record["canceled_ts"]), as_int(sales["refund_round"])
                breach = breach or (
                    (rounds == 0 and now_ts > canceled_ts + REFUND_FIRST_BATCH_SLA_SECS)
                    or (
                        rounds > 0 and remaining > 0 and now_ts > canceled_ts + REFUND_FULL_SLA_SECS
                    )
                )
    return [{**{name: str(value) for name, value in counts.items()}, "refund_sla_breach": breach}]


# --- sales, draw, payouts, vrf_deposit --------------------------------------------------------


def _sales_state(r: Reads, lottery_id: int) -> dict[str, Any]:
    """The sales state, or 0x1202 from ``sales`` (ledger missing or no ticket ever sold)."""
    ledger = r.require(pkg.SALES, "sales", pkg.E_REGISTRY_MISSING)
    state = r.lookup(ledger, pkg.SALES_STATES, lottery_id)
    if state is None:
        raise r.abort("sales", pkg.E_REGISTRY_MISSING)
    found: dict[str, Any] = state
    return found


def sales_totals(r: Reads, lottery_id: int) -> list[Any]:
    state = _sales_state(r, lottery_id)
    return [state["tickets_sold"], state["proceeds_accum"], state["last_purchase_ts"]]


def vrf_state_view(r: Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(pkg.DRAW, pkg.DRAW_STATES, lottery_id)
    if state is None:
        return [dict(pkg.NO_VRF_STATE)]
    vrf = state["vrf_state"]
    return [
        {
            **{name: vrf[name] for name in ("status", "attempt", "consumed", "retry_after_ts")},
            "retry_strategy": vrf["retry_strategy"],
            "last_request_ts": state["last_request_ts"],
            "request_id": vrf["request_id"],
        }
    ]


def winner_progress(r: Reads, lottery_id: int) -> list[Any]:
    state = r.lookup_in(pkg.PAYOUTS, pkg.WINNER_STATES, lottery_id) or pkg.NO_WINNERS
    names = ("initialized", "total_required", "total_assigned", "payout_round")
    return [{name: state[name] for name in (*names, "next_winner_batch_no", "last_payout_ts")}]


def get_vrf_deposit_status(r: Reads) -> list[Any]:
    ledger = r.resource(pkg.VRF_DEPOSIT)
    return [dict(pkg.NO_DEPOSIT) if ledger is None else ledger["status"]]


def winner_chunk(r: Reads, lottery_id: int, chunk_seq: int) -> list[Any]:
    """``WinnerState.winner_chunks[chunk_seq]`` as ``Option<WinnerChunk>``: none when the lottery
    has no winner state or no such chunk. No function returns winners (spec §1.6)."""
    state = r.lookup_in(pkg.PAYOUTS, pkg.WINNER_STATES, lottery_id)
    chunk = None if state is None else r.lookup(state, pkg.WINNER_CHUNKS, chunk_seq)
    return [_none() if chunk is None else _some(chunk)]


# --- roles --------------------------------------------------------------------------------------


def _roles(r: Reads) -> dict[str, Any]:
    return r.require(pkg.ROLES, "roles", pkg.E_ROLES_NOT_INITIALIZED)


def has_payout_batch_cap(r: Reads) -> list[Any]:
    return [bool(_roles(r)["payout_batch"]["vec"])]


def payout_batch_cap_view(r: Reads) -> list[Any]:
    return [_roles(r)["payout_batch"]]


def _cap(r: Reads, table: Table, holder: str) -> Any | None:
    return r.lookup(_roles(r), table, normalize_address(holder))


def partner_payout_cap_view(r: Reads, partner: str) -> list[Any]:
    cap = _cap(r, pkg.PARTNER_CAPS, partner)
    return [_none() if cap is None else _some(cap)]


def has_partner_payout_cap(r: Reads, partner: str) -> list[Any]:
    return [_cap(r, pkg.PARTNER_CAPS, partner) is not None]


def premium_cap_view(r: Reads, holder: str) -> list[Any]:
    cap = _cap(r, pkg.PREMIUM_CAPS, holder)
    return [_none() if cap is None else _some(cap)]


def has_premium_cap(r: Reads, holder: str) -> list[Any]:
    return [_cap(r, pkg.PREMIUM_CAPS, holder) is not None]


def _list_caps(r: Reads, table: Table, index: str) -> list[Any]:
    """Caps in the index vector's order (swap-removes reshuffle it), one table read each."""
    store = _roles(r)
    caps = [r.lookup(store, table, holder) for holder in store[index]]
    return [[cap for cap in caps if cap is not None]]


def list_partner_caps(r: Reads) -> list[Any]:
    return _list_caps(r, pkg.PARTNER_CAPS, "partner_index")


def list_premium_caps(r: Reads) -> list[Any]:
    return _list_caps(r, pkg.PREMIUM_CAPS, "premium_index")


# --- price_feed, feature_switch, automation ----------------------------------------------------


def get_price_view(r: Reads, asset_id: int) -> list[Any]:
    record = r.lookup(r.borrow_global(pkg.PRICE_FEED), pkg.PRICE_FEEDS, asset_id)
    if record is None:
        raise r.abort("price_feed", pkg.E_PRICE_FEED_NOT_FOUND)
    return [record]


def price_feed_is_initialized(r: Reads) -> list[Any]:
    return [r.resource(pkg.PRICE_FEED) is not None]


def feature_is_enabled(r: Reads, feature_id: int, has_premium: bool) -> list[Any]:
    """Unlike the purchase gate, the read aborts 0x1202 when the switch was never initialised."""
    registry = r.require(pkg.FEATURES, "feature_switch", pkg.E_REGISTRY_MISSING)
    if registry["force_enable_devnet"]:
        return [True]
    entry = r.lookup(registry, pkg.FEATURE_ENTRIES, feature_id)
    if entry is None:
        raise r.abort("feature_switch", pkg.E_FEATURE_UNKNOWN)
    enabled = {0: False, 1: True, 2: has_premium}.get(as_int(entry["mode"]))
    if enabled is None:
        raise r.abort("feature_switch", pkg.E_FEATURE_MODE_INVALID)
    return [enabled]


def feature_is_initialized(r: Reads) -> list[Any]:
    return [r.resource(pkg.FEATURES) is not None]


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


def _bots(r: Reads) -> list[tuple[str, dict[str, Any]]]:
    """The inline ``vrf_hub::table`` of bots as (operator, state) in registration order."""
    registry = r.resource(pkg.AUTOMATION)
    if registry is None:
        return []
    bots = registry["bots"]
    return list(zip(bots["keys"], bots["values"], strict=True))


def list_automation_bots(r: Reads) -> list[Any]:
    return [[_bot_view(operator, state) for operator, state in _bots(r)]]


def get_automation_bot(r: Reads, operator: str) -> list[Any]:
    wanted = normalize_address(operator)
    for key, state in _bots(r):
        if normalize_address(key) == wanted:
            return [_some(_bot_view(key, state))]
    return [_none()]


# --- history, history_bridge, legacy_bridge ----------------------------------------------------


def _archive(r: Reads) -> dict[str, Any]:
    return r.require(pkg.ARCHIVE, "history", pkg.E_HISTORY_MISSING)


def get_summary(r: Reads, lottery_id: int) -> list[Any]:
    return [r.borrow(_archive(r), pkg.SUMMARIES, lottery_id)]


def list_finalized(r: Reads, start: int, limit: int, *, module: str = "history") -> list[Any]:
    """Archived ids newest first; ``views::list_finalized_ids`` checks the limit as ``views``."""
    if limit > MAX_PAGE:
        raise r.abort(module, pkg.E_PAGINATION_LIMIT)
    newest_first = list(reversed(_archive(r)["ordered_ids"]))
    return [newest_first[start : start + limit]]


def list_finalized_ids(r: Reads, start: int, limit: int) -> list[Any]:
    return list_finalized(r, start, limit, module="views")


def legacy_get_summary(r: Reads, lottery_id: int) -> list[Any]:
    summary = r.lookup_in(pkg.LEGACY_ARCHIVE, pkg.LEGACY_SUMMARIES, lottery_id)
    return [_none() if summary is None else _some(summary)]


def legacy_is_initialized(r: Reads) -> list[Any]:
    return [r.resource(pkg.LEGACY_ARCHIVE) is not None]


def _dual_write(r: Reads, lottery_id: int | None) -> dict[str, Any]:
    control = r.resource(pkg.DUAL_WRITE)
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


def dual_write_status(r: Reads, lottery_id: int) -> list[Any]:
    return [_dual_write(r, lottery_id)]


def dual_write_flags(r: Reads) -> list[Any]:
    return [_dual_write(r, None)]


def pending_expected_hashes(r: Reads) -> list[Any]:
    control = r.resource(pkg.DUAL_WRITE)
    return [[] if control is None else list(control["expected_hashes"]["keys"])]


def has_expected_hash(r: Reads, lottery_id: int) -> list[Any]:
    control = r.resource(pkg.DUAL_WRITE)
    return [control is not None and str(lottery_id) in control["expected_hashes"]["keys"]]


def dual_write_is_enabled(r: Reads) -> list[Any]:
    control = r.resource(pkg.DUAL_WRITE)
    return [control is not None and bool(control["enabled"])]


def is_mirror_enabled(r: Reads) -> list[Any]:
    """``MirrorConfig`` has no fields: its presence at the package account is the switch."""
    return [r.resource(pkg.MIRROR) is not None]


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
    """``chatops.chain.gateway.StateReader`` over resources and table items of one package account.

    A real node refuses every read but ``history::is_legacy_summary`` on ``POST /view`` (spec fact
    3), so this answers them from ``GET /accounts/{addr}/resources/{type}`` and ``POST
    /tables/{handle}/item``, returning the chain JSON the view would return and raising the same
    aborts (``ChainAbortError`` with the raising module and code).
    """

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
        reads = Reads(self.client, self.package_address, f"{self.package_address}::{name}")
        return fn(reads, *(a.python() for a in args))
