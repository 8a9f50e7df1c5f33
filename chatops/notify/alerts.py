"""Alert state in Redis: an alert raises once (after its hold time), never repeats while unchanged,
and resolves once when its condition clears. Hands notices to a ``Sink``; knows nothing of Slack
or the chain."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis

from chatops.notify import keys
from chatops.notify.notice import Notice
from chatops.notify.ports import Sink
from chatops.notify.scripts import load_script
from chatops.severity import Severity

__all__ = ["ActiveAlert", "AlertBook", "AlertCondition", "AlertRouteFn"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertCondition:
    """One evaluation of an alert for one subject: whether it holds now, and what to say."""

    name: str
    subject: str
    active: bool
    severity: Severity = "warning"
    title: str = ""
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    hold_s: int = 0


@dataclass(frozen=True)
class ActiveAlert:
    name: str
    subject: str
    n: int
    raised_at_s: int
    title: str
    severity: Severity


AlertRouteFn = Callable[[str, Severity], tuple[Severity, str, bool]]  # -> severity, channel, muted


class AlertBook:
    """Raise/resolve bookkeeping over Redis; ``route`` says where an alert goes.

    Used by the monitors (view checks) and the watcher (RPC outage, the sales 3-sigma rule). State
    lives in Redis so a restart neither repeats nor forgets an alert.
    """

    def __init__(self, client: redis.Redis, sink: Sink, route: AlertRouteFn) -> None:
        self._r = client
        self._sink = sink
        self._route = route
        self._raise = load_script(client, "alert_raise")

    def observe(self, cond: AlertCondition, *, at_s: int) -> str | None:
        """Feed one evaluation; returns ``"raised"``/``"resolved"`` when a notice went out, else None."""
        member = f"{cond.name}|{cond.subject}"
        if cond.active:
            self._r.hsetnx(keys.ALERTS_PENDING, member, str(at_s))
            first = int(cast("bytes", self._r.hget(keys.ALERTS_PENDING, member)))
            if at_s - first < cond.hold_s:
                return None
            return self._raise_alert(cond, member, at_s, first)
        self._r.hdel(keys.ALERTS_PENDING, member)
        raw = self._r.hget(keys.ALERTS_ACTIVE, member)
        if raw is None:
            return None
        payload = json.loads(cast("bytes", raw))
        _, channel, muted = self._route(cond.name, cast("Severity", payload["severity"]))
        if not muted:
            self._sink.emit(
                Notice(
                    id=f"alert:{cond.name}:{cond.subject}:resolved:{payload['n']}",
                    kind="alert-resolved",
                    subject=cond.subject,
                    severity="info",
                    title=f"Resolved: {payload['title']}",
                    text=cond.text or "The condition cleared.",
                    at_s=at_s,
                    event_type=None,
                ),
                channel=channel,
            )
        self._r.hdel(keys.ALERTS_ACTIVE, member)
        logger.info("alert resolved", extra={"alert": cond.name, "subject": cond.subject})
        return "resolved"

    def _raise_alert(
        self, cond: AlertCondition, member: str, at_s: int, first_s: int
    ) -> str | None:
        title = cond.title or cond.name
        n, _created = self._raise(
            keys=[
                keys.ALERTS_ACTIVE,
                keys.alert_count_key(cond.name, cond.subject),
                keys.ALERTS_PENDING,
            ],
            args=[
                member,
                at_s,
                json.dumps({"raised_at_s": at_s, "title": title, "severity": cond.severity}),
            ],
        )
        payload = json.loads(cast("bytes", self._r.hget(keys.ALERTS_ACTIVE, member)))
        if payload.get("emitted"):
            return None  # raised before and unchanged: never repeat
        severity, channel, muted = self._route(cond.name, cond.severity)
        if not muted:
            held = f" (for {at_s - first_s} s)" if cond.hold_s else ""
            self._sink.emit(
                Notice(
                    id=f"alert:{cond.name}:{cond.subject}:raised:{int(n)}",
                    kind="alert",
                    subject=cond.subject,
                    severity=severity,
                    title=title,
                    text=cond.text + held,
                    fields=(("alert", cond.name), *cond.fields),
                    at_s=at_s,
                ),
                channel=channel,
            )
        payload["emitted"] = True
        self._r.hset(keys.ALERTS_ACTIVE, member, json.dumps(payload))
        logger.info("alert raised", extra={"alert": cond.name, "subject": cond.subject})
        return "raised"

    def active(self) -> list[ActiveAlert]:
        raw = cast("dict[bytes, bytes]", self._r.hgetall(keys.ALERTS_ACTIVE))
        out = []
        for member, value in raw.items():
            name, subject = member.decode().split("|", 1)
            p = json.loads(value)
            out.append(
                ActiveAlert(
                    name, subject, int(p["n"]), int(p["raised_at_s"]), p["title"], p["severity"]
                )
            )
        return sorted(out, key=lambda a: (a.name, a.subject))

    def active_subjects(self, name: str) -> list[str]:
        """Subjects with ``name`` raised or pending (so a vanished subject can be resolved)."""
        prefix = f"{name}|"
        found: set[str] = set()
        for key in (keys.ALERTS_ACTIVE, keys.ALERTS_PENDING):
            for member in cast("list[bytes]", self._r.hkeys(key)):
                text = member.decode()
                if text.startswith(prefix):
                    found.add(text[len(prefix) :])
        return sorted(found)
