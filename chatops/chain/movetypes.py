"""Move values by type string: BCS for transaction arguments, chain JSON for view arguments. The
signer (encoding) and the devnet (decoding) both use it, so the two cannot drift."""

from __future__ import annotations

from typing import Any

from aptos_sdk.bcs import Deserializer, Serializer

__all__ = ["MoveTypeError", "as_int", "decode_bcs", "encode_bcs", "from_json", "to_json"]

_UINT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}
_OPTION_PREFIXES = ("0x1::option::Option<", "option::Option<", "Option<")
_STRING_TYPES = ("0x1::string::String", "string::String", "String")


class MoveTypeError(ValueError):
    """A value does not fit its Move type, or the type string is not supported."""


def as_int(value: Any, default: int | None = None) -> int:
    """An integer from chain JSON whatever its width: u64 and wider arrive as decimal strings, u8 to
    u32 as numbers. With ``default``, a value that is not one (absent, malformed) gives ``default``."""
    if default is None:
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _inner(type_str: str, prefix: str) -> str:
    return type_str[len(prefix) : -1].strip()


def _option_inner(type_str: str) -> str | None:
    for prefix in _OPTION_PREFIXES:
        if type_str.startswith(prefix) and type_str.endswith(">"):
            return _inner(type_str, prefix)
    return None


