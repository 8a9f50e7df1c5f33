"""``/dualwrite``: runbook "Dual-write migration" 1-3 (legacy_bridge flags, expected hashes, the
mirror)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.errors import ChainAbortError
from chatops.chain.summary import LotterySummary
from commands.args import U64, Hash32, OnOff
from commands.ports import Outcome, Plan, StepContext
from commands.reads import option, u64
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

__all__ = [
    "DualWrite",
    "archived_summary",
    "dual_write_check",
    "dual_write_flags",
    "dual_write_status",
    "expectation_check",
    "short_hash",
    "summary_exists_check",
]

E_ALREADY_INITIALIZED = 0x1201
E_HISTORY_MISSING = 0x1B01
E_TABLE_KEY_NOT_FOUND = 0x6507


def short_hash(value: bytes) -> str:
    """``0x3f74e9dc…3f5f``: enough of a 32-byte hash to compare by eye in a chat line."""
    text = value.hex()
    return f"0x{text}" if len(text) <= 16 else f"0x{text[:8]}…{text[-4:]}"


@dataclass(frozen=True)
class DualWrite:
    """``legacy_bridge::DualWriteStatus``; all false/none is also what the chain answers without a control."""

    enabled: bool
    abort_on_mismatch: bool
    abort_on_missing: bool
    expected: bytes | None = None

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> DualWrite:
        found = option(view.get("expected_hash"))
        expected = bytes.fromhex(str(found)[2:]) if found is not None else None
        return cls(
            bool(view["enabled"]),
            bool(view["abort_on_mismatch"]),
            bool(view["abort_on_missing"]),
            expected,
        )

    @property
    def any_flag(self) -> bool:
        return self.enabled or self.abort_on_mismatch or self.abort_on_missing

    def describe(self) -> str:
        def word(on: bool) -> str:
            return "on" if on else "off"

        return (
            f"enabled {word(self.enabled)}, abort_on_mismatch {word(self.abort_on_mismatch)}, "
            f"abort_on_missing {word(self.abort_on_missing)}"
        )


def dual_write_status(ctx: StepContext, lottery_id: int) -> DualWrite:
    [view] = ctx.chain.read("legacy_bridge::dual_write_status", [u64(lottery_id)])
    return DualWrite.from_view(view)


def dual_write_check(ctx: StepContext, lottery_id: int) -> Check:
    """Spec fact 13: finalize and archive abort 0x1B05 while abort_on_missing is on without an expected hash.

    Every summary write runs the dual-write check (spec fact 13), so the steps here predict it from
    the archived summary's hash before sending; the mirror and its switches are silent no-ops when
    idle.
    """
    dw = dual_write_status(ctx, lottery_id)
    blocked = dw.enabled and dw.abort_on_missing and dw.expected is None
    return Check(
        name="dual-write expectation set (abort_on_missing)",
        ok=not blocked,
        seen="missing" if blocked else ("set" if dw.expected is not None else "not required"),
        required="an expected hash (/dualwrite set) while abort_on_missing is on",
    )


def dual_write_flags(ctx: StepContext) -> DualWrite:
    [view] = ctx.chain.read("legacy_bridge::dual_write_flags")
    return DualWrite.from_view(view)


def _mirror_enabled(ctx: StepContext) -> bool:
    [on] = ctx.chain.read("legacy_bridge::is_mirror_enabled")
    return bool(on)


def _control_published(ctx: StepContext) -> tuple[bool, str]:
    """Whether ``DualWriteControl`` exists, and what was seen.

    ``dual_write_flags`` answers all-false both without a control and for a control switched fully
    off, so that case is settled by simulating ``init_dual_write`` (0x1201 = already published).
    """
    flags = dual_write_flags(ctx)
    if flags.any_flag:
        return True, f"published ({flags.describe()})"
    try:
        ctx.chain.simulate(
            ChainCall(
                function="legacy_bridge::init_dual_write",
                args=(TypedArg.of("bool", False), TypedArg.of("bool", False)),
            )
        )
    except ChainAbortError as exc:
        if exc.code == E_ALREADY_INITIALIZED:
            return True, "published, every flag off"
        raise
    return False, "not published"


def _control_check(ctx: StepContext) -> Check:
    published, seen = _control_published(ctx)
    return Check(
        name="dual-write control published",
        ok=published,
        seen=seen,
        required="published (/dualwrite init first; the call aborts 0x1B06 otherwise)",
    )


def archived_summary(ctx: StepContext, lottery_id: int) -> tuple[str, LotterySummary | None]:
    """``history::get_summary`` as (state, summary): state is present, absent or no-archive.

    The read aborts 0x6507 (table key not found) without a summary and 0x1B01 without the archive.
    """
    try:
        [view] = ctx.chain.read("history::get_summary", [u64(lottery_id)])
    except ChainAbortError as exc:
        if exc.code == E_TABLE_KEY_NOT_FOUND:
            return "absent", None
        if exc.code == E_HISTORY_MISSING:
            return "no-archive", None
        raise
    return "present", LotterySummary.from_json(view)


_SUMMARY_SEEN = {
    "absent": "none (not finalized, archived or imported yet)",
    "no-archive": "the history archive is not initialised (0x1B01)",
}


def summary_exists_check(state: str, summary: LotterySummary | None) -> Check:
    seen = (
        f"archive hash {short_hash(summary.archive_hash())}"
        if summary is not None
        else _SUMMARY_SEEN.get(state, state)
    )
    return Check(
        name="archived summary exists",
        ok=summary is not None,
        seen=seen,
        required="a summary in history (history::get_summary)",
    )


def expectation_check(dw: DualWrite, written_hash: bytes) -> Check:
    """Predict ``legacy_bridge::notify_summary_written`` for a write whose archive hash is ``written_hash``.

    Missing expectation with abort_on_missing aborts 0x1B05; a different one with abort_on_mismatch
    aborts 0x1B02; without those flags the write passes (and a differing expectation stays pending).
    """
    name = "dual-write expectation"
    if not dw.enabled:
        return Check(name=name, ok=True, seen="dual-write disabled, nothing is compared")
    if dw.expected is None:
        if dw.abort_on_missing:
            return Check(
                name=name,
                ok=False,
                seen="no expected hash set",
                required=f"an expected hash {short_hash(written_hash)} (abort_on_missing is on, "
                "the write would abort 0x1B05): /dualwrite set first",
            )
        return Check(name=name, ok=True, seen="none set; abort_on_missing off, not compared")
    if dw.expected == written_hash:
        return Check(
            name=name, ok=True, seen=f"matches {short_hash(written_hash)}; the write completes it"
        )
    if dw.abort_on_mismatch:
        return Check(
            name=name,
            ok=False,
            seen=f"expected {short_hash(dw.expected)}, the summary hashes to {short_hash(written_hash)}",
            required="equal hashes (abort_on_mismatch is on, the write would abort 0x1B02)",
        )
    return Check(
        name=name,
        ok=True,
        seen=f"differs ({short_hash(dw.expected)} vs {short_hash(written_hash)}); abort_on_mismatch "
        "off: the write passes and the expectation stays pending",
    )


def _event_field(outcome: Outcome, suffix: str) -> RField:
    seen = outcome.event(suffix)
    return RField(label=suffix.removeprefix("::"), value="emitted" if seen is not None else "none")


def _done(title: str, text: str, outcomes: list[Outcome], *events: str) -> Reply:
    fields = [RField(label="Tx", value=outcomes[-1].tx_hash)]
    fields += [_event_field(outcomes[-1], e) for e in events]
    return Reply(title=title, text=text, tone=Tone.SUCCESS, fields=tuple(fields))


class InitArgs(BaseModel):
    abort_on_mismatch: OnOff
    abort_on_missing: OnOff


def _render_init(ctx: StepContext, args: InitArgs, outcomes: list[Outcome]) -> Reply:
    return _done(
        "Dual-write initialised (enabled)",
        "init_dual_write emits no event (the runbook's ArchiveDualWriteStarted comes only from "
        "/dualwrite set). Next: /dualwrite enable-mirror, then /dualwrite set per lottery.",
        outcomes,
    )


@action(
    "/dualwrite",
    "init",
    summary="Publish the dual-write control, enabled, with the two abort flags",
    runbook="Dual-write 1 (legacy_bridge::init_dual_write)",
    args=InitArgs,
    reads=("legacy_bridge::dual_write_flags",),
    calls=("legacy_bridge::init_dual_write",),
    render=_render_init,
    help="Refused when a control already exists (it aborts 0x1201 then): use update-flags. "
    "An all-off control reads like no control, so the bot settles that case by simulation.",
)
def init(ctx: StepContext, args: InitArgs) -> Plan:
    published, seen = _control_published(ctx)
    checks = [
        Check(
            name="dual-write not yet initialised",
            ok=not published,
            seen=seen,
            required="not published (use /dualwrite update-flags to change flags)",
        )
    ]
    call = ChainCall(
        function="legacy_bridge::init_dual_write",
        args=(
            TypedArg.of("bool", args.abort_on_mismatch),
            TypedArg.of("bool", args.abort_on_missing),
        ),
    )
    flags = DualWrite(True, args.abort_on_mismatch, args.abort_on_missing)
    return Plan(summary=f"Initialise dual-write: {flags.describe()}", checks=checks, calls=[call])


@read(
    "/dualwrite",
    "flags",
    summary="The global dual-write switches and whether the legacy mirror is on",
    runbook="Dual-write 2 (legacy_bridge::dual_write_flags, is_mirror_enabled)",
    reads=("legacy_bridge::dual_write_flags", "legacy_bridge::is_mirror_enabled"),
)
def flags(ctx: StepContext, args: BaseModel) -> Reply:
    dw = dual_write_flags(ctx)
    mirror = _mirror_enabled(ctx)

    def word(on: bool) -> str:
        return "on" if on else "off"

    text = "" if dw.any_flag else "All off: no control is published, or it was switched fully off."
    return Reply(
        title=f"Dual-write {'enabled' if dw.enabled else 'disabled'}, mirror {word(mirror)}",
        text=text,
        fields=(
            RField(label="Enabled", value=word(dw.enabled)),
            RField(label="Abort on mismatch", value=word(dw.abort_on_mismatch)),
            RField(label="Abort on missing", value=word(dw.abort_on_missing)),
            RField(label="Legacy mirror", value=word(mirror)),
        ),
        data={
            "enabled": dw.enabled,
            "abort_on_mismatch": dw.abort_on_mismatch,
            "abort_on_missing": dw.abort_on_missing,
            "mirror_enabled": mirror,
        },
    )


class FlagsArgs(BaseModel):
    enabled: OnOff
    abort_on_mismatch: OnOff
    abort_on_missing: OnOff


@action(
    "/dualwrite",
    "update-flags",
    summary="Set enabled, abort_on_mismatch and abort_on_missing of the dual-write control",
    runbook="Dual-write 1 (legacy_bridge::update_flags)",
    args=FlagsArgs,
    reads=("legacy_bridge::dual_write_flags",),
    calls=("legacy_bridge::update_flags",),
)
def update_flags(ctx: StepContext, args: FlagsArgs) -> Plan:
    new = DualWrite(args.enabled, args.abort_on_mismatch, args.abort_on_missing)
    call = ChainCall(
        function="legacy_bridge::update_flags",
        args=tuple(
            TypedArg.of("bool", v)
            for v in (new.enabled, new.abort_on_mismatch, new.abort_on_missing)
        ),
    )
    return Plan(
        summary=f"Dual-write flags -> {new.describe()}", checks=[_control_check(ctx)], calls=[call]
    )


def _mirror_plan(ctx: StepContext, enable: bool) -> Plan:
    current = _mirror_enabled(ctx)
    word = "on" if enable else "off"
    checks = [
        Check(
            name="mirror state changes",
            ok=current != enable,
            seen="on" if current else "off",
            required=f"{'off' if enable else 'on'} (the call is a silent no-op otherwise)",
        )
    ]
    function = (
        "legacy_bridge::enable_legacy_mirror" if enable else "legacy_bridge::disable_legacy_mirror"
    )
    summary = f"Legacy mirror {word}"
    if enable:
        [bridge] = ctx.chain.read("history_bridge::is_initialized")
        if not bridge:
            summary += " (history_bridge is not initialised: nothing will be copied until it is)"
    return Plan(summary=summary, checks=checks, calls=[ChainCall(function=function)])


@action(
    "/dualwrite",
    "enable-mirror",
    summary="Turn the legacy mirror on (summaries are copied to history_bridge)",
    runbook="Dual-write 1 (legacy_bridge::enable_legacy_mirror)",
    reads=("legacy_bridge::is_mirror_enabled", "history_bridge::is_initialized"),
    calls=("legacy_bridge::enable_legacy_mirror",),
)
def enable_mirror(ctx: StepContext, args: BaseModel) -> Plan:
    return _mirror_plan(ctx, enable=True)


@action(
    "/dualwrite",
    "disable-mirror",
    summary="Turn the legacy mirror off (before maintenance)",
    runbook="Dual-write 2 (legacy_bridge::disable_legacy_mirror)",
    reads=("legacy_bridge::is_mirror_enabled",),
    calls=("legacy_bridge::disable_legacy_mirror",),
)
def disable_mirror(ctx: StepContext, args: BaseModel) -> Plan:
    return _mirror_plan(ctx, enable=False)


class SetArgs(BaseModel):
    lottery_id: U64
    expected_hash: Hash32


@action(
    "/dualwrite",
    "set",
    summary="Set (or replace) a lottery's expected archive hash",
    runbook="Dual-write 2 (legacy_bridge::set_expected_hash)",
    args=SetArgs,
    reads=("legacy_bridge::dual_write_flags", "legacy_bridge::dual_write_status"),
    calls=("legacy_bridge::set_expected_hash",),
)
def set_(ctx: StepContext, args: SetArgs) -> Plan:
    checks = [_control_check(ctx)]
    previous = dual_write_status(ctx, args.lottery_id).expected if checks[0].ok else None
    call = ChainCall(
        function="legacy_bridge::set_expected_hash",
        args=(u64(args.lottery_id), TypedArg.of("vector<u8>", args.expected_hash)),
    )
    replaces = f", replacing {short_hash(previous)}" if previous is not None else ""
    return Plan(
        summary=f"Expect lottery {args.lottery_id}'s summary to hash to "
        f"0x{args.expected_hash.hex()}{replaces} (emits ArchiveDualWriteStartedEvent)",
        checks=checks,
        calls=[call],
    )


class IdArgs(BaseModel):
    lottery_id: U64


@action(
    "/dualwrite",
    "clear",
    summary="Remove a lottery's pending expected hash (after a tolerated mismatch)",
    runbook="Dual-write 2-3 (legacy_bridge::clear_expected_hash)",
    args=IdArgs,
    reads=("legacy_bridge::dual_write_status",),
    calls=("legacy_bridge::clear_expected_hash",),
)
def clear(ctx: StepContext, args: IdArgs) -> Plan:
    dw = dual_write_status(ctx, args.lottery_id)
    checks = [
        Check(
            name="expected hash pending",
            ok=dw.expected is not None,
            seen=short_hash(dw.expected) if dw.expected is not None else "none",
            required="an expectation to clear (the call is a silent no-op otherwise)",
        )
    ]
    call = ChainCall(function="legacy_bridge::clear_expected_hash", args=(u64(args.lottery_id),))
    return Plan(
        summary=f"Clear lottery {args.lottery_id}'s expected hash", checks=checks, calls=[call]
    )


@read(
    "/dualwrite",
    "status",
    summary="A lottery's dual-write state: flags and any pending expected hash",
    runbook="Dual-write 2-3 (legacy_bridge::dual_write_status)",
    args=IdArgs,
    reads=("legacy_bridge::dual_write_status",),
)
def status(ctx: StepContext, args: IdArgs) -> Reply:
    dw = dual_write_status(ctx, args.lottery_id)
    expected = f"0x{dw.expected.hex()}" if dw.expected is not None else "none"
    text = (
        "An expectation is pending: the next summary write for this lottery is compared with it."
        if dw.expected is not None
        else "No expectation pending (never set, or consumed by a matching write)."
    )
    return Reply(
        title=f"Lottery {args.lottery_id}: dual-write {'enabled' if dw.enabled else 'disabled'}",
        text=text,
        fields=(
            RField(label="Flags", value=dw.describe()),
            RField(label="Expected hash", value=expected),
        ),
        data={
            "enabled": dw.enabled,
            "abort_on_mismatch": dw.abort_on_mismatch,
            "abort_on_missing": dw.abort_on_missing,
            "expected_hash": expected if dw.expected is not None else None,
        },
    )


@read(
    "/dualwrite",
    "pending",
    summary="Lotteries with an expected hash still pending",
    runbook="Dual-write 2 (legacy_bridge::pending_expected_hashes)",
    reads=("legacy_bridge::pending_expected_hashes",),
)
def pending(ctx: StepContext, args: BaseModel) -> Reply:
    [ids] = ctx.chain.read("legacy_bridge::pending_expected_hashes")
    numbers = [int(i) for i in ids]
    return Reply(
        title=f"{len(numbers)} expected hash(es) pending",
        text=", ".join(str(i) for i in numbers) or "none",
        data={"ids": numbers},
    )


def _render_mirror(ctx: StepContext, args: IdArgs, outcomes: list[Outcome]) -> Reply:
    return _done(
        f"Lottery {args.lottery_id}: summary mirrored",
        "history_bridge::get_summary now holds the BCS copy (/history status shows it).",
        outcomes,
        "::LegacySummaryEvent",
        "::ArchiveDualWriteCompletedEvent",
    )


@action(
    "/dualwrite",
    "mirror",
    summary="Copy an archived summary to history_bridge again (re-runs the dual-write check)",
    runbook="Dual-write 3 (history::mirror_summary_admin)",
    args=IdArgs,
    reads=(
        "history::get_summary",
        "legacy_bridge::is_mirror_enabled",
        "history_bridge::is_initialized",
        "legacy_bridge::dual_write_status",
    ),
    calls=("history::mirror_summary_admin",),
    render=_render_mirror,
    help="history::mirror_summary_admin, not legacy_bridge:: as refund.md says (spec §13 #16). "
    "The expected hash is compared with sha3_256(bcs(LotterySummary)) computed from the archive.",
)
def mirror(ctx: StepContext, args: IdArgs) -> Plan:
    state, summary = archived_summary(ctx, args.lottery_id)
    mirror_on = _mirror_enabled(ctx)
    [bridge] = ctx.chain.read("history_bridge::is_initialized")
    checks = [
        summary_exists_check(state, summary),
        Check(
            name="legacy mirror enabled",
            ok=mirror_on,
            seen="on" if mirror_on else "off",
            required="on (mirror_summary_admin is a silent no-op otherwise): /dualwrite enable-mirror",
        ),
        Check(
            name="history_bridge initialised",
            ok=bool(bridge),
            seen="yes" if bridge else "no",
            required="yes (nothing is copied otherwise)",
        ),
    ]
    if summary is not None:
        checks.append(
            expectation_check(dual_write_status(ctx, args.lottery_id), summary.archive_hash())
        )
    call = ChainCall(function="history::mirror_summary_admin", args=(u64(args.lottery_id),))
    return Plan(
        summary=f"Mirror lottery {args.lottery_id}'s archived summary to history_bridge",
        checks=checks,
        calls=[call],
    )
