"""``/history``: runbook "Dual-write migration" 4 and Admin 11 (archived summaries, legacy import,
rollback, reclassification, and the "summary written and dual-write passed" check)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.summary import LotterySummary, SummaryDecodeError, archive_hash
from commands.args import U8, U64, Hash32, HexBytes
from commands.dualwrite import (
    archived_summary,
    dual_write_status,
    expectation_check,
    short_hash,
    summary_exists_check,
)
from commands.ports import Outcome, Plan, StepContext
from commands.reads import VRF_STATUS_NAMES, status_name, u64
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

PRIMARY_TYPES = ("basic", "partner", "jackpot", "vip")
KNOWN_TAGS_MASK = (
    0x800000000000001F  # NFT, DAILY, WEEKLY, SPLIT_PRIZE, PROMO, EXPERIMENTAL (spec §2)
)


class IdArgs(BaseModel):
    lottery_id: U64


def _text(value: bytes) -> str:
    """Slugs are ASCII in practice; anything else is shown as hex rather than guessed at."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + value.hex()
    return text if text.isprintable() else "0x" + value.hex()


def _is_legacy(ctx: StepContext, lottery_id: int) -> bool:
    [flag] = ctx.chain.read("history::is_legacy_summary", [u64(lottery_id)])
    return bool(flag)


def _legacy_check(is_legacy: bool) -> Check:
    return Check(
        name="summary is legacy (imported)",
        ok=is_legacy,
        seen="legacy" if is_legacy else "written by the contract (finalize/archive)",
        required="legacy (only imported summaries can be changed; 0x1B09 otherwise)",
    )


_ABSENT_TEXT = {
    "absent": "history::get_summary aborted 0x6507 (table key not found): the lottery has no "
    "archived summary yet. It is written by finalize, by archiving a cancelled lottery, or by a "
    "legacy import.",
    "no-archive": "history::get_summary aborted 0x1B01: the history archive (ArchiveLedger) is not "
    "initialised on this chain, so no summary exists.",
}


@read(
    "/history",
    "summary",
    summary="The archived LotterySummary of a lottery, with its archive hash",
    runbook="Admin 11, Dual-write 3 (history::get_summary)",
    args=IdArgs,
    reads=("history::get_summary",),
)
def summary(ctx: StepContext, args: IdArgs) -> Reply:
    state, found = archived_summary(ctx, args.lottery_id)
    if found is None:
        return Reply.error(
            f"Lottery {args.lottery_id}: no archived summary", _ABSENT_TEXT.get(state, state)
        )
    vrf = (
        VRF_STATUS_NAMES[found.vrf_status]
        if found.vrf_status < len(VRF_STATUS_NAMES)
        else str(found.vrf_status)
    )
    kind = PRIMARY_TYPES[found.primary_type] if found.primary_type < 4 else "unknown"
    digest = found.archive_hash()
    return Reply(
        title=f"Lottery {args.lottery_id} summary: {status_name(found.status)}",
        fields=(
            RField(
                label="Event",
                value=f"{_text(found.event_slug)} / {_text(found.series_code)} run {found.run_id}",
            ),
            RField(
                label="Sales",
                value=f"{found.tickets_sold:,} tickets, proceeds {found.proceeds_accum:,}",
            ),
            RField(
                label="Paid",
                value=f"prize {found.total_prize_paid:,}, operations {found.total_operations_paid:,} "
                f"of {found.total_allocated:,} allocated",
            ),
            RField(label="VRF / payout round", value=f"{vrf} / {found.payout_round}"),
            RField(label="Type / tags", value=f"{kind} / {found.tags_mask:#x}"),
            RField(
                label="Created / closed / finalized",
                value=f"{found.created_at} / {found.closed_at} / {found.finalized_at}",
            ),
            RField(label="Archive hash", value=f"0x{digest.hex()}"),
        ),
        data={**found.to_json(), "archive_hash": f"0x{digest.hex()}"},
    )


class ListArgs(BaseModel):
    start: U64 = 0
    limit: U64 = Field(default=10, le=1000)


