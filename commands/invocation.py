"""What a person typed, as one transport-neutral value, and the tokenizer for it."""

from __future__ import annotations

import re
import shlex

from pydantic import BaseModel, ConfigDict

from commands.errors import UsageError

__all__ = ["MAX_TEXT_CHARS", "Invocation", "quote", "tokenize"]

# The longest command text read: about a page (the longest argument, a summary's BCS in hex, is a
# few hundred characters). Past it nothing is parsed, so a pasted megabyte costs nothing.
MAX_TEXT_CHARS = 4000


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


# The pieces of a POSIX shell word, as shlex reads them (whitespace " \t\r\n" only, no comments).
# Each alternative matches one character at a time inside its quantifier, so a failed match backs
# off linearly: the whole text is read in one pass.
_PIECE = re.compile(
    r"""(?P<space>[ \t\r\n]+)
    |(?P<plain>[^ \t\r\n'"\\]+)
    |'(?P<single>[^']*)'
    |"(?P<double>(?:[^"\\]|\\.)*)"
    |\\(?P<escaped>.)
    |(?P<open>['"])
    |(?P<dangling>\\)""",
    re.VERBOSE | re.DOTALL,
)
# Inside double quotes a backslash escapes only a double quote or a backslash (shlex, POSIX).
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')
_DOUBLE_INSIDE = re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL)


def _unread(piece: re.Match[str]) -> str:
    """Why the text from ``piece`` on cannot be read, in shlex's words: an unclosed double quote
    whose text ends in a lone backslash is an escape with nothing to escape."""
    if piece.lastgroup == "dangling":
        return "No escaped character"
    if piece.group() == '"':
        inside = _DOUBLE_INSIDE.match(piece.string, piece.end())
        if inside is not None and inside.end() < len(piece.string):
            return "No escaped character"
    return "No closing quotation"


def tokenize(text: str) -> list[str]:
    """Shell-like words: quotes group a reason with spaces. Smart quotes from phones count as quotes.

    Reads as ``shlex.split`` does, in one linear pass (shlex builds each word a character at a time).

    Raises:
        UsageError: text over ``MAX_TEXT_CHARS``, an unclosed quote or a trailing backslash.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise UsageError(
            f"The command is too long ({len(text):,} characters; at most {MAX_TEXT_CHARS:,} are read)."
        )
    words: list[str] = []
    parts: list[str] = []
    in_word = False
    for piece in _PIECE.finditer(_plain_quotes(text)):
        kind = piece.lastgroup
        if kind == "space":
            if in_word:
                words.append("".join(parts))
                parts, in_word = [], False
            continue
        if kind == "open" or kind == "dangling":
            raise UsageError(f"Could not read the arguments: {_unread(piece)} (close the quote).")
        value = piece.group(kind or "plain")
        parts.append(_DOUBLE_ESCAPE.sub(r"\1", value) if kind == "double" else value)
        in_word = True
    if in_word:
        words.append("".join(parts))
    return words
