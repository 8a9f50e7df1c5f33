"""The platform-neutral answer of a step; Slack renders it as Block Kit, the console as text."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from chatops.severity import Severity

__all__ = ["Check", "Field", "Reply", "Tone"]


class Tone(StrEnum):
    """How a reply reads (its mark and colour): an answer, a success, a warning or an error."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"

    @classmethod
    def of(cls, severity: Severity) -> Tone:
        """The tone that shows something of ``severity``: a critical notice reads as an error."""
        return {"info": cls.INFO, "warning": cls.WARNING, "critical": cls.ERROR}[severity]


class Field(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    value: str


class Check(BaseModel):
    """One named preflight check of the runbook and what it saw: failures say seen vs required."""

    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    seen: str = ""
    required: str = ""

    def line(self) -> str:
        mark = "ok" if self.ok else "FAILED"
        detail = f" (seen {self.seen}, required {self.required})" if not self.ok else ""
        if self.ok and self.seen:
            detail = f" ({self.seen})"
        return f"[{mark}] {self.name}{detail}"


class Reply(BaseModel):
    """What a step answers. ``ephemeral`` replies go only to the person who asked (errors, help)."""

    model_config = ConfigDict(frozen=True)

    title: str
    text: str = ""
    ok: bool = True
    tone: Tone = Tone.INFO
    fields: tuple[Field, ...] = ()
    checks: tuple[Check, ...] = ()
    links: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    ephemeral: bool = False
    request_id: str | None = None
    state: str | None = None
    # The request's calls digest: what an approver sees, carried by the Approve and Deny buttons.
    digest: str | None = None
    data: dict[str, Any] | None = None

    @classmethod
    def error(cls, title: str, text: str = "", **extra: Any) -> Reply:
        return cls(title=title, text=text, ok=False, tone=Tone.ERROR, ephemeral=True, **extra)

    def as_json(self) -> dict[str, Any]:
        """One JSON object for scripting (``chatops console --json``)."""
        out: dict[str, Any] = {"ok": self.ok, "title": self.title, "text": self.text}
        if self.fields:
            out["fields"] = {f.label: f.value for f in self.fields}
        if self.checks:
            out["checks"] = [c.model_dump() for c in self.checks]
        if self.request_id is not None:
            out["request_id"] = self.request_id
            out["state"] = self.state
        if self.data is not None:
            out["data"] = self.data
        return out