@read(
    "/history",
    "list",
    summary="Archived lottery ids, newest first (finalized, archived-cancelled and imported)",
    runbook="Dual-write 4 (history::list_finalized)",
    args=ListArgs,
    reads=("history::list_finalized",),
)
def list_(ctx: StepContext, args: ListArgs) -> Reply:
    [ids] = ctx.chain.read("history::list_finalized", [u64(args.start), u64(args.limit)])
    numbers = [int(i) for i in ids]
    return Reply(
        title="Archived lotteries",
        text=", ".join(str(i) for i in numbers) or "none",
        data={"ids": numbers},
    )


@read(
    "/history",
    "status",
    summary="Whether a summary is a legacy import, and its history_bridge mirror copy",
    runbook="Dual-write 3-4 (history::is_legacy_summary, history_bridge::get_summary)",
    args=IdArgs,
    reads=("history::is_legacy_summary", "history_bridge::get_summary"),
)
def status(ctx: StepContext, args: IdArgs) -> Reply:
    legacy = _is_legacy(ctx, args.lottery_id)
    [mirror] = ctx.chain.read("history_bridge::get_summary", [u64(args.lottery_id)])
    items = mirror.get("vec", []) if isinstance(mirror, dict) else []
    fields = [
        RField(
            label="Legacy import",
            value="yes" if legacy else "no (written by the contract, or no summary)",
        )
    ]
    data: dict[str, object] = {"is_legacy": legacy, "mirror": None}
    if items:
        copy = items[0]
        size = (len(str(copy["summary_bcs"])) - 2) // 2
        fields += [
            RField(label="Mirror copy", value=f"{size} bytes of BCS"),
            RField(label="Mirror archive hash", value=str(copy["archive_hash"])),
            RField(label="Mirror finalized at", value=str(copy["finalized_at"])),
        ]
        data["mirror"] = dict(copy)
    else:
        fields.append(RField(label="Mirror copy", value="none in history_bridge"))
    return Reply(
        title=f"Lottery {args.lottery_id}: history status", fields=tuple(fields), data=data
    )


class ImportArgs(BaseModel):
    lottery_id: U64
    summary_bcs: HexBytes
    expected_hash: Hash32


def _decode_checks(args: ImportArgs) -> tuple[list[Check], bytes]:
    """The contract's own import checks, in its order: strict decode (0x1B0B), id (0x1B08), hash (0x1B07)."""
    computed = archive_hash(args.summary_bcs)
    try:
        decoded: LotterySummary | None = LotterySummary.from_bcs(args.summary_bcs)
        decode = Check(
            name="summary decodes as LotterySummary",
            ok=True,
            seen=f"{len(args.summary_bcs)} bytes, 21 fields",
        )
    except SummaryDecodeError as exc:
        decoded = None
        decode = Check(
            name="summary decodes as LotterySummary",
            ok=False,
            seen=str(exc),
            required="strict BCS of the 21 fields, no trailing bytes (0x1B0B otherwise)",
        )
    id_check = Check(
        name="summary id = lottery-id",
        ok=decoded is not None and decoded.id == args.lottery_id,
        seen=str(decoded.id) if decoded is not None else "not decoded",
        required=f"{args.lottery_id} (0x1B08 otherwise)",
    )
    hash_check = Check(
        name="sha3_256(summary) = given hash",
        ok=computed == args.expected_hash,
        seen=f"0x{computed.hex()}",
        required=f"0x{args.expected_hash.hex()} (0x1B07 otherwise)",
    )
    return [decode, id_check, hash_check], computed


def _render_import(ctx: StepContext, args: ImportArgs, outcomes: list[Outcome]) -> Reply:
    last = outcomes[-1]
    fields = [RField(label="Tx", value=last.tx_hash)]
    for suffix in (
        "::LegacySummaryImportedEvent",
        "::LotteryFinalizedEvent",
        "::LegacySummaryEvent",
        "::ArchiveDualWriteCompletedEvent",
    ):
        fields.append(
            RField(
                label=suffix.removeprefix("::"),
                value="emitted" if last.event(suffix) is not None else "none",
            )
        )
    return Reply(
        title=f"Lottery {args.lottery_id}: legacy summary imported",
        text=f"Archive hash 0x{args.expected_hash.hex()}. /history status {args.lottery_id} shows "
        "the legacy flag and the mirror copy.",
        tone=Tone.SUCCESS,
        fields=tuple(fields),
    )


