"""The small interfaces steps are written against; ``chatops`` implements them (chain, clock, progress)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatops.chain.calls import ChainCall, Events, Outcome, TypedArg, find_event
from chatops.severity import Severity
from commands.reply import Reply

__all__ = [
    "Actor",
    "ApprovalsPort",
    "ChainPort",
    "Events",
    "IncidentsPort",
    "Outcome",
    "Plan",
    "StepContext",
    "find_event",
]


class ChainPort(Protocol):
    """Reads and writes of the lottery_multi package, whatever the transport (node or devnet)."""

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        """Call a read function (``module::name``); returns chain JSON values. Raises ChainError."""
        ...

    def simulate(self, call: ChainCall) -> Events:
        """Simulate against current state: the events the call would emit (nothing is committed).

        Raises ChainAbortError with the abort it would hit.
        """
        ...

    def submit(self, call: ChainCall) -> Outcome:
        """Sign, submit and wait; raises ChainAbortError (by name) if the transaction fails."""
        ...

    def chain_id(self) -> int:
        """The chain id the bot talks to (``request_draw_admin`` takes it as an argument)."""
        ...

    def block_height(self) -> int:
        """The latest block height (``request_draw_admin``'s ``closing_block_height``)."""
        ...

    def now_s(self) -> int:
        """The Unix seconds the bot passes as the contracts' caller-supplied timestamps (spec fact 4)."""
        ...

    def package_address(self) -> str:
        """The lottery_multi package account (``0x`` + 64 hex): full function ids are built on it."""
        ...


@dataclass
class Plan:
    """What an action step will do: the checks it ran and the exact calls it will send.

    ``after`` runs after each committed call (e.g. the payout accounting invariant); a failed check
    there stops the sequence and is reported as an incident. ``handoff_to`` names who must sign
    (e.g. an AutomationBot operator whose key the bot does not hold): then nothing is submitted and
    the reply carries the exact unsigned payloads.

    ``needs_approval`` says why this invocation needs a second person even though the catalog does
    not mark the step privileged (e.g. a VRF snapshot that would lift the pause): the runner then
    treats it as privileged. A plan can only add the need, never waive it. ``effects`` are the state
    changes the step expects the calls to make ("operations_budget_used 5,000 -> 0"), shown with
    the simulation of an approval request and in the reply.
    """

    summary: str
    checks: list[Any]
    calls: list[ChainCall]
    after: Callable[[StepContext, Outcome], list[Any]] | None = None
    handoff_to: str | None = None
    needs_approval: str | None = None
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """Who acts on a request (``user``, a member of ``groups``), and how a run of transactions
    their action starts behaves: it reports to ``progress`` and stops between two transactions
    once ``cancel`` is set. A step passes its own (``StepContext.actor``), so that run inherits
    the command's."""

    user: str
    groups: tuple[str, ...] = ()
    progress: Callable[[str], None] = lambda _line: None
    cancel: threading.Event = field(default_factory=threading.Event)


class ApprovalsPort(Protocol):
    """The two-person flow as the ``/ops`` steps drive it (``chatops`` implements it).

    Every action names the request by its whole id (``12-k7mq3``), what the person was shown; an
    Approve or Deny button also carries the ``digest`` of the calls it showed.
    """

    def approve(self, request_id: str, actor: Actor, *, digest: str = "") -> Reply:
        """Record ``actor``'s approval; the last one needed executes the request there and then,
        as ``actor`` runs it (so ``/ops approve`` reports to, and is cancelled with, the command).
        """
        ...

    def deny(self, request_id: str, actor: Actor, reason: str, *, digest: str = "") -> Reply: ...

    def cancel(self, request_id: str, user: str) -> Reply: ...

    def show(self, request_id: str) -> Reply: ...

    def pending(self, page: int = 1) -> Reply: ...

    def reconcile(self, request_id: str, user: str) -> Reply: ...

    def execute(self, number: int, actor: Actor) -> Reply:
        """Multisig mode: run the request on-chain proposal ``number`` carries, if the chain says
        it can run now; never on approvals recorded off-chain."""
        ...

    def clear(self, number: int, user: str) -> Reply:
        """Multisig mode: remove proposal ``number``, the queue's head, once it timed out or was
        rejected on chain."""
        ...


class IncidentsPort(Protocol):
    """Incident threads as ``/incident`` drives them (``chatops`` implements it over notify).

    Every method answers a finished ``Reply``; unknown ids and resolved incidents come back as
    error replies, never exceptions.
    """

    def open(self, subject: str, title: str, severity: Severity, user: str) -> Reply: ...

    def list(self, include_resolved: bool) -> Reply: ...

    def show(self, incident_id: str) -> Reply: ...

    def assign(self, incident_id: str, owner: str, user: str) -> Reply: ...

    def set_state(self, incident_id: str, state: str, note: str, user: str) -> Reply: ...

    def note(self, incident_id: str, text: str, user: str) -> Reply: ...

    def log(self, limit: int) -> Reply: ...


@dataclass
class StepContext:
    """What a running step may use: the chain, who asked, progress reporting and cancellation."""

    chain: ChainPort
    user: str
    progress: Callable[[str], None] = lambda _msg: None
    cancel: threading.Event = field(default_factory=threading.Event)
    groups: tuple[str, ...] = ()
    approvals: ApprovalsPort | None = None
    incidents: IncidentsPort | None = None

    @property
    def actor(self) -> Actor:
        """Who runs this step, as the approval flow takes them: what they start reports to this
        step's progress and stops with its cancel."""
        return Actor(self.user, self.groups, self.progress, self.cancel)
