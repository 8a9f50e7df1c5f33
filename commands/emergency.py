"""``/refund state|stop|resume``: the runbook's ``emergency_stop`` (Emergency refund 1 and 4), which
does not exist on chain (spec fact 9): the nearest lever is the feature switch, purchases (feature 1)
and draws (feature 3) to mode 0 and back. Draw requests read the same switch here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from chatops.chain.calls import ChainCall, TypedArg
from chatops.chain.errors import ChainAbortError
from commands.args import Reason
from commands.ports import Outcome, Plan, StepContext
from commands.reads import u64
from commands.registry import action, read
from commands.reply import Check, Reply, Tone
from commands.reply import Field as RField

__all__ = ["draws_enabled_check", "feature_mode", "stop_state", "switch_initialized"]

FEATURE_PURCHASE = 1
FEATURE_DRAW = 3
FEATURES = {
    1: "purchases",
    2: "close (never consulted on chain)",
    3: "draws",
    4: "payouts (never consulted on chain)",
}
MODE_NAMES = {0: "disabled", 1: "enabled", 2: "premium only"}


def switch_initialized(ctx: StepContext) -> bool:
    [initialized] = ctx.chain.read("feature_switch::is_initialized")
    return bool(initialized)


def feature_mode(ctx: StepContext, feature_id: int) -> int | None:
    """0 disabled, 1 enabled for all, 2 premium only; None when the feature has no entry.

    Read through ``is_enabled`` for a regular and a premium caller (there is no mode view); it
    aborts 0x1401 for a feature without an entry, which purchases and draws also hit. With
    ``force_enable_devnet`` every feature reads as enabled, which is what the chain then does.
    """
    try:
        [for_all] = ctx.chain.read(
            "feature_switch::is_enabled", [u64(feature_id), TypedArg.of("bool", False)]
        )
        [for_premium] = ctx.chain.read(
            "feature_switch::is_enabled", [u64(feature_id), TypedArg.of("bool", True)]
        )
    except ChainAbortError as exc:
        if exc.code == 0x1401:
            return None
        raise
    if for_all:
        return 1
    return 2 if for_premium else 0


def _mode_name(mode: int | None) -> str:
    return "no entry (aborts 0x1401)" if mode is None else MODE_NAMES.get(mode, str(mode))


def draws_enabled_check(ctx: StepContext) -> Check:
    """``request_draw_admin`` aborts 0x1403/0x1401 unless feature 3 is enabled for a regular caller."""
    if not switch_initialized(ctx):
        return Check(name="draws enabled (feature 3)", ok=True, seen="switch not initialised")
    mode = feature_mode(ctx, FEATURE_DRAW)
    return Check(
        name="draws enabled (feature 3)",
        ok=mode == 1,
        seen=_mode_name(mode),
        required="enabled (lift an emergency stop with /refund resume)",
    )


def _is_running(mode: int | None) -> bool:
    """Premium-only (2) still sells or draws for some callers, so it is not stopped."""
    return mode in (1, 2)


def _stop_modes(ctx: StepContext) -> dict[int, int | None]:
    return {f: feature_mode(ctx, f) for f in (FEATURE_PURCHASE, FEATURE_DRAW)}


def _modes_text(modes: dict[int, int | None]) -> str:
    return ", ".join(f"{FEATURES[f]} {_mode_name(m)}" for f, m in modes.items())


def _initialized_check(ctx: StepContext) -> Check:
    initialized = switch_initialized(ctx)
    return Check(
        name="feature switch initialised",
        ok=initialized,
        seen="yes" if initialized else "no",
        required="feature_switch::init_feature_switch done (set_mode aborts 0x1202 otherwise)",
    )


def _set_mode(feature_id: int, mode: int) -> ChainCall:
    return ChainCall(
        function="feature_switch::set_mode",
        args=(u64(feature_id), TypedArg.of("u8", mode)),
    )


def _expect_mode(mode: int) -> Callable[[StepContext, Outcome], list[Any]]:
    """After each ``set_mode``: the feature reads back as ``mode`` (``force_enable_devnet`` would not)."""

    def after(ctx: StepContext, outcome: Outcome) -> list[Any]:
        feature = int(outcome.call.args[0].value)
        seen = feature_mode(ctx, feature)
        return [
            Check(
                name=f"{FEATURES[feature]} {MODE_NAMES[mode]} after set_mode",
                ok=seen == mode,
                seen=_mode_name(seen),
                required=MODE_NAMES[mode],
            )
        ]

    return after


class ReasonArgs(BaseModel):
    reason: Reason


@read(
    "/refund",
    "state",
    summary="Modes of the feature switch (purchases, close, draws, payouts): is the emergency stop on?",
    runbook="Emergency refund (emergency_stop = feature_switch, spec fact 9)",
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
)
def state(ctx: StepContext, args: BaseModel) -> Reply:
    if not switch_initialized(ctx):
        return Reply(
            title="Feature switch not initialised: purchases and draws are not gated",
            tone=Tone.WARNING,
        )
    modes = {f: feature_mode(ctx, f) for f in FEATURES}
    stopped = [f for f in (FEATURE_PURCHASE, FEATURE_DRAW) if not _is_running(modes[f])]
    if len(stopped) == 2:
        title, tone = "Emergency stop ON: purchases and draws stopped", Tone.WARNING
    elif stopped:
        title = f"Partly stopped: {FEATURES[stopped[0]]} disabled"
        tone = Tone.WARNING
    else:
        title, tone = "Running: purchases and draws enabled", Tone.INFO
    return Reply(
        title=title,
        tone=tone,
        fields=tuple(
            RField(label=f"{f} {FEATURES[f]}", value=_mode_name(m)) for f, m in modes.items()
        ),
        data={"modes": {str(f): m for f, m in modes.items()}},
    )


@action(
    "/refund",
    "stop",
    summary="Emergency stop: disable purchases and draws (feature_switch modes 1 and 3 to 0)",
    runbook="Emergency refund 1 (emergency_stop -> feature_switch::set_mode, spec fact 9)",
    args=ReasonArgs,
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
    calls=("feature_switch::set_mode",),
    break_glass=True,
)
def stop(ctx: StepContext, args: ReasonArgs) -> Plan:
    return _switch_plan(
        ctx,
        0,
        Check(
            name="purchases or draws enabled",
            ok=True,
            required="at least one enabled (otherwise the stop is already on)",
        ),
        f"Emergency stop: purchases and draws disabled. Reason: {args.reason}",
    )


def _switch_plan(ctx: StepContext, mode: int, wanted: Check, summary: str) -> Plan:
    """Purchases and draws to ``mode``, once at least one of them is not there yet (``wanted``
    names that check and says what it needs)."""
    checks = [_initialized_check(ctx)]
    if checks[0].ok:
        modes = _stop_modes(ctx)
        to_change = [f for f, m in modes.items() if _is_running(m) != bool(mode)]
        checks.append(wanted.model_copy(update={"ok": bool(to_change), "seen": _modes_text(modes)}))
    return Plan(
        summary=summary,
        checks=checks,
        calls=[_set_mode(FEATURE_PURCHASE, mode), _set_mode(FEATURE_DRAW, mode)],
        after=_expect_mode(mode),
    )


@action(
    "/refund",
    "resume",
    summary="Lift the emergency stop: purchases and draws enabled for everyone again (mode 1)",
    runbook="Emergency refund 4 (remove the flag)",
    args=ReasonArgs,
    reads=("feature_switch::is_initialized", "feature_switch::is_enabled"),
    calls=("feature_switch::set_mode",),
)
def resume(ctx: StepContext, args: ReasonArgs) -> Plan:
    return _switch_plan(
        ctx,
        1,
        Check(
            name="purchases or draws stopped",
            ok=True,
            required="at least one disabled (otherwise there is no stop to lift)",
        ),
        f"Lift the emergency stop: purchases and draws enabled. Reason: {args.reason}",
    )


def stop_state(ctx: StepContext) -> str:
    """Purchases and draws in one line (for the refund report)."""
    if not switch_initialized(ctx):
        return "not gated (feature switch not initialised)"
    return _modes_text(_stop_modes(ctx))
