"""Convex efficient coding: optimise the representational similarity ``Q = ZᵀZ``.

Use it as a library (details and worked examples: ``docs/library.md``)::

    import convex_coding as cc
    problem = cc.Problem(size=T, objective=[cc.activity_energy(),
                                            cc.readout_energy(Y, weight=0.5)])
    result = problem.solve()          # DNN lower bound + dictionary upper bound
    result.status, result.Z, result.gap

Terms (objective pieces ``w·f(Q)``, one :class:`Term` kind): :func:`activity_energy`,
:func:`readout_energy` (``bias=True`` for ``Y = RZ + c1ᵀ``), :func:`lifetime_density`,
:func:`weight_energy`, :func:`similarity_matching`.  Constraints (one
:class:`Constraint` kind): :func:`affine_range`, :func:`decodable`.  Solving returns
one :class:`Result`; ``status == "certified"`` only when the bounds meet and a
nonnegative factorisation attains them.  :data:`PRECISE` (``SolverSettings.precise()``)
is the default :class:`SolverSettings` (the pipeline's Clarabel tolerances).
``solve(method="auto")`` takes the conic route (DNN SDP + dictionary master) for small
``T`` or any constraint, and the first-order route (:mod:`convex_coding.first_order`:
Burer–Monteiro upper bound, dual-certificate lower bound) for ``T ≥ 25`` otherwise.

The library (this package, minus :mod:`convex_coding.pipeline`) is pure: arrays in,
results out, no file I/O.  :mod:`convex_coding.pipeline` holds the Hydra runner, the
content-addressed cache and the figure code used by the Snakemake workflow.  Names are
imported lazily, so ``import convex_coding`` does not import cvxpy.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("convex-coding")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

_LAZY = {
    "Problem": "problem", "Result": "result", "PRECISE": "problem",
    "Term": "problem_terms", "Constraint": "problem_terms",
    "activity_energy": "problem_terms", "readout_energy": "problem_terms",
    "lifetime_density": "problem_terms", "weight_energy": "problem_terms",
    "similarity_matching": "problem_terms", "affine_range": "problem_terms",
    "decodable": "problem_terms", "SolverSettings": "solvers", "SolverError": "solvers",
    "PricingResult": "pricing", "solve_first_order": "first_order",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
