"""What a person typed, as one transport-neutral value, and the tokenizer for it."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, ConfigDict

from commands.errors import UsageError

__all__ = ["Invocation", "tokenize"]


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


def tokenize(text: str) -> list[str]:
    """Shell-like words: quotes group a reason with spaces. Smart quotes from phones count as quotes."""
    normalised = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'")
    normalised = normalised.replace("\u2019", "'")
    try:
        return shlex.split(normalised)
    except ValueError as exc:
        raise UsageError(f"Could not read the arguments: {exc} (close the quote).") from exc
