"""The on-chain side of a request as people read it: its proposals, their votes, what blocks the
queue, and the commands an approver runs on their own machine. Pure: it reads and writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from approvals.models import ApprovalRequest
from chatops.chain.multisig import Cleared, ExecutionOutcome, Proposal, ProposalState, QueueView
from chatops.chain.multisig_bcs import approve_call, reject_call
from chatops.flow.multisig.refs import ProposalRef
from chatops.flow.render import when_s
from commands.reply import Field, Reply

__all__ = [
    "approve_reply",
    "blocked_field",
    "outcome_line",
    "proposal_fields",
    "queue_fields",
    "reject_lines",
    "with_live_fields",
]

Names = Callable[[str], str]


def _votes(proposal: Proposal, name_of: Names) -> str:
    yes = [name_of(o) for o, vote in proposal.votes.items() if vote]
    no = [name_of(o) for o, vote in proposal.votes.items() if not vote]
    text = f"{proposal.approvals} of {proposal.threshold} approvals on chain"
    text += f" ({', '.join(yes)})" if yes else ""
    if no:
        text += f", {proposal.rejections} rejection(s) ({', '.join(no)})"
    return text


def _standing(proposal: Proposal, queue: QueueView) -> str:
    """Where the proposal stands in the queue, and what happens next."""
    n = proposal.sequence_number
    if proposal.state is ProposalState.EXPIRED:
        return f"timed out: it can never run; once it is the head, /ops clear {n} removes it"
    if proposal.state is ProposalState.REJECTED:
        return f"rejected on chain: /ops clear {n} removes it"
    if proposal.state is ProposalState.EXECUTABLE:
        return "approved: the bot executes it now"
    head = queue.head
    if proposal.is_head or head is None:
        return "at the head of the queue"
    return f"waiting behind proposal {head.sequence_number}"


def proposal_fields(refs: Sequence[ProposalRef], queue: QueueView, name_of: Names) -> list[Field]:
    """Each proposal of a request with its votes read from the chain and where it stands."""
    pending = {p.sequence_number: p for p in queue.proposals}
    out: list[Field] = []
    for ref in refs:
        head = f"hash {ref.payload_hash}; times out {when_s(ref.expires_s)} (chain time); "
        proposal = pending.get(ref.number)
        if proposal is not None:
            live = f"{_votes(proposal, name_of)}; {_standing(proposal, queue)}"
        elif ref.number <= queue.last_resolved:
            live = "resolved on chain (executed, or cleared without running)"
        else:
            live = "not on chain"
        out.append(Field(label=f"Proposal {ref.number}", value=head + live))
    return out


def _clear_hint(proposal: Proposal, threshold_more: int) -> str:
    n = proposal.sequence_number
    if proposal.state in (ProposalState.EXPIRED, ProposalState.REJECTED):
        return f"/ops clear {n} removes it"
    return (
        f"it needs {threshold_more} more approval(s) on chain to run, or rejections by "
        f"{proposal.threshold} owners (or its timeout, {when_s(proposal.expires_at_s)}) to be "
        f"cleared with /ops clear {n}"
    )


def blocked_field(refs: Sequence[ProposalRef], queue: QueueView) -> Field | None:
    """Why the request's next proposal cannot run yet when another proposal holds the head."""
    head = queue.head
    waiting = [r for r in refs if r.number > queue.last_resolved]
    if head is None or not waiting or waiting[0].number == head.sequence_number:
        return None
    more = max(head.threshold - head.approvals, 0)
    return Field(
        label="Blocked by",
        value=f"proposal {head.sequence_number} ({head.state.value}) is at the head of the queue, "
        f"and only the head can run: {_clear_hint(head, more)}",
    )


