"""Arguments as people type them (amounts with separators, 0x addresses, durations, on/off,
reasons), each an ``Annotated`` pydantic type: the steps' models stay declarative and a bad
value is one ``UsageError`` sentence."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo

from commands.errors import UsageError

__all__ = [
    "U8",
    "U64",
    "Address",
    "Amount",
    "Duration",
    "Hash32",
    "HexBytes",
    "OnOff",
    "Reason",
    "keyword_only",
    "parse_args",
    "split_reason",
    "usage_of",
]

U64_MAX = (1 << 64) - 1
_SEPARATORS = re.compile(r"[_,'\u00a0 ]")
_REASON_WORD = re.compile(r"[^\W\d_][\w'-]*")
_VALUE_WORDS = frozenset(
    {"on", "off", "true", "false", "yes", "no", "enable", "enabled", "disable", "disabled"}
)
_DURATION = re.compile(r"^(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)?$")
_UNIT_S = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}


def _amount(value: Any) -> Any:
    if isinstance(value, str):
        text = _SEPARATORS.sub("", value.strip())
        if text.lower().startswith("0x") and len(text) > 2:
            try:
                return int(text, 16)  # masks like 0x8000000000000001
            except ValueError:
                raise ValueError(f"{value!r} is not a hex number") from None
        if not text.isdigit():
            raise ValueError(
                f"{value!r} is not a whole number (separators like 1_000 or 1,000 are fine)"
            )
        return int(text)
    return value


def _address(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("an address is 0x followed by up to 64 hex digits")
    text = value.strip().lower()
    if (
        not text.startswith("0x")
        or not 1 <= len(text) - 2 <= 64
        or not re.fullmatch(r"[0-9a-f]+", text[2:])
    ):
        raise ValueError(f"{value!r} is not an address (0x followed by 1 to 64 hex digits)")
    return "0x" + text[2:].rjust(64, "0")


def _hex_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value.lower().startswith("0x"):
        raise ValueError("hex data starts with 0x")
    text = value[2:]
    if len(text) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", text):
        raise ValueError(f"{value!r} is not whole bytes of hex")
    return bytes.fromhex(text)


def _hash32(value: Any) -> Any:
    data = _hex_bytes(value)
    if len(data) != 32:
        raise ValueError(f"a hash is 32 bytes (64 hex digits), got {len(data)} bytes")
    return data


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value.strip().lower())
        if match is None:
            raise ValueError(f"{value!r} is not a duration (like 90s, 15m, 2h, 1d)")
        return int(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    return value


def _on_off(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("on", "true", "yes", "1", "enable", "enabled"):
            return True
        if text in ("off", "false", "no", "0", "disable", "disabled"):
            return False
        raise ValueError(f"{value!r} is not on or off")
    return value


Amount = Annotated[int, BeforeValidator(_amount), Field(ge=0, le=U64_MAX)]
U64 = Annotated[int, BeforeValidator(_amount), Field(ge=0, le=U64_MAX)]
U8 = Annotated[int, BeforeValidator(_amount), Field(ge=0, le=255)]
Address = Annotated[str, BeforeValidator(_address)]
HexBytes = Annotated[bytes, BeforeValidator(_hex_bytes)]
Hash32 = Annotated[bytes, BeforeValidator(_hash32)]
Duration = Annotated[int, BeforeValidator(_duration), Field(ge=0, le=U64_MAX)]
OnOff = Annotated[bool, BeforeValidator(_on_off)]
Reason = Annotated[str, Field(min_length=3, max_length=300)]


def keyword_only(default: str = "", **constraints: Any) -> Any:
    """A field given only as ``name=value`` (never filled from positional words): what a button
    adds to a command, such as the digest of the calls an approver saw."""
    return Field(default=default, json_schema_extra={"keyword_only": True}, **constraints)


def _is_keyword_only(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get("keyword_only") is True


def _is_list(info: FieldInfo) -> bool:
    annotation = info.annotation
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(get_origin(a) is list for a in get_args(annotation))
    return origin is list


def _placeholder(name: str, info: FieldInfo, *, is_last: bool) -> str:
    word = name.replace("_", "-")
    if _is_keyword_only(info):
        return f"[{word}=...]"
    if _is_list(info):
        word += "..." if is_last else ",..."
    return f"<{word}>" if info.is_required() else f"[{word}]"


def usage_of(model: type[BaseModel]) -> str:
    """``<asset-id> <on|off> <reason>``, generated from the argument model's field order."""
    fields = sorted(model.model_fields.items(), key=lambda item: _is_keyword_only(item[1]))
    return " ".join(
        _placeholder(n, f, is_last=i == len(fields) - 1) for i, (n, f) in enumerate(fields)
    )


def parse_args(model: type[BaseModel], tokens: list[str]) -> BaseModel:
    """Fill ``model`` from positional words (and ``name=value`` words).

    The last field takes every remaining word when it is text (a reason needs no quotes) or a list.

    Raises:
        UsageError: a missing, extra or invalid argument, named, with the reason in plain words.
    """
    names = list(model.model_fields)
    values: dict[str, Any] = {}
    positional: list[str] = []
    for token in tokens:
        key, eq, val = token.partition("=")
        norm = key.replace("-", "_")
        if eq and norm in model.model_fields:
            values[norm] = val
        else:
            positional.append(token)
    free = [n for n in names if n not in values and not _is_keyword_only(model.model_fields[n])]
    for index, name in enumerate(free):
        if not positional:
            break
        info = model.model_fields[name]
        is_last = index == len(free) - 1
        if is_last and _is_list(info):
            values[name] = positional
            positional = []
        elif is_last and info.annotation in (str, Reason, str | None):
            values[name] = " ".join(positional)
            positional = []
        elif _is_list(info):
            values[name] = positional.pop(0).split(",")
        else:
            values[name] = positional.pop(0)
    if positional:
        raise UsageError(f"Unexpected extra argument {positional[0]!r}.")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]).replace("_", "-") if first["loc"] else "arguments"
        if first["type"] == "missing":
            raise UsageError(f"Missing argument <{field}>.") from None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"Bad <{field}>: {message}.") from None


def _starts_a_reason(token: str) -> bool:
    """A quoted phrase, or a plain word (``topped``), never something that reads as a value
    (``10O``, ``0x1f``, ``on``, ``15m``, ``key=value``): a mistyped argument must stay an error."""
    if any(ch.isspace() for ch in token.strip()):
        return True
    return bool(_REASON_WORD.fullmatch(token)) and token.lower() not in _VALUE_WORDS


def split_reason(model: type[BaseModel], tokens: list[str]) -> tuple[list[str], str]:
    """(argument words, reason) for a step whose model has no reason field.

    A privileged request needs a reason; typed as the last words (``/vrf resume topped up``) it
    works as ``reason="topped up"`` does. The reason starts at the first trailing word that begins
    one (see ``_starts_a_reason``) after which the rest parses as the arguments; the longest
    argument list wins, so optional arguments are still filled when given.

    Raises:
        UsageError: the words parse neither whole nor with any trailing reason (the whole error).
    """
    try:
        parse_args(model, tokens)
    except UsageError as whole:
        for cut in range(len(tokens) - 1, -1, -1):
            if not _starts_a_reason(tokens[cut]):
                continue
            try:
                parse_args(model, tokens[:cut])
            except UsageError:
                continue
            return tokens[:cut], " ".join(tokens[cut:])
        raise whole from None
    return tokens, ""
