"""The policy file (``CHATOPS_POLICY_FILE``): YAML read once, checked against the catalog, and split into
the approvals ``Policy`` and the notify ``Routing``. Every problem is found, one line each, before start.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from approvals.policy import BreakGlass, Policy, PolicyError, Role
from chatops.chain.signer import normalize_address
from chatops.notify.monitors import ALERT_NAMES
from chatops.notify.router import DEFAULT_RULES, short_name
from chatops.notify.routing_policy import RouteOverride, Routing
from commands.registry import Registry, Step

__all__ = [
    "CONSOLE_CHANNEL",
    "DirectMessages",
    "MultisigSection",
    "PolicyFile",
    "PolicyFileError",
    "load_policy_file",
    "parse_policy_file",
]

CONSOLE_CHANNEL = "console"  # the channel of every console invocation
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")
_NOTIFY_KEYS = ("routing", "incident_channel")
_MULTISIG_KEY = "multisig"
_DM_KEY = "direct_messages"
_WAIVER_KEY = "unprivileged"


class MultisigSection(BaseModel):
    """``multisig:``: the package account is an on-chain multisig account. Its presence switches
    the bot to multisig mode: every call of the account is a proposal that ``threshold`` owners
    approve on chain (the bot's yes, as proposer and executor, counts once), each person with
    their own key; ``addresses`` names each person's owner address. A proposal payload longer than
    ``hash_only_from_bytes`` is proposed by its hash only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(ge=1, le=32)
    addresses: dict[str, str]
    hash_only_from_bytes: int = Field(default=1024, ge=64, le=65_536)


class DirectMessages(BaseModel):
    """Which direct messages the Slack bot sends about requests (none unless the policy says so):
    ``approvers``, each eligible approver gets a new request's card; ``requester``, the requester
    hears when it is approved, denied, expired or has run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approvers: bool = False
    requester: bool = False


# Every key a policy file may hold, for "did you mean" on an unknown one.
_KNOWN_KEYS = sorted(
    {
        *Policy.model_fields,
        *BreakGlass.model_fields,
        *Routing.model_fields,
        *RouteOverride.model_fields,
        *MultisigSection.model_fields,
        *DirectMessages.model_fields,
        *_NOTIFY_KEYS,
        _MULTISIG_KEY,
        _DM_KEY,
    }
)

Where = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class PolicyFileError(PolicyError):
    """The policy file cannot be used; ``problems`` holds one line per problem (file:line: where: what)."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "".join(f"\n  {p}" for p in self.problems)
        super().__init__(f"invalid policy file {source} ({len(self.problems)} problem(s)):{lines}")


@dataclass(frozen=True)
class PolicyFile:
    """A checked policy file: the approvals rules, where notify posts events and incidents, and
    (multisig mode) the on-chain multisig account's threshold and owners' addresses."""

    policy: Policy
    routing: Routing = field(default_factory=Routing)
    incident_channel: str | None = None
    multisig: MultisigSection | None = None
    direct_messages: DirectMessages = field(default_factory=DirectMessages)


class _Loader(yaml.SafeLoader):
    """A SafeLoader that records every repeated mapping key (YAML would keep only the last one, so a
    user listed twice silently loses the roles of the first entry)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.paths: dict[int, Where] = {}
        self.repeated: list[tuple[Where, int, int]] = []  # (key's path, its line, first line)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                path = (*self.paths.get(id(node), ()), key_node.value)
                self.repeated.append((path, line, seen[key_node.value]))
            else:
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


def _walk(node: yaml.Node, path: Where, paths: dict[int, Where], lines: dict[Where, int]) -> None:
    """Record each node's path and the line where each key or item is written."""
    paths[id(node)] = path
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = (*path, key_node.value)
                lines.setdefault(child, key_node.start_mark.line + 1)
                _walk(value_node, child, paths, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, str(index))
            lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, paths, lines)


