"""Multisig mode: the package account is an on-chain multisig account; each request is a proposal
that people approve on chain with their own keys, and the bot executes what the chain says can run.

The modules are imported by name (``chatops.flow.multisig.execute``...); nothing is re-exported here.
"""

from __future__ import annotations

__all__: list[str] = []
