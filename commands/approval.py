"""``/ops approve|deny|cancel|show|pending|reconcile|execute|clear``: the second person's side of
privileged steps. The steps only translate: the rules live in ``approvals``, the execution in
``chatops.flow`` (in multisig mode, on chain: ``/ops approve`` shows how)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from approvals.policy import Role
from commands.args import Reason, keyword_only
from commands.errors import CommandError
from commands.ports import ApprovalsPort, StepContext
from commands.registry import read, write
from commands.reply import Reply

# A whole id (12-k7mq3) or, for reading, a bare number; acting on a bare number is refused
# with the request it names (its whole id), so people act only on what they were shown.
REQUEST_ID = r"^#?\d{1,12}(-[0-9A-Za-z]{1,16})?$"
DIGEST = r"^([0-9a-f]{64})?$"  # the calls' sha256, as the Approve and Deny buttons carry it


class IdArgs(BaseModel):
    request_id: str = Field(pattern=REQUEST_ID)


class ApproveArgs(BaseModel):
    request_id: str = Field(pattern=REQUEST_ID)
    digest: str = keyword_only(pattern=DIGEST)


class DenyArgs(BaseModel):
    request_id: str = Field(pattern=REQUEST_ID)
    reason: Reason
    digest: str = keyword_only(pattern=DIGEST)


class PageArgs(BaseModel):
    page: int = Field(default=1, ge=1, le=100_000)


class ProposalArgs(BaseModel):
    number: int = Field(ge=1, le=2**63)  # an on-chain proposal's sequence number


def _port(ctx: StepContext) -> ApprovalsPort:
    if ctx.approvals is None:
        raise CommandError("Approvals are not available here (no store configured).")
    return ctx.approvals


def _id(text: str) -> str:
    return text.lstrip("#")


@write(
    "/ops",
    "approve",
    summary="Approve a privileged request (a second, eligible person)",
    runbook="two-person rule",
    args=ApproveArgs,
    role=Role.APPROVER,
)
def approve(ctx: StepContext, args: ApproveArgs) -> Reply:
    # The execution the last approval starts reports to, and is cancelled with, this command.
    """A clicked Approve or Deny is the same step, with the digest of the calls the button showed."""
    return _port(ctx).approve(_id(args.request_id), ctx.actor, digest=args.digest)


@write(
    "/ops",
    "deny",
    summary="Deny a privileged request, with a reason (final)",
    runbook="two-person rule",
    args=DenyArgs,
    role=Role.APPROVER,
)
def deny(ctx: StepContext, args: DenyArgs) -> Reply:
    return _port(ctx).deny(_id(args.request_id), ctx.actor, args.reason, digest=args.digest)


@write(
    "/ops",
    "cancel",
    summary="Withdraw your own request before it runs (final)",
    runbook="two-person rule",
    args=IdArgs,
)
def cancel(ctx: StepContext, args: IdArgs) -> Reply:
    return _port(ctx).cancel(_id(args.request_id), ctx.user)


@read(
    "/ops",
    "show",
    summary="A request: its exact calls, checks, approvals and history",
    runbook="two-person rule",
    args=IdArgs,
)
def show(ctx: StepContext, args: IdArgs) -> Reply:
    return _port(ctx).show(_id(args.request_id))


@read(
    "/ops",
    "pending",
    summary="Requests waiting for a second person, a page at a time",
    runbook="two-person rule",
    args=PageArgs,
)
def pending(ctx: StepContext, args: PageArgs) -> Reply:
    return _port(ctx).pending(args.page)


@write(
    "/ops",
    "reconcile",
    summary="Settle a request whose worker died mid-execution, from the chain (never resends)",
    runbook="two-person rule",
    args=IdArgs,
    role=Role.APPROVER,
)
def reconcile(ctx: StepContext, args: IdArgs) -> Reply:
    return _port(ctx).reconcile(_id(args.request_id), ctx.user)


@write(
    "/ops",
    "execute",
    summary="Run on-chain proposal N now, if the chain says it can run (multisig mode)",
    runbook="two-person rule",
    args=ProposalArgs,
)
def execute(ctx: StepContext, args: ProposalArgs) -> Reply:
    return _port(ctx).execute(args.number, ctx.actor)


@write(
    "/ops",
    "clear",
    summary="Remove on-chain proposal N, the head, once it timed out or was rejected (multisig)",
    runbook="two-person rule",
    args=ProposalArgs,
)
def clear(ctx: StepContext, args: ProposalArgs) -> Reply:
    # An operator's: the chain allows it only for a proposal that can never run (timed out, or
    # rejected by as many owners as approvals are needed), so clearing decides nothing.
    return _port(ctx).clear(args.number, ctx.user)
