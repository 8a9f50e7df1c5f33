"""The chain as the commands see it (``commands.ports.ChainPort``): reads, simulation and writes of
the lottery_multi package through one ``ChainClient`` and the operator's signer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chatops.chain.calls import ChainCall, Events, Outcome, TypedArg
from chatops.chain.client import ChainClient, raise_for_status
from chatops.chain.errors import ViewNotAllowedError
from chatops.chain.models import TransactionInfo
from chatops.chain.signer import Signer
from chatops.chain.transactions import build_entry_function, build_raw_transaction, simulation_body

__all__ = ["Gateway", "StateReader", "transaction_events"]

logger = logging.getLogger(__name__)


class StateReader(Protocol):
    """Answers read functions from resources and table items when the node refuses them as views."""

    def supports(self, function: str) -> bool: ...

    def state_only(self, function: str) -> bool:
        """Names state no function returns (``payouts::WinnerState.winner_chunks``): no view."""
        ...

    def read(self, function: str, args: Sequence[TypedArg]) -> list[Any]: ...


class Gateway:
    """``ChainPort`` over Supra RPC (a node or ``chatops devnet``).

    ``now_s`` is the clock the bot passes as the contracts' timestamps (spec fact 4): by default the
    latest block's time, so the devnet's clock and a real chain's time behave the same.

    Reads take the view path where the node allows it and fall back to reading resources and table
    items (``StateReader``) for functions a real node refuses because they lack ``#[view]`` (spec
    fact 3).
    """

    def __init__(
        self,
        client: ChainClient,
        signer: Signer,
        package_address: str,
        *,
        state_reader: StateReader | None = None,
        clock_s: Callable[[], int] | None = None,
        wait_timeout_s: float = 30.0,
    ) -> None:
        self.client = client
        self.signer = signer
        self._package = package_address
        self.state_reader = state_reader
        self._clock_s = clock_s
        self._wait_timeout_s = wait_timeout_s
        self._not_views: set[str] = set()
        self._lock = threading.Lock()

    def _fid(self, function: str) -> str:
        return ChainCall(function=function).function_id(self._package)

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        reader = self.state_reader
        if reader is not None and (function in self._not_views or reader.state_only(function)):
            return reader.read(function, args)
        try:
            return self.client.view(self._fid(function), [a.value for a in args])
        except ViewNotAllowedError:
            if reader is None or not reader.supports(function):
                raise
            with self._lock:
                self._not_views.add(function)
            logger.info("%s is not a view on this node; reading resources instead", function)
            return reader.read(function, args)

    def _typed(self, call: ChainCall) -> list[tuple[str, Any]]:
        return [(a.type, a.python()) for a in call.args]

    def simulate(self, call: ChainCall) -> Events:
        entry = build_entry_function(self._fid(call.function), self._typed(call))
        account = self.client.account(self.signer.address)
        raw = build_raw_transaction(
            self.signer.address,
            account.sequence_number,
            entry,
            max_gas_amount=500_000,
            gas_unit_price=100,
            expiration_timestamp_s=self.now_s() + 300,
            chain_id=self.client.expected_chain_id,
        )
        info = self.client.simulate(simulation_body(raw, self.signer.public_key))
        raise_for_status(info, call.function)
        return transaction_events(info)

    def submit(
        self, call: ChainCall, *, before_send: Callable[[int, int], None] | None = None
    ) -> Outcome:
        """Sign, submit and wait. ``before_send(sequence_number, expiration_timestamp_s)`` sees the
        two numbers the signed transaction carries just before it is sent (see
        ``ChainClient.submit_entry``); the approval flow records them there for reconciliation."""
        with self._lock:  # one sender account: keep sequence numbers in order
            info = self.client.submit_entry(
                self.signer,
                self._fid(call.function),
                self._typed(call),
                wait_timeout_s=self._wait_timeout_s,
                chain_now_s=self.now_s(),
                before_send=before_send,
            )
        return Outcome(call=call, tx_hash=info.hash, events=transaction_events(info))

    def chain_id(self) -> int:
        return self.client.expected_chain_id

    def block_height(self) -> int:
        return self.client.latest_block().height

    def package_address(self) -> str:
        return self._package

    def now_s(self) -> int:
        if self._clock_s is not None:
            return self._clock_s()
        return self.client.latest_block().timestamp.microseconds_since_unix_epoch // 1_000_000


def transaction_events(info: TransactionInfo) -> Events:
    """The events a transaction emitted, as steps read them ((type, data) pairs)."""
    move = info.output.move if info.output is not None else None
    return tuple((e.type, dict(e.data or {})) for e in (move.events if move else []))
