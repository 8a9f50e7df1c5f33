"""``/ops``: help generated from the catalog, the status digest, and abort-code explanations."""

from __future__ import annotations

from pydantic import BaseModel

from chatops.chain.aborts import describe, known_aborts, lookup_by_name
from chatops.chain.calls import TypedArg
from chatops.chain.movetypes import as_int
from chatops.chain.statuses import LotteryStatus
from commands.errors import UsageError
from commands.ports import StepContext
from commands.reads import vrf_deposit
from commands.registry import Registry, build_registry, read
from commands.reply import Field, Reply, Tone
from commands.runbook_names import RUNBOOK_NAMES, find_name, names_for, steps_for
from commands.vrf import paused_text

RUNBOOK = "runbooks.md"


class HelpArgs(BaseModel):
    topic: str | None = None


def _help_all() -> Reply:
    registry = build_registry()
    lines: list[str] = []
    for command in registry.commands:
        lines.append(command)
        for s in registry.subcommands(command):
            mark = " [needs approval]" if s.privileged else ""
            lines.append(f"  {s.usage} - {s.summary}{mark}")
    return Reply(
        title="Runbook commands",
        text="\n".join(lines),
        ephemeral=True,
        follow_ups=("/ops help <command> shows the runbook step and the checks of one command.",),
    )


def _help_name(registry: Registry, topic: str) -> Reply:
    """Where a runbook name (or any ``module::function``) leads: the commands, and why if it
    cannot be called as the runbook writes it."""
    key = find_name(topic)
    name = key or topic.strip().strip("`")
    steps = steps_for(registry, name)
    entry = RUNBOOK_NAMES.get(key) if key else None
    if not steps:
        raise UsageError(
            f"No command reads or calls {name}, and the runbook does not name it. "
            "/ops help lists the commands."
        )
    text = entry.note if entry is not None else ""
    verb = "replaced by" if text else "performed or read by"
    return Reply(
        title=f"{name}: {verb} {', '.join(s.path for s in steps)}",
        text=text,
        fields=tuple(Field(label=s.path, value=f"{s.usage} - {s.summary}") for s in steps),
        ephemeral=True,
        data={"name": name, "commands": [s.path for s in steps], "note": text},
    )


def _help_topic(topic: str) -> Reply:
    registry = build_registry()
    if "::" in topic or find_name(topic) is not None:
        return _help_name(registry, topic)
    words = topic.split()
    command = words[0] if words[0].startswith("/") else "/" + words[0]
    if len(words) == 1:
        registry.find(
            command, registry.subcommands(command)[0].name if command in registry.commands else ""
        )
        steps = registry.subcommands(command)
        text = "\n".join(f"{s.usage} - {s.summary}" for s in steps)
        return Reply(title=f"{command} commands", text=text, ephemeral=True)
    s = registry.find(command, words[1])
    fields = [
        Field(label="Usage", value=s.usage),
        Field(label="Runbook", value=s.runbook),
        Field(label="Approval", value="a second person must approve" if s.privileged else "none"),
    ]
    if s.reads:
        fields.append(Field(label="Reads", value=", ".join(s.reads)))
    if s.calls:
        fields.append(Field(label="Calls", value=", ".join(s.calls)))
    names = names_for(s)
    if names:
        fields.append(Field(label="Runbook names", value=", ".join(names)))
    return Reply(title=s.path, text=s.help or s.summary, fields=tuple(fields), ephemeral=True)


@read(
    "/ops",
    "help",
    summary="List the commands, or explain one",
    runbook="all sections",
    args=HelpArgs,
)
def help_(ctx: StepContext, args: HelpArgs) -> Reply:
    return _help_topic(args.topic) if args.topic else _help_all()


_OVERVIEW_ALERTS = {
    "vrf_retry_blocked": "VRF requests inside their retry window",
    "vrf_fulfilled_pending": "VRF fulfilled, winners not computed",
    "winners_pending": "lotteries with winners still to compute",
    "payout_backlog": "winner batches not yet paid",
    "refund_batch_pending": "tickets still to refund",
}


@read(
    "/ops",
    "status",
    summary="Digest of views::status_overview: lotteries by status, VRF, payouts, refunds",
    runbook="Admin 13 (status overview), monitoring.md",
    reads=("views::status_overview", "views::get_vrf_deposit_status"),
)
def status(ctx: StepContext, args: BaseModel) -> Reply:
    [overview] = ctx.chain.read("views::status_overview", [TypedArg.of("u64", ctx.chain.now_s())])
    counts = {k: as_int(v, 0) for k, v in overview.items() if not isinstance(v, bool)}
    order = tuple(status.key for status in LotteryStatus)
    by_status = ", ".join(f"{k.replace('_', ' ')} {counts.get(k, 0)}" for k in order)
    attention = [f"{label}: {counts[k]}" for k, label in _OVERVIEW_ALERTS.items() if counts.get(k)]
    breach = bool(overview.get("refund_sla_breach"))
    if breach:
        attention.insert(0, "REFUND SLA BREACHED (cancelled lottery not refunded in time)")
    deposit = vrf_deposit(ctx)
    paused = bool(deposit["requests_paused"])
    if paused:
        attention.insert(0, f"VRF requests {paused_text(deposit)}: no draw can be requested")
    tone = Tone.WARNING if breach or paused else Tone.INFO
    return Reply(
        title=f"{counts.get('total', 0)} lotteries",
        text=by_status,
        tone=tone,
        fields=tuple(Field(label="Attention", value=a) for a in attention)
        or (Field(label="Attention", value="nothing pending"),),
        data={**overview, "vrf_deposit": deposit},
    )


class AbortArgs(BaseModel):
    code: str
    module: str | None = None


@read(
    "/ops",
    "abort",
    summary="Explain an abort code (0x1809, 6153 or E_PAYOUT_BATCH_COOLDOWN)",
    runbook="contract_spec.md section 8",
    args=AbortArgs,
)
def abort(ctx: StepContext, args: AbortArgs) -> Reply:
    text = args.code.strip()
    if text.upper().startswith("E_"):
        info = lookup_by_name(text.upper())
        if info is None:
            raise UsageError(f"No abort is named {text}.")
        infos = [info]
    else:
        try:
            code = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise UsageError(f"{text!r} is not an abort code (0x1809, 6153 or a name).") from None
        if args.module:
            infos = [describe(args.module, code)]
        else:
            infos = [i for i in known_aborts() if i.code == code] or [
                describe("lottery_multi", code)
            ]
    fields = tuple(
        Field(
            label=i.name or i.hex_code,
            value=f"{i.hex_code} in {', '.join(i.raised_in) or i.module}: {i.meaning}",
        )
        for i in infos
    )
    title = (
        infos[0].render() if len(infos) == 1 else f"{infos[0].hex_code} has {len(infos)} meanings"
    )
    return Reply(title=title, fields=fields, ephemeral=True)
