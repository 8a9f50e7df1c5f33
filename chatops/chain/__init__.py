"""The Supra L1 gateway: ChainClient, signing, abort decoding and the chain's error types
(``chatops.chain.errors``, all under ``ChainError``)."""

from chatops.chain import errors
from chatops.chain.aborts import AbortInfo, describe, lookup_by_name, parse_vm_status
from chatops.chain.client import ChainClient, raise_for_status
from chatops.chain.errors import ChainError
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
    "ChainClient",
    "ChainError",
    "EventPage",
    "EventRecord",
    "LocalKeySigner",
    "Signer",
    "SignerKeyError",
    "TransactionInfo",
    "TxStatus",
    "describe",
    "errors",
    "lookup_by_name",
    "parse_vm_status",
    "raise_for_status",
]
