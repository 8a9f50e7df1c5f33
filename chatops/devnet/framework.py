"""The contract-emulation kernel of the devnet: how a Move function is declared, called and
aborted. Nothing here knows HTTP or Redis."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

__all__ = [
    "FRAMEWORK_ADDRESS",
    "PACKAGE_ADDRESS",
    "ZERO_AUTH_KEY",
    "AccountState",
    "Call",
    "ChainContext",
    "Emitted",
    "FunctionSpec",
    "MissingDataError",
    "MoveAbortError",
    "Specs",
    "World",
    "addr",
    "hexb",
    "opt",
    "sha3",
    "short_address",
    "u64",
]

# spec §1.1: every module of lottery_multi (and lottery_support::history_bridge) lives here.
PACKAGE_ADDRESS = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
# supra_framework (0x1): the devnet emulates the parts the bot meets, such as 0x1::multisig_account.
FRAMEWORK_ADDRESS = "0x" + "0" * 63 + "1"
# The authentication key of an account whose key was revoked: no public key hashes to it.
ZERO_AUTH_KEY = "0x" + "0" * 64

Json = Any
State = TypeVar("State")


class MoveAbortError(Exception):
    """A Move ``abort`` raised from ``module`` (the module name as the chain prints it, e.g. ``payouts``).

    ``module`` is the module that raised it in the real code (spec §8.1), which is not always the
    module of the entry function: table misses abort inside ``0x1::table`` (``module="table"``,
    ``address="0x1"``) with 0x6507.
    """

    def __init__(
        self,
        module: str,
        code: int,
        address: str = PACKAGE_ADDRESS,
        *,
        name: str | None = None,
        description: str = "",
    ) -> None:
        super().__init__(f"Move abort in {address}::{module}: {code:#x}")
        self.module = module
        self.code = code
        self.address = address
        # A module that ships an error map (the framework does, lottery_multi does not) has its
        # aborts printed by the node as NAME(0xCODE): description.
        self.name = name
        self.description = description


class MissingDataError(Exception):
    """The VM's MISSING_DATA: a resource the function borrows was never published (not an abort code)."""

    def __init__(self, resource: str) -> None:
        super().__init__(f"MISSING_DATA: resource {resource} does not exist")
        self.resource = resource


def addr(value: str) -> str:
    """Normalise an address to ``0x`` + 64 lowercase hex digits (how the devnet keys accounts)."""
    text = value.lower().removeprefix("0x")
    if not text or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"not an account address: {value!r}")
    return "0x" + text.rjust(64, "0")


def short_address(address: str) -> str:
    """Aptos ``to_hex_literal``: ``0x`` + hex with leading zeros trimmed (``0x1``)."""
    return "0x" + (addr(address)[2:].lstrip("0") or "0")


def u64(value: int) -> str:
    """Encode a u64/u128/u256 the way the chain's JSON does: a decimal string (spec §1.5)."""
    return str(value)


def hexb(value: bytes) -> str:
    """Encode ``vector<u8>`` as chain JSON: ``0x`` hex, ``"0x"`` when empty."""
    return "0x" + value.hex()


def opt(value: Json | None) -> dict[str, list[Json]]:
    """Encode ``Option<T>`` as chain JSON (``{"vec": []}`` or ``{"vec": [x]}``); ``value`` already encoded."""
    return {"vec": [] if value is None else [value]}


def sha3(data: bytes) -> bytes:
    """sha3-256, the only hash the contracts use."""
    return hashlib.sha3_256(data).digest()


@dataclass
class World:
    """All on-chain state of the emulated package account.

    ``modules`` maps a module name to that module's state object (any deep-copyable Python object,
    ``None`` until its ``init_*`` ran). ``accounts`` holds per-operator resources such as
    ``automation::AutomationCap`` (address -> {resource name -> object}).
    """

    modules: dict[str, Any] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def snapshot(self) -> World:
        """A deep copy, taken before a transaction so that an abort can restore it."""
        return copy.deepcopy(self)

    def state(self, module: str, kind: type[State]) -> State | None:
        """``module``'s state, or None while its ``init_*`` has not run."""
        found = self.modules.get(module)
        return found if isinstance(found, kind) else None

    def require_state(self, module: str, kind: type[State], code: int) -> State:
        """``module``'s state; a function that borrows it before its ``init_*`` ran aborts with
        the module's own ``code`` for that."""
        found = self.state(module, kind)
        if found is None:
            raise MoveAbortError(module, code)
        return found

    def publish(
        self, call: Call, module: str, state: object, *, not_admin: int, again: int
    ) -> None:
        """An ``init_*`` entry: only the package account publishes ``module``'s state (abort
        ``not_admin`` for anyone else), and only once (abort ``again``)."""
        call.require_admin(module, not_admin)
        if module in self.modules:
            raise MoveAbortError(module, again)
        self.modules[module] = state


class Emitted(tuple[str, dict[str, Json]]):
    """An emitted event: ``(struct, data)`` (it compares equal to that pair) plus where it goes.

    ``handle_account`` puts a handle event on that account's handle for its type (the framework's
    handles live at the account they describe, not at 0x1); ``module_event`` marks a ``#[event]``
    struct, which the chain shows with the null GUID and sequence number 0.
    """

    handle_account: str | None
    module_event: bool

    def __new__(
        cls,
        struct: str,
        data: dict[str, Json],
        *,
        handle_account: str | None = None,
        module_event: bool = False,
    ) -> Emitted:
        self = super().__new__(cls, (struct, data))
        self.handle_account = handle_account
        self.module_event = module_event
        return self


@dataclass(frozen=True)
class AccountState:
    """An account as framework code reads it: its sequence number and authentication key."""

    sequence_number: int
    authentication_key: str


