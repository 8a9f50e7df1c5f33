"""The policy file's ``routing`` section: where chain events and alerts go, overriding the defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chatops.severity import Severity

__all__ = ["RouteOverride", "Routing"]


class RouteOverride(BaseModel):
    """The policy's word on one event type; unset fields keep the built-in default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity | None = None
    channel: str | None = None
    incident: bool | None = None
    muted: bool | None = None


class Routing(BaseModel):
    """Where chain events and alerts go: a default channel and overrides per event type.

    ``events`` is keyed by the struct name (``VrfDepositAlertEvent``) or its short form
    (``VrfDepositAlert``); ``alerts`` by alert name (``VrfDepositLow``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str | None = None
    events: dict[str, RouteOverride] = Field(default_factory=dict)
    alerts: dict[str, RouteOverride] = Field(default_factory=dict)
