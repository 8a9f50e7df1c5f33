"""ChainClient: the one gateway to a Supra L1 node (RPC v3) over a single httpx.Client. No Slack,
no Redis, no approvals here."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Self, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx
from aptos_sdk.transactions import EntryFunction, RawTransaction, TransactionPayload
from pydantic import BaseModel, ValidationError

from chatops.chain import movetypes
from chatops.chain.aborts import describe_status, parse_vm_status
from chatops.chain.errors import (
    ChainAbortError,
    ChainIdMismatchError,
    ChainResponseError,
    ChainUnavailableError,
    TransactionFailedError,
    TransactionRejectedError,
    TransactionTimeoutError,
    ViewNotAllowedError,
)
from chatops.chain.metrics import RpcMetrics
from chatops.chain.models import (
    AccountInfo,
    BlockInfo,
    EventPage,
    EventRecord,
    GasPriceEstimate,
    TransactionInfo,
    TxStatus,
)
from chatops.chain.signer import Signer, normalize_address
from chatops.chain.transactions import (
    build_entry_function,
    build_raw_transaction,
    signed_body,
    simulation_body,
)

__all__ = [
    "DEFAULT_EXPIRY_S",
    "DEFAULT_TIMEOUT",
    "ChainClient",
    "SubmitOptions",
    "TransactionOptions",
    "raise_for_status",
]

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0)
# How long a submitted transaction stays valid (chain seconds): until then a slow node may still
# include it, so an outcome in doubt is only settled once this has passed (supra_rpc.md §1.3).
DEFAULT_EXPIRY_S: Final = 300
BCS_SIGNED_TRANSACTION: Final = "application/x.supra.signed_transaction+bcs"
CHAIN_ID_HEADER: Final = "x-supra-chain-id"
CURSOR_HEADER: Final = "x-supra-cursor"

_RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_NOT_A_VIEW = re.compile(
    r"not (?:marked as )?an? view function|INVALID_MAIN_FUNCTION_SIGNATURE", re.IGNORECASE
)
_MAX_MESSAGE_CHARS: Final = 300
# A node's refusal of a transaction names a StatusCode first: "INVALID_SIGNATURE: ...".
_REFUSAL = re.compile(r"^(?P<status>[A-Z][A-Z0-9_]{3,})\b:?\s*(?P<detail>.*)$", re.DOTALL)


def _short(tx_hash: str) -> str:
    return tx_hash[:10] + "…" if len(tx_hash) > 12 else tx_hash or "(no hash)"


def raise_for_status(info: TransactionInfo, function_id: str | None = None) -> None:
    """Return if ``info`` succeeded; otherwise raise the matching domain error.

    Raises:
        ChainAbortError: the transaction (or simulation) aborted; decoded via aborts.py.
        TransactionFailedError: Fail/Invalid without an abort, or a status that is not final.
    """
    if info.status is TxStatus.SUCCESS:
        return
    vm_status = info.vm_status
    abort = parse_vm_status(vm_status) if vm_status else None
    if abort is not None and info.status is TxStatus.FAIL:
        raise ChainAbortError.of(abort, function_id)
    what = function_id or "the transaction"
    if not info.status.is_final:
        raise TransactionFailedError(
            f"Transaction {_short(info.hash)} calling {what} is not final yet (status {info.status}).",
            vm_status=vm_status,
            tx_hash=info.hash or None,
        )
    reason = describe_status(vm_status)
    detail = reason or (vm_status[:_MAX_MESSAGE_CHARS] if vm_status else "no reason given")
    verdict = "was rejected" if info.status is TxStatus.INVALID else "failed"
    raise TransactionFailedError(
        f"Transaction {_short(info.hash)} calling {what} {verdict}: {detail}.",
        vm_status=vm_status,
        tx_hash=info.hash or None,
    )


def _refusal(exc: ChainResponseError) -> TransactionRejectedError | None:
    """A 4xx submit answer that names a status (``MULTISIG_TRANSACTION_...: detail``) as the
    refusal it is; the status's wording when we know it, else the node's own text."""
    if isinstance(exc, ChainIdMismatchError) or exc.status_code is None:
        return None
    if not 400 <= exc.status_code < 500 or not exc.node_message:
        return None
    match = _REFUSAL.match(exc.node_message)
    if match is None:
        return None
    status = match["status"]
    meaning = describe_status(status) or f"{status}: {match['detail'] or 'no detail'}"
    return TransactionRejectedError(status, meaning, status_code=exc.status_code)


def _message(response: httpx.Response) -> str:
    """The node's ``{"message": ...}`` text (or the start of the body), trimmed to one short line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    if not isinstance(text, str):
        text = response.text
    return " ".join(text.split())[:_MAX_MESSAGE_CHARS]


