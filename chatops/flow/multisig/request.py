"""Making a request in multisig mode: simulate it as the account, store it as in the off-chain flow,
then propose each of its calls on chain and record the proposals on the request."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest, Status
from chatops.chain.calls import ChainCall
from chatops.chain.errors import ChainError
from chatops.chain.multisig_bcs import proposal_payload
from chatops.flow.multisig.mode import MultisigMode
from chatops.flow.multisig.refs import ProposalRef
from chatops.flow.multisig.render import proposal_fields, reject_lines, with_live_fields
from chatops.flow.render import describe
from chatops.flow.request import Requests
from chatops.runner import Ask
from commands.errors import CommandError
from commands.reply import Field, Reply, Tone

__all__ = ["EXPIRY_MARGIN_MS", "MultisigRequests", "withdraw"]

logger = logging.getLogger(__name__)

# The request's own expiry (on the store's clock) follows its first proposal's timeout (on the
# chain's) by this much: the chain's verdict comes first, and a proposal the chain still counts
# live is never dropped by the store.
EXPIRY_MARGIN_MS = 60_000


def withdraw(mode: MultisigMode, refs: Sequence[ProposalRef]) -> list[str]:
    """The bot votes no on ``refs`` (its yes as their creator is withdrawn), so none of them runs
    on the bot's yes; the lines say what was done and how owners remove them from the queue."""
    lines: list[str] = []
    voted: list[ProposalRef] = []
    for ref in refs:
        try:
            mode.chain.reject(ref.number)
        except ChainError as exc:
            lines.append(f"The bot could not vote no on proposal {ref.number}: {exc}")
        else:
            voted.append(ref)
    if voted:
        numbers = ", ".join(str(r.number) for r in voted)
        lines.insert(0, f"The bot voted no on proposal {numbers} on chain.")
    return [*lines, *reject_lines(refs, mode.account)]


class MultisigRequests:
    """The requester's side in multisig mode: the request is stored as off-chain (same id scheme,
    duplicates refused, card, thread and journal), and each call becomes a proposal on chain."""

    def __init__(self, requests: Requests, mode: MultisigMode, worker: str) -> None:
        self.requests = requests
        self.mode = mode
        self.worker = worker

    def request(self, ask: Ask) -> Reply:
        """Store the request and propose its calls (simulated as the account first, so a call that
        would abort is refused by name and nothing is proposed).

        Raises:
            CommandError: break-glass (the chain needs its approvals whoever asks), the simulation
                aborts, or the store refused.
        """
        if ask.break_glass:
            raise CommandError(
                f"Break-glass cannot apply: {self.mode.account} is a multisig account, so every "
                f"call needs {self.mode.threshold} approvals on chain whoever asks. Nothing was "
                "requested."
            )
        plan = ask.plan
        simulation = self.requests.simulate(plan)
        created = self.requests.create(ask)
        if isinstance(created, Reply):
            return created
        refs, failure, now_s = self._propose(plan.calls)
        request = self._record(created, refs, failure, now_s)
        if request.state != Status.PENDING:
            return describe(
                request,
                title=f"Request {request.id} failed: {request.result or failure}",
                tone=Tone.ERROR,
                ok=False,
            )
        because = (
            [Field(label="Needs approval because", value=plan.needs_approval)]
            if plan.needs_approval
            else []
        )
        extra: list[Field] = [Field(label="Simulation", value=simulation), *because]
        try:
            live = proposal_fields(refs, self.mode.chain.queue(), self.mode.name_of)
        except ChainError as exc:
            live = [Field(label="On chain", value=f"could not read the votes: {exc}")]
        numbers = ", ".join(str(r.number) for r in refs)
        card = describe(
            request,
            title=f"Request {request.id}: {plan.summary}",
            extra=extra,
            checks=tuple(plan.checks),
            follow_ups=(
                f"Approvers: /ops approve {request.id} (or the Approve on chain button) shows the "
                "command that approves it on chain with your own key.",
                f"Once the chain says proposal {numbers} can run, the bot executes it "
                f"(/ops execute {refs[0].number} at once).",
                f"You can withdraw it with /ops cancel {request.id}.",
            ),
        )
        return with_live_fields(card, live)

    def _propose(self, calls: Sequence[ChainCall]) -> tuple[list[ProposalRef], str, int]:
        """Propose ``calls`` in order: (the proposals made, why the rest were not ('' if none),
        the chain's time when they were read back)."""
        chain = self.mode.chain
        made: list[tuple[int, str]] = []
        failure = ""
        try:
            timeout_s = chain.settings().timeout_s
            before_s = chain.now_s()
        except ChainError as exc:
            return [], f"nothing was proposed: the chain could not be read ({exc})", 0
        for index, call in enumerate(calls, start=1):
            size = len(proposal_payload(chain.entry_function(call)))
            try:
                # Simulated already (the first call; the later ones depend on the earlier ones).
                proposed = chain.propose(
                    call, hash_only=size > self.mode.hash_only_from_bytes, simulate=False
                )
            except ChainError as exc:
                failure = f"call {index} of {len(calls)} could not be proposed on chain: {exc}"
                break
            made.append((proposed.sequence_number, proposed.payload_hash_hex))
        # The timeout runs from each proposal's block time; read it back, else count from before.
        expires = {n: before_s + timeout_s for n, _ in made}
        now_s = before_s
        try:
            queue = chain.queue()
        except ChainError as exc:
            logger.warning("could not read the proposals back: %s", exc)
        else:
            expires.update({p.sequence_number: p.expires_at_s for p in queue.proposals})
            now_s = queue.now_s
        return [ProposalRef(n, h, expires[n]) for n, h in made], failure, now_s

    def _record(
        self, request: ApprovalRequest, refs: list[ProposalRef], failure: str, now_s: int
    ) -> ApprovalRequest:
        """Record the proposals on the request (all, or what was made and why the rest failed)."""
        tokens = [r.token() for r in refs]
        if failure and refs:
            failure += ". " + " ".join(withdraw(self.mode, refs))
        expires_in_ms = None
        if refs and not failure:
            expires_in_ms = max(refs[0].expires_s - now_s, 0) * 1000 + EXPIRY_MARGIN_MS
        try:
            return self.requests.service.proposed(
                request.id,
                self.worker,
                tokens,
                found_by=[str(r.number) for r in refs],
                detail="; ".join(
                    f"proposal {r.number} on chain, hash {r.payload_hash}" for r in refs
                ),
                expires_in_ms=expires_in_ms,
                failure=failure,
                event="proposed" if not failure else "proposal-failed",
            )
        except ApprovalError as exc:
            on_chain = ", ".join(str(r.number) for r in refs) or "none"
            raise CommandError(
                f"Request {request.id}'s proposals ({on_chain}) are on chain but could not be "
                f"recorded: {exc}. The bot will not execute them; reject them on chain."
            ) from exc
