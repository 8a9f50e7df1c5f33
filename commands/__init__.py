"""The runbook as a catalog of steps, one module per section; no Slack, no Redis.

Each step is declared once (``@read`` / ``@action`` in ``commands/<section>.py``) and discovered by
``build_registry``: help, the console, Slack and ``manifest.yml`` are generated from it.
"""

from commands.invocation import Invocation
from commands.ports import ChainPort, Plan, StepContext
from commands.registry import Registry, Step, build_registry
from commands.reply import Check, Reply

__all__ = [
    "ChainPort",
    "Check",
    "Invocation",
    "Plan",
    "Registry",
    "Reply",
    "Step",
    "StepContext",
    "build_registry",
]