class _Problems:
    """Problems found so far, each tied to where it is in the file."""

    def __init__(self, source: str, lines: dict[Where, int]) -> None:
        self.source = source
        self.lines = lines
        self._found: list[tuple[int, str]] = []

    def add(self, path: Where, message: str, *, line: int | None = None) -> None:
        key = tuple(str(p) for p in path)
        while line is None and key:
            line, key = self.lines.get(key), key[:-1]
        where = ".".join(str(p) for p in path)
        prefix = f"{self.source}:{line}" if line else self.source
        self._found.append(
            (line or 0, f"{prefix}: {where}: {message}" if where else f"{prefix}: {message}")
        )

    def __bool__(self) -> bool:
        return bool(self._found)

    def error(self) -> PolicyFileError:
        ordered = sorted(self._found, key=lambda found: found[0])  # stable: same line keeps order
        return PolicyFileError(self.source, [text for _line, text in ordered])


def load_policy_file(path: Path, registry: Registry) -> PolicyFile:
    """Read and check ``path`` against ``registry``.

    Raises:
        PolicyFileError: unreadable, empty, bad YAML, or any problem found (all of them, one line each).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(str(path), [f"{path}: cannot read it: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise PolicyFileError(str(path), [f"{path}: not UTF-8 text"]) from None
    return parse_policy_file(text, registry, source=str(path))


def _compose(text: str, source: str) -> tuple[Any, _Problems]:
    loader = _Loader(text)
    lines: dict[Where, int] = {}
    try:
        node = loader.get_single_node()
        if node is not None:
            _walk(node, (), loader.paths, lines)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        what = exc.problem or exc.context or "unreadable"
        raise PolicyFileError(source, [f"{where}: not valid YAML: {what}"]) from None
    except yaml.YAMLError as exc:
        raise PolicyFileError(source, [f"{source}: not valid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    problems = _Problems(source, lines)
    for path, line, first in loader.repeated:
        problems.add(
            path,
            f"repeated (first on line {first}); YAML keeps only the last, so remove or merge one",
            line=line,
        )
    return data, problems


def parse_policy_file(text: str, registry: Registry, *, source: str = "policy") -> PolicyFile:
    """Check the YAML ``text`` of a policy file against ``registry`` and build what it describes.

    Raises:
        PolicyFileError: every problem found, one line each.
    """
    data, problems = _compose(text, source)
    if data is None:
        problems.add(
            (), "the file is empty; a policy names at least its users (examples/policy.yml)"
        )
        raise problems.error()
    if not isinstance(data, dict):
        problems.add((), "the file must be a mapping of keys (users:, groups:, privileged:, ...)")
        raise problems.error()
    data = _blank_is_missing(data)
    rules = {
        k: v
        for k, v in data.items()
        if k not in (*_NOTIFY_KEYS, _WAIVER_KEY, _MULTISIG_KEY, _DM_KEY)
    }
    policy = _validated(Policy, rules, (), problems)
    routing = _validated(Routing, data.get("routing") or {}, ("routing",), problems)
    direct = _validated(DirectMessages, data.get(_DM_KEY) or {}, (_DM_KEY,), problems)
    multisig = None
    if data.get(_MULTISIG_KEY) is not None:  # an empty section is a missing one: off-chain mode
        multisig = _multisig(data, policy, problems)
    incident_channel = data.get("incident_channel")
    if incident_channel is not None and not isinstance(incident_channel, str):
        problems.add(("incident_channel",), "must be a Slack channel id")
        incident_channel = None
    _check_people(data, problems)
    _check_channels(data, problems)
    _check_steps(data, registry, problems)
    _check_routes(data, problems)
    if (
        policy is not None
        and direct is not None
        and direct.approvers
        and not _has_approvers(policy)
    ):
        problems.add(
            (_DM_KEY, "approvers"),
            "no one may approve (no approver by name or group), so no one would get these "
            "messages; name an approver or turn it off",
        )
    if problems or policy is None or routing is None or direct is None:
        raise problems.error()  # a model that did not validate said why
    return PolicyFile(policy, routing, incident_channel, multisig, direct)


def _has_approvers(policy: Policy) -> bool:
    return any(policy.may_approve(u) for u in policy.users) or Role.APPROVER in set(
        policy.groups.values()
    )


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _blank_is_missing(value: Any) -> Any:
    """``value`` with every empty or blank text in it made None: an empty value is a missing one."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        return {k: _blank_is_missing(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_is_missing(v) for v in value]
    return value


