"""The devnet over real HTTP on 127.0.0.1: Supra v3 shapes, signing rules, events, clock, persistence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aptos_sdk import ed25519

from chatops.devnet.framework import PACKAGE_ADDRESS
from chatops.devnet.server import DevnetServer
from tests.chatops.devnet.server_support import (
    BCS_CONTENT_TYPE,
    address_of,
    new_key,
    raw_transaction,
    sign_multi_agent,
    sign_single,
    view_request,
)

A = PACKAGE_ADDRESS
START = 1_800_000_000
FEED_UPDATED = f"{A}::price_feed::PriceFeedUpdatedEvent"


@pytest.fixture
def admin_key() -> ed25519.PrivateKey:
    return new_key()


@pytest.fixture
def server(admin_key: ed25519.PrivateKey) -> Iterator[DevnetServer]:
    with DevnetServer(
        admin_public_key=admin_key.public_key().key.encode(), start_time_s=START
    ) as devnet:
        yield devnet


@pytest.fixture
def client(server: DevnetServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def seq_of(client: httpx.Client, address: str) -> int:
    response = client.get(f"/rpc/v3/accounts/{address}")
    return int(response.json()["sequence_number"]) if response.status_code == 200 else 0


def submit(
    client: httpx.Client,
    key: ed25519.PrivateKey,
    function: str,
    args: list[tuple[str, Any]],
    *,
    sender: str | None = None,
    seq: int | None = None,
    path: str = "submit",
    zero: bool = False,
    expiration_s: int = START + 600,
    chain_id: int = 255,
) -> httpx.Response:
    sender = sender or address_of(key)
    raw = raw_transaction(
        sender,
        seq_of(client, sender) if seq is None else seq,
        function,
        args,
        expiration_s=expiration_s,
        chain_id=chain_id,
    )
    body = sign_single(raw, key, zero=zero)
    return client.post(
        f"/rpc/v3/transactions/{path}", content=body, headers={"Content-Type": BCS_CONTENT_TYPE}
    )


def view(client: httpx.Client, function: str, *arguments: str) -> httpx.Response:
    return client.post("/rpc/v3/view", json=view_request(function, *arguments))


def request_draw(client: httpx.Client, admin_key: ed25519.PrivateKey) -> dict[str, Any]:
    """The admin's draw request for the seeded Closing lottery 3, committed."""
    return committed(
        client,
        submit(
            client,
            admin_key,
            "draw::request_draw_admin",
            [("u64", 3), ("u64", START), ("u64", 9_000), ("u8", 255), ("u64", 1)],
            sender=A,
        ),
    )


