"""A request's on-chain proposals as the approvals store keeps them (``number:hash:expires_s``
each, opaque there): written and read only here."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.models import ApprovalRequest

__all__ = ["ProposalRef", "refs_of"]


@dataclass(frozen=True)
class ProposalRef:
    """One call of a request as a proposal: its sequence number on the multisig account, its payload
    hash (``0x`` + 64 hex, what an approver compares) and when it times out, in chain seconds."""

    number: int
    payload_hash: str
    expires_s: int

    def token(self) -> str:
        return f"{self.number}:{self.payload_hash}:{self.expires_s}"

    @classmethod
    def parse(cls, token: str) -> ProposalRef:
        """Raises ValueError for a token this module did not write."""
        number, payload_hash, expires_s = token.split(":")
        return cls(int(number), payload_hash, int(expires_s))


def refs_of(request: ApprovalRequest) -> tuple[ProposalRef, ...]:
    """The request's proposals, in the order its calls run (none for an off-chain request)."""
    return tuple(ProposalRef.parse(token) for token in request.proposals)
