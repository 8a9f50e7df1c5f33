"""Errors a command can raise; each renders as one specific, ephemeral message and changes nothing.

CommandError
 ├── UsageError            unknown command, bad or missing argument (carries the usage line)
 ├── PermissionDeniedError the policy does not let this user run this step
 ├── PreconditionError     a preflight check failed (carries the checks)
 └── CancelledError        the operator cancelled a long procedure
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commands.reply import Check

__all__ = [
    "CancelledError",
    "CommandError",
    "PermissionDeniedError",
    "PreconditionError",
    "UsageError",
]


class CommandError(Exception):
    """Root of the errors a command reports to the operator."""


class UsageError(CommandError):
    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class PermissionDeniedError(CommandError):
    pass


class PreconditionError(CommandError):
    def __init__(self, message: str, checks: tuple[Check, ...]) -> None:
        super().__init__(message)
        self.checks = checks


class CancelledError(CommandError):
    pass