def _validated(model: type[M], data: Any, at: Where, problems: _Problems) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            path = (*at, *error["loc"])
            if error["type"] == "extra_forbidden":
                problems.add(path, f"unknown key{_did_you_mean(str(path[-1]), _KNOWN_KEYS)}")
            else:
                problems.add(path, error["msg"])
        return None


def _entries(data: Any, *path: str) -> Iterator[tuple[Where, str]]:
    """The text entries of the list at ``path`` (other shapes are the model's to report)."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield (*path, index), item


def _check_people(data: dict[Any, Any], problems: _Problems) -> None:
    users = data.get("users")
    if isinstance(users, dict):
        for user, roles in users.items():
            if isinstance(roles, list) and not roles:
                problems.add(("users", user), "no roles; give at least viewer, or remove the user")
    groups = data.get("groups")
    if isinstance(groups, dict):
        for group in groups:
            if not _GROUP_ID.match(str(group)):
                problems.add(
                    ("groups", group),
                    f"{group!r} is not a Slack user group id: use the group's id (S..., as "
                    "usergroups.list shows it), not its name or handle",
                )


def _channel_problem(value: str) -> str:
    return (
        f"{value!r} is not a Slack channel id: use the channel's id (C..., G... or D..., shown at "
        "the bottom of the channel's details), not its name"
    )


def _check_channels(data: dict[Any, Any], problems: _Problems) -> None:
    for path, value in _entries(data, "privileged_channels"):
        if value != CONSOLE_CHANNEL and not _CHANNEL_ID.match(value):
            problems.add(path, _channel_problem(value) + f", or {CONSOLE_CHANNEL} for the console")
    singles: list[tuple[Where, Any]] = [(("incident_channel",), data.get("incident_channel"))]
    routing = data.get("routing")
    if isinstance(routing, dict):
        singles.append((("routing", "channel"), routing.get("channel")))
        for section in ("events", "alerts"):
            routes = routing.get(section)
            if isinstance(routes, dict):
                singles.extend(
                    ((("routing", section, name, "channel"), route.get("channel")))
                    for name, route in routes.items()
                    if isinstance(route, dict)
                )
    for path, value in singles:
        if isinstance(value, str) and not _CHANNEL_ID.match(value):
            problems.add(path, _channel_problem(value))


def _unknown_step(key: str, registry: Registry) -> str | None:
    """Why ``key`` names no step (with the closest policy key), or None when it names one."""
    keys = {s.policy_key for s in registry}
    if key in keys:
        return None
    typed = key.strip().lstrip("/").replace(" ", ".")  # "/feed fallback" -> feed.fallback
    hint = f"; did you mean {typed}?" if typed in keys else _did_you_mean(key, keys)
    return f"no step is named {key!r}{hint} (policy keys are command.subcommand)"


def _capable(steps: Iterable[Step]) -> str:
    return ", ".join(s.policy_key for s in steps if s.break_glass) or "none"


def _check_steps(data: dict[Any, Any], registry: Registry, problems: _Problems) -> None:
    by_key = {s.policy_key: s for s in registry}
    added = {key for _path, key in _entries(data, "privileged")}
    for path, key in _entries(data, "privileged"):
        unknown = _unknown_step(key, registry)
        if unknown is not None:
            problems.add(path, unknown)
        elif by_key[key].plan is None:
            problems.add(
                path,
                f"{key} sends no transaction, so there is nothing for a second person to approve",
            )
    waiver = data.get(_WAIVER_KEY)
    if waiver is not None and not isinstance(waiver, list):
        problems.add((_WAIVER_KEY,), "the two-person rule cannot be waived by the policy")
    for path, key in _entries(data, _WAIVER_KEY):
        unknown = _unknown_step(key, registry)
        if unknown is not None:
            problems.add(path, unknown)
        elif by_key[key].privileged:
            problems.add(
                path,
                f"{key} is privileged in the catalog; the policy cannot waive its two-person rule",
            )
        elif key in added:
            problems.add(path, f"{key} is also in privileged: remove it from there instead")
        else:
            problems.add(path, f"{key} needs no second person anyway; remove the entry")
    for path, key in _entries(data, "break_glass", "steps"):
        unknown = _unknown_step(key, registry)
        if unknown is not None:
            problems.add(path, unknown)
        elif not by_key[key].break_glass:
            problems.add(
                path,
                f"{key} cannot break glass: only the steps the catalog marks break-glass capable "
                f"can ({_capable(registry)})",
            )
    glass = data.get("break_glass")
    if isinstance(glass, dict) and glass.get("enabled") is True and glass.get("steps") == []:
        problems.add(
            ("break_glass", "steps"), "break-glass is enabled for no step; list one or disable it"
        )


def _check_routes(data: dict[Any, Any], problems: _Problems) -> None:
    routing = data.get("routing")
    if not isinstance(routing, dict):
        return
    events = {rule.struct for rule in DEFAULT_RULES} | {short_name(r.struct) for r in DEFAULT_RULES}
    for section, known, what in (
        ("events", events, "event type"),
        ("alerts", set(ALERT_NAMES), "alert"),
    ):
        routes = routing.get(section)
        if not isinstance(routes, dict):
            continue
        for name in routes:
            if str(name) not in known:
                hint = _did_you_mean(str(name), known)
                problems.add(("routing", section, name), f"no {what} is named {name!r}{hint}")


def _multisig(
    data: dict[Any, Any], policy: Policy | None, problems: _Problems
) -> MultisigSection | None:
    """The ``multisig:`` section, checked for what can be known without the chain (the chain's
    owners and threshold are compared with it when the bot starts)."""
    at: Where = (_MULTISIG_KEY,)
    raw = data.get(_MULTISIG_KEY)
    if not isinstance(raw, dict):
        problems.add(at, "must be a mapping with threshold: and addresses:")
        return None
    section = _validated(MultisigSection, raw, at, problems)
    if section is None:
        return None
    addresses: dict[str, str] = {}
    seen: dict[str, str] = {}
    for person, address in section.addresses.items():
        try:
            owner = normalize_address(address)
        except ValueError:
            problems.add((*at, "addresses", person), f"{address!r} is not an account address")
            continue
        if owner in seen:
            problems.add(
                (*at, "addresses", person),
                f"{owner} is also {seen[owner]}'s: each person approves with a key of their own",
            )
            continue
        seen[owner] = str(person)
        addresses[str(person)] = owner
    needed = policy.approvals_needed if policy is not None else 1
    people = needed + 1  # the requester and the approvals the policy asks for
    if section.threshold < people + 1:
        problems.add(
            (*at, "threshold"),
            f"a threshold of {section.threshold} lets the bot and {max(section.threshold - 1, 0)} "
            f"person(s) pass; the policy asks for {people} people, so it must be at least "
            f"{people + 1} (the bot's yes as proposer and executor counts once)",
        )
    elif len(addresses) < section.threshold - 1:
        problems.add(
            (*at, "addresses"),
            f"{len(addresses)} address(es) cannot give the {section.threshold - 1} approvals a "
            f"threshold of {section.threshold} needs besides the bot's",
        )
    glass = data.get("break_glass")
    if isinstance(glass, dict) and glass.get("enabled") is True:
        problems.add(
            ("break_glass", "enabled"),
            "break-glass cannot apply in multisig mode: the chain needs its approvals whoever "
            "asks; disable it or remove multisig:",
        )
    return section.model_copy(update={"addresses": addresses})
