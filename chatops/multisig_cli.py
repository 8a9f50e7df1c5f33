"""``chatops keygen`` and ``chatops multisig ...``: the approver's and the operator's side of the on-chain
two-person rule. Everything shown is read from the chain; every vote is signed with the person's key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from chatops.chain.client import ChainClient
from chatops.chain.errors import ChainError
from chatops.chain.multisig import (
    MultisigError,
    MultisigGateway,
    Proposal,
    QueueView,
    check_threshold,
    convert_to_multisig,
    parse_hash,
)
from chatops.chain.signer import (
    LocalKeySigner,
    SignerKeyError,
    address_from_public_key,
    normalize_address,
)
from chatops.config import Settings

__all__ = ["run"]

_EXIT_OK = 0
_EXIT_REFUSED = 1
_EXIT_USAGE = 2


class _UsageError(Exception):
    """Bad input or configuration: exit 2 with this message, nothing sent."""


class _RefusedError(Exception):
    """A refusal decided here (hash mismatch, cancelled...): exit 1 with this message, nothing sent."""


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    ask: Callable[[str], str] = input,
) -> int:
    """Run ``keygen`` or a ``multisig`` action; every failure is one plain sentence on ``err``."""
    try:
        if args.command == "keygen":
            return _keygen(args.out, out)
        return _multisig(args, settings, out, ask)
    except _UsageError as exc:
        err.write(f"chatops: {exc}\n")
        return _EXIT_USAGE
    except (_RefusedError, MultisigError) as exc:
        err.write(f"chatops: refused: {exc}\n")
        return _EXIT_REFUSED
    except SignerKeyError as exc:
        err.write(f"chatops: {exc}\n")
        return _EXIT_REFUSED
    except ChainError as exc:
        # Aborts read NAME (0xCODE): meaning (chatops/chain/aborts.py), never a bare number.
        err.write(f"chatops: the chain said no: {exc}\n")
        return _EXIT_REFUSED


# --- keygen ------------------------------------------------------------------------------------


def _keygen(path: Path, out: TextIO) -> int:
    signer = LocalKeySigner.generate()
    signer.write_key_file(path)  # refuses an existing file
    out.write(
        f"wrote {path} (mode 0600); keep it on this machine.\n"
        f"address: {signer.address}\n"
        "Give the address (never the file) to whoever sets up the multisig account.\n"
    )
    return _EXIT_OK


# --- multisig ----------------------------------------------------------------------------------


def _client(settings: Settings) -> ChainClient:
    if settings.supra_rpc_url is None:
        raise _UsageError("SUPRA_RPC_URL is not set: name the Supra node to read the chain from.")
    if settings.supra_chain_id is None:
        raise _UsageError("SUPRA_CHAIN_ID is not set: name the chain (8 mainnet, 6 testnet).")
    return ChainClient(str(settings.supra_rpc_url), chain_id=settings.supra_chain_id)


def _key(path: Path, account_address: str | None = None) -> LocalKeySigner:
    return LocalKeySigner.from_key_file(path, account_address=account_address)


def _multisig(
    args: argparse.Namespace, settings: Settings, out: TextIO, ask: Callable[[str], str]
) -> int:
    account = settings.lottery_address
    action = args.multisig_command
    with _client(settings) as client:
        if action == "convert":
            return _convert(args, settings, client, out, ask)
        signer = _key(args.key_file) if action in ("approve", "reject", "clear") else None
        gateway = MultisigGateway(client, account, signer)
        if action == "show":
            _print_proposal(gateway.proposal(args.number), gateway, out)
            return _EXIT_OK
        if action == "queue":
            _print_queue(gateway.queue(), gateway, out)
            return _EXIT_OK
        if action in ("approve", "reject"):
            return _vote(gateway, args, out, approve=action == "approve")
        cleared = gateway.clear_rejected(args.number)
        out.write(
            f"Proposal {cleared.sequence_number} cleared ({cleared.num_rejections} rejections); "
            f"transaction {cleared.tx_hash}.\n"
        )
        return _EXIT_OK


def _vote(gateway: MultisigGateway, args: argparse.Namespace, out: TextIO, *, approve: bool) -> int:
    expected: bytes | None = None
    if args.expect_hash is not None:
        try:
            expected = parse_hash(args.expect_hash)
        except ValueError as exc:
            raise _UsageError(f"--expect-hash: {exc}.") from exc
    proposal = gateway.proposal(args.number)
    _print_proposal(proposal, gateway, out)
    if expected is not None and expected != proposal.payload_hash:
        raise _RefusedError(
            f"proposal {proposal.sequence_number}'s payload hash is {proposal.payload_hash_hex}, "
            f"not the expected 0x{expected.hex()}. It is not the call you were shown; nothing was "
            "signed."
        )
    if proposal.hash_only and expected is None:
        raise _RefusedError(
            f"proposal {proposal.sequence_number} stores only a hash, so the chain cannot show its "
            "call: vote on it only with --expect-hash set to the hash of the call you were shown."
        )
    if approve:
        voted = gateway.approve(proposal.sequence_number, expect_hash=proposal.payload_hash)
    else:
        voted = gateway.reject(proposal.sequence_number, expect_hash=proposal.payload_hash)
    verb = "approved" if approve else "rejected"
    out.write(
        f"{gateway.signer.address} {verb} proposal {voted.sequence_number}; "
        f"transaction {voted.tx_hash}.\n"
    )
    return _EXIT_OK


def _convert(
    args: argparse.Namespace,
    settings: Settings,
    client: ChainClient,
    out: TextIO,
    ask: Callable[[str], str],
) -> int:
    account = settings.lottery_address
    owners = [o.strip() for o in args.owners.split(",") if o.strip()]
    bot = args.bot or _bot_address(settings)
    check = check_threshold(
        owners, args.threshold, bot=bot, account=account, timeout_s=args.timeout_s
    )
    if check.problems:
        raise _UsageError("; ".join(check.problems) + ". Nothing was sent.")
    owners = [normalize_address(o) for o in owners]
    package = _key(args.key_file, account_address=account)
    current = client.account(account).authentication_key
    if current == "0x" + "0" * 64:
        raise _RefusedError(f"{account} is already a multisig account (its key is revoked).")
    if current != address_from_public_key(package.public_key):
        raise _RefusedError(f"the key in {args.key_file.name} does not control {account}.")
    bot_address = normalize_address(bot)
    out.write(
        f"Convert {account} into a multisig account on chain {client.expected_chain_id}:\n"
        f"  owners ({len(owners)}):\n"
        + "".join(f"    {o}{' (the bot)' if o == bot_address else ''}\n" for o in owners)
        + f"  threshold: {args.threshold} yes votes (the bot's, as proposer and executor, counts "
        f"once: {args.threshold - 1} people must approve each call)\n"
        f"  timeout: {args.timeout_s} s per proposal\n"
        f"  The package key in {args.key_file.name} is then revoked: the account's authentication "
        "key becomes zero and this key can never sign for it again.\n"
    )
    for warning in check.warnings:
        out.write(f"  warning: {warning}\n")
    if not args.yes:
        answer = _ask(ask, "Convert? Type yes to proceed: ")
        if answer.strip().lower() != "yes":
            raise _RefusedError("not confirmed; nothing was sent.")
    info = convert_to_multisig(
        client, package, owners, args.threshold, timeout_s=args.timeout_s, chain_now_s=_now(client)
    )
    gateway = MultisigGateway(client, account, package)
    if not gateway.is_multisig():
        raise _RefusedError(f"transaction {info.hash} succeeded but {account}'s key is not zero.")
    settings_now = gateway.settings()
    out.write(
        f"Converted: transaction {info.hash}. {account} now needs {settings_now.threshold} of "
        f"{len(settings_now.owners)} owners; its old key is revoked.\n"
    )
    return _EXIT_OK


def _ask(ask: Callable[[str], str], prompt: str) -> str:
    try:
        return ask(prompt)
    except EOFError:
        return ""


def _bot_address(settings: Settings) -> str:
    if settings.signer_key_file is None:
        raise _UsageError(
            "name the bot's address with --bot, or set CHATOPS_SIGNER_KEY_FILE to the bot's key."
        )
    return LocalKeySigner.from_key_file(settings.signer_key_file).address


def _now(client: ChainClient) -> int:
    return client.latest_block().timestamp.seconds


# --- printing ----------------------------------------------------------------------------------


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print_proposal(proposal: Proposal, gateway: MultisigGateway, out: TextIO) -> None:
    settings = gateway.settings()
    if proposal.call is not None:
        call = proposal.call.words()
        if not proposal.call.typed:
            call += "  (argument types unknown: the node gave no ABI for this function)"
    elif proposal.hash_only:
        call = "(hash only: the chain holds no call, only its hash)"
    else:
        call = f"(undecodable payload: {proposal.decode_error})"
    now_s = gateway.now_s()
    left = proposal.expires_at_s - now_s
    expiry = f"{_when(proposal.expires_at_s)} " + (
        f"(in {left // 60} min)" if left >= 0 else "(timed out: it can never execute)"
    )
    position = "the head of the queue" if proposal.is_head else "waiting behind the head"
    out.write(
        f"Proposal {proposal.sequence_number} on {gateway.account}\n"
        f"  call:    {call}\n"
        f"  hash:    {proposal.payload_hash_hex}\n"
        f"  created: {_when(proposal.created_at_s)} by {proposal.creator}\n"
        f"  expires: {expiry}\n"
        f"  votes:   {proposal.approvals} yes, {proposal.rejections} no; "
        f"{proposal.threshold} yes needed (the executor's counts)\n"
    )
    for owner in settings.owners:
        vote = proposal.votes.get(owner)
        shown = "yes" if vote is True else "no" if vote is False else "-"
        out.write(f"    {owner}  {shown}\n")
    out.write(f"  state:   {proposal.state.value}, {position}\n")


def _print_queue(queue: QueueView, gateway: MultisigGateway, out: TextIO) -> None:
    out.write(
        f"{gateway.account}: last resolved {queue.last_resolved}, {len(queue.proposals)} pending\n"
    )
    for proposal in queue.proposals:
        call = proposal.call.words() if proposal.call is not None else "(hash only)"
        out.write(
            f"  {proposal.sequence_number}  {proposal.state.value:<10} "
            f"{proposal.approvals}/{proposal.threshold}  {call}\n"
        )
    blocked = queue.blocked_by
    if blocked is not None:
        out.write(
            f"Proposal {blocked.sequence_number} ({blocked.state.value}) blocks the rest: only the "
            "head can execute; clear it once rejected or timed out.\n"
        )