def committed(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    tx = client.get(f"/rpc/v3/transactions/{response.json()}").json()
    assert tx is not None
    return tx  # type: ignore[no-any-return]


def update_price(client: httpx.Client, admin_key: ed25519.PrivateKey, price: int) -> dict[str, Any]:
    return committed(
        client,
        submit(
            client,
            admin_key,
            "price_feed::update_price",
            [("u64", 1), ("u64", price), ("u64", START)],
            sender=A,
        ),
    )


# --- views -------------------------------------------------------------------------------------


def test_view_returns_chain_json_result(client: httpx.Client) -> None:
    """A read function answers {"result": [...]} for the seeded Active lottery 1."""
    response = view(client, "lottery_registry::get_status", "1")
    assert response.status_code == 200
    assert response.json() == {"result": [1]}


def test_view_abort_is_400_with_vm_status_message(client: httpx.Client) -> None:
    """An unknown lottery id aborts inside 0x1::table and the view answers 400 with that text."""
    response = view(client, "lottery_registry::get_status", "999")
    assert response.status_code == 400
    assert response.json() == {"message": "Move abort in 0x1::table: 0x6507"}


def test_view_rejects_entry_functions_and_unknown_names(client: httpx.Client) -> None:
    """Entry functions are never views, and an unknown function is a resolution failure."""
    entry = view(client, "price_feed::update_price")
    unknown = view(client, "nope::nothing")
    assert entry.status_code == 400
    assert "is not marked as a view function" in entry.json()["message"]
    assert unknown.status_code == 400
    assert "FUNCTION_RESOLUTION_FAILURE" in unknown.json()["message"]


def test_strict_views_refuse_non_view_but_serve_is_legacy_summary(
    admin_key: ed25519.PrivateKey,
) -> None:
    """With strict views only #[view] history::is_legacy_summary answers; plain public funs are refused."""
    with (
        DevnetServer(
            admin_public_key=admin_key.public_key().key.encode(),
            strict_views=True,
            start_time_s=START,
        ) as devnet,
        httpx.Client(base_url=devnet.url) as http,
    ):
        refused = view(http, "lottery_registry::get_status", "1")
        served = view(http, "history::is_legacy_summary", "5")
    assert refused.status_code == 400
    assert "is not marked as a view function" in refused.json()["message"]
    assert served.status_code == 200
    assert served.json() == {"result": [False]}


# --- submit, events ---------------------------------------------------------------------------


def test_admin_submit_commits_with_events_and_bumps_sequence(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """A transaction signed by the rotated admin key for the package account succeeds with its event."""
    before = seq_of(client, A)
    tx = update_price(client, admin_key, 1_260_000)
    assert tx["status"] == "Success"
    assert tx["output"]["Move"]["vm_status"] == "Executed successfully"
    assert tx["header"]["sender"] == {"Move": A}
    assert tx["header"]["sequence_number"] == before
    assert tx["payload"]["Move"]["function"] == f"{A}::price_feed::update_price"
    assert tx["payload"]["Move"]["arguments"] == ["1", "1260000", str(START)]
    assert tx["block_header"]["height"] > 0
    [event] = tx["output"]["Move"]["events"]
    assert event["type"] == FEED_UPDATED
    assert event["data"]["price"] == "1260000"
    assert seq_of(client, A) == before + 1


def test_events_by_type_paginate_in_order_and_respect_height_windows(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """Events come back in commit order, across x-supra-cursor pages, inside [start_height, end_height)."""
    heights = [
        update_price(client, admin_key, p)["block_header"]["height"]
        for p in (1_260_000, 1_270_000, 1_280_000)
    ]
    window = {"start_height": heights[0], "end_height": heights[2] + 1}
    first = client.get(f"/rpc/v3/events/{FEED_UPDATED}", params={**window, "limit": 2})
    assert first.status_code == 200
    cursor = first.headers["x-supra-cursor"]
    second = client.get(
        f"/rpc/v3/events/{FEED_UPDATED}", params={**window, "limit": 2, "start": cursor}
    )
    items = first.json()["data"] + second.json()["data"]
    assert [i["event"]["data"]["price"] for i in items] == ["1260000", "1270000", "1280000"]
    assert [i["block_height"] for i in items] == heights
    assert "x-supra-cursor" not in second.headers
    seqs = [int(i["event"]["sequence_number"]) for i in items]
    assert seqs == sorted(seqs)
    assert {i["event"]["guid"]["account_address"] for i in items} == {A}
    only_middle = client.get(
        f"/rpc/v3/events/{FEED_UPDATED}",
        params={"start_height": heights[1], "end_height": heights[2]},
    )
    assert [i["event"]["data"]["price"] for i in only_middle.json()["data"]] == ["1270000"]


def test_events_limit_is_bounded(client: httpx.Client) -> None:
    """limit above 100 is refused like the node's validation."""
    response = client.get(f"/rpc/v3/events/{FEED_UPDATED}", params={"limit": 101})
    assert response.status_code == 400


def test_bad_signature_is_rejected_and_nothing_commits(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """A signature by another key for the package account is refused with 400 and no sequence bump."""
    before = seq_of(client, A)
    response = submit(
        client,
        new_key(),
        "price_feed::set_fallback",
        [("u64", 1), ("bool", True), ("u8", 3)],
        sender=A,
    )
    assert response.status_code == 400
    assert "INVALID_AUTH_KEY" in response.json()["message"]
    assert seq_of(client, A) == before


def test_tampered_signature_is_rejected(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """Flipping a byte of a valid signature makes the submit fail signature verification."""
    raw = raw_transaction(
        A,
        seq_of(client, A),
        "price_feed::set_fallback",
        [("u64", 1), ("bool", True), ("u8", 3)],
        expiration_s=START + 600,
    )
    body = bytearray(sign_single(raw, admin_key))
    body[-1] ^= 0x01
    response = client.post(
        "/rpc/v3/transactions/submit",
        content=bytes(body),
        headers={"Content-Type": BCS_CONTENT_TYPE},
    )
    assert response.status_code == 400
    assert "INVALID_SIGNATURE" in response.json()["message"]


def test_wrong_sequence_number_is_rejected(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """Sequence numbers below or above the account's are refused before execution."""
    current = seq_of(client, A)
    args = [("u64", 1), ("bool", False), ("u8", 0)]
    old = submit(client, admin_key, "price_feed::set_fallback", args, sender=A, seq=current - 1)
    new = submit(client, admin_key, "price_feed::set_fallback", args, sender=A, seq=current + 1)
    assert old.status_code == 400
    assert "SEQUENCE_NUMBER_TOO_OLD" in old.json()["message"]
    assert new.status_code == 400
    assert "SEQUENCE_NUMBER_TOO_NEW" in new.json()["message"]


def test_expired_and_wrong_chain_transactions_are_rejected(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """An expiration at or before the devnet clock, or another chain id, is refused."""
    args = [("u64", 1), ("bool", False), ("u8", 0)]
    expired = submit(
        client, admin_key, "price_feed::set_fallback", args, sender=A, expiration_s=START
    )
    other_chain = submit(client, admin_key, "price_feed::set_fallback", args, sender=A, chain_id=6)
    assert "TRANSACTION_EXPIRED" in expired.json()["message"]
    assert "BAD_CHAIN_ID" in other_chain.json()["message"]


def test_non_admin_signer_fails_with_registry_code(client: httpx.Client) -> None:
    """A fresh key may sign for its own address; price_feed::set_fallback then aborts 0x1202 in price_feed."""
    key = new_key()
    address = address_of(key)
    assert client.get(f"/rpc/v3/accounts/{address}").status_code == 404
    tx = committed(
        client,
        submit(client, key, "price_feed::set_fallback", [("u64", 1), ("bool", True), ("u8", 3)]),
    )
    assert tx["status"] == "Fail"
    assert tx["output"]["Move"]["vm_status"] == f"Move abort in {A}::price_feed: 0x1202"
    assert tx["output"]["Move"]["events"] == []
    account = client.get(f"/rpc/v3/accounts/{address}").json()
    assert account == {"sequence_number": 1, "authentication_key": address}


def test_unknown_function_and_bad_arguments_commit_as_failures(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """Payloads the VM cannot resolve or decode are committed as Fail with the Aptos status names."""
    unknown = committed(client, submit(client, admin_key, "price_feed::nope", [], sender=A))
    wrong_count = committed(
        client, submit(client, admin_key, "price_feed::set_fallback", [("u64", 1)], sender=A)
    )
    wrong_type = committed(
        client,
        submit(
            client,
            admin_key,
            "price_feed::set_fallback",
            [("u64", 1), ("u64", 1), ("u8", 0)],
            sender=A,
        ),
    )
    assert unknown["output"]["Move"]["vm_status"] == "FUNCTION_RESOLUTION_FAILURE"
    assert wrong_count["output"]["Move"]["vm_status"] == "NUMBER_OF_ARGUMENTS_MISMATCH"
    assert wrong_type["output"]["Move"]["vm_status"] == "FAILED_TO_DESERIALIZE_ARGUMENT"
    assert {unknown["status"], wrong_count["status"], wrong_type["status"]} == {"Fail"}


def test_simulate_never_commits(client: httpx.Client, admin_key: ed25519.PrivateKey) -> None:
    """Simulation with a zero signature returns the outcome and events but changes nothing."""
    before_seq = seq_of(client, A)
    before_height = client.get("/rpc/v3/block").json()["header"]["height"]
    response = submit(
        client,
        admin_key,
        "price_feed::update_price",
        [("u64", 1), ("u64", 1_260_000), ("u64", START)],
        sender=A,
        path="simulate",
        zero=True,
    )
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "Success"
    assert result["output"]["Move"]["events"][0]["type"] == FEED_UPDATED
    assert client.get(f"/rpc/v3/transactions/{result['hash']}").json() is None
    assert seq_of(client, A) == before_seq
    assert client.get("/rpc/v3/block").json()["header"]["height"] == before_height
    assert (
        client.get(f"/rpc/v3/events/{FEED_UPDATED}").json()["data"][-1]["event"]["data"]["price"]
        != "1260000"
    )
    price = view(client, "price_feed::get_price_view", "1")
    assert price.status_code == 200
    assert "1260000" not in price.text


def test_simulate_refuses_a_valid_signature(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """Like the node, simulate requires an invalid signature so a signed tx cannot leak through it."""
    response = submit(
        client,
        admin_key,
        "price_feed::set_fallback",
        [("u64", 1), ("bool", False), ("u8", 0)],
        sender=A,
        path="simulate",
    )
    assert response.status_code == 400
    assert "INVALID_SIGNATURE" in response.json()["message"]


def test_simulate_reports_aborts(client: httpx.Client) -> None:
    """A simulated non-admin call shows the Fail status and the abort text without committing."""
    key = new_key()
    response = submit(
        client,
        key,
        "price_feed::set_fallback",
        [("u64", 1), ("bool", True), ("u8", 3)],
        path="simulate",
        zero=True,
    )
    assert response.json()["status"] == "Fail"
    assert (
        response.json()["output"]["Move"]["vm_status"] == f"Move abort in {A}::price_feed: 0x1202"
    )
    assert client.get(f"/rpc/v3/accounts/{address_of(key)}").status_code == 404


def test_multi_agent_register_bot(client: httpx.Client, admin_key: ed25519.PrivateKey) -> None:
    """automation::register_bot takes two signers via a MultiAgent authenticator (admin + operator)."""
    operator_key = new_key()
    operator = address_of(operator_key)
    raw = raw_transaction(
        A,
        seq_of(client, A),
        "automation::register_bot",
        [
            ("vector<u8>", b"0 * * * *"),
            ("vector<u64>", [1]),
            ("u64", 0),
            ("u64", 3),
            ("u64", START + 86_400),
        ],
        expiration_s=START + 600,
    )
    body = sign_multi_agent(raw, admin_key, [(operator, operator_key)])
    response = client.post(
        "/rpc/v3/transactions/submit", content=body, headers={"Content-Type": BCS_CONTENT_TYPE}
    )
    tx = committed(client, response)
    assert tx["status"] == "Success", tx["output"]
    assert tx["authenticator"]["Move"]["MultiAgent"]["secondary_signer_addresses"] == [operator]
    cap = client.get(f"/rpc/v3/accounts/{operator}/resources/{A}::automation::AutomationCap")
    assert cap.json()["data"] == {"operator": operator, "cron_spec": "0x" + b"0 * * * *".hex()}


def test_account_transactions_list_by_sequence(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """GET accounts/{a}/transactions returns the sender's transactions from a sequence number."""
    seq = seq_of(client, A)
    update_price(client, admin_key, 1_260_000)
    listed = client.get(
        f"/rpc/v3/accounts/{A}/transactions", params={"start": seq, "count": 5}
    ).json()
    assert [t["header"]["sequence_number"] for t in listed] == [seq]
    assert listed[0]["payload"]["Move"]["function"].endswith("::price_feed::update_price")


def test_unknown_transaction_is_200_null(client: httpx.Client) -> None:
    """An unknown hash answers 200 null, as Supra nodes do."""
    response = client.get("/rpc/v3/transactions/0x" + "ab" * 32)
    assert response.status_code == 200
    assert response.json() is None


def test_unsupported_content_type_is_refused(client: httpx.Client) -> None:
    """A JSON submit body is refused with a message (the devnet speaks the BCS form only)."""
    response = client.post("/rpc/v3/transactions/submit", json={"Move": {}})
    assert response.status_code == 415
    assert "application/x.supra.signed_transaction+bcs" in response.json()["message"]


# --- VRF ---------------------------------------------------------------------------------------


def test_vrf_request_is_fulfilled_automatically(
    client: httpx.Client, admin_key: ed25519.PrivateKey
) -> None:
    """With vrf_delay_s = 0 a draw request is answered at once by a separate dVRF transaction."""
    tx = request_draw(client, admin_key)
    assert tx["status"] == "Success", tx["output"]
    events = client.get(f"/rpc/v3/events/{A}::history::VrfFulfilledEvent").json()["data"]
    fulfilled = [e for e in events if e["event"]["data"]["lottery_id"] == "3"]
    assert len(fulfilled) == 1
    assert fulfilled[0]["block_height"] == tx["block_header"]["height"] + 1
    status = view(client, "lottery_registry::get_status", "3")
    assert status.json() == {"result": [4]}


def test_vrf_delay_waits_for_the_clock(admin_key: ed25519.PrivateKey) -> None:
    """With a delay the request stays pending until the devnet clock passes request time + delay."""
    with (
        DevnetServer(
            admin_public_key=admin_key.public_key().key.encode(), start_time_s=START, vrf_delay_s=60
        ) as devnet,
        httpx.Client(base_url=devnet.url) as http,
    ):
        request_draw(http, admin_key)

        def status() -> Any:
            return view(http, "lottery_registry::get_status", "3").json()["result"][0]

        assert status() == 3
        http.post("/devnet/clock", json={"advance_secs": 59})
        assert status() == 3
        http.post("/devnet/clock", json={"advance_secs": 1})
        assert status() == 4


def test_manual_vrf_fulfil_endpoint_reports_failure_for_nothing_pending(
    client: httpx.Client,
) -> None:
    """POST /devnet/vrf/fulfill answers the dVRF transaction; with no request it is a 0x1702 Fail."""
    response = client.post("/devnet/vrf/fulfill", json={"lottery_id": 1})
    assert response.status_code == 200
    assert response.json()["status"] == "Fail"
    assert response.json()["output"]["Move"]["vm_status"] == f"Move abort in {A}::draw: 0x1702"


# --- clock, injected events, state, faults ------------------------------------------------------


def test_clock_moves_only_forward_and_stamps_a_block(client: httpx.Client) -> None:
    """advance_secs and now move the clock; the new block carries the time; going back is 400."""
    assert client.get("/devnet/clock").json()["now"] == START
    advanced = client.post("/devnet/clock", json={"advance_secs": 120}).json()
    assert advanced["now"] == START + 120
    block = client.get("/rpc/v3/block").json()["header"]
    assert block["timestamp"]["microseconds_since_unix_epoch"] == (START + 120) * 1_000_000
    assert block["height"] == advanced["height"]
    assert client.post("/devnet/clock", json={"now": START + 500}).json()["now"] == START + 500
    assert client.post("/devnet/clock", json={"now": START}).status_code == 400
    assert client.post("/devnet/clock", json={}).status_code == 400


def test_injected_event_is_served_by_type_in_both_address_forms(client: httpx.Client) -> None:
    """POST /devnet/events commits an event in a new block; trimmed and full type paths find it."""
    data = {"event_version": 1, "event_category": 7, "paused_since_ts": str(START)}
    injected = client.post(
        "/devnet/events", json={"type": f"{A}::history::VrfRequestsPausedEvent", "data": data}
    ).json()
    foreign = client.post(
        "/devnet/events", json={"type": "0x00000abc::m::Ping", "data": {"n": "1"}}
    ).json()
    by_full = client.get(f"/rpc/v3/events/{A}::history::VrfRequestsPausedEvent").json()["data"]
    by_trimmed = client.get("/rpc/v3/events/0xabc::m::Ping").json()["data"]
    assert by_full == [injected]
    assert by_full[0]["event"]["data"] == data
    assert by_trimmed == [foreign]
    assert foreign["event"]["type"] == "0x" + "abc".rjust(64, "0") + "::m::Ping"
    tx = client.get(f"/rpc/v3/transactions/{injected['transaction_hash']}").json()
    assert tx["block_header"]["height"] == injected["block_height"]


def chain_view(http: httpx.Client) -> dict[str, Any]:
    """What a restart must keep: the devnet state, the package account, dVRF events, the last block."""
    return {
        "state": http.get("/devnet/state").json(),
        "account": http.get(f"/rpc/v3/accounts/{A}").json(),
        "events": http.get(f"/rpc/v3/events/{A}::history::VrfFulfilledEvent").json(),
        "block": http.get("/rpc/v3/block").json(),
    }


def test_state_survives_save_and_reload(tmp_path: Path, admin_key: ed25519.PrivateKey) -> None:
    """A journal written with --state replays to the same accounts, transactions, events and World."""
    state_file = tmp_path / "devnet.json"
    public = admin_key.public_key().key.encode()
    with (
        DevnetServer(admin_public_key=public, state_file=state_file, start_time_s=START) as first,
        httpx.Client(base_url=first.url) as http,
    ):
        tx = update_price(http, admin_key, 1_260_000)
        request_draw(http, admin_key)
        http.post("/devnet/clock", json={"advance_secs": 3_600})
        http.post("/devnet/events", json={"type": f"{A}::m::Injected", "data": {"x": "1"}})
        before = chain_view(http)
    with (
        DevnetServer(admin_public_key=public, state_file=state_file) as second,
        httpx.Client(base_url=second.url) as http,
    ):
        after = chain_view(http)
        reloaded_tx = http.get(f"/rpc/v3/transactions/{tx['hash']}").json()
        injected = http.get(f"/rpc/v3/events/{A}::m::Injected").json()["data"]
    assert after == before
    assert reloaded_tx == tx
    assert len(injected) == 1


def test_chain_id_header_on_every_response(client: httpx.Client) -> None:
    """x-supra-chain-id is on successes, 400s, 404s and the chain-id endpoints agree with it."""
    responses = [
        client.get("/rpc/v3/block"),
        client.get("/rpc/v3/accounts/0x1234"),
        client.post("/rpc/v3/view", json={}),
        client.get("/nowhere"),
        client.get("/rpc/v1/transactions/chain_id"),
        client.get("/rpc/v3/transactions/estimate_gas_price"),
        client.get("/rpc/v1/transactions/parameters"),
    ]
    assert [r.headers.get("x-supra-chain-id") for r in responses] == ["255"] * len(responses)
    assert [r.status_code for r in responses] == [200, 404, 400, 404, 200, 200, 200]
    assert responses[4].json() == 255
    assert responses[6].json()["max_transaction_time_to_live_seconds"] > 0


def test_configured_chain_id(admin_key: ed25519.PrivateKey) -> None:
    """A devnet started with another chain id reports it in the header and the endpoint."""
    with (
        DevnetServer(
            admin_public_key=admin_key.public_key().key.encode(), chain_id=42, seed=False
        ) as devnet,
        httpx.Client(base_url=devnet.url) as http,
    ):
        response = http.get("/rpc/v1/transactions/chain_id")
    assert response.headers["x-supra-chain-id"] == "42"
    assert response.json() == 42


def test_faults_delay_and_fail_matching_requests_then_clear(client: httpx.Client) -> None:
    """The fault knob makes the next N matching requests slow and failing, then the node recovers."""
    client.post(
        "/devnet/faults",
        json={"delay_ms": 150, "status": 503, "count": 2, "path_prefix": "/rpc/v3/block"},
    )
    started = time.monotonic()
    first = client.get("/rpc/v3/block")
    elapsed = time.monotonic() - started
    second = client.get("/rpc/v3/block")
    other = client.get("/rpc/v1/transactions/chain_id")
    third = client.get("/rpc/v3/block")
    assert (first.status_code, second.status_code, other.status_code, third.status_code) == (
        503,
        503,
        200,
        200,
    )
    assert elapsed >= 0.15
    assert first.json() == {"message": "devnet fault injection"}
    assert first.headers["x-supra-chain-id"] == "255"


# --- resources and tables -------------------------------------------------------------------------


def test_registry_resource_and_lottery_table_item(client: httpx.Client) -> None:
    """The Registry resource exposes a stable table handle whose items are the Lottery structs."""
    path = f"/rpc/v3/accounts/{A}/resources/{A}::lottery_registry::Registry"
    registry = client.get(path).json()
    assert registry["type"] == f"{A}::lottery_registry::Registry"
    data = registry["data"]
    assert data["ordered_ids"] == ["1", "2", "3", "4", "5", "6"]
    assert client.get(path).json()["data"]["lotteries"] == data["lotteries"]
    handle = data["lotteries"]["handle"]
    item = client.post(
        f"/rpc/v3/tables/{handle}/item",
        json={"key_type": "u64", "value_type": f"{A}::lottery_registry::Lottery", "key": "1"},
    )
    assert item.status_code == 200
    assert item.json()["id"] == "1"
    assert item.json()["status"] == 1
    assert item.json()["config"]["ticket_price"] == "100000000"
    missing = client.post(
        f"/rpc/v3/tables/{handle}/item",
        json={"key_type": "u64", "value_type": f"{A}::lottery_registry::Lottery", "key": "99"},
    )
    wrong_type = client.post(
        f"/rpc/v3/tables/{handle}/item",
        json={"key_type": "address", "value_type": f"{A}::lottery_registry::Lottery", "key": "0x1"},
    )
    assert missing.status_code == 404
    assert wrong_type.status_code == 400
    cancellations = client.post(
        f"/rpc/v3/tables/{data['cancellations']['handle']}/item",
        json={
            "key_type": "u64",
            "value_type": f"{A}::lottery_registry::CancellationRecord",
            "key": "6",
        },
    )
    assert cancellations.json()["reason_code"] == 3


def test_nested_sales_tables_and_event_handle_counters(client: httpx.Client) -> None:
    """SalesState's nested tickets_per_address table is readable and handle counters count events."""
    sales = client.get(f"/rpc/v3/accounts/{A}/resources/{A}::sales::SalesLedger").json()["data"]
    state = client.post(
        f"/rpc/v3/tables/{sales['states']['handle']}/item",
        json={"key_type": "u64", "value_type": f"{A}::sales::SalesState", "key": "1"},
    ).json()
    assert state["tickets_sold"] == "8"
    per_address = client.post(
        f"/rpc/v3/tables/{state['tickets_per_address']['handle']}/item",
        json={"key_type": "address", "value_type": "u64", "key": "0xb001"},
    )
    assert per_address.json() == "3"
    purchases = client.get(f"/rpc/v3/events/{A}::sales::TicketPurchaseEvent", params={"limit": 100})
    assert sales["purchase_events"]["counter"] == str(len(purchases.json()["data"]))
    creation = sales["purchase_events"]["guid"]["id"]["creation_num"]
    assert {e["event"]["guid"]["creation_number"] for e in purchases.json()["data"]} == {creation}


def test_all_package_resources_listed(client: httpx.Client) -> None:
    """GET resources lists every initialised module's resource, each readable by type."""
    listed = client.get(f"/rpc/v3/accounts/{A}/resources").json()
    types = {r["type"].split("::", 1)[1] for r in listed}
    assert {
        "lottery_registry::Registry",
        "sales::SalesLedger",
        "draw::DrawLedger",
        "payouts::PayoutLedger",
        "roles::RoleStore",
        "history::ArchiveLedger",
        "legacy_bridge::DualWriteControl",
        "vrf_deposit::VrfDepositLedger",
        "price_feed::PriceFeedRegistry",
        "automation::AutomationRegistry",
        "feature_switch::FeatureSwitchRegistry",
        "history_bridge::LegacyArchive",
    } <= types
    roles = next(r for r in listed if r["type"].endswith("::roles::RoleStore"))["data"]
    assert roles["payout_batch"]["vec"][0]["holder"] == A
    automation = next(r for r in listed if r["type"].endswith("::automation::AutomationRegistry"))
    assert automation["data"]["bots"]["keys"] == ["0x" + "b07".rjust(64, "0")]
    assert client.get(f"/rpc/v3/accounts/{A}/resources/{A}::nope::Nothing").status_code == 404


def test_winner_chunks_and_history_summary_tables(client: httpx.Client) -> None:
    """Winners (readable only from WinnerState) and archived summaries are served as table items."""
    payouts = client.get(f"/rpc/v3/accounts/{A}/resources/{A}::payouts::PayoutLedger").json()[
        "data"
    ]
    state = client.post(
        f"/rpc/v3/tables/{payouts['states']['handle']}/item",
        json={"key_type": "u64", "value_type": f"{A}::payouts::WinnerState", "key": "4"},
    ).json()
    chunk = client.post(
        f"/rpc/v3/tables/{state['winner_chunks']['handle']}/item",
        json={"key_type": "u64", "value_type": f"{A}::payouts::WinnerChunk", "key": "0"},
    ).json()
    assert len(chunk["records"]) == int(state["total_assigned"]) == 3
    history = client.get(f"/rpc/v3/accounts/{A}/resources/{A}::history::ArchiveLedger").json()[
        "data"
    ]
    summary = client.post(
        f"/rpc/v3/tables/{history['summaries']['handle']}/item",
        json={"key_type": "u64", "value_type": f"{A}::history::LotterySummary", "key": "5"},
    ).json()
    assert summary["id"] == "5"