@action(
    "/history",
    "import",
    summary="Import a legacy summary (BCS + sha3) into the archive; checked locally first",
    runbook="Dual-write 4 (history::import_legacy_summary_admin)",
    args=ImportArgs,
    reads=(
        "history::get_summary",
        "history::is_legacy_summary",
        "legacy_bridge::dual_write_status",
    ),
    calls=("history::import_legacy_summary_admin",),
    render=_render_import,
    help="Checks, in the contract's order: strict BCS decode, summary id, sha3_256 of the bytes, "
    "no summary written by the contract for this id (a legacy one is overwritten), and the "
    "dual-write expectation when abort_on_missing/abort_on_mismatch are on.",
)
def import_(ctx: StepContext, args: ImportArgs) -> Plan:
    """The import is checked locally first: the BCS is decoded as strictly as the contract does, hashed
    and compared with the dual-write expectation, so a refused import never reaches the chain.
    """
    checks, computed = _decode_checks(args)
    state, existing = archived_summary(ctx, args.lottery_id)
    if state == "no-archive":
        checks.append(
            Check(
                name="history archive initialised",
                ok=False,
                seen="no ArchiveLedger (0x1B01)",
                required="history::init_history done",
            )
        )
    elif existing is None:
        checks.append(
            Check(name="no summary written by the contract", ok=True, seen="no summary yet")
        )
    else:
        legacy = _is_legacy(ctx, args.lottery_id)
        checks.append(
            Check(
                name="no summary written by the contract",
                ok=legacy,
                seen="a legacy summary (it will be overwritten)"
                if legacy
                else f"a finalized/archived summary {short_hash(existing.archive_hash())}",
                required="none or a legacy one (0x1B09 otherwise)",
            )
        )
    checks.append(expectation_check(dual_write_status(ctx, args.lottery_id), computed))
    call = ChainCall(
        function="history::import_legacy_summary_admin",
        args=(
            u64(args.lottery_id),
            TypedArg.of("vector<u8>", args.summary_bcs),
            TypedArg.of("vector<u8>", args.expected_hash),
        ),
    )
    return Plan(
        summary=f"Import the legacy summary of lottery {args.lottery_id} "
        f"({len(args.summary_bcs)} bytes, hash {short_hash(computed)})",
        checks=checks,
        calls=[call],
    )


def _legacy_checks(ctx: StepContext, lottery_id: int) -> tuple[list[Check], LotterySummary | None]:
    state, found = archived_summary(ctx, lottery_id)
    checks = [summary_exists_check(state, found)]
    if found is not None:
        checks.append(_legacy_check(_is_legacy(ctx, lottery_id)))
    return checks, found


def _render_rollback(ctx: StepContext, args: IdArgs, outcomes: list[Outcome]) -> Reply:
    event = outcomes[-1].event("::LegacySummaryRolledBackEvent")
    return Reply(
        title=f"Lottery {args.lottery_id}: legacy summary rolled back",
        text="The archive entry is deleted; the history_bridge copy and any dual-write expectation "
        "are untouched.",
        tone=Tone.SUCCESS,
        fields=(
            RField(label="Tx", value=outcomes[-1].tx_hash),
            RField(
                label="LegacySummaryRolledBackEvent",
                value=str(event["archive_hash"]) if event is not None else "none",
            ),
        ),
    )


@action(
    "/history",
    "rollback",
    summary="Delete an imported (legacy) summary from the archive",
    runbook="Dual-write 4 (history::rollback_legacy_summary_admin)",
    args=IdArgs,
    reads=("history::get_summary", "history::is_legacy_summary"),
    calls=("history::rollback_legacy_summary_admin",),
    render=_render_rollback,
)
def rollback(ctx: StepContext, args: IdArgs) -> Plan:
    checks, found = _legacy_checks(ctx, args.lottery_id)
    call = ChainCall(
        function="history::rollback_legacy_summary_admin", args=(u64(args.lottery_id),)
    )
    what = f" {short_hash(found.archive_hash())}" if found is not None else ""
    return Plan(
        summary=f"Roll back lottery {args.lottery_id}'s legacy summary{what}",
        checks=checks,
        calls=[call],
    )


class ClassifyArgs(BaseModel):
    lottery_id: U64
    primary_type: U8
    tags_mask: U64


