"""Property tests of the parser: whatever people type, resolving yields a valid step or a UsageError."""

# Deterministic (``derandomize``, no example database) and at most 200 examples per property, so CI
# is stable; a failure prints the minimal line to add as a regular test.

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from approvals.policy import demo_policy
from chatops.chain.calls import ChainCall, TypedArg
from chatops.runner import Runner
from commands.args import U64_MAX, Address, Amount, Duration, OnOff
from commands.errors import UsageError
from commands.invocation import Invocation
from commands.ports import Events, Outcome
from commands.registry import Step, build_registry

PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class NoChain:
    """A ChainPort that fails the test if parsing ever touches the chain."""

    def read(self, function: str, args: Sequence[TypedArg] = ()) -> list[Any]:
        raise AssertionError("resolve must not read the chain")

    def simulate(self, call: ChainCall) -> Events:
        raise AssertionError("resolve must not simulate")

    def submit(self, call: ChainCall) -> Outcome:
        raise AssertionError("resolve must not submit")

    def chain_id(self) -> int:
        raise AssertionError("resolve must not ask the chain id")

    def block_height(self) -> int:
        raise AssertionError("resolve must not ask the block height")

    def now_s(self) -> int:
        raise AssertionError("resolve must not ask the time")

    def package_address(self) -> str:
        raise AssertionError("resolve must not ask the package address")


REGISTRY = build_registry()
RUNNER = Runner(REGISTRY, demo_policy(), NoChain())
COMMANDS = REGISTRY.commands
NAMES = sorted({s.name for s in REGISTRY})
FIELDS = sorted(
    {n for s in REGISTRY for n in s.args.model_fields}
    | {n.replace("_", "-") for s in REGISTRY for n in s.args.model_fields}
)

command_words = st.one_of(
    st.sampled_from(COMMANDS),
    st.sampled_from(COMMANDS).map(str.upper),
    st.text(max_size=12).map(lambda t: "/" + t),
    st.text(max_size=12),
)
sub_words = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(NAMES).map(str.upper),
    st.text(max_size=12),
)
tokens = st.one_of(
    st.text(max_size=24),
    st.integers(min_value=-(10**3), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=U64_MAX).map(lambda n: f"{n:,}"),
    st.from_regex(r"0[xX][0-9a-fA-F]{0,70}", fullmatch=True),
    st.sampled_from(["on", "off", "yes", "15m", "2h", "1d", "vrf", "active", "finalized", "0x"]),
    st.text(max_size=16).map(lambda t: f'"{t}"'),
    st.text(max_size=16).map(lambda t: f"'{t}'"),
    st.text(max_size=16).map(lambda t: f"\u201c{t}\u201d"),
    st.sampled_from(['"', "'", "\\", "\u2018", "\u201c", "="]),
    st.tuples(st.sampled_from(FIELDS), st.text(max_size=12)).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.integers(min_value=100, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=100, max_value=6000).map(lambda n: "0x" + "ab" * n),
    st.integers(min_value=100, max_value=6000).map(lambda n: "\u00e9\u4e2d" * n),
)
# Words that fit common argument types, so many examples get past parsing to the validated model.
plausible = st.sampled_from(
    [
        "1",
        "5",
        "42",
        "1,000",
        "0xa11",
        "0x" + "ab" * 32,
        "on",
        "off",
        "15m",
        "vrf",
        "active",
        "2",
        "0",
    ]
)
arg_lists = st.one_of(st.lists(tokens, max_size=7), st.lists(plausible, max_size=6))
CANDIDATES = (
    "1",
    "5",
    "0",
    "1,000",
    "0xa11",
    "0x" + "ab" * 32,
    "0x00",
    "on",
    "off",
    "15m",
    "vrf",
    "active",
    "a reason",
    "1 2",
)


def _fits(step: Step, name: str, word: str) -> bool:
    """Whether ``word`` validates for field ``name`` (errors of the other fields are ignored)."""
    try:
        step.args.model_validate({name: word})
    except ValidationError as exc:
        return all(e["loc"][:1] != (name,) for e in exc.errors())
    return True


def _good_words(step: Step) -> list[list[str]]:
    return [
        [w for w in CANDIDATES if _fits(step, name, w)] or ["1"] for name in step.args.model_fields
    ]


GOOD_WORDS = {step.path: _good_words(step) for step in REGISTRY}
PAIRS = [(s.command, s.name) for s in REGISTRY]
separators = st.sampled_from([" ", "  ", "\t", "\n", " \u00a0"])


def _resolve(inv: Invocation) -> tuple[Step, Any] | UsageError:
    """The runner's answer, with a UsageError returned as a value; any other exception escapes."""
    try:
        return RUNNER.resolve(inv)
    except UsageError as exc:
        return exc


def _assert_resolves_or_usage(inv: Invocation) -> None:
    result = _resolve(inv)
    if isinstance(result, UsageError):
        event("usage error")
        assert str(result).strip(), "a UsageError must say what is wrong"
        return
    event("resolved")
    step, parsed = result
    assert step.command == inv.command
    assert isinstance(parsed, step.args)
    assert step.args.model_validate(parsed.model_dump()) == parsed


@PROPERTY
@given(
    pair=st.one_of(st.sampled_from(PAIRS), st.tuples(command_words, sub_words)),
    args=arg_lists,
    sep=separators,
)
def test_resolve_yields_a_valid_step_or_a_usage_error(
    pair: tuple[str, str], args: list[str], sep: str
) -> None:
    """Any command word, subcommand and arguments: valid (step, args) or a UsageError with a message."""
    command, sub = pair
    inv = Invocation(user="alice", command=command, text=sep.join([sub, *args]))
    _assert_resolves_or_usage(inv)


