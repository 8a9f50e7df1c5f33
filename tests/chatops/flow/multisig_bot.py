"""A bot in multisig mode, wired by ``chatops.wiring.build_app`` as ``chatops serve`` and ``chatops
console`` wire it: a seeded devnet whose package account was converted with ``chatops multisig
convert`` (owners: the bot and three people whose keys ``chatops keygen`` made), a policy file with
a ``multisig:`` section, the test Redis. People approve with ``chatops multisig approve`` run as a
subprocess with their own key file, as they would on their own machine."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from approvals.models import ApprovalRequest
from chatops.chain.multisig import MultisigGateway
from chatops.config import Settings, load_settings
from chatops.flow import ApprovalFlow
from chatops.flow.multisig.execute import ProposalExecutor
from chatops.flow.multisig.refs import ProposalRef, refs_of
from chatops.wiring import App, build_app
from commands.invocation import Invocation
from commands.reply import Reply
from tests.chatops.devnet.multisig_support import CHAIN_ID, A
from tests.chatops.multisig_cli_support import TIMEOUT_S, Cli, cli_devnet, keygen_and_convert

__all__ = ["PEOPLE", "TIMEOUT_S", "MultisigBot", "converted_devnet", "multisig_bot", "policy_text"]
PEOPLE = ("alice", "bob", "carol")


@dataclass
class MultisigBot:
    """The devnet, the people's key files and owner addresses, and the bot wired on them."""

    cli: Cli
    keys: dict[str, Path]
    addresses: dict[str, str]
    bot_key: Path
    policy_file: Path
    redis_url: str
    app: App

    @property
    def flow(self) -> ApprovalFlow:
        return self.app.flow

    @property
    def executor(self) -> ProposalExecutor:
        executor = self.app.flow.executor
        assert executor is not None
        return executor

    @property
    def chain(self) -> MultisigGateway:
        mode = self.app.flow.multisig
        assert mode is not None
        return mode.chain

    def run(self, line: str, user: str = "alice") -> Reply:
        """A line typed in the console by ``user``."""
        return self.app.runner.handle(Invocation.parse_line(line, user=user))

    def request(self, request_id: str) -> ApprovalRequest:
        return self.flow.service.get(request_id)

    def refs(self, request_id: str) -> tuple[ProposalRef, ...]:
        return refs_of(self.request(request_id))

    def approve_on_chain(
        self, person: str, number: int, expect_hash: str
    ) -> subprocess.CompletedProcess[str]:
        """``chatops multisig approve N --key-file KEY --expect-hash H`` on ``person``'s machine."""
        return self.cli.run(
            "multisig",
            "approve",
            str(number),
            "--key-file",
            str(self.keys[person]),
            "--expect-hash",
            expect_hash,
        )

    def approved_by_two(self, request_id: str) -> None:
        """alice and bob approve every proposal of the request on chain, with their own keys."""
        for ref in self.refs(request_id):
            for person in ("alice", "bob"):
                done = self.approve_on_chain(person, ref.number, ref.payload_hash)
                assert done.returncode == 0, done.stderr

    def view(self, function: str, *args: tuple[str, Any]) -> list[Any]:
        return self.cli.client.view(f"{A}::{function}", list(args))

    def fallback_active(self, asset_id: int = 1) -> bool:
        return bool(
            self.view("price_feed::get_price_view", ("u64", asset_id))[0]["fallback_active"]
        )

    def events(self, struct: str) -> list[dict[str, Any]]:
        """Data of every committed event whose type ends with ``::struct``, oldest first."""
        suffix = "::" + struct
        return [e.data for e in self.cli.server.ledger.events if e.type.endswith(suffix)]

    def second_bot(self) -> AbstractContextManager[App]:
        """Another replica on the same chain and Redis."""
        return build_app(settings(self.cli, self.bot_key, self.policy_file, self.redis_url))


def policy_text(
    users: Mapping[str, str], addresses: Mapping[str, str], extra: str = "", multisig: str = ""
) -> str:
    """A policy file: ``users`` (user -> YAML roles list) and each person's owner address;
    ``extra`` is more of the file, ``multisig`` more of its multisig section (YAML)."""
    lines = ["users:"]
    lines += [f"  {user}: {roles}" for user, roles in users.items()]
    lines += ["multisig:", "  threshold: 3", "  addresses:"]
    lines += [f"    {user}: '{address}'" for user, address in addresses.items()]
    return "\n".join(lines) + "\n" + multisig + extra


CONSOLE_USERS = {
    "alice": "[operator]",
    "bob": "[operator, approver]",
    "carol": "[approver]",
    "dave": "[viewer]",
}


def settings(cli: Cli, bot_key: Path, policy_file: Path, redis_url: str) -> Settings:
    """What ``chatops serve`` or ``chatops console`` read from the environment, on this devnet."""
    return load_settings(
        {
            "SUPRA_RPC_URL": cli.server.url,
            "SUPRA_CHAIN_ID": str(CHAIN_ID),
            "LOTTERY_ADDRESS": A,
            "CHATOPS_SIGNER_KEY_FILE": str(bot_key),
            "CHATOPS_POLICY_FILE": str(policy_file),
            "REDIS_URL": redis_url,
        }
    )


@contextmanager
def converted_devnet(tmp_path: Path) -> Iterator[tuple[Cli, dict[str, Path], dict[str, str]]]:
    """A seeded devnet whose package account ``chatops multisig convert`` made a multisig account
    of the bot and three people (threshold 3); yields it with the people's keys and addresses."""
    with cli_devnet(tmp_path) as cli:
        people = keygen_and_convert(cli)
        keys = dict(zip(PEOPLE, (people.alice_key, people.bob_key, people.carol_key), strict=True))
        addresses = dict(zip(PEOPLE, people.addresses[1:], strict=True))
        yield cli, keys, addresses


@contextmanager
def multisig_bot(
    tmp_path: Path,
    redis_url: str,
    *,
    users: Mapping[str, str] = CONSOLE_USERS,
    names: Mapping[str, str] | None = None,
    more_policy: str = "",
    multisig_policy: str = "",
) -> Iterator[MultisigBot]:
    """The bot in multisig mode on a converted devnet; ``names`` maps each person of the chain
    (alice, bob, carol) to the user id the policy knows them by (themselves by default), and
    ``more_policy`` is more of the policy file, ``multisig_policy`` of its multisig section."""
    with ExitStack() as stack:
        cli, keys, addresses = stack.enter_context(converted_devnet(tmp_path))
        bot_key = tmp_path / "bot.key"
        cli.bot.write_key_file(bot_key)
        who = names or {p: p for p in PEOPLE}
        policy = tmp_path / "policy.yml"
        owners = {who[p]: addresses[p] for p in PEOPLE}
        policy.write_text(policy_text(users, owners, more_policy, multisig_policy))
        app = stack.enter_context(build_app(settings(cli, bot_key, policy, redis_url)))
        yield MultisigBot(cli, keys, addresses, bot_key, policy, redis_url, app)
