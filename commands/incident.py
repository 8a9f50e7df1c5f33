"""``/incident open|list|show|assign|mitigate|resolve|note|log``: incident threads and the ops
journal, behind ``IncidentsPort``. Slash commands cannot be sent in a thread, so every
subcommand takes the incident id."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from chatops.severity import Severity
from commands.args import Reason
from commands.errors import CommandError
from commands.ports import IncidentsPort, StepContext
from commands.registry import read, write
from commands.reply import Reply

RUNBOOK = "incident_log.md"
IncidentId = Field(pattern=r"^#?\d{1,12}$")


class OpenArgs(BaseModel):
    subject: str = Field(pattern=r"^[a-z][a-z-]*(:[0-9A-Za-z_-]+)?$", max_length=100)
    severity: Severity
    title: Reason


class ListArgs(BaseModel):
    scope: Literal["open", "all"] = "open"


class IdArgs(BaseModel):
    incident_id: str = IncidentId


class AssignArgs(BaseModel):
    incident_id: str = IncidentId
    owner: str = Field(min_length=1, max_length=80)


class StateArgs(BaseModel):
    incident_id: str = IncidentId
    note: str = Field(default="", max_length=300)


class NoteArgs(BaseModel):
    incident_id: str = IncidentId
    text: Reason


class LogArgs(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)


def _port(ctx: StepContext) -> IncidentsPort:
    if ctx.incidents is None:
        raise CommandError("Incidents are not available here (no store configured).")
    return ctx.incidents


def _id(text: str) -> str:
    return text.lstrip("#")


@write(
    "/incident",
    "open",
    summary="Open an incident for a subject (lottery:4, asset:1, vrf-deposit, bot:0x..)",
    runbook=RUNBOOK,
    args=OpenArgs,
)
def open_incident(ctx: StepContext, args: OpenArgs) -> Reply:
    return _port(ctx).open(args.subject, args.title, args.severity, ctx.user)


@read("/incident", "list", summary="Open incidents (or all)", runbook=RUNBOOK, args=ListArgs)
def list_incidents(ctx: StepContext, args: ListArgs) -> Reply:
    return _port(ctx).list(args.scope == "all")


@read(
    "/incident", "show", summary="An incident: state, owner, timeline", runbook=RUNBOOK, args=IdArgs
)
def show(ctx: StepContext, args: IdArgs) -> Reply:
    return _port(ctx).show(_id(args.incident_id))


@write("/incident", "assign", summary="Set an incident's owner", runbook=RUNBOOK, args=AssignArgs)
def assign(ctx: StepContext, args: AssignArgs) -> Reply:
    return _port(ctx).assign(_id(args.incident_id), args.owner, ctx.user)


@write(
    "/incident",
    "mitigate",
    summary="Mark an incident mitigated (impact stopped, cause open)",
    runbook=RUNBOOK,
    args=StateArgs,
)
def mitigate(ctx: StepContext, args: StateArgs) -> Reply:
    return _port(ctx).set_state(_id(args.incident_id), "mitigated", args.note, ctx.user)


@write(
    "/incident", "resolve", summary="Resolve an incident (final)", runbook=RUNBOOK, args=StateArgs
)
def resolve(ctx: StepContext, args: StateArgs) -> Reply:
    return _port(ctx).set_state(_id(args.incident_id), "resolved", args.note, ctx.user)


@write(
    "/incident",
    "note",
    summary="Add a note to an incident's timeline",
    runbook=RUNBOOK,
    args=NoteArgs,
)
def note(ctx: StepContext, args: NoteArgs) -> Reply:
    return _port(ctx).note(_id(args.incident_id), args.text, ctx.user)


@read("/incident", "log", summary="Recent ops journal entries", runbook=RUNBOOK, args=LogArgs)
def log(ctx: StepContext, args: LogArgs) -> Reply:
    return _port(ctx).log(args.limit)