def queue_fields(
    queue: QueueView, request_of: Callable[[int], str | None], name_of: Names
) -> list[Field]:
    """The multisig account's queue in a few lines: its head, whose it is, and what blocks."""
    head = queue.head
    if head is None:
        return [Field(label="On chain", value="no proposal is pending")]
    owner = request_of(head.sequence_number)
    whose = f"request {owner}" if owner else "not a chatops request"
    fields = [
        Field(
            label="On chain",
            value=f"{len(queue.proposals)} proposal(s) pending; the head is proposal "
            f"{head.sequence_number} ({whose}): {_votes(head, name_of)}; {head.state.value}",
        )
    ]
    blocked = queue.blocked_by
    if blocked is not None:
        more = max(blocked.threshold - blocked.approvals, 0)
        fields.append(
            Field(
                label="Blocking",
                value=f"proposal {blocked.sequence_number} ({blocked.state.value}) blocks the "
                f"{len(queue.proposals) - 1} behind it: {_clear_hint(blocked, more)}",
            )
        )
    return fields


def _cli(call_args: Sequence[str]) -> str:
    return " ".join(call_args)


def approve_reply(
    request: ApprovalRequest, refs: Sequence[ProposalRef], account: str, own_address: str | None
) -> Reply:
    """How to approve the request on chain: for each proposal, the exact ``chatops multisig``
    command for the approver's own machine (it refuses unless the hash is the one shown) and the
    Supra CLI equivalent. The same text for the typed ``/ops approve`` and the button."""
    fields: list[Field] = []
    for ref in refs:
        call = approve_call(account, ref.number)
        fields.append(
            Field(
                label=f"Proposal {ref.number}, chatops",
                value=f"chatops multisig approve {ref.number} --key-file YOUR_KEY "
                f"--expect-hash {ref.payload_hash}",
            )
        )
        fields.append(
            Field(
                label=f"Proposal {ref.number}, Supra CLI",
                value="supra move tool run --profile YOUR_PROFILE --function-id "
                f"{call.function} --args {_cli([a.cli() for a in call.args])}",
            )
        )
    numbers = ", ".join(str(r.number) for r in refs)
    follow = [
        "chatops multisig approve shows the call as the chain holds it and signs nothing unless "
        "its hash is the one above.",
        f"The Supra CLI does not compare the hash: check it first with chatops multisig show "
        f"{refs[0].number if refs else 'N'}.",
    ]
    if own_address is None:
        follow.append(
            "You have no owner address in the policy (multisig.addresses): the chain would "
            "refuse your vote."
        )
    return Reply(
        title=f"Approve request {request.id} on chain, with your own key (proposal {numbers})",
        text="Nothing is approved here: the chain counts only votes signed with an owner's own "
        "key. On your machine, with SUPRA_RPC_URL, SUPRA_CHAIN_ID and LOTTERY_ADDRESS set, run:",
        fields=tuple(fields),
        follow_ups=tuple(follow),
        request_id=request.id,
        state=str(request.state),
        ephemeral=True,
    )


def reject_lines(refs: Sequence[ProposalRef], account: str) -> list[str]:
    """How owners remove proposals that must not run before they time out: reject, then clear."""
    lines = []
    for ref in refs:
        call = reject_call(account, ref.number)
        lines.append(
            f"Proposal {ref.number} stays on chain, blocking the queue, until it times out "
            f"({when_s(ref.expires_s)}) or enough owners reject it "
            f"(chatops multisig reject {ref.number} --key-file YOUR_KEY --expect-hash "
            f"{ref.payload_hash}, or {call.function} with {_cli([a.cli() for a in call.args])}); "
            f"then /ops clear {ref.number} removes it."
        )
    return lines


def with_live_fields(card: Reply, live: Sequence[Field]) -> Reply:
    """``card`` with its proposal lines replaced, in place, by what the chain says of them now;
    the other lines read from the chain (what blocks it) come last."""
    by_label = {f.label: f for f in live}
    fields = [by_label.pop(f.label, f) for f in card.fields]
    return card.model_copy(update={"fields": (*fields, *by_label.values())})


def outcome_line(ref: ProposalRef, found: ExecutionOutcome | Cleared | None) -> str:
    """What the chain's events say became of a resolved proposal."""
    if isinstance(found, ExecutionOutcome):
        return found.describe()
    if isinstance(found, Cleared):
        return f"proposal {ref.number} was cleared without running"
    return f"proposal {ref.number} is resolved, but no event says how"
