"""How urgent a notice, an alert or an incident is: one vocabulary for notify, the commands and the
policy file's routing."""

from __future__ import annotations

from typing import Literal

__all__ = ["Severity"]

Severity = Literal["info", "warning", "critical"]
