"""The Supra L1 gateway: ChainClient, signing, abort decoding and the chain's error types."""

from chatops.chain.aborts import AbortInfo, describe, lookup_by_name, parse_vm_status
from chatops.chain.client import ChainClient, raise_for_status
from chatops.chain.errors import (
    ChainAbortError,
    ChainError,
    ChainIdMismatchError,
    ChainResponseError,
    ChainUnavailableError,
    TransactionFailedError,
    TransactionRejectedError,
    TransactionTimeoutError,
    ViewNotAllowedError,
)
from chatops.chain.models import (
    AccountInfo,
    BlockInfo,
    EventPage,
    EventRecord,
    TransactionInfo,
    TxStatus,
)
from chatops.chain.signer import LocalKeySigner, Signer, SignerKeyError

__all__ = [
    "AbortInfo",
    "AccountInfo",
    "BlockInfo",
    "ChainAbortError",
    "ChainClient",
    "ChainError",
    "ChainIdMismatchError",
    "ChainResponseError",
    "ChainUnavailableError",
    "EventPage",
    "EventRecord",
    "LocalKeySigner",
    "Signer",
    "SignerKeyError",
    "TransactionFailedError",
    "TransactionInfo",
    "TransactionRejectedError",
    "TransactionTimeoutError",
    "TxStatus",
    "ViewNotAllowedError",
    "describe",
    "lookup_by_name",
    "parse_vm_status",
    "raise_for_status",
]
