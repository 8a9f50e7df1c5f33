"""Executing on the chain's word: when the chain says a request's proposals can run, claim the request
(one claimant across replicas), re-run its preflight as the off-chain flow does, and execute each
proposal once; the outcome comes from the chain's events. Also clearing a stale head, and the loop
``chatops serve`` runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis

from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest, Status
from approvals.service import DEFAULT_LEASE_MS, ApprovalService
from chatops.chain.calls import ChainCall, Outcome
from chatops.chain.errors import ChainError
from chatops.chain.gateway import Gateway
from chatops.chain.multisig import (
    Cleared,
    ExecutionOutcome,
    MultisigError,
    Proposal,
    ProposalNotFoundError,
    ProposalState,
    QueueView,
)
from chatops.chain.multisig_bcs import payload_hash, proposal_payload
from chatops.flow.execute import Execution, FencedChain
from chatops.flow.multisig.mode import BOT_NAME, MultisigMode
from chatops.flow.multisig.refs import ProposalRef, refs_of
from chatops.flow.multisig.render import outcome_line
from chatops.flow.multisig.request import withdraw
from chatops.flow.render import describe
from chatops.notify.leader import LeaderLease
from commands.errors import CommandError
from commands.ports import Actor
from commands.reply import Reply

__all__ = ["ProposalChain", "ProposalExecutor", "ProposalFailedError"]

logger = logging.getLogger(__name__)

# What the chain's word can take for execution: a request still waiting, or one forced to
# 'approved' (the store's approvals decide nothing here).
RUNNABLE = frozenset({Status.PENDING, Status.APPROVED})
MAX_PER_ROUND = 20  # the chain holds at most 20 pending proposals
EXECUTOR_LOOP = "multisig-executor"  # the name of its leader lease (one replica runs it)
LOOP_LEASE_MS = 15_000


class ProposalFailedError(ChainError):
    """A proposal ran and was consumed, but its call failed (the chain's events say how: an abort
    by name and meaning, never a bare number)."""

    def __init__(self, outcome: ExecutionOutcome) -> None:
        super().__init__(f"{outcome.describe()} (transaction {outcome.tx_hash})")
        self.outcome = outcome


class ProposalChain(FencedChain):
    """The chain a request approved on chain executes on: each call the plan sends executes the
    request's next proposal (the head), carrying the call inline and fenced on the request's lease
    as ``FencedChain`` fences a plain transaction; a proposal the chain already resolved (another
    owner ran it meanwhile) yields the outcome its events recorded instead of a second send."""

    def __init__(
        self,
        gateway: Gateway,
        mode: MultisigMode,
        service: ApprovalService,
        request: ApprovalRequest,
        token: str,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        super().__init__(gateway, service, request.id, token, lease_ms=lease_ms)
        self._mode = mode
        self.refs = refs_of(request)
        self.executed = 0  # proposals of the request resolved through this chain

    def submit(self, call: ChainCall) -> Outcome:
        """Execute the next proposal with ``call``, which must be the call it was proposed as.

        Raises:
            CommandError: more calls than proposals, or ``call`` is not the proposed one.
            ProposalFailedError: the proposal was consumed and its call failed (by name).
            MultisigError: the chain would not run it (not approved, timed out...): nothing sent.
        """
        if self.executed >= len(self.refs):
            raise CommandError("The plan sends more calls than the request proposed; not sent.")
        ref = self.refs[self.executed]
        digest = "0x" + payload_hash(proposal_payload(self._mode.chain.entry_function(call))).hex()
        if digest != ref.payload_hash:
            raise CommandError(
                f"{call.describe()} is not what proposal {ref.number} carries "
                f"({ref.payload_hash}): nothing was sent."
            )
        try:
            outcome = self._mode.chain.execute_head(
                ref.number, call=call, before_send=self.before_send
            )
        except ProposalNotFoundError:
            outcome = self._resolved(ref)
        self.in_doubt = False
        self.executed += 1
        if not outcome.succeeded:
            raise ProposalFailedError(outcome)
        return Outcome(call=call, tx_hash=outcome.tx_hash, events=outcome.events)

    def _resolved(self, ref: ProposalRef) -> ExecutionOutcome:
        """How the chain resolved ``ref`` before this worker came to it (its events)."""
        found = self._mode.chain.outcome_of(ref.number)
        if isinstance(found, Cleared):
            raise CommandError(
                f"Proposal {ref.number} was cleared on chain without running; nothing was sent."
            )
        if found is None:
            raise MultisigError(
                f"Proposal {ref.number} is resolved but no event says how; nothing was sent."
            )
        return found


def _waiting(request: ApprovalRequest, queue: QueueView) -> list[ProposalRef]:
    """The request's proposals the chain has not resolved yet, in order."""
    return [r for r in refs_of(request) if r.number > queue.last_resolved]


