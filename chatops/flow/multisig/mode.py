"""What multisig mode is made of: the multisig account seen by the bot (an owner with its own key),
who holds which owner address, the gateway the steps use (reads; simulations run as the account;
never a direct send), and the checks of the policy against the chain at start."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chatops.chain.calls import ChainCall, Events, Outcome
from chatops.chain.client import ChainClient
from chatops.chain.gateway import Gateway, StateReader, transaction_events
from chatops.chain.multisig import MultisigError, MultisigGateway, check_threshold
from chatops.chain.signer import Signer, normalize_address
from commands.ports import Plan

__all__ = ["BOT_NAME", "MultisigMode", "ProposingGateway", "setup_problems"]

BOT_NAME = "chatops"  # how the bot's own owner address is named on cards


@dataclass(frozen=True)
class MultisigMode:
    """The package account as a multisig account, acted on by the bot's own owner key.

    ``addresses`` maps each person (a Slack user id or console name) to their owner address, so
    votes read on chain are shown by who cast them. A call whose proposal payload is longer than
    ``hash_only_from_bytes`` is proposed by its hash only (``create_transaction_with_hash``): the
    chain then stores 32 bytes, and the bot sends the call when it executes.
    """

    chain: MultisigGateway
    addresses: Mapping[str, str]
    threshold: int
    hash_only_from_bytes: int = 1024

    @property
    def account(self) -> str:
        return self.chain.account

    @property
    def bot(self) -> str:
        return normalize_address(self.chain.signer.address)

    def name_of(self, address: str) -> str:
        """Who holds ``address``: the bot, a person of the policy, or the address itself."""
        owner = normalize_address(address)
        if owner == self.bot:
            return BOT_NAME
        for person, held in self.addresses.items():
            if held == owner:
                return person
        return owner

    def address_of(self, person: str) -> str | None:
        return self.addresses.get(person)

    def needs_proposal(self, plan: Plan) -> str | None:
        """Why a plan that sends calls as the account needs people's approval here (every call of
        a multisig account is a proposal); None for one that sends none or hands off to another
        signer."""
        if not plan.calls or plan.handoff_to is not None:
            return None
        return (
            "the package account is a multisig account: each of its calls is an on-chain "
            f"proposal that {self.threshold - 1} people approve with their own keys"
        )


class ProposingGateway(Gateway):
    """The chain as the steps see it in multisig mode: reads as usual; a simulation runs the call
    as the account (a Multisig payload with the call inline, which the chain simulates without its
    multisig checks); nothing is ever sent straight, since the account's key is revoked and it acts
    only through proposals."""

    def __init__(
        self,
        client: ChainClient,
        signer: Signer,
        package_address: str,
        multisig: MultisigGateway,
        *,
        state_reader: StateReader | None = None,
        clock_s: Callable[[], int] | None = None,
        wait_timeout_s: float = 30.0,
    ) -> None:
        super().__init__(
            client,
            signer,
            package_address,
            state_reader=state_reader,
            clock_s=clock_s,
            wait_timeout_s=wait_timeout_s,
        )
        self.multisig = multisig

    def simulate(self, call: ChainCall) -> Events:
        return transaction_events(self.multisig.simulate(call))

    def submit(
        self, call: ChainCall, *, before_send: Callable[[int, int], None] | None = None
    ) -> Outcome:
        raise MultisigError(
            f"{call.function} was not sent: {self.multisig.account} is a multisig account, "
            "which acts only through proposals its owners approve."
        )


def setup_problems(
    mode: MultisigMode, *, humans_required: int, source: str = "multisig"
) -> list[str]:
    """What keeps the bot from running in multisig mode on this chain (empty when nothing does):
    the account not converted, a threshold that differs from the policy's or lets the bot and
    fewer than ``humans_required`` people pass, the bot or a listed person not an owner."""
    chain = mode.chain
    if not chain.is_multisig():
        return [
            f"{source}: {mode.account} is not a multisig account on this chain: convert it first "
            "(chatops multisig convert), or remove multisig: from the policy"
        ]
    settings = chain.settings()
    problems: list[str] = []
    if settings.threshold != mode.threshold:
        problems.append(
            f"{source}.threshold: the policy says {mode.threshold}, the account on chain needs "
            f"{settings.threshold} approvals"
        )
    check = check_threshold(
        settings.owners,
        settings.threshold,
        bot=mode.bot,
        account=mode.account,
        timeout_s=settings.timeout_s,
        humans_required=humans_required,
    )
    problems.extend(f"{source} on chain: {problem}" for problem in check.problems)
    for person, address in mode.addresses.items():
        if address not in settings.owners:
            problems.append(
                f"{source}.addresses.{person}: {address} is not an owner of {mode.account} on chain"
            )
    return problems