@PROPERTY
@given(data=st.data())
def test_every_step_parses_or_explains_its_arguments(data: st.DataObject) -> None:
    """Random arguments to every real step: a valid args model, or a UsageError that shows this
    step's usage line when it carries one (an unclosed quote fails in the tokenizer, before the step)."""
    step = data.draw(st.sampled_from(list(REGISTRY)), label="step")
    fitting = st.tuples(*(st.sampled_from(words) for words in GOOD_WORDS[step.path])).map(list)
    args = data.draw(st.one_of(arg_lists, fitting, fitting.map(lambda a: a[:-1])), label="args")
    result = _resolve(
        Invocation(user="alice", command=step.command, text=" ".join([step.name, *args]))
    )
    if isinstance(result, UsageError):
        event("usage error")
        assert str(result).strip()
        assert result.usage in (None, step.usage)
        return
    event("resolved")
    found, parsed = result
    assert found is step
    assert step.args.model_validate(parsed.model_dump()) == parsed


def _parse_line(line: str) -> Invocation | UsageError:
    try:
        return Invocation.parse_line(line, user="alice")
    except UsageError as exc:
        return exc


@PROPERTY
@given(line=st.one_of(st.text(max_size=60), st.text(max_size=60).map(lambda t: "/" + t)))
def test_parse_line_accepts_a_slash_command_or_raises_usage_error(line: str) -> None:
    """A typed line becomes an Invocation (then resolves) or a UsageError; nothing else escapes."""
    inv = _parse_line(line)
    if isinstance(inv, UsageError):
        assert str(inv).strip()
        return
    assert inv.command.startswith("/")
    _assert_resolves_or_usage(inv)


AMOUNT: TypeAdapter[int] = TypeAdapter(Amount)
ADDRESS: TypeAdapter[str] = TypeAdapter(Address)
DURATION: TypeAdapter[int] = TypeAdapter(Duration)
ON_OFF: TypeAdapter[bool] = TypeAdapter(OnOff)


def _grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@PROPERTY
@given(
    n=st.integers(min_value=0, max_value=U64_MAX),
    sep=st.sampled_from([",", "_", "'", "\u00a0", " ", ""]),
    pad=st.sampled_from(["", " ", "\t"]),
)
def test_amount_with_separators_round_trips(n: int, sep: str, pad: str) -> None:
    """1,000 / 1_000 / 1'000 / 1 000 all read as the same whole number."""
    assert AMOUNT.validate_python(pad + _grouped(n, sep) + pad) == n


@PROPERTY
@given(n=st.integers(min_value=U64_MAX + 1, max_value=U64_MAX * 1000))
def test_amount_above_u64_is_refused(n: int) -> None:
    """Amounts beyond u64 are a validation error, never a silently wrapped number."""
    with pytest.raises(ValidationError):
        AMOUNT.validate_python(_grouped(n, "_"))


@PROPERTY
@given(text=st.text(max_size=40))
def test_amount_of_any_text_is_a_number_or_a_validation_error(text: str) -> None:
    """Arbitrary text never raises anything but ValidationError, and a result is a u64."""
    try:
        value = AMOUNT.validate_python(text)
    except ValidationError:
        return
    assert 0 <= value <= U64_MAX


@PROPERTY
@given(
    digits=st.from_regex(r"[0-9a-fA-F]{1,64}", fullmatch=True),
    prefix=st.sampled_from(["0x", "0X"]),
    pad=st.sampled_from(["", " "]),
)
def test_address_normalises_to_64_lowercase_digits(digits: str, prefix: str, pad: str) -> None:
    """Any 1-64 hex digits become 0x + 64 lowercase digits with the same value, idempotently."""
    out = ADDRESS.validate_python(pad + prefix + digits + pad)
    assert out == "0x" + digits.lower().rjust(64, "0")
    assert int(out, 16) == int(digits, 16)
    assert ADDRESS.validate_python(out) == out


@PROPERTY
@given(text=st.one_of(st.text(max_size=70), st.from_regex(r"0x[0-9a-f]{65,80}", fullmatch=True)))
def test_address_of_any_text_is_normal_or_refused(text: str) -> None:
    """Anything else is refused with a ValidationError; an accepted value is always normal."""
    try:
        out = ADDRESS.validate_python(text)
    except ValidationError:
        return
    assert len(out) == 66
    assert out.startswith("0x")


UNITS = {
    "": 1,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}


@PROPERTY
@given(
    n=st.integers(min_value=0, max_value=10**9),
    unit=st.sampled_from(sorted(UNITS)),
    space=st.sampled_from(["", " "]),
    upper=st.booleans(),
)
def test_duration_units_scale_to_seconds(n: int, unit: str, space: str, upper: bool) -> None:
    """90s, 15 m, 2H, 1day: the number times the unit's seconds; a bare number is seconds."""
    word = (unit.upper() if upper else unit) if unit else ""
    text = f"{n}{space if unit else ''}{word}"
    assert DURATION.validate_python(text) == n * UNITS[unit]


@PROPERTY
@given(text=st.text(max_size=20))
def test_on_off_is_a_bool_or_a_validation_error(text: str) -> None:
    """on/off words map to booleans; anything else is refused, never guessed."""
    try:
        value = ON_OFF.validate_python(text)
    except ValidationError:
        return
    word = text.strip().lower()
    assert value is (word in ("on", "true", "yes", "1", "enable", "enabled"))
