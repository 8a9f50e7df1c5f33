"""An invocation resolved to its step and arguments, plus the words every step accepts (a reason,
``--break-glass``): one parser for the runner and for executing an approved request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.args import parse_args, split_reason
from commands.errors import UsageError
from commands.invocation import Invocation, tokenize
from commands.registry import Registry, Step

__all__ = ["BREAK_GLASS", "Parsed", "parse_invocation"]

BREAK_GLASS = "--break-glass"


@dataclass(frozen=True)
class Parsed:
    """An invocation resolved to its step, its arguments and the meta words every step accepts."""

    step: Step
    args: Any
    reason: str
    break_glass: bool


def parse_invocation(registry: Registry, inv: Invocation) -> Parsed:
    """Find the step and parse its arguments, plus ``reason=...`` and ``--break-glass``.

    Every privileged step needs a reason: its own ``reason`` argument if it has one, else a
    ``reason="..."`` word.

    Raises:
        UsageError: unknown command, or bad arguments (with the usage line).
    """
    tokens = tokenize(inv.text)
    name = tokens[0].lower() if tokens else ""
    step = registry.find(inv.command, name)
    words = tokens[1:]
    break_glass = BREAK_GLASS in words
    words = [w for w in words if w != BREAK_GLASS]
    reason = ""
    if "reason" not in step.args.model_fields:
        kept = []
        for word in words:
            if word.lower().startswith("reason="):
                reason = word.partition("=")[2].strip()
            else:
                kept.append(word)
        words = kept
    try:
        if "reason" not in step.args.model_fields and step.plan is not None:
            # A step that sends transactions may need a second person: its reason may be its
            # last words, as for steps with a reason argument.
            words, trailing = split_reason(step.args, words)
            reason = reason or trailing
        args = parse_args(step.args, words)
    except UsageError as exc:
        raise UsageError(str(exc), usage=step.usage) from None
    if "reason" in step.args.model_fields:
        reason = str(getattr(args, "reason", "") or "")
    return Parsed(step, args, reason, break_glass)
