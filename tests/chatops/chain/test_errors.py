"""The ChainError tree and its one-sentence messages."""

from __future__ import annotations

import pytest

from chatops.chain import errors
from chatops.chain.signer import SignerKeyError


@pytest.mark.parametrize(
    "error_type",
    [
        errors.ChainUnavailableError,
        errors.ChainResponseError,
        errors.ChainIdMismatchError,
        errors.ChainAbortError,
        errors.ViewNotAllowedError,
        errors.TransactionFailedError,
        errors.TransactionTimeoutError,
        SignerKeyError,
    ],
)
def test_every_chain_error_shares_the_root(error_type: type[Exception]) -> None:
    """Callers can catch every gateway failure as ChainError."""
    assert issubclass(error_type, errors.ChainError)


def test_chain_id_mismatch_is_a_response_error() -> None:
    """A wrong chain id is a kind of unexpected response."""
    error = errors.ChainIdMismatchError(expected=6, actual="8")
    assert isinstance(error, errors.ChainResponseError)
    assert str(error) == "The node reports chain id 8, but chain id 6 is configured."


def test_abort_error_renders_name_code_and_meaning() -> None:
    """A named abort reads NAME (0xCODE): meaning."""
    error = errors.ChainAbortError(
        module="roles", code=0x1809, name="E_PAYOUT_BATCH_COOLDOWN", meaning="cooldown not elapsed"
    )
    assert str(error) == "E_PAYOUT_BATCH_COOLDOWN (0x1809): cooldown not elapsed"


def test_unnamed_abort_error_still_shows_code_and_module() -> None:
    """An abort without a name never shows the meaning without its code and module."""
    error = errors.ChainAbortError(module="payouts", code=0x77, name=None, meaning="something odd")
    assert str(error) == "something odd (abort 0x77 in payouts)"
    plain = errors.ChainAbortError(
        module="m", code=0x99, name=None, meaning="unknown abort code 0x99 in module m"
    )
    assert str(plain) == "unknown abort code 0x99 in module m"


def test_timeout_error_asks_to_reconcile() -> None:
    """TransactionTimeoutError names the hash and the reconciliation path."""
    error = errors.TransactionTimeoutError("0xabc", 20)
    assert (
        str(error)
        == "Transaction 0xabc was not final after 20 s; reconcile by sender and sequence number."
    )


def test_view_not_allowed_names_the_function() -> None:
    """ViewNotAllowedError says which function the node refused."""
    assert "0x1::m::f" in str(errors.ViewNotAllowedError("0x1::m::f"))
