"""ChainClient against a scripted node on a real socket: requests, retries, chain id and error mapping."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from nacl.signing import VerifyKey

from chatops.chain import errors, transactions
from chatops.chain.client import ChainClient, raise_for_status
from chatops.chain.models import TransactionInfo
from chatops.chain.signer import LocalKeySigner
from tests.chatops.chain.conftest import CHAIN_ID, SleepLog
from tests.fakes.supra_node import FakeSupraNode

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
SET_FALLBACK = f"{PACKAGE}::price_feed::set_fallback"
TX_HASH = "0x" + "ab" * 32
VIEW = "/rpc/v3/view"
SUBMIT = "/rpc/v3/transactions/submit"
SIMULATE = "/rpc/v3/transactions/simulate"


def _tx(
    status: str, vm_status: str = "Executed successfully", tx_hash: str = TX_HASH
) -> dict[str, Any]:
    return {
        "hash": tx_hash,
        "status": status,
        "header": {"sender": {"Move": PACKAGE}, "sequence_number": 7},
        "block_header": None,
        "output": {"Move": {"gas_used": 12, "events": [], "vm_status": vm_status}},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- view ----------------------------------------------------------------------------------------


def test_view_sends_chain_json_and_returns_result(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """Typed view arguments go out as chain JSON (u64 as string, padded address) and result comes back."""
    supra_node.reply("POST", VIEW, body={"result": ["1250000000", True]})
    result = client.view(f"{PACKAGE}::views::f", [("u64", 5), ("address", "0x1"), ("u8", 3)])
    assert result == ["1250000000", True]
    sent = supra_node.requests_to("POST", VIEW)[0].json()
    assert sent == {
        "function": f"{PACKAGE}::views::f",
        "type_arguments": [],
        "arguments": ["5", "0x" + "0" * 63 + "1", 3],
    }


def test_view_passes_already_json_arguments_through(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """Arguments that are not (type, value) pairs are sent unchanged, with type arguments."""
    supra_node.reply("POST", VIEW, body={"result": []})
    client.view("0x1::coin::balance", ["0x1", "42"], type_args=["0x1::supra_coin::SupraCoin"])
    sent = supra_node.requests_to("POST", VIEW)[0].json()
    assert sent["arguments"] == ["0x1", "42"]
    assert sent["type_arguments"] == ["0x1::supra_coin::SupraCoin"]


def test_view_refused_as_not_a_view_function(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A 400 saying the function is not #[view] becomes ViewNotAllowedError naming the function."""
    message = "Invalid view function: function x is not marked as a view function (INVALID_MAIN_FUNCTION_SIGNATURE)"
    supra_node.reply("POST", VIEW, status=400, body={"message": message})
    with pytest.raises(errors.ViewNotAllowedError) as caught:
        client.view(f"{PACKAGE}::views::status_overview", [("u64", 1)])
    assert caught.value.function == f"{PACKAGE}::views::status_overview"


