"""``Step``: one runbook step declared once; ``build_registry`` discovers every step of the package
and refuses a duplicate slash path at start-up."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Required, TypedDict, Unpack

from pydantic import BaseModel

from approvals.policy import Role
from commands.args import usage_of
from commands.errors import UsageError
from commands.ports import Plan, StepContext
from commands.reply import Reply

__all__ = ["NoArgs", "Registry", "Step", "StepInfo", "action", "build_registry", "read", "write"]


class NoArgs(BaseModel):
    """For steps that take no arguments."""


@dataclass(frozen=True, kw_only=True)
class Step:
    """A runbook step: its slash path, arguments, help, runbook reference, policy key and chain use.

    Exactly one of ``run`` (``@read`` and ``@write`` steps) and ``plan`` (``@action`` steps: preflight
    checks plus the exact calls, executed by the runner) is set. ``role`` is what the runner requires
    of whoever runs it; ``break_glass`` marks the few privileged steps one person may run alone in an
    emergency, when the policy enables it. ``reads`` and ``calls`` list the ``module::function`` names
    for ``chatops commands --json``.

    A step is declared by what it does: ``@read`` changes nothing (viewer), ``@write`` changes the
    bot's own records (incidents, approval decisions; operator unless it says otherwise),
    ``@action`` sends transactions (operator; privileged unless it says otherwise). The decorators
    only return data (a frozen ``Step``); nothing is registered globally, and a duplicate slash path
    is an error at start-up.
    """

    command: str
    name: str
    summary: str
    args: type[BaseModel] = NoArgs
    runbook: str
    role: Role
    privileged: bool = False
    break_glass: bool = False
    reads: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    run: Callable[[StepContext, Any], Reply] | None = None
    plan: Callable[[StepContext, Any], Plan] | None = None
    render: Callable[[StepContext, Any, list[Any]], Reply] | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if (self.run is None) == (self.plan is None):
            raise ValueError(f"step {self.path} must declare exactly one of run and plan")
        if self.break_glass and not self.privileged:
            raise ValueError(f"step {self.path} can break glass only if it is privileged")

    @property
    def path(self) -> str:
        return f"{self.command} {self.name}"

    @property
    def policy_key(self) -> str:
        """``feed.fallback``: how the policy file names this step."""
        return f"{self.command.lstrip('/')}.{self.name}"

    @property
    def kind(self) -> str:
        """``read``, ``write`` or ``action``: the decorator that declared the step."""
        if self.plan is not None:
            return "action"
        return "read" if self.role is Role.VIEWER else "write"

    @property
    def usage(self) -> str:
        words = usage_of(self.args)
        return f"{self.path} {words}".rstrip()

    def catalog_entry(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "usage": self.usage,
            "summary": self.summary,
            "args": list(self.args.model_fields),
            "kind": self.kind,
            "role": str(self.role),
            "privileged": self.privileged,
            "break_glass": self.break_glass,
            "policy_key": self.policy_key,
            "runbook": self.runbook,
            "reads": list(self.reads),
            "calls": list(self.calls),
        }


RunFn = Callable[[StepContext, Any], Reply]


class StepInfo(TypedDict, total=False):
    """What every step declares besides its path and kind: a one-line ``summary`` and its
    ``runbook`` reference (both required), its ``args`` model (none by default), the chain
    functions it ``reads`` and longer ``help``."""

    summary: Required[str]
    runbook: Required[str]
    args: type[BaseModel]
    reads: tuple[str, ...]
    help: str


def _answering(command: str, name: str, role: Role, info: StepInfo) -> Callable[[RunFn], Step]:
    def make(fn: RunFn) -> Step:
        return Step(command=command, name=name, role=role, run=fn, **info)

    return make


def read(command: str, name: str, **info: Unpack[StepInfo]) -> Callable[[RunFn], Step]:
    """Declare a step that changes nothing anywhere (chain, Redis, Slack): any viewer may run it."""
    return _answering(command, name, Role.VIEWER, info)


def write(
    command: str, name: str, *, role: Role = Role.OPERATOR, **info: Unpack[StepInfo]
) -> Callable[[RunFn], Step]:
    """Declare a step that changes the bot's own records (incidents, approval decisions) and sends
    no transaction itself; it needs ``role`` (operator unless said otherwise, never viewer)."""
    if role is Role.VIEWER:
        raise ValueError(f"{command} {name} changes records: it needs more than the viewer role")
    return _answering(command, name, role, info)


def action(
    command: str,
    name: str,
    *,
    calls: tuple[str, ...],
    privileged: bool = True,
    break_glass: bool = False,
    render: Callable[[StepContext, Any, list[Any]], Reply] | None = None,
    **info: Unpack[StepInfo],
) -> Callable[[Callable[[StepContext, Any], Plan]], Step]:
    """Declare a step that sends transactions (operator): the function returns its ``Plan`` (checks
    + calls). ``break_glass`` lets the policy allow one person to run it alone in an emergency."""

    def make(fn: Callable[[StepContext, Any], Plan]) -> Step:
        return Step(
            command=command,
            name=name,
            role=Role.OPERATOR,
            privileged=privileged,
            break_glass=break_glass,
            calls=calls,
            plan=fn,
            render=render,
            **info,
        )

    return make


# Words people know from the runbook or older versions, and where the step lives now.
MOVED = {
    ("/lottery", "cancel"): "/refund start (cancelling a lottery starts its refunds)",
    ("/refund", "emergency-stop"): "/refund stop",
}


class Registry:
    """All steps by slash command and subcommand, with "did you mean" for typos."""

    def __init__(self, steps: list[Step]) -> None:
        self._steps: dict[tuple[str, str], Step] = {}
        for s in steps:
            key = (s.command, s.name)
            if key in self._steps:
                raise ValueError(f"duplicate step {s.path}")
            self._steps[key] = s

    def __iter__(self) -> Iterator[Step]:
        return iter(sorted(self._steps.values(), key=lambda s: (s.command, s.name)))

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def commands(self) -> list[str]:
        return sorted({c for c, _ in self._steps})

    def subcommands(self, command: str) -> list[Step]:
        return [s for s in self if s.command == command]

    def find(self, command: str, name: str) -> Step:
        """The step for ``/command name``.

        Raises:
            UsageError: unknown command or subcommand, with the closest names and the usage.
        """
        if command not in self.commands:
            close = difflib.get_close_matches(command, self.commands, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise UsageError(f"Unknown command {command}.{hint} Try /ops help.")
        step = self._steps.get((command, name))
        if step is None and (command, name) in MOVED:
            raise UsageError(f"{command} {name} is now {MOVED[(command, name)]}.")
        if step is None:
            names = [s.name for s in self.subcommands(command)]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" Did you mean {command} {close[0]}?" if close else ""
            what = (
                f"Unknown subcommand {name!r} of {command}."
                if name
                else f"{command} needs a subcommand."
            )
            raise UsageError(f"{what}{hint}", usage=f"{command} {'|'.join(names)}")
        return step


def _walk(package: ModuleType) -> Iterator[Step]:
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Step):
                yield value


def build_registry(package: ModuleType | None = None) -> Registry:
    """Collect every ``Step`` defined at module level in ``commands`` (or ``package``)."""
    if package is None:
        package = importlib.import_module("commands")
    return Registry(list(_walk(package)))
