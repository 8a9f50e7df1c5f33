"""``/ops approve|deny|cancel|show|pending|reconcile``: the second person's side of privileged steps.

The steps only translate; the rules (who may approve, once, bound to the digest) live in
``approvals`` and the execution in ``chatops.approval_flow``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from approvals.policy import Role
from commands.args import Reason
from commands.errors import CommandError
from commands.ports import ApprovalsPort, StepContext
from commands.registry import read, write
from commands.reply import Reply


class IdArgs(BaseModel):
    request_id: str = Field(pattern=r"^#?\d{1,12}$")


class DenyArgs(BaseModel):
    request_id: str = Field(pattern=r"^#?\d{1,12}$")
    reason: Reason


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
    args=IdArgs,
    role=Role.APPROVER,
)
def approve(ctx: StepContext, args: IdArgs) -> Reply:
    # The execution the last approval starts reports to, and is cancelled with, this command.
    return _port(ctx).approve(
        _id(args.request_id), ctx.user, ctx.groups, progress=ctx.progress, cancel=ctx.cancel
    )


@write(
    "/ops",
    "deny",
    summary="Deny a privileged request, with a reason (final)",
    runbook="two-person rule",
    args=DenyArgs,
    role=Role.APPROVER,
)
def deny(ctx: StepContext, args: DenyArgs) -> Reply:
    return _port(ctx).deny(_id(args.request_id), ctx.user, args.reason, ctx.groups)


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


@read("/ops", "pending", summary="Requests waiting for a second person", runbook="two-person rule")
def pending(ctx: StepContext, args: BaseModel) -> Reply:
    return _port(ctx).pending()


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
