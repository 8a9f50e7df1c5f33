"""The devnet's HTTP face: Supra RPC v3 shapes over a ``Ledger``, plus a few ``/devnet/*`` knobs."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from nacl.signing import SigningKey

from chatops.devnet import resources
from chatops.devnet.abi import module_abi
from chatops.devnet.execution import ViewError
from chatops.devnet.framework import World, addr
from chatops.devnet.ledger import Ledger
from chatops.devnet.multisig_account import DEFAULT_FEATURES
from chatops.devnet.records import DEFAULT_CHAIN_ID
from chatops.devnet.transactions import TransactionRejectedError, decode_submission

__all__ = [
    "BCS_SIGNED_TRANSACTION",
    "DevnetServer",
    "load_or_create_admin_key",
    "run_devnet",
    "world_json",
]

logger = logging.getLogger(__name__)

BCS_SIGNED_TRANSACTION = "application/x.supra.signed_transaction+bcs"
MAX_BODY_BYTES = 1 << 20
EVENTS_DEFAULT_LIMIT = 20
EVENTS_MAX_LIMIT = 100
PAGE_MAX = 100
MAX_TTL_S = 3600  # what /rpc/v3/transactions/parameters reports
POLL_INTERVAL_S = 0.05  # how fast stop() is noticed; stdlib's 0.5 s makes every test teardown slow


class HttpError(Exception):
    """A request the node answers with ``status`` and ``{"message": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class Fault:
    """Test knob: the next ``count`` requests under ``path_prefix`` wait ``delay_ms`` then fail with
    ``status``; or, for simulations, answer as if the chain had changed since the caller's reads:
    failed with ``vm_status`` (``Move abort in 0x…::history: 0x1b02``)."""

    path_prefix: str = "/rpc/"
    delay_ms: int = 0
    status: int | None = None
    count: int = 1
    vm_status: str | None = None


def world_json(value: Any) -> Any:
    """JSON dump of World state: dataclasses -> dicts, bytes -> 0x hex, sets -> sorted lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: world_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): world_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [world_json(v) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [world_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"ev:{position}".encode()).decode().rstrip("=")


def _parse_cursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        position = int(raw.removeprefix("ev:")) if raw.startswith("ev:") else None
    except ValueError:
        position = None
    if position is None:
        raise HttpError(400, f"invalid cursor {text!r}")
    return position


def _int_param(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    values = query.get(name)
    if not values or values[0] == "":
        return default
    try:
        return int(values[0])
    except ValueError as exc:
        raise HttpError(400, f"query parameter {name} must be an integer") from exc


Route = Callable[
    ["_Handler", "re.Match[str]", dict[str, list[str]]], tuple[int, Any, dict[str, str]]
]


class _Handler(BaseHTTPRequestHandler):
    """One request: route, run against the ledger, answer JSON with ``x-supra-chain-id``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms a request.
    disable_nagle_algorithm = True
    server: _Server
    _vm_status: str | None = None  # a fault's forced simulation outcome, for this request

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("devnet %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        raw = self._body()
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            raise HttpError(400, f"invalid JSON body: {exc}") from exc

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-supra-chain-id", str(self.server.devnet.ledger.chain_id))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        try:
            status, body, headers = self._route(method, path, parse_qs(split.query))
        except HttpError as exc:
            self._send(exc.status, {"message": exc.message})
        except Exception:  # the node must answer 500, not drop the connection
            logger.exception("devnet: %s %s failed", method, path)
            self._send(500, {"message": "internal devnet error"})
        else:
            self._send(status, body, headers)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        fault = self.server.devnet.take_fault(path)
        self._vm_status = fault.vm_status if fault is not None else None
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                self._body()
                raise HttpError(fault.status, "devnet fault injection")
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path) if route_method == method else None
            if match is not None:
                return handler(self, match, query)
        raise HttpError(404, f"no route for {method} {path}")

    @property
    def ledger(self) -> Ledger:
        return self.server.devnet.ledger

    # --- /rpc ----------------------------------------------------------------------------------

    def view(self, _m: re.Match[str], _q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("function"), str):
            raise HttpError(400, "body must be {function, type_arguments, arguments}")
        arguments = body.get("arguments") or []
        type_arguments = body.get("type_arguments") or []
        if not isinstance(arguments, list) or not isinstance(type_arguments, list):
            raise HttpError(400, "arguments and type_arguments must be arrays")
        try:
            result = self.ledger.view(
                body["function"], type_arguments, arguments, strict=self.server.devnet.strict_views
            )
        except ViewError as exc:
            raise HttpError(400, str(exc)) from exc
        return 200, {"result": result}, {}

    def account(
        self, m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        account = self.ledger.get_account(_address(m["addr"]))
        if account is None:
            raise HttpError(404, f"Account not found: {m['addr']}")
        return 200, account.to_json(), {}

    def account_resources(
        self, m: re.Match[str], q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        address = _address(m["addr"])
        with self.ledger.lock:
            items = resources.account_resources(self.ledger, address)
        start = _int_param(q, "start", 0) or 0
        count = min(_int_param(q, "count", PAGE_MAX) or PAGE_MAX, PAGE_MAX)
        page = items[start : start + count]
        headers = {"x-supra-cursor": str(start + count)} if start + count < len(items) else {}
        return 200, page, headers

    def account_resource(
        self, m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        address = _address(m["addr"])
        wanted = unquote(m["type"])
        with self.ledger.lock:
            found = resources.account_resource(self.ledger, address, wanted)
        if found is None:
            raise HttpError(404, f"Resource not found: {wanted} at {address}")
        return 200, found, {}

    def account_module(
        self, m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        found = module_abi(self.ledger.specs, _address(m["addr"]), unquote(m["module"]))
        if found is None:
            raise HttpError(404, f"Module not found: {m['module']} at {m['addr']}")
        return 200, found, {}

    def account_transactions(
        self, m: re.Match[str], q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        ascending = (q.get("ascending") or ["true"])[0].lower() != "false"
        count = min(_int_param(q, "count", 20) or 20, PAGE_MAX)
        records = self.ledger.transactions_of(
            _address(m["addr"]), _int_param(q, "start"), count, ascending
        )
        return 200, [r.to_json() for r in records], {}

    def table_item(
        self, m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if not isinstance(body, dict) or not all(
            k in body for k in ("key_type", "value_type", "key")
        ):
            raise HttpError(400, "body must be {key_type, value_type, key}")
        with self.ledger.lock:
            try:
                value = resources.table_item(
                    self.ledger, m["handle"], body["key_type"], body["value_type"], body["key"]
                )
            except resources.TableError as exc:
                raise HttpError(exc.status, str(exc)) from exc
        return 200, value, {}

    def _decoded(self) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body()
        if content_type != BCS_SIGNED_TRANSACTION:
            raise HttpError(
                415, f"the devnet accepts only {BCS_SIGNED_TRANSACTION} transaction bodies"
            )
        try:
            return decode_submission(body)
        except TransactionRejectedError as exc:
            raise HttpError(400, str(exc)) from exc

    def submit(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        tx = self._decoded()
        try:
            record = self.ledger.submit(tx)
        except TransactionRejectedError as exc:
            raise HttpError(400, str(exc)) from exc
        return 200, record.hash, {}

    def simulate(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        tx = self._decoded()
        try:
            record = self.ledger.simulate(tx)
        except TransactionRejectedError as exc:
            raise HttpError(400, str(exc)) from exc
        answer = record.to_json()
        if self._vm_status is not None:  # the fault knob: the chain moved since the caller's reads
            answer["status"] = "Fail"
            answer["output"]["Move"]["vm_status"] = self._vm_status
        return 200, answer, {}

    def faucet(self, m: re.Match[str], _q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        """The testnet faucet (``GET /rpc/v1/wallet/faucet/{address}``): creates the account."""
        record = self.ledger.fund(_address(m["addr"]))
        return 200, {"Accepted": record.hash}, {}

    def transaction(
        self, m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.ledger.lock:
            record = self.ledger.transactions.get(m["hash"].lower())
            return 200, record.to_json() if record is not None else None, {}

    def gas_price(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        return (
            200,
            {
                "mean_gas_price": 100,
                "median_gas_price": 100,
                "max_gas_price": 100,
                "min_configured_gas_price": 100,
            },
            {},
        )

    def events(self, m: re.Match[str], q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        limit = _int_param(q, "limit", EVENTS_DEFAULT_LIMIT) or EVENTS_DEFAULT_LIMIT
        if not 1 <= limit <= EVENTS_MAX_LIMIT:
            raise HttpError(400, f"limit must be between 1 and {EVENTS_MAX_LIMIT}")
        start = (q.get("start") or [""])[0]
        after = _parse_cursor(start) if start else -1
        try:
            with self.ledger.lock:
                found, more = self.ledger.log.by_type(
                    unquote(m["type"]),
                    start_height=_int_param(q, "start_height"),
                    end_height=_int_param(q, "end_height"),
                    after=after,
                    limit=limit,
                )
        except ValueError as exc:
            raise HttpError(400, f"invalid event type: {exc}") from exc
        headers = {"x-supra-cursor": _cursor(found[-1][0])} if more and found else {}
        return 200, {"data": [event.to_json() for _, event in found]}, headers

    def block(self, _m: re.Match[str], _q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        with self.ledger.lock:
            return 200, self.ledger.latest_block.to_json(), {}

    def chain_id(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        return 200, self.ledger.chain_id, {}

    def parameters(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        return 200, {"max_transaction_time_to_live_seconds": MAX_TTL_S}, {}

    # --- /devnet -------------------------------------------------------------------------------

    def clock_get(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.ledger.lock:
            return 200, {"now": self.ledger.now_s, "height": self.ledger.latest_block.height}, {}

    def clock(self, _m: re.Match[str], _q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if not isinstance(body, dict):
            raise HttpError(400, 'body must be {"advance_secs": N} or {"now": TS}')
        try:
            if isinstance(body.get("advance_secs"), int):
                self.ledger.advance(body["advance_secs"])
            elif isinstance(body.get("now"), int):
                self.ledger.set_time(body["now"])
            else:
                raise HttpError(400, 'body must be {"advance_secs": N} or {"now": TS}')
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc
        return self.clock_get(_m, _q)

    def inject_event(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("type"), str)
            or not isinstance(body.get("data"), dict)
        ):
            raise HttpError(400, 'body must be {"type": "0xA::module::Struct", "data": {...}}')
        try:
            event = self.ledger.inject_event(body["type"], body["data"])
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc
        return 200, event.to_json(), {}

    def state(self, _m: re.Match[str], _q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        with self.ledger.lock:
            world: World = self.ledger.world
            return (
                200,
                {
                    "now": self.ledger.now_s,
                    "height": self.ledger.latest_block.height,
                    "modules": world_json(world.modules),
                    "accounts": world_json(world.accounts),
                },
                {},
            )

    def vrf_fulfill(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("lottery_id"), int):
            raise HttpError(400, 'body must be {"lottery_id": N}')
        record = self.ledger.fulfill_vrf_tx(body["lottery_id"])
        return 200, record.to_json(), {}

    def faults(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        body = self._json_body()
        if not isinstance(body, dict):
            raise HttpError(400, "body must be a JSON object")
        fault = Fault(
            path_prefix=str(body.get("path_prefix", "/rpc/")),
            delay_ms=int(body.get("delay_ms", 0)),
            status=int(body["status"]) if body.get("status") is not None else None,
            count=int(body.get("count", 1)),
            vm_status=str(body["vm_status"]) if body.get("vm_status") is not None else None,
        )
        self.server.devnet.set_fault(fault if fault.count > 0 else None)
        return 200, dataclasses.asdict(fault), {}

    def faults_clear(
        self, _m: re.Match[str], _q: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        self.server.devnet.set_fault(None)
        return 200, {"cleared": True}, {}


def _address(text: str) -> str:
    try:
        return addr(unquote(text))
    except ValueError as exc:
        raise HttpError(400, f"invalid account address {text!r}") from exc


_ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("POST", r"/rpc/v[13]/view", _Handler.view),
        ("GET", r"/rpc/v3/accounts/(?P<addr>[^/]+)", _Handler.account),
        ("GET", r"/rpc/v3/accounts/(?P<addr>[^/]+)/resources", _Handler.account_resources),
        (
            "GET",
            r"/rpc/v3/accounts/(?P<addr>[^/]+)/resources/(?P<type>.+)",
            _Handler.account_resource,
        ),
        ("GET", r"/rpc/v3/accounts/(?P<addr>[^/]+)/transactions", _Handler.account_transactions),
        (
            "GET",
            r"/rpc/v3/accounts/(?P<addr>[^/]+)/modules/(?P<module>\w+)",
            _Handler.account_module,
        ),
        ("POST", r"/rpc/v[23]/tables/(?P<handle>[^/]+)/item", _Handler.table_item),
        ("POST", r"/rpc/v3/transactions/submit", _Handler.submit),
        ("POST", r"/rpc/v3/transactions/simulate", _Handler.simulate),
        ("GET", r"/rpc/v3/transactions/estimate_gas_price", _Handler.gas_price),
        ("GET", r"/rpc/v[13]/transactions/chain_id", _Handler.chain_id),
        ("GET", r"/rpc/v1/transactions/parameters", _Handler.parameters),
        ("GET", r"/rpc/v3/transactions/(?P<hash>0x[0-9a-fA-F]+)", _Handler.transaction),
        ("GET", r"/rpc/v3/events/(?P<type>.+)", _Handler.events),
        ("GET", r"/rpc/v3/block", _Handler.block),
        ("GET", r"/rpc/v[13]/wallet/faucet/(?P<addr>[^/]+)", _Handler.faucet),
        ("GET", r"/devnet/clock", _Handler.clock_get),
        ("POST", r"/devnet/clock", _Handler.clock),
        ("POST", r"/devnet/events", _Handler.inject_event),
        ("GET", r"/devnet/state", _Handler.state),
        ("POST", r"/devnet/vrf/fulfill", _Handler.vrf_fulfill),
        ("POST", r"/devnet/faults", _Handler.faults),
        ("DELETE", r"/devnet/faults", _Handler.faults_clear),
    ]
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    devnet: DevnetServer


class DevnetServer:
    """A devnet node on ``host:port`` (port 0 = any free port); ``url`` is known once constructed.

    Real sockets, stdlib ``ThreadingHTTPServer`` on 127.0.0.1: the gateway talks to it exactly as to
    a Supra node (views, resources, tables, BCS submit/simulate, transactions, events by type,
    blocks).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        admin_public_key: bytes,
        chain_id: int = DEFAULT_CHAIN_ID,
        strict_views: bool = False,
        state_file: Path | None = None,
        vrf_delay_s: int = 0,
        seed: bool = True,
        start_time_s: int | None = None,
        features: frozenset[int] = DEFAULT_FEATURES,
    ) -> None:
        self.strict_views = strict_views
        self.ledger = Ledger(
            admin_public_key=admin_public_key,
            chain_id=chain_id,
            vrf_delay_s=vrf_delay_s,
            seed=seed,
            start_time_s=start_time_s,
            state_file=state_file,
            features=features,
        )
        self._fault: Fault | None = None
        self._fault_lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.devnet = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_fault(self, fault: Fault | None) -> None:
        with self._fault_lock:
            self._fault = fault

    def take_fault(self, path: str) -> Fault | None:
        """The active fault if it applies to ``path`` (never to ``/devnet/*``), consuming one use."""
        if path.startswith("/devnet/"):
            return None
        with self._fault_lock:
            fault = self._fault
            if fault is None or not path.startswith(fault.path_prefix):
                return None
            fault.count -= 1
            if fault.count <= 0:
                self._fault = None
            return fault

    def start(self) -> DevnetServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL_S},
                name="devnet-http",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop`` or KeyboardInterrupt."""
        self._httpd.serve_forever(poll_interval=POLL_INTERVAL_S)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> DevnetServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def load_or_create_admin_key(path: Path) -> SigningKey:
    """Read the hex Ed25519 private key at ``path``, or create one there (mode 0600)."""
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        text = text.removeprefix("ed25519-priv-").removeprefix("0x")
        return SigningKey(bytes.fromhex(text))
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("0x" + bytes(key).hex() + "\n")
    return key


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_devnet(
    host: str = "127.0.0.1",
    port: int = 8080,
    strict_views: bool = False,
    state_file: Path | None = None,
    admin_key_file: Path = Path(".devnet/admin.key"),
    chain_id: int = DEFAULT_CHAIN_ID,
    vrf_delay_s: int = 0,
    out: TextIO = sys.stdout,
) -> int:
    """``chatops devnet``: serve until Ctrl-C; prints the URL, chain id and key file (never the key)."""
    key = load_or_create_admin_key(admin_key_file)
    server = DevnetServer(
        host,
        port,
        admin_public_key=bytes(key.verify_key),
        chain_id=chain_id,
        strict_views=strict_views,
        state_file=state_file,
        vrf_delay_s=vrf_delay_s,
    )
    out.write(
        f"devnet listening on {server.url}\n"
        f"chain id {chain_id}; package account admin key file {admin_key_file}\n"
        + (f"state file {state_file}\n" if state_file is not None else "")
    )
    out.flush()
    if threading.current_thread() is threading.main_thread():
        # `docker stop` and process managers send SIGTERM: stop as cleanly as on Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.write("devnet stopped\n")
    finally:
        server.stop()
    return 0