@dataclass(frozen=True)
class ChainContext:
    """What framework code (0x1) reads of the chain beyond the World: ``chain_id::get()``, the block
    time, the on-chain feature flags and the accounts (``None`` for an account the chain never saw)."""

    chain_id: int
    now_s: int
    features: frozenset[int]
    account: Callable[[str], AccountState | None]


@dataclass
class Call:
    """One executing transaction: who signed it, the block time, and the events it emits.

    ``signers`` are the transaction's signers in order (the sender first; ``automation::register_bot``
    and ``rotate_bot`` take a second one). Events are buffered and only published if the call
    returns without aborting; so are authentication-key rotations (``rotate_authentication_key``),
    which the ledger applies to its accounts after the call succeeds. ``chain`` is set for framework
    code, which reads accounts and flags.
    """

    signers: list[str]
    now_s: int
    events: list[Emitted] = field(default_factory=list)
    chain: ChainContext | None = None
    auth_key_rotations: dict[str, str] = field(default_factory=dict)

    @property
    def sender(self) -> str:
        return self.signers[0]

    def emit(
        self,
        struct: str,
        data: dict[str, Json],
        *,
        handle_account: str | None = None,
        module_event: bool = False,
    ) -> None:
        """Emit an event; ``struct`` is ``module::Struct`` (e.g. ``history::VrfFulfilledEvent``) or a
        full type (``0x1::multisig_account::Vote``)."""
        self.events.append(
            Emitted(struct, data, handle_account=handle_account, module_event=module_event)
        )

    def rotate_authentication_key(self, address: str, key: str) -> None:
        """``account::rotate_authentication_key_internal``: kept only if the transaction succeeds."""
        self.auth_key_rotations[addr(address)] = key

    def require_admin(self, module: str, code: int) -> None:
        """The only on-chain role: the signer must be the package account (spec §0 fact 2, 8)."""
        if self.sender != PACKAGE_ADDRESS:
            raise MoveAbortError(module, code)


EntryFn = Callable[..., None]
ReadFn = Callable[..., list[Json]]


@dataclass(frozen=True)
class FunctionSpec:
    """A callable Move function of the package.

    ``params`` are Move type strings of the non-signer parameters, in order (``u64``,
    ``vector<u8>``, ``address``, ``0x1::option::Option<u64>``, ...). ``signers`` is how many
    ``&signer`` parameters come first (entry functions only). ``is_view`` is true only for functions
    carrying ``#[view]`` (spec §0 fact 3: just ``history::is_legacy_summary``); the devnet serves the
    others as views unless started with ``--strict-views``. ``address`` is the module's account (the
    package, or 0x1 for the framework); a read with ``uses_chain`` is called as
    ``fn(world, context, *args)`` with a ``ChainContext``.
    """

    module: str
    name: str
    kind: Literal["entry", "read"]
    params: tuple[str, ...]
    fn: Callable[..., Any]
    signers: int = 1
    is_view: bool = False
    returns: tuple[str, ...] = ()
    address: str = PACKAGE_ADDRESS
    uses_chain: bool = False
    visibility: Literal["public", "private", "friend"] = "public"

    @property
    def key(self) -> str:
        """``module::name`` for the package, ``0x1::module::name`` for a module elsewhere."""
        if self.address == PACKAGE_ADDRESS:
            return f"{self.module}::{self.name}"
        return f"{short_address(self.address)}::{self.module}::{self.name}"


class Specs:
    """The functions one contract module declares (collected by ``contracts.all_specs``).

    The contract modules in ``chatops.devnet.contracts`` declare their functions with ``Specs`` and
    keep their state on the shared ``World``; the HTTP server decodes arguments, runs a call
    atomically (state and events are rolled back on abort) and encodes results.
    """

    def __init__(self, module: str, *, address: str = PACKAGE_ADDRESS) -> None:
        self.module = module
        self.address = addr(address)
        self.functions: list[FunctionSpec] = []

    def struct(self, name: str) -> str:
        """The full type of the module's struct ``name`` (``0x…::module::Name``), as the chain
        writes it in a read's return types and in resource types."""
        return f"{self.address}::{self.module}::{name}"

    def by_key(self) -> dict[str, FunctionSpec]:
        """The declared functions keyed as the ledger resolves them (``FunctionSpec.key``)."""
        return {spec.key: spec for spec in self.functions}

    def entry(
        self,
        name: str,
        params: tuple[str, ...] = (),
        *,
        signers: int = 1,
        visibility: Literal["public", "private", "friend"] = "public",
    ) -> Callable[[EntryFn], EntryFn]:
        """Declare ``fn(world, call, *args) -> None`` as ``public entry fun module::name`` (or a
        private ``entry fun``, which only a transaction can call)."""

        def register(fn: EntryFn) -> EntryFn:
            self.functions.append(
                FunctionSpec(
                    self.module,
                    name,
                    "entry",
                    params,
                    fn,
                    signers=signers,
                    address=self.address,
                    visibility=visibility,
                )
            )
            return fn

        return register

    def read(
        self,
        name: str,
        params: tuple[str, ...] = (),
        *,
        returns: tuple[str, ...] = (),
        is_view: bool = False,
        uses_chain: bool = False,
    ) -> Callable[[ReadFn], ReadFn]:
        """Declare ``fn(world, *args) -> [json value per return value]`` as a read function
        (``fn(world, context, *args)`` with ``uses_chain``)."""

        def register(fn: ReadFn) -> ReadFn:
            self.functions.append(
                FunctionSpec(
                    self.module,
                    name,
                    "read",
                    params,
                    fn,
                    signers=0,
                    is_view=is_view,
                    returns=returns,
                    address=self.address,
                    uses_chain=uses_chain,
                )
            )
            return fn

        return register
