"""Exceptions of the chain gateway; messages are one plain sentence, safe to log and show.

ChainError
├── ChainUnavailableError      timeouts, connection errors, 5xx/429 after retries, submit in doubt
├── ChainResponseError         unexpected shape or 4xx
│   ├── ChainIdMismatchError   x-supra-chain-id differs from the configured chain
│   └── TransactionRejectedError  the node refused a transaction before executing it (discarded)
├── ChainAbortError            a Move abort, decoded to a name and meaning (never a bare number)
├── ViewNotAllowedError        the node refused a function that is not #[view]
├── TransactionFailedError     a non-abort failure: out of gas, MISSING_DATA, Invalid, ...
└── TransactionTimeoutError    no final status within the wait deadline
"""

from __future__ import annotations

from chatops.chain.aborts import AbortInfo

__all__ = [
    "ChainAbortError",
    "ChainError",
    "ChainIdMismatchError",
    "ChainResponseError",
    "ChainUnavailableError",
    "TransactionFailedError",
    "TransactionRejectedError",
    "TransactionTimeoutError",
    "ViewNotAllowedError",
]


class ChainError(Exception):
    """Root of every error raised by ``chatops.chain``."""


class ChainUnavailableError(ChainError):
    """The node could not be reached or kept failing; the outcome of a write may be unknown."""


class ChainResponseError(ChainError):
    """The node answered, but with a client error or a body we cannot read."""

    def __init__(
        self, message: str, *, status_code: int | None = None, node_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.node_message = node_message


class ChainIdMismatchError(ChainResponseError):
    """The node serves a different chain than the one configured."""

    def __init__(self, *, expected: int, actual: str | None) -> None:
        shown = actual if actual is not None else "none"
        super().__init__(
            f"The node reports chain id {shown}, but chain id {expected} is configured."
        )
        self.expected = expected
        self.actual = actual


class TransactionRejectedError(ChainResponseError):
    """The node refused a submitted transaction before executing it (a bad signature, a used
    sequence number, a failed multisig prologue...): nothing was committed, no gas was paid and the
    sender's sequence number was not used, so the same transaction may be rebuilt and sent again
    once the cause is gone. ``status`` is the node's status name (``MULTISIG_TRANSACTION_...``)."""

    def __init__(self, status: str, meaning: str, *, status_code: int = 400) -> None:
        super().__init__(
            f"The node refused the transaction: {meaning}. Nothing was committed.",
            status_code=status_code,
        )
        self.status = status
        self.meaning = meaning


class ChainAbortError(ChainError):
    """A Move abort, carrying its decoded name and meaning."""

    def __init__(
        self,
        *,
        module: str,
        code: int,
        name: str | None,
        meaning: str,
        function: str | None = None,
    ) -> None:
        self.module = module
        self.code = code
        self.name = name
        self.meaning = meaning
        self.function = function
        hex_code = f"0x{code:X}"
        if name is not None:
            message = f"{name} ({hex_code}): {meaning}"
        elif hex_code.lower() in meaning.lower():
            message = meaning
        else:
            message = f"{meaning} (abort {hex_code} in {module})"
        super().__init__(message)

    @classmethod
    def of(cls, abort: AbortInfo, function: str | None = None) -> ChainAbortError:
        """The error for an abort decoded by ``chatops.chain.aborts``, raised in ``function``."""
        return cls(
            module=abort.module,
            code=abort.code,
            name=abort.name,
            meaning=abort.meaning,
            function=function,
        )


class ViewNotAllowedError(ChainError):
    """The node refuses to run a function through /view because it is not marked #[view]."""

    def __init__(self, function: str) -> None:
        super().__init__(f"The node refused {function} as a view function (it is not #[view]).")
        self.function = function


class TransactionFailedError(ChainError):
    """A transaction ended Fail or Invalid for a reason other than a Move abort."""

    def __init__(self, message: str, *, vm_status: str, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.vm_status = vm_status
        self.tx_hash = tx_hash


class TransactionTimeoutError(ChainError):
    """A transaction did not reach a final status before the wait deadline."""

    def __init__(self, tx_hash: str, timeout_s: float) -> None:
        super().__init__(
            f"Transaction {tx_hash} was not final after {timeout_s:g} s; reconcile by sender and sequence number."
        )
        self.tx_hash = tx_hash
        self.timeout_s = timeout_s