def _render_classify(ctx: StepContext, args: ClassifyArgs, outcomes: list[Outcome]) -> Reply:
    event = outcomes[-1].event("::LegacySummaryClassificationUpdatedEvent")
    return Reply(
        title=f"Lottery {args.lottery_id}: reclassified as {PRIMARY_TYPES[args.primary_type]} "
        f"/ {args.tags_mask:#x}",
        text="The archive hash changed and the summary was re-mirrored. Sync the badge frontend.",
        tone=Tone.SUCCESS,
        fields=(
            RField(label="Tx", value=outcomes[-1].tx_hash),
            RField(
                label="New archive hash",
                value=str(event["archive_hash"]) if event is not None else "no event",
            ),
        ),
    )


@action(
    "/history",
    "classify",
    summary="Change the primary type and tag mask of an imported summary",
    runbook="Dual-write 4 (history::update_legacy_classification_admin)",
    args=ClassifyArgs,
    reads=("history::get_summary", "history::is_legacy_summary"),
    calls=("history::update_legacy_classification_admin",),
    render=_render_classify,
    help="The contract does not validate the type or the mask (spec §4.10); the bot refuses a type "
    "outside 0-3 and tag bits outside 0x800000000000001F itself.",
)
def classify(ctx: StepContext, args: ClassifyArgs) -> Plan:
    checks, found = _legacy_checks(ctx, args.lottery_id)
    unknown_bits = args.tags_mask & ~KNOWN_TAGS_MASK
    checks += [
        Check(
            name="primary type known (bot check; the contract does not validate it)",
            ok=args.primary_type < len(PRIMARY_TYPES),
            seen=str(args.primary_type),
            required="0 basic, 1 partner, 2 jackpot or 3 vip",
        ),
        Check(
            name="tag bits known (bot check; the contract does not validate them)",
            ok=unknown_bits == 0,
            seen=f"unknown bits {unknown_bits:#x}" if unknown_bits else f"{args.tags_mask:#x}",
            required=f"only bits of {KNOWN_TAGS_MASK:#x}",
        ),
    ]
    was = f" (was {found.primary_type} / {found.tags_mask:#x})" if found is not None else ""
    call = ChainCall(
        function="history::update_legacy_classification_admin",
        args=(
            u64(args.lottery_id),
            TypedArg.of("u8", args.primary_type),
            u64(args.tags_mask),
        ),
    )
    return Plan(
        summary=f"Reclassify lottery {args.lottery_id}'s legacy summary as type "
        f"{args.primary_type}, tags {args.tags_mask:#x}{was}",
        checks=checks,
        calls=[call],
    )


@read(
    "/history",
    "check",
    summary="Admin 11: the summary is archived and dual-write passed (no expectation left)",
    runbook="Admin 11 (history::get_summary, legacy_bridge::dual_write_status)",
    args=IdArgs,
    reads=("history::get_summary", "legacy_bridge::dual_write_status"),
)
def check(ctx: StepContext, args: IdArgs) -> Reply:
    state, found = archived_summary(ctx, args.lottery_id)
    exists = summary_exists_check(state, found)
    dw = dual_write_status(ctx, args.lottery_id)
    if dw.expected is None:
        passed = Check(
            name="dual-write passed",
            ok=True,
            seen="no expectation pending" if dw.enabled else "dual-write disabled",
        )
    elif found is None:
        passed = Check(
            name="dual-write passed",
            ok=False,
            seen=f"expectation {short_hash(dw.expected)} pending, no summary written yet",
            required="a summary write that consumes it",
        )
    elif found.archive_hash() == dw.expected:
        passed = Check(
            name="dual-write passed",
            ok=False,
            seen=f"expectation {short_hash(dw.expected)} matches but is still pending "
            "(set after the summary was written)",
            required="consumed: run /dualwrite mirror to complete it",
        )
    else:
        passed = Check(
            name="dual-write passed",
            ok=False,
            seen=f"MISMATCH: expected {short_hash(dw.expected)}, archived summary hashes to "
            f"{short_hash(found.archive_hash())}",
            required="equal hashes; check the legacy BCS (/history status), then /dualwrite clear "
            "or set and /dualwrite mirror",
        )
    checks = (exists, passed)
    if exists.ok and passed.ok:
        return Reply(
            title=f"Lottery {args.lottery_id}: archived, dual-write passed",
            tone=Tone.SUCCESS,
            checks=checks,
        )
    return Reply.error(f"Lottery {args.lottery_id}: archive check failed", checks=checks)