def _is_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def _is_tuple_arg(arg: Any) -> bool:
    return isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[0], str)


class TransactionOptions(TypedDict, total=False):
    """How a transaction is built: its gas limit and price (500,000 at 100), and how long it stays
    valid (``DEFAULT_EXPIRY_S``) from the chain's time ``chain_now_s`` (default: the client's
    clock)."""

    max_gas: int
    gas_unit_price: int
    expiry_s: int
    chain_now_s: int | None


class SubmitOptions(TransactionOptions, total=False):
    """``TransactionOptions``, and how it is sent: simulated first (by default), waited for up to
    ``wait_timeout_s`` (30 s), and ``before_send`` told what it carries (see ``submit_entry``)."""

    simulate_first: bool
    wait_timeout_s: float
    before_send: Callable[[int, int], None] | None


class ChainClient:
    """Synchronous Supra RPC v3 client bound to one node and one expected chain id.

    Reads retry with bounded backoff (transport errors, 429/5xx, bodies that are not JSON); submit
    never retries (a timeout leaves the outcome unknown, so the caller reconciles by sender and
    sequence number). Every answer's x-supra-chain-id is checked.
    """

    def __init__(
        self,
        base_url: str,
        *,
        chain_id: int,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = 4,
        backoff_s: float = 0.2,
        backoff_cap_s: float = 5.0,
        retry_after_cap_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Accept": "application/json", "x-supra-client": "chatops"},
        )
        self.expected_chain_id = chain_id
        self._max_attempts = max(1, max_attempts)
        self._backoff_s = backoff_s
        self._backoff_cap_s = backoff_cap_s
        self._retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep
        self._now_s = now_s
        # Set by whoever serves /metrics: every attempt is timed and its failure counted there.
        self.metrics: RpcMetrics | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _check_chain_id(self, response: httpx.Response) -> None:
        actual = response.headers.get(CHAIN_ID_HEADER)
        if actual is None and not response.is_success:
            return  # an error page from a proxy may lack the header; the status decides
        if actual is None or actual.strip() != str(self.expected_chain_id):
            raise ChainIdMismatchError(expected=self.expected_chain_id, actual=actual)

    def _delay_s(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("retry-after", "").strip()
            if retry_after.isdigit():
                return min(float(retry_after), self._retry_after_cap_s)
        return min(self._backoff_s * 2.0**attempt, self._backoff_cap_s)

    def _request(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        function_id: str | None = None,
    ) -> httpx.Response:
        """Send one request (retrying reads), check the chain id, map errors to ChainError."""
        attempts = self._max_attempts if retry else 1
        for attempt in range(attempts):
            last_try = attempt == attempts - 1
            started = time.monotonic()
            try:
                response = self._http.request(
                    method, path, json=json, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                if self.metrics is not None:
                    self.metrics.observe(
                        method, path, time.monotonic() - started, type(exc).__name__
                    )
                if not last_try:
                    logger.info(
                        "chain %s %s failed (%s); retrying", method, path, type(exc).__name__
                    )
                    self._sleep(self._delay_s(attempt, None))
                    continue
                kind = (
                    "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
                )
                raise ChainUnavailableError(
                    f"The Supra node {kind} on {method} {path} after {attempts} attempt(s)."
                ) from exc
            if self.metrics is not None:
                error = str(response.status_code) if response.status_code >= 400 else None
                self.metrics.observe(method, path, time.monotonic() - started, error)
            if response.status_code in _RETRYABLE_STATUS and not last_try:
                logger.info("chain %s %s answered %s; retrying", method, path, response.status_code)
                self._sleep(self._delay_s(attempt, response))
                continue
            self._raise_for_response(response, method, path, function_id, attempts)
            if retry and not last_try and not _is_json(response):
                # A read answered with a broken body (a proxy's error page, a cut-off reply) is
                # asked again like a 5xx; the last answer's body is then reported as not JSON.
                logger.info("chain %s %s answered a body that is not JSON; retrying", method, path)
                self._sleep(self._delay_s(attempt, None))
                continue
            return response
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _raise_for_response(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        function_id: str | None,
        attempts: int,
    ) -> None:
        status = response.status_code
        if response.is_success:
            self._check_chain_id(response)
            return
        message = _message(response)
        abort = parse_vm_status(message)
        if abort is not None:
            raise ChainAbortError.of(abort, function_id)
        if function_id is not None and _NOT_A_VIEW.search(message):
            raise ViewNotAllowedError(function_id)
        if status >= 500 or status == 429:
            raise ChainUnavailableError(
                f"The Supra node answered {status} on {method} {path} after {attempts} attempt(s)."
            )
        self._check_chain_id(response)
        raise ChainResponseError(
            f"The Supra node answered {status} on {method} {path}: {message or 'no message'}.",
            status_code=status,
            node_message=message,
        )

    @staticmethod
    def _parse(model: type[_M], data: Any, what: str) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ChainResponseError(f"The Supra node returned an unexpected {what}.") from exc

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ChainResponseError(f"The Supra node returned a {what} that is not JSON.") from exc

    # --- reads -------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """The node's chain id (also verified against the configured one)."""
        body = self._json(
            self._request("GET", "/rpc/v1/transactions/chain_id", retry=True), "chain id"
        )
        if isinstance(body, bool) or not isinstance(body, int | str) or not str(body).isdigit():
            raise ChainResponseError("The Supra node returned a chain id that is not a number.")
        return int(body)

    def view(
        self,
        function_id: str,
        args: Sequence[tuple[str, Any] | Any] = (),
        type_args: Sequence[str] = (),
    ) -> list[Any]:
        """Call a #[view] function. ``args`` are (Move type, value) pairs, or chain-JSON values as-is.

        Raises:
            ViewNotAllowedError: the function is not #[view] on this node.
            ChainAbortError: the function aborted.
        """
        arguments = [movetypes.to_json(a[0], a[1]) if _is_tuple_arg(a) else a for a in args]
        body = {"function": function_id, "type_arguments": list(type_args), "arguments": arguments}
        response = self._request(
            "POST", "/rpc/v3/view", retry=True, json=body, function_id=function_id
        )
        data = self._json(response, "view result")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise ChainResponseError(f"The view {function_id} returned no result list.")
        return result

    def account(self, address: str) -> AccountInfo:
        """Sequence number and authentication key of ``address``."""
        path = f"/rpc/v3/accounts/{normalize_address(address)}"
        return self._parse(
            AccountInfo, self._json(self._request("GET", path, retry=True), "account"), "account"
        )

    def resource(self, address: str, resource_type: str) -> dict[str, Any]:
        """The ``data`` of one resource (e.g. ``0xbc95…::price_feed::PriceFeedRegistry``)."""
        path = f"/rpc/v3/accounts/{normalize_address(address)}/resources/{quote(resource_type, safe=':')}"
        body = self._json(self._request("GET", path, retry=True), "resource")
        data = body.get("data", body) if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ChainResponseError(f"The resource {resource_type} has an unexpected shape.")
        return data

    def table_item(self, handle: str, key_type: str, value_type: str, key: Any) -> Any:
        """One table item; a Python ``key`` is encoded to chain JSON by ``key_type`` when possible."""
        try:
            json_key = movetypes.to_json(key_type, key)
        except (movetypes.MoveTypeError, TypeError, ValueError):
            json_key = key  # struct keys or keys already in chain JSON
        body = {"key_type": key_type, "value_type": value_type, "key": json_key}
        response = self._request("POST", f"/rpc/v3/tables/{handle}/item", retry=True, json=body)
        return self._json(response, "table item")

    def module_abi(self, address: str, module: str) -> dict[str, Any] | None:
        """The ``abi`` of module ``address::module`` (``exposed_functions`` with their parameter
        types), or None when the node has no such module (404)."""
        path = f"/rpc/v3/accounts/{normalize_address(address)}/modules/{quote(module, safe='')}"
        try:
            response = self._request("GET", path, retry=True)
        except ChainResponseError as exc:
            if exc.status_code == 404 and not isinstance(exc, ChainIdMismatchError):
                return None
            raise
        body = self._json(response, "module")
        abi = body.get("abi") if isinstance(body, dict) else None
        if not isinstance(abi, dict):
            raise ChainResponseError(f"The module {module} has no ABI in the node's answer.")
        return abi

    def transaction(self, tx_hash: str) -> TransactionInfo | None:
        """The transaction, or None when the node does not know it (200 null or 404)."""
        try:
            response = self._request("GET", f"/rpc/v3/transactions/{tx_hash}", retry=True)
        except ChainResponseError as exc:
            if exc.status_code == 404 and not isinstance(exc, ChainIdMismatchError):
                return None
            raise
        body = self._json(response, "transaction")
        if body is None:
            return None
        return self._parse(TransactionInfo, body, "transaction")

    def account_transactions(
        self, address: str, start: int, count: int = 1
    ) -> list[TransactionInfo]:
        """The sender's committed transactions from sequence number ``start`` (reconciliation)."""
        path = f"/rpc/v3/accounts/{normalize_address(address)}/transactions"
        params = {"start": start, "count": count, "ascending": "true"}
        data = self._json(
            self._request("GET", path, retry=True, params=params), "account transactions"
        )
        if not isinstance(data, list):
            raise ChainResponseError("The account transactions answer is not a list.")
        return [self._parse(TransactionInfo, item, "transaction") for item in data]

    def wait_for_transaction(
        self,
        tx_hash: str,
        timeout_s: float = 30.0,
        *,
        poll_s: float = 0.2,
        poll_factor: float = 1.5,
        poll_cap_s: float = 5.0,
    ) -> TransactionInfo:
        """Poll until Success, Fail or Invalid; the result is returned, not raised (see raise_for_status).

        Raises:
            TransactionTimeoutError: not final within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        delay = poll_s
        while True:
            info = self.transaction(tx_hash)
            if info is not None and info.is_final:
                return info
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransactionTimeoutError(tx_hash, timeout_s)
            self._sleep(min(delay, remaining))
            delay = min(delay * poll_factor, poll_cap_s)

    def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        """One page of events of ``event_type`` in [start_height, end_height)."""
        params: dict[str, Any] = {"limit": limit}
        if start_height is not None:
            params["start_height"] = start_height
        if end_height is not None:
            params["end_height"] = end_height
        if cursor is not None:
            params["start"] = cursor
        path = f"/rpc/v3/events/{quote(event_type, safe=':')}"
        response = self._request("GET", path, retry=True, params=params)
        body = self._json(response, "event page")
        items = body.get("data") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise ChainResponseError(f"The events of {event_type} have an unexpected shape.")
        events = [self._parse(EventRecord, item, "event") for item in items]
        next_cursor = response.headers.get(CURSOR_HEADER) or None
        return EventPage(events=events, next_cursor=next_cursor)

    def latest_block(self) -> BlockInfo:
        """The chain tip: height, hash and timestamp."""
        body = self._json(self._request("GET", "/rpc/v3/block", retry=True), "block")
        return self._parse(BlockInfo, body, "block")

    def estimate_gas_price(self) -> GasPriceEstimate:
        body = self._json(
            self._request("GET", "/rpc/v3/transactions/estimate_gas_price", retry=True), "gas price"
        )
        return self._parse(GasPriceEstimate, body, "gas price estimate")

    # --- writes ------------------------------------------------------------------------------

    def _post_transaction(self, action: str, body: bytes, *, retry: bool) -> httpx.Response:
        """POST a BCS body to ``/rpc/v3/transactions/{action}``; a 4xx naming a status is the
        node's refusal of the transaction and raised as ``TransactionRejectedError``."""
        try:
            return self._request(
                "POST",
                f"/rpc/v3/transactions/{action}",
                retry=retry,
                content=body,
                headers={"Content-Type": BCS_SIGNED_TRANSACTION},
            )
        except ChainResponseError as exc:
            refusal = _refusal(exc)
            if refusal is not None:
                raise refusal from exc
            raise

    def simulate(self, body: bytes) -> TransactionInfo:
        """Simulate a BCS body (signature zeroed); retried like a read since it changes nothing.

        Raises:
            TransactionRejectedError: the node refused it before running it (a revoked key...).
        """
        response = self._post_transaction("simulate", body, retry=True)
        data = self._json(response, "simulation")
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        return self._parse(TransactionInfo, data, "simulation result")

    def submit(self, body: bytes) -> str:
        """Submit a signed BCS body once and return the transaction hash.

        Raises:
            ChainUnavailableError: the node did not answer; whether the transaction was accepted is
                unknown, so reconcile by sender and sequence number before sending it again.
            TransactionRejectedError: the node refused it before execution (nothing committed).
        """
        try:
            response = self._post_transaction("submit", body, retry=False)
        except ChainUnavailableError as exc:
            if isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout):
                raise ChainUnavailableError(
                    "Could not connect to the Supra node, so the transaction was not sent."
                ) from exc
            raise ChainUnavailableError(
                "Submitting the transaction did not complete, so its outcome is unknown: reconcile by "
                "sender and sequence number before sending it again."
            ) from exc
        tx_hash = self._json(response, "submit answer")
        if isinstance(tx_hash, dict):
            tx_hash = tx_hash.get("hash") or tx_hash.get("txn_hash")
        if not isinstance(tx_hash, str) or not tx_hash.startswith("0x"):
            raise ChainResponseError(
                "The Supra node accepted the transaction but returned no hash."
            )
        return tx_hash

    def _raw(
        self,
        sender: str,
        sequence_number: int,
        payload: EntryFunction | TransactionPayload,
        *,
        max_gas: int = 500_000,
        gas_unit_price: int = 100,
        expiry_s: int = DEFAULT_EXPIRY_S,
        chain_now_s: int | None = None,
    ) -> RawTransaction:
        # The expiry is checked against the chain's clock, which is the caller's to give.
        now_s = chain_now_s if chain_now_s is not None else int(self._now_s())
        return build_raw_transaction(
            sender,
            sequence_number,
            payload,
            max_gas_amount=max_gas,
            gas_unit_price=gas_unit_price,
            expiration_timestamp_s=now_s + expiry_s,
            chain_id=self.expected_chain_id,
        )

    def simulate_payload(
        self,
        signer: Signer,
        payload: EntryFunction | TransactionPayload,
        *,
        label: str,
        **options: Unpack[TransactionOptions],
    ) -> TransactionInfo:
        """Simulate ``payload`` as ``signer`` would send it now (only its public key is used).

        Raises:
            ChainAbortError: the simulated call aborts (decoded by name).
            TransactionFailedError: it fails otherwise (out of gas, MISSING_DATA...).
        """
        raw = self._raw(
            signer.address, self.account(signer.address).sequence_number, payload, **options
        )
        info = self.simulate(simulation_body(raw, signer.public_key))
        raise_for_status(info, label)
        return info

    def submit_entry(
        self,
        signer: Signer,
        function_id: str,
        args: Sequence[tuple[str, Any]] = (),
        *,
        type_args: Sequence[str] = (),
        **options: Unpack[SubmitOptions],
    ) -> TransactionInfo:
        """Build, (simulate,) sign, submit and wait for one entry-function call; raise on any failure.

        ``before_send(sequence_number, expiration_timestamp_s)`` runs once the transaction is signed
        and just before it is sent, with the two numbers it carries: a caller that must later tell
        whether it can still land records them there (if it raises, nothing is sent).

        Raises:
            ChainAbortError: simulation or execution aborted (nothing is submitted after an abort in
                simulation).
            TransactionFailedError: out of gas, MISSING_DATA, Invalid, ...
            TransactionRejectedError: the node refused it before execution (nothing committed).
            TransactionTimeoutError: submitted but not final in ``wait_timeout_s``.
            ChainUnavailableError: the node failed; after submit, reconcile by sequence number.
        """
        return self.submit_payload(
            signer, build_entry_function(function_id, args, type_args), label=function_id, **options
        )

    def submit_payload(
        self,
        signer: Signer,
        payload: EntryFunction | TransactionPayload,
        *,
        label: str,
        simulate_first: bool = True,
        wait_timeout_s: float = 30.0,
        before_send: Callable[[int, int], None] | None = None,
        **options: Unpack[TransactionOptions],
    ) -> TransactionInfo:
        """``submit_entry`` for any payload (an entry function or a ``MultisigPayload``); ``label``
        names it in errors and logs. Same guarantees and errors as ``submit_entry``."""
        sequence_number = self.account(signer.address).sequence_number
        raw = self._raw(signer.address, sequence_number, payload, **options)
        expiration_timestamp_s = raw.expiration_timestamps_secs
        if simulate_first:
            raise_for_status(self.simulate(simulation_body(raw, signer.public_key)), label)
        body = signed_body(raw, signer)
        if before_send is not None:
            before_send(sequence_number, expiration_timestamp_s)
        tx_hash = self.submit(body)
        logger.info(
            "submitted %s",
            label,
            extra={
                "tx_hash": tx_hash,
                "sender": signer.address,
                "sequence_number": sequence_number,
            },
        )
        info = self.wait_for_transaction(tx_hash, wait_timeout_s)
        raise_for_status(info, label)
        return info
