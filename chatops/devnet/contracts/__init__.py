"""The emulated lottery_multi modules, one Python module per Move module.

Each module exposes ``SPECS: Specs``; ``all_specs`` discovers them, so adding a module needs no list.
"""

from __future__ import annotations

import importlib
import pkgutil

from chatops.devnet.framework import FunctionSpec, Specs

__all__ = ["all_specs"]


def all_specs() -> dict[str, FunctionSpec]:
    """Every declared function, keyed ``module::name``; a duplicate declaration is a bug and raises."""
    found: dict[str, FunctionSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        specs = getattr(module, "SPECS", None)
        if not isinstance(specs, Specs):
            continue
        for spec in specs.functions:
            key = spec.key
            if key in found:
                raise RuntimeError(f"duplicate devnet function {key}")
            found[key] = spec
    return found
