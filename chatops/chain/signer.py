"""The Signer port (address, public key, sign bytes) and a local ed25519 key-file implementation.
The private key never leaves this module: not in repr/str, logs or exceptions; a KMS or Vault signer
fits the same Protocol (README, "What a KMS or Vault signer needs")."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from nacl.signing import SigningKey

from chatops.chain.errors import ChainError

__all__ = [
    "LocalKeySigner",
    "Signer",
    "SignerKeyError",
    "address_from_public_key",
    "normalize_address",
]

_ED25519_SCHEME = b"\x00"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_KEY_PREFIXES = ("ed25519-priv-", "0x")


class SignerKeyError(ChainError):
    """A key file is missing or does not hold a valid ed25519 private key (its content is never shown)."""


@runtime_checkable
class Signer(Protocol):
    """Signs messages for one account; callers never see key material, only these three members.

    Callers build the whole message and hand it over as is: a transaction's is
    ``sha3_256(b"SUPRA::RawTransaction") ‖ BCS(RawTransaction)`` (transactions.signing_message), a
    multisig conversion proof's is the BCS of a ``SignedMessage`` with no salt
    (multisig_bcs.conversion_message). An implementation signs those bytes exactly: Ed25519
    (PureEdDSA, RFC 8032) over the raw message, never a prehash (Ed25519ph) or a digest of it.
    """

    @property
    def address(self) -> str:
        """The account address, 0x + 64 lowercase hex."""
        ...

    @property
    def public_key(self) -> bytes:
        """The 32-byte ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``message`` (PureEdDSA over the whole message)."""
        ...


def normalize_address(address: str) -> str:
    """``0x`` + 64 lowercase hex digits; raises ValueError for anything that is not an address."""
    text = address.strip().lower().removeprefix("0x")
    if not text or len(text) > 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ValueError(f"not an account address: {address!r}")
    return "0x" + text.rjust(64, "0")


def address_from_public_key(public_key: bytes) -> str:
    """The address an un-rotated ed25519 account has: sha3_256(pubkey || 0x00)."""
    return "0x" + hashlib.sha3_256(public_key + _ED25519_SCHEME).hexdigest()


class LocalKeySigner:
    """An ed25519 key held in memory, loaded from a key file of hex (``0x``/``ed25519-priv-0x`` allowed).

    ``account_address`` overrides the derived address for an account whose key was rotated (e.g. the
    package account); otherwise the address is derived from the public key.
    """

    __slots__ = ("_address", "_key", "_public_key")

    def __init__(self, seed: bytes, *, account_address: str | None = None) -> None:
        if len(seed) != 32:
            raise SignerKeyError("An ed25519 private key must be 32 bytes.")
        self._key = SigningKey(seed)
        self._public_key: bytes = bytes(self._key.verify_key)
        self._address = (
            normalize_address(account_address)
            if account_address is not None
            else address_from_public_key(self._public_key)
        )

    @classmethod
    def from_hex(cls, text: str, *, account_address: str | None = None) -> LocalKeySigner:
        """Parse a hex private key (optionally prefixed); the text is never echoed in errors."""
        key = text.strip()
        for prefix in _KEY_PREFIXES:
            key = key.removeprefix(prefix)
        if not _HEX_KEY.fullmatch(key):
            raise SignerKeyError(
                "The private key is not 64 hex digits (optionally prefixed by 0x or ed25519-priv-0x)."
            )
        return cls(bytes.fromhex(key), account_address=account_address)

    @classmethod
    def from_key_file(
        cls, path: Path | str, *, account_address: str | None = None
    ) -> LocalKeySigner:
        """Load the key file at ``path``."""
        try:
            text = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise SignerKeyError(f"Cannot read the key file {Path(path).name}.") from exc
        return cls.from_hex(text, account_address=account_address)

    @classmethod
    def generate(cls) -> LocalKeySigner:
        """A fresh random key (devnet and tests)."""
        return cls(bytes(SigningKey.generate()))

    def write_key_file(self, path: Path | str) -> None:
        """Write the key as ``ed25519-priv-0x<hex>`` in a new file of mode 0600.

        Raises:
            SignerKeyError: the file exists (a key is never overwritten) or cannot be created.
        """
        target = Path(path)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise SignerKeyError(
                f"{target} already exists; a key file is never overwritten."
            ) from exc
        except OSError as exc:
            raise SignerKeyError(f"Cannot create the key file {target}: {exc.strerror}.") from exc
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("ed25519-priv-0x" + bytes(self._key).hex() + "\n")

    @property
    def address(self) -> str:
        return self._address

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)

    def __repr__(self) -> str:
        return f"LocalKeySigner(address={self._address!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("LocalKeySigner cannot be pickled: it holds a private key.")