def test_view_abort_becomes_chain_abort_error(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A view that aborts raises ChainAbortError with the decoded name, not retried."""
    supra_node.always(
        "POST", VIEW, status=400, body={"message": "Move abort in 0x1::table: 0x6507"}
    )
    with pytest.raises(errors.ChainAbortError) as caught:
        client.view(f"{PACKAGE}::views::get_lottery", [("u64", 99)])
    assert caught.value.name == "ENOT_FOUND"
    assert caught.value.function == f"{PACKAGE}::views::get_lottery"
    assert len(supra_node.requests_to("POST", VIEW)) == 1


def test_view_with_unexpected_shape_is_a_response_error(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A 200 without a result list raises ChainResponseError."""
    supra_node.reply("POST", VIEW, body={"value": 1})
    with pytest.raises(errors.ChainResponseError, match="no result list"):
        client.view(f"{PACKAGE}::views::f")


# --- retries and availability --------------------------------------------------------------------


def test_503_with_retry_after_is_retried_then_succeeds(
    client: ChainClient, supra_node: FakeSupraNode, sleeps: SleepLog
) -> None:
    """A 503 with Retry-After waits that long and retries the read."""
    supra_node.reply(
        "GET",
        "/rpc/v3/block",
        status=503,
        body={"message": "archive initializing"},
        headers={"Retry-After": "2"},
    )
    supra_node.reply(
        "GET",
        "/rpc/v3/block",
        body={"header": {"height": 5, "hash": "0x5", "timestamp": 7_000_000}},
    )
    block = client.latest_block()
    assert block.height == 5
    assert block.timestamp.seconds == 7
    assert sleeps.delays_s == [2.0]


def test_persistent_429_gives_up_after_max_attempts(
    client: ChainClient, supra_node: FakeSupraNode, sleeps: SleepLog
) -> None:
    """A node that keeps answering 429 raises ChainUnavailableError after the bounded attempts."""
    supra_node.always(
        "GET",
        "/rpc/v3/block",
        status=429,
        body={"message": "slow down"},
        headers={"Retry-After": "1"},
    )
    with pytest.raises(errors.ChainUnavailableError, match="429"):
        client.latest_block()
    assert len(supra_node.requests_to("GET", "/rpc/v3/block")) == 3
    assert sleeps.delays_s == [1.0, 1.0]


def test_5xx_backoff_grows_exponentially(
    client: ChainClient, supra_node: FakeSupraNode, sleeps: SleepLog
) -> None:
    """Without Retry-After, the delay doubles from 0.2 s between attempts."""
    supra_node.reply("GET", "/rpc/v3/block", status=500, body={"message": "boom"})
    supra_node.reply(
        "GET", "/rpc/v3/block", status=502, body={"message": "bad gateway"}, chain_id=None
    )
    supra_node.reply(
        "GET", "/rpc/v3/block", body={"header": {"height": 1, "hash": "0x1", "timestamp": 0}}
    )
    assert client.latest_block().height == 1
    assert sleeps.delays_s == pytest.approx([0.2, 0.4])


def _impatient(supra_node: FakeSupraNode, sleeps: SleepLog, *, max_attempts: int) -> ChainClient:
    """A client whose reads and submits time out after 0.2 s."""
    return ChainClient(
        supra_node.url,
        chain_id=CHAIN_ID,
        timeout=httpx.Timeout(0.2),
        max_attempts=max_attempts,
        sleep=sleeps,
    )


def test_slow_node_times_out_as_unavailable(supra_node: FakeSupraNode, sleeps: SleepLog) -> None:
    """A response slower than the read timeout raises ChainUnavailableError after retrying."""
    supra_node.always("GET", "/rpc/v3/block", status=200, body={}, delay_s=2.0)
    with (
        _impatient(supra_node, sleeps, max_attempts=2) as chain,
        pytest.raises(errors.ChainUnavailableError, match="timed out"),
    ):
        chain.latest_block()
    assert len(sleeps.delays_s) == 1


def test_connection_refused_is_unavailable(sleeps: SleepLog) -> None:
    """Nothing listening on the port raises ChainUnavailableError."""
    with (
        ChainClient(
            f"http://127.0.0.1:{_free_port()}", chain_id=CHAIN_ID, max_attempts=2, sleep=sleeps
        ) as chain,
        pytest.raises(errors.ChainUnavailableError, match="could not connect"),
    ):
        chain.account(PACKAGE)


def test_4xx_is_not_retried_and_carries_the_message(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A 400 raises ChainResponseError with the node's message and status, after one request."""
    supra_node.always(
        "GET", f"/rpc/v3/accounts/{PACKAGE}", status=400, body={"message": "bad   address\nformat"}
    )
    with pytest.raises(errors.ChainResponseError) as caught:
        client.account(PACKAGE)
    assert caught.value.status_code == 400
    assert "bad address format" in str(caught.value)
    assert len(supra_node.requests_to("GET", f"/rpc/v3/accounts/{PACKAGE}")) == 1


# --- chain id ------------------------------------------------------------------------------------


def test_wrong_chain_id_header_is_refused(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """A response from another chain raises ChainIdMismatchError with both ids."""
    supra_node.reply(
        "GET",
        f"/rpc/v3/accounts/{PACKAGE}",
        body={"sequence_number": 1, "authentication_key": "0x1"},
        chain_id=8,
    )
    with pytest.raises(errors.ChainIdMismatchError) as caught:
        client.account(PACKAGE)
    assert (caught.value.expected, caught.value.actual) == (CHAIN_ID, "8")
    assert "chain id 8" in str(caught.value)


def test_missing_chain_id_header_on_success_is_refused(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A 200 without x-supra-chain-id is not trusted."""
    supra_node.reply(
        "GET",
        "/rpc/v3/block",
        body={"header": {"height": 1, "hash": "0x1", "timestamp": 0}},
        chain_id=None,
    )
    with pytest.raises(errors.ChainIdMismatchError):
        client.latest_block()


def test_chain_id_endpoint(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """chain_id() reads the bare integer of /rpc/v1/transactions/chain_id."""
    supra_node.reply("GET", "/rpc/v1/transactions/chain_id", body=CHAIN_ID)
    assert client.chain_id() == CHAIN_ID


# --- accounts, resources, tables, events ---------------------------------------------------------


def test_account_resource_and_table_item(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """account, resource (generic type URL-encoded) and table_item send and parse the v3 shapes."""
    supra_node.reply(
        "GET",
        f"/rpc/v3/accounts/{PACKAGE}",
        body={"sequence_number": 12, "authentication_key": "0xaa"},
    )
    resource_type = "0x1::coin::CoinStore<0x1::supra_coin::SupraCoin>"
    supra_node.reply(
        "GET",
        f"/rpc/v3/accounts/{PACKAGE}/resources/{resource_type}",
        body={"type": resource_type, "data": {"coin": {"value": "5"}}},
    )
    supra_node.reply("POST", "/rpc/v3/tables/0xh/item", body={"status": 1})
    assert client.account(PACKAGE).sequence_number == 12
    assert client.resource(PACKAGE, resource_type) == {"coin": {"value": "5"}}
    assert client.table_item("0xh", "u64", f"{PACKAGE}::types::Lottery", 12) == {"status": 1}
    assert supra_node.requests_to("POST", "/rpc/v3/tables/0xh/item")[0].json()["key"] == "12"
    raw_path = next(r for r in supra_node.requests if "resources" in r.path)
    assert raw_path.path.endswith(resource_type)


def test_events_page_with_cursor(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """events() sends the height window and cursor and returns records plus x-supra-cursor."""
    event_type = f"{PACKAGE}::history::VrfFulfilledEvent"
    item = {
        "event": {
            "guid": {"creation_number": "3", "account_address": PACKAGE},
            "sequence_number": "9",
            "type": event_type,
            "data": {"lottery_id": "1"},
        },
        "block_height": 40,
        "transaction_hash": TX_HASH,
    }
    supra_node.reply(
        "GET",
        f"/rpc/v3/events/{event_type}",
        body={"data": [item]},
        headers={"x-supra-cursor": "c2"},
    )
    page = client.events(event_type, start_height=10, end_height=50, limit=100, cursor="c1")
    assert page.next_cursor == "c2"
    assert [(e.sequence_number, e.block_height) for e in page.events] == [(9, 40)]
    query = supra_node.requests_to("GET", f"/rpc/v3/events/{event_type}")[0].query
    assert query == {
        "start_height": ["10"],
        "end_height": ["50"],
        "limit": ["100"],
        "start": ["c1"],
    }


def test_last_events_page_has_no_cursor(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """Without x-supra-cursor the page's next_cursor is None."""
    supra_node.reply("GET", "/rpc/v3/events/0x1::m::E", body={"data": []})
    assert client.events("0x1::m::E").next_cursor is None


# --- transactions --------------------------------------------------------------------------------


def test_unknown_transaction_is_none(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """An unknown hash answered with 200 null or 404 gives None."""
    supra_node.reply("GET", f"/rpc/v3/transactions/{TX_HASH}", body=None)
    supra_node.reply(
        "GET", f"/rpc/v3/transactions/{TX_HASH}", status=404, body={"message": "not found"}
    )
    assert client.transaction(TX_HASH) is None
    assert client.transaction(TX_HASH) is None


def test_wait_polls_until_final_with_growing_delay(
    client: ChainClient, supra_node: FakeSupraNode, sleeps: SleepLog
) -> None:
    """wait_for_transaction polls past null, Pending and PendingAfterExecution, backing off x1.5."""
    path = f"/rpc/v3/transactions/{TX_HASH}"
    supra_node.reply("GET", path, body=None)
    supra_node.reply("GET", path, body=_tx("Pending"))
    supra_node.reply("GET", path, body=_tx("PendingAfterExecution"))
    supra_node.reply("GET", path, body=_tx("Success"))
    info = client.wait_for_transaction(TX_HASH, timeout_s=10)
    assert info.status == "Success"
    assert sleeps.delays_s == pytest.approx([0.2, 0.3, 0.45])


def test_wait_times_out(supra_node: FakeSupraNode) -> None:
    """A transaction that stays Pending raises TransactionTimeoutError naming the hash."""
    supra_node.always("GET", f"/rpc/v3/transactions/{TX_HASH}", body=_tx("Pending"))
    with (
        ChainClient(supra_node.url, chain_id=CHAIN_ID) as chain,
        pytest.raises(errors.TransactionTimeoutError) as caught,
    ):
        chain.wait_for_transaction(TX_HASH, timeout_s=0.3, poll_s=0.05)
    assert caught.value.tx_hash == TX_HASH
    assert "reconcile" in str(caught.value)


def test_submit_posts_bcs_and_returns_hash(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """submit sends the body as application/x.supra.signed_transaction+bcs and returns the hash string."""
    supra_node.reply("POST", SUBMIT, body=TX_HASH)
    assert client.submit(b"\x01body") == TX_HASH
    request = supra_node.requests_to("POST", SUBMIT)[0]
    assert request.body == b"\x01body"
    assert request.headers["content-type"] == "application/x.supra.signed_transaction+bcs"


def test_submit_timeout_is_not_retried_and_says_reconcile(
    supra_node: FakeSupraNode, sleeps: SleepLog
) -> None:
    """A submit that times out is sent once and raises ChainUnavailableError asking to reconcile."""
    supra_node.always("POST", SUBMIT, body=TX_HASH, delay_s=2.0)
    with (
        _impatient(supra_node, sleeps, max_attempts=4) as chain,
        pytest.raises(
            errors.ChainUnavailableError, match="reconcile by sender and sequence number"
        ),
    ):
        chain.submit(b"\x01body")
    assert len(supra_node.requests_to("POST", SUBMIT)) == 1
    assert sleeps.delays_s == []


def test_submit_503_is_not_retried(client: ChainClient, supra_node: FakeSupraNode) -> None:
    """A 503 on submit is not retried blindly."""
    supra_node.always("POST", SUBMIT, status=503, body={"message": "busy"})
    with pytest.raises(errors.ChainUnavailableError, match="outcome is unknown"):
        client.submit(b"\x01body")
    assert len(supra_node.requests_to("POST", SUBMIT)) == 1


def test_submit_without_hash_is_a_response_error(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A 200 submit answer that is not a hash raises ChainResponseError."""
    supra_node.reply("POST", SUBMIT, body={"ok": True})
    with pytest.raises(errors.ChainResponseError, match="no hash"):
        client.submit(b"\x01body")


# --- raise_for_status ----------------------------------------------------------------------------


def test_raise_for_status_turns_fail_abort_into_chain_abort_error() -> None:
    """A Fail with a Move abort vm_status raises ChainAbortError carrying module, code, name and function."""
    info = TransactionInfo.model_validate(_tx("Fail", f"Move abort in {PACKAGE}::roles: 0x1809"))
    with pytest.raises(errors.ChainAbortError) as caught:
        raise_for_status(info, f"{PACKAGE}::payouts::record_payout_batch_admin")
    error = caught.value
    assert (error.module, error.code, error.name) == ("roles", 0x1809, "E_PAYOUT_BATCH_COOLDOWN")
    assert error.function == f"{PACKAGE}::payouts::record_payout_batch_admin"
    assert (
        str(error)
        == "E_PAYOUT_BATCH_COOLDOWN (0x1809): capability cooldown since the last batch not elapsed"
    )


@pytest.mark.parametrize(
    ("status", "vm_status", "expected"),
    [
        ("Fail", "OUT_OF_GAS", "ran out of gas"),
        (
            "Fail",
            "Execution failed in 0xbc::price_feed::get_price_view at code offset 0: MISSING_DATA",
            "MISSING_DATA",
        ),
        ("Invalid", "SEQUENCE_NUMBER_TOO_OLD", "was rejected"),
        ("Pending", "", "not final"),
    ],
)
def test_raise_for_status_non_abort_failures(status: str, vm_status: str, expected: str) -> None:
    """Failures without an abort raise TransactionFailedError with a readable reason."""
    info = TransactionInfo.model_validate(_tx(status, vm_status))
    with pytest.raises(errors.TransactionFailedError, match=expected) as caught:
        raise_for_status(info, SET_FALLBACK)
    assert caught.value.vm_status == vm_status


def test_raise_for_status_accepts_success() -> None:
    """A Success transaction raises nothing."""
    raise_for_status(TransactionInfo.model_validate(_tx("Success")))


# --- submit_entry --------------------------------------------------------------------------------


def _account_at_7(supra_node: FakeSupraNode) -> None:
    """The package account at sequence number 7, which submit_entry reads first."""
    supra_node.reply(
        "GET",
        f"/rpc/v3/accounts/{PACKAGE}",
        body={"sequence_number": 7, "authentication_key": "0x1"},
    )


def _signer() -> LocalKeySigner:
    return LocalKeySigner.from_hex(
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", account_address=PACKAGE
    )


def test_submit_entry_simulates_signs_submits_and_waits(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """submit_entry uses the account's sequence number, simulates with a zero signature, then submits signed bytes."""
    signer = _signer()
    _account_at_7(supra_node)
    supra_node.reply("POST", SIMULATE, body=_tx("Success"))
    supra_node.reply("POST", SUBMIT, body=TX_HASH)
    supra_node.reply("GET", f"/rpc/v3/transactions/{TX_HASH}", body=_tx("Success"))
    info = client.submit_entry(
        signer,
        SET_FALLBACK,
        [("u64", 1), ("bool", True), ("u8", 3)],
        max_gas=500_000,
        gas_unit_price=100,
        expiry_s=300,
    )
    assert info.hash == TX_HASH
    raw = transactions.build_raw_transaction(
        PACKAGE,
        7,
        transactions.build_entry_function(SET_FALLBACK, [("u64", 1), ("bool", True), ("u8", 3)]),
        max_gas_amount=500_000,
        gas_unit_price=100,
        expiration_timestamp_s=1_800_000_300,
        chain_id=CHAIN_ID,
    )
    assert supra_node.requests_to("POST", SIMULATE)[0].body == transactions.simulation_body(
        raw, signer.public_key
    )
    submitted = supra_node.requests_to("POST", SUBMIT)[0].body
    assert submitted == transactions.signed_body(raw, signer)
    VerifyKey(signer.public_key).verify(transactions.signing_message(raw), submitted[-64:])


def test_submit_entry_stops_on_simulated_abort(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """An abort in simulation raises ChainAbortError and nothing is submitted."""
    _account_at_7(supra_node)
    supra_node.reply(
        "POST", SIMULATE, body=_tx("Fail", f"Move abort in {PACKAGE}::price_feed: 0x1202")
    )
    with pytest.raises(errors.ChainAbortError) as caught:
        client.submit_entry(_signer(), SET_FALLBACK, [("u64", 1), ("bool", True), ("u8", 3)])
    assert caught.value.name == "E_REGISTRY_MISSING"
    assert "signer is not the package account" in str(caught.value)
    assert supra_node.requests_to("POST", SUBMIT) == []


def test_submit_entry_raises_on_executed_failure(
    client: ChainClient, supra_node: FakeSupraNode
) -> None:
    """A transaction that fails on chain after a clean simulation still raises."""
    _account_at_7(supra_node)
    supra_node.reply("POST", SUBMIT, body=TX_HASH)
    supra_node.reply(
        "GET",
        f"/rpc/v3/transactions/{TX_HASH}",
        body=_tx("Fail", f"Move abort in {PACKAGE}::price_feed: 0x1902"),
    )
    with pytest.raises(errors.ChainAbortError, match="E_PRICE_FEED_NOT_FOUND"):
        client.submit_entry(
            _signer(), SET_FALLBACK, [("u64", 9), ("bool", True), ("u8", 3)], simulate_first=False
        )


def test_submit_to_a_closed_port_says_not_sent(sleeps: SleepLog) -> None:
    """A submit that cannot connect says the transaction was not sent (safe to retry)."""
    with (
        ChainClient(f"http://127.0.0.1:{_free_port()}", chain_id=CHAIN_ID, sleep=sleeps) as chain,
        pytest.raises(errors.ChainUnavailableError, match="was not sent"),
    ):
        chain.submit(b"\x01body")
