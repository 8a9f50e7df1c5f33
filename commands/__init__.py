"""The runbook as a catalog of steps, one module per section; no Slack, no Redis. Each step is
declared once (``@read``/``@write``/``@action``) and discovered by ``build_registry``."""

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
