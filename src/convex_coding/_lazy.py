"""Modules imported on first use, so a cache hit never pays for the solver stack.

``cvxpy`` (with the ``scipy.stats`` it imports) costs about 3 s per process and
``scipy.optimize`` about 0.5 s; a Snakemake
job that only reads and re-verifies cached results never touches it.  A module made
here is registered in :data:`sys.modules` at once and executed by
:class:`importlib.util.LazyLoader` on its first attribute access, so every later
``import cvxpy`` (ours or a dependency's) gets the same module.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """``name``, imported when first used (already imported: returned as it is)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


cvxpy = lazy_module("cvxpy")
scipy_optimize = lazy_module("scipy.optimize")