class ProposalExecutor:
    """Runs requests whose proposals the chain approved, exactly once whoever asks where: the loop
    of ``chatops serve``, or ``/ops execute N`` typed in the console or Slack."""

    def __init__(
        self,
        service: ApprovalService,
        mode: MultisigMode,
        execution: Execution,
        worker: str,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        self.service = service
        self.mode = mode
        self.execution = execution
        self.worker = worker
        self.lease_ms = lease_ms
        self._seen: dict[int, tuple[Any, ...]] = {}

    # --- the chain's verdict -----------------------------------------------------------------

    def why_not(self, request: ApprovalRequest, queue: QueueView) -> str | None:
        """Why the chain would not run the request's proposals now (None: it would, all of them:
        the first is the head and can execute, the others have their approvals)."""
        waiting = _waiting(request, queue)
        if not waiting:
            return f"request {request.id}'s proposals are all resolved on chain"
        first = waiting[0]
        head = queue.head
        if head is None or head.sequence_number != first.number:
            holder = f"proposal {head.sequence_number}" if head is not None else "nothing"
            return f"proposal {first.number} is not at the head of the queue ({holder} is)"
        if not self.mode.chain.can_execute(first.number):
            return self._short_of(head)
        pending = {p.sequence_number: p for p in queue.proposals}
        for ref in waiting[1:]:
            proposal = pending.get(ref.number)
            if proposal is None:
                return f"proposal {ref.number} is not on chain"
            if proposal.state is ProposalState.EXPIRED:
                return f"proposal {ref.number} timed out"
            if proposal.approvals < proposal.threshold:
                return self._short_of(proposal)
        return None

    @staticmethod
    def _short_of(proposal: Proposal) -> str:
        n = proposal.sequence_number
        if proposal.state is ProposalState.EXPIRED:
            return f"proposal {n} timed out and can never run (/ops clear {n} removes it)"
        if proposal.state is ProposalState.REJECTED:
            return f"proposal {n} was rejected on chain (/ops clear {n} removes it)"
        return f"proposal {n} has {proposal.approvals} of {proposal.threshold} approvals on chain"

    def _approvers(self, request: ApprovalRequest, queue: QueueView) -> list[str]:
        """Who approved the request's next proposal on chain (the bot left out), by name."""
        waiting = {r.number for r in _waiting(request, queue)}
        for proposal in queue.proposals:
            if proposal.sequence_number in waiting:
                names = [self.mode.name_of(o) for o, yes in proposal.votes.items() if yes]
                return [n for n in names if n != BOT_NAME]
        return []

    # --- running -----------------------------------------------------------------------------

    def run(
        self,
        request: ApprovalRequest,
        queue: QueueView,
        actor: Actor,
    ) -> Reply:
        """Claim the request on the chain's word and execute it as the off-chain flow would
        (fresh preflight, same digest), each call through its proposal.

        Raises:
            CommandError: another worker claimed it first, or it is final.
        """
        try:
            token, claimed = self.service.chain_claim(
                request.id, self.worker, self._approvers(request, queue), self.lease_ms
            )
        except ApprovalError as exc:
            raise CommandError(str(exc)) from exc
        chain = ProposalChain(
            self.execution.gateway,
            self.mode,
            self.service,
            claimed,
            token,
            lease_ms=self.lease_ms,
        )
        reply = self.execution.run(claimed, token, actor, sending=chain)
        left = chain.refs[chain.executed :]
        if reply.ok or not left or reply.state != Status.FAILED:
            return reply
        # Failed before running them all: what was not run stays on chain, approved; the bot's
        # yes is withdrawn so it cannot run on that yes, and people see how to remove it.
        notes = withdraw(self.mode, left)
        return reply.model_copy(update={"follow_ups": (*reply.follow_ups, *notes)})

    def execute(self, number: int, actor: Actor) -> Reply:
        """``/ops execute N``: run the request proposal ``number`` carries, if the chain says it
        can run now; otherwise say why, sending nothing. A request the chain resolved without the
        bot is recorded from its events.

        Raises:
            CommandError: not a chatops proposal, its request is final or executing, it is not the
                request's next proposal, or the chain would not run it.
        """
        request = self.service.request_of_proposal(str(number))
        if request is None:
            raise CommandError(
                f"Proposal {number} is not one chatops made (no request recorded it): nothing was "
                f"sent. Its owners run it with their own tools, or /ops clear {number} removes "
                "it once it timed out or was rejected."
            )
        if request.state not in RUNNABLE:
            raise CommandError(
                f"Proposal {number} carries request {request.id}, which is {request.state}: "
                "chatops does not execute it. Nothing was sent."
            )
        queue = self.mode.chain.queue()
        waiting = _waiting(request, queue)
        if not waiting:  # owners ran or cleared it with their own tools: record what happened
            settled = self.settle(request, queue)
            if settled is not None:
                return settled
        if waiting and waiting[0].number != number:
            raise CommandError(
                f"Proposal {number} is a later call of request {request.id}, whose calls run in "
                f"order: /ops execute {waiting[0].number}. Nothing was sent."
            )
        why = self.why_not(request, queue)
        if why is not None:
            raise CommandError(f"Not executed: {why}. Nothing was sent.")
        return self.run(request, queue, actor)

    def clear(self, number: int, user: str) -> Reply:
        """``/ops clear N``: remove proposal ``number`` (the head) once it timed out or was
        rejected on chain; its request, if still waiting, ends without running.

        Raises:
            CommandError: the chain would not allow it now (not the head, still live...).
        """
        chain = self.mode.chain
        try:
            proposal = chain.proposal(number)
            cleared = chain.clear_rejected(number)
        except MultisigError as exc:
            raise CommandError(f"Not cleared: {exc}") from exc
        expired = proposal.state is ProposalState.EXPIRED
        why = "it timed out" if expired else "owners rejected it"
        title = f"Proposal {number} cleared on chain ({why}); transaction {cleared.tx_hash}"
        request = self.service.request_of_proposal(str(number))
        if request is None:
            return Reply(title=title, text="No chatops request carried it.")
        notes: list[str] = []
        if request.state in (Status.PENDING, Status.APPROVED):
            # Its later calls' proposals can no longer run as the request meant: withdrawn too.
            later = [r for r in refs_of(request) if r.number > number]
            if later:
                notes = withdraw(self.mode, later)
            try:
                request = self.service.proposed(
                    request.id,
                    user,
                    list(request.proposals),
                    found_by=[],
                    failure=f"proposal {number} was cleared on chain ({why}) by {user}: "
                    "nothing ran",
                    final=Status.EXPIRED if expired else Status.FAILED,
                    event="proposal-cleared",
                )
            except ApprovalError as exc:
                logger.warning("recording the clearing failed: %s", exc)
        return describe(
            request, title=f"{title}: request {request.id} will not run", follow_ups=tuple(notes)
        )

    # --- the loop ----------------------------------------------------------------------------

    def _changed(self, queue: QueueView) -> list[str]:
        """Requests whose proposals' votes or standing changed since the last look."""
        now = {
            p.sequence_number: (tuple(sorted(p.votes.items())), p.state, p.is_head)
            for p in queue.proposals
        }
        moved = [n for n, seen in now.items() if self._seen.get(n) != seen]
        moved += [n for n in self._seen if n not in now]
        self._seen = now
        ids: list[str] = []
        for n in moved:
            request = self.service.request_of_proposal(str(n))
            if request is not None and request.id not in ids:
                ids.append(request.id)
        return ids

    def settle(self, request: ApprovalRequest, queue: QueueView) -> Reply | None:
        """Record a waiting request whose proposals the chain resolved without the bot (owners ran
        or cleared them with their own tools), from the chain's events; None while one is pending.
        Nothing is sent."""
        refs = refs_of(request)
        if request.state not in RUNNABLE or any(r.number > queue.last_resolved for r in refs):
            return None
        outcomes = [(r, self.mode.chain.outcome_of(r.number)) for r in refs]
        ran = [f for _, f in outcomes if isinstance(f, ExecutionOutcome)]
        ok = len(ran) == len(refs) and all(f.succeeded for f in ran)
        result = "; ".join(outcome_line(r, f) for r, f in outcomes) + " (by owners, not the bot)"
        try:
            token, _claimed = self.service.chain_claim(request.id, self.worker, [])
            done = self.service.complete(
                request.id, token, ok=ok, result=result, tx_hashes=[f.tx_hash for f in ran]
            )
        except ApprovalError as exc:
            logger.info("not settled: %s", exc, extra={"approval_id": request.id})
            return None
        verb = "executed on chain" if ok else "failed on chain"
        return describe(done, title=f"Request {done.id} {verb}: {result}", ok=ok)

    def round(self) -> tuple[list[tuple[str, Reply]], list[str]]:
        """One look at the queue: execute every head the chain says can run, in order, and record
        the requests the chain resolved without the bot. Returns (what ended: request id and
        result, requests whose votes changed on chain)."""
        done: list[tuple[str, Reply]] = []
        queue = self.mode.chain.queue()
        changed = self._changed(queue)
        for request_id in changed:
            try:
                settled = self.settle(self.service.get(request_id), queue)
            except ApprovalError:
                continue
            if settled is not None:
                done.append((request_id, settled))
        for _ in range(MAX_PER_ROUND):
            head = queue.head
            if head is None:
                break
            request = self.service.request_of_proposal(str(head.sequence_number))
            if request is None or request.state not in RUNNABLE:
                break
            if self.why_not(request, queue) is not None:
                break
            try:
                reply = self.run(request, queue, Actor(BOT_NAME))
            except CommandError as exc:  # another replica or a typed /ops execute took it
                logger.info("not executed: %s", exc, extra={"approval_id": request.id})
                break
            done.append((request.id, reply))
            after = self.mode.chain.queue()
            if after.head is not None and after.head.sequence_number == head.sequence_number:
                break  # still the head (nothing ran): look again next round
            queue = after
        return done, [i for i in changed if i not in {d for d, _ in done}]

    def loop(
        self,
        stop: threading.Event,
        client: redis.Redis,
        *,
        on_done: Callable[[str, Reply], None],
        on_changed: Callable[[list[str]], None],
        interval_s: float = 3.0,
    ) -> None:
        """Poll the queue every ``interval_s`` while this replica holds the executor's lease (one
        replica polls; the claim keeps each execution single whatever happens)."""
        lease = LeaderLease(client, self.worker, LOOP_LEASE_MS, loop=EXECUTOR_LOOP)
        try:
            while not stop.wait(interval_s):
                if not lease.acquire():
                    continue
                try:
                    done, changed = self.round()
                except (ChainError, ApprovalError) as exc:
                    logger.warning("multisig executor: %s; trying again", exc)
                    continue
                for request_id, reply in done:
                    on_done(request_id, reply)
                if changed:
                    on_changed(changed)
        finally:
            lease.release()
