"""What a person typed, as one transport-neutral value, and the tokenizer for it."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, ConfigDict

from commands.errors import UsageError

__all__ = ["Invocation", "quote", "tokenize"]


class Invocation(BaseModel):
    """``/feed fallback 1 on "spike"`` typed by ``user`` in ``channel`` (thread optional)."""

    model_config = ConfigDict(frozen=True)

    user: str
    command: str
    text: str = ""
    channel: str = "console"
    thread: str | None = None

    @classmethod
    def parse_line(cls, line: str, *, user: str, channel: str = "console") -> Invocation:
        """Split ``/cmd rest`` as the console and tests type it."""
        stripped = line.strip()
        if not stripped.startswith("/"):
            raise UsageError("Commands start with a slash, for example /ops help.")
        command, _, rest = stripped.partition(" ")
        return cls(user=user, command=command.lower(), text=rest.strip(), channel=channel)


def _plain_quotes(text: str) -> str:
    """Smart quotes from phones as the plain ones they stand for."""
    normalised = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'")
    return normalised.replace("\u2019", "'")


def quote(word: str) -> str:
    """``word`` as one token that ``tokenize`` reads back (smart quotes as plain ones): how a
    form's free text, a deny reason, joins a command line."""
    return shlex.quote(_plain_quotes(word))


def tokenize(text: str) -> list[str]:
    """Shell-like words: quotes group a reason with spaces. Smart quotes from phones count as quotes."""
    normalised = _plain_quotes(text)
    try:
        return shlex.split(normalised)
    except ValueError as exc:
        raise UsageError(f"Could not read the arguments: {exc} (close the quote).") from exc