def _check_uint(type_str: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoveTypeError(f"{type_str} needs an integer, got {type(value).__name__}")
    if not 0 <= value < (1 << _UINT_BITS[type_str]):
        raise MoveTypeError(f"{value} does not fit in {type_str}")
    return value


def _address_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise MoveTypeError("address needs a 0x-prefixed hex string")
    text = value.lower().removeprefix("0x")
    if not text or len(text) > 64:
        raise MoveTypeError(f"not an address: {value!r}")
    try:
        return bytes.fromhex(text.rjust(64, "0"))
    except ValueError as exc:
        raise MoveTypeError(f"not an address: {value!r}") from exc


def _serialize(ser: Serializer, type_str: str, value: Any) -> None:
    type_str = type_str.strip()
    if type_str in _UINT_BITS:
        number = _check_uint(type_str, value)
        getattr(ser, type_str)(number)
    elif type_str == "bool":
        if not isinstance(value, bool):
            raise MoveTypeError("bool needs true or false")
        ser.bool(value)
    elif type_str == "address":
        ser.fixed_bytes(_address_bytes(value))
    elif type_str in _STRING_TYPES:
        if not isinstance(value, str):
            raise MoveTypeError("String needs text")
        ser.str(value)
    elif type_str == "vector<u8>":
        if not isinstance(value, bytes | bytearray):
            raise MoveTypeError("vector<u8> needs bytes")
        ser.to_bytes(bytes(value))
    elif type_str.startswith("vector<") and type_str.endswith(">"):
        inner = _inner(type_str, "vector<")
        if not isinstance(value, list | tuple):
            raise MoveTypeError(f"{type_str} needs a list")
        ser.uleb128(len(value))
        for item in value:
            _serialize(ser, inner, item)
    elif (inner_opt := _option_inner(type_str)) is not None:
        if value is None:
            ser.uleb128(0)
        else:
            ser.uleb128(1)
            _serialize(ser, inner_opt, value)
    else:
        raise MoveTypeError(f"unsupported Move type {type_str}")


def encode_bcs(type_str: str, value: Any) -> bytes:
    """BCS bytes of one argument, as an entry function's ``args`` carry them.

    Python representation: integers for u8..u256, ``bool``, ``str`` addresses (``0x`` + 64 hex),
    ``bytes`` for ``vector<u8>``, ``list`` for other vectors, ``str`` for ``0x1::string::String``
    and ``None`` or the value for ``0x1::option::Option<T>``.
    """
    ser = Serializer()
    _serialize(ser, type_str, value)
    return ser.output()


def _deserialize(des: Deserializer, type_str: str) -> Any:
    type_str = type_str.strip()
    if type_str in _UINT_BITS:
        return getattr(des, type_str)()
    if type_str == "bool":
        return des.bool()
    if type_str == "address":
        return "0x" + des.fixed_bytes(32).hex()
    if type_str in _STRING_TYPES:
        return des.str()
    if type_str == "vector<u8>":
        return des.to_bytes()
    if type_str.startswith("vector<") and type_str.endswith(">"):
        inner = _inner(type_str, "vector<")
        return [_deserialize(des, inner) for _ in range(des.uleb128())]
    inner_opt = _option_inner(type_str)
    if inner_opt is not None:
        count = des.uleb128()
        if count > 1:
            raise MoveTypeError("Option with more than one element")
        return _deserialize(des, inner_opt) if count else None
    raise MoveTypeError(f"unsupported Move type {type_str}")


def decode_bcs(type_str: str, data: bytes) -> Any:
    """Decode one argument from its BCS bytes; trailing bytes are an error, as in the VM."""
    des = Deserializer(data)
    try:
        value = _deserialize(des, type_str)
    except (ValueError, IndexError, UnicodeDecodeError, Exception) as exc:
        if isinstance(exc, MoveTypeError):
            raise
        raise MoveTypeError(f"cannot decode {type_str}: {exc}") from exc
    if des.remaining():
        raise MoveTypeError(f"trailing bytes after {type_str}")
    return value


def to_json(type_str: str, value: Any) -> Any:
    """Chain JSON of a value (spec §1.5): u64 and wider as strings, bytes as 0x hex."""
    type_str = type_str.strip()
    if type_str in _UINT_BITS:
        number = _check_uint(type_str, value)
        return str(number) if _UINT_BITS[type_str] >= 64 else number
    if type_str == "bool":
        return bool(value)
    if type_str == "address":
        return "0x" + _address_bytes(value).hex()
    if type_str in _STRING_TYPES:
        return str(value)
    if type_str == "vector<u8>":
        return "0x" + bytes(value).hex()
    if type_str.startswith("vector<") and type_str.endswith(">"):
        inner = _inner(type_str, "vector<")
        return [to_json(inner, item) for item in value]
    inner_opt = _option_inner(type_str)
    if inner_opt is not None:
        return {"vec": [] if value is None else [to_json(inner_opt, value)]}
    raise MoveTypeError(f"unsupported Move type {type_str}")


def from_json(type_str: str, value: Any) -> Any:
    """Parse a chain-JSON argument (as ``POST /view`` receives it) into the Python representation."""
    type_str = type_str.strip()
    if type_str in _UINT_BITS:
        if isinstance(value, bool):
            raise MoveTypeError(f"{type_str} needs a number")
        if isinstance(value, str):
            if not value.isdigit():
                raise MoveTypeError(f"{type_str} needs a decimal string, got {value!r}")
            value = int(value)
        return _check_uint(type_str, value)
    if type_str == "bool":
        if not isinstance(value, bool):
            raise MoveTypeError("bool needs true or false")
        return value
    if type_str == "address":
        return "0x" + _address_bytes(value).hex()
    if type_str in _STRING_TYPES:
        if not isinstance(value, str):
            raise MoveTypeError("String needs text")
        return value
    if type_str == "vector<u8>":
        if not isinstance(value, str) or not value.startswith("0x"):
            raise MoveTypeError("vector<u8> needs 0x hex")
        try:
            return bytes.fromhex(value[2:])
        except ValueError as exc:
            raise MoveTypeError(f"bad hex {value!r}") from exc
    if type_str.startswith("vector<") and type_str.endswith(">"):
        if not isinstance(value, list):
            raise MoveTypeError(f"{type_str} needs a list")
        inner = _inner(type_str, "vector<")
        return [from_json(inner, item) for item in value]
    inner_opt = _option_inner(type_str)
    if inner_opt is not None:
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("vec"), list)
            or len(value["vec"]) > 1
        ):
            raise MoveTypeError(f"{type_str} needs {{'vec': []}} or {{'vec': [x]}}")
        return from_json(inner_opt, value["vec"][0]) if value["vec"] else None
    raise MoveTypeError(f"unsupported Move type {type_str}")
