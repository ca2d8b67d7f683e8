r"""Every criterion and the empirical test on one instance, and their agreement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..solvers import SolverError, SolverSettings
from .criteria import (
    OptimalityRoute,
    Rigidity,
    non_nesting,
    optimality_route,
    rigidity_lp,
    sufficiently_scattered,
)
from .factorisation import INCONCLUSIVE, NON_UNIQUE, UNIQUE, EmpiricalTest, empirical_test
from .instances import Instance

# ================================================================================= analysis


@dataclass(frozen=True)
class Analysis:
    """Every criterion and the empirical test on one instance."""

    empirical: EmpiricalTest
    predictions: dict[str, str]  # criterion → unique | non-unique | inconclusive
    optimality: OptimalityRoute | None
    rigidity: Rigidity | None
    nested_pairs: list[tuple[int, int]]
    n_neurons: int


CRITERIA = ("optimality", "non_nesting", "rigidity", "scattered")


def analyse(instance: Instance, settings: SolverSettings, rng: np.random.Generator,
            restarts: int = 24, extra_neurons: int = 2, cp_tol: float = 1e-3,
            converged_tol: float = 1e-7, discrepancy_tol: float = 1e-2,
            scattered_max_neurons: int = 4, stop_when_decided: bool = False) -> Analysis:
    """Empirical test and the four criteria on ``instance``.

    PSD-only contrasts have no sign constraint: the factorisations are unconstrained,
    every criterion predicts non-uniqueness when ``rank Q* ≥ 2`` (any rotation
    ``OZ`` factorises ``Q*``) and the scattered test does not apply.
    """
    z = instance.tunings
    emp = empirical_test(instance.q, restarts, rng, instance.nonnegative, extra_neurons,
                         cp_tol, converged_tol, discrepancy_tol,
                         min_neurons=len(instance.tunings),
                         stop_when_decided=stop_when_decided,
                         certified=instance.tunings if instance.nonnegative else None)
    n = len(z)
    if not instance.nonnegative:
        rotating = NON_UNIQUE if n >= 2 else UNIQUE
        preds = {"optimality": rotating, "non_nesting": rotating, "rigidity": rotating,
                 "scattered": INCONCLUSIVE}
        return Analysis(emp, preds, None, None, [], n)
    route = optimality_route(z, instance.zero_set, settings) if instance.zero_set is not None \
        else None
    holds, pairs = non_nesting(z)
    try:
        rig: Rigidity | None = rigidity_lp(z, settings)
    except SolverError:  # an LP without a certified optimum is no verdict
        rig = None
    opt = route.verdict if route is not None else INCONCLUSIVE
    if instance.alternative_optimum:
        opt = NON_UNIQUE
    elif opt == UNIQUE and pairs:
        # at an exact optimum a nested pair y_i, y_j in the support makes y_i − εy_j ≥ 0
        # part of another factorisation, hence zero-cost: G vanishes on span{y_i, y_j}
        # and the zero set has a continuum there.  A finite zero set with a nested
        # support therefore means the computed optimum is not accurate enough to decide.
        opt = INCONCLUSIVE
    preds = {
        "optimality": opt,
        "non_nesting": UNIQUE if holds else NON_UNIQUE,
        "rigidity": INCONCLUSIVE if rig is None else (UNIQUE if rig.rigid else NON_UNIQUE),
        "scattered": sufficiently_scattered(z, scattered_max_neurons),
    }
    return Analysis(emp, preds, route, rig, pairs, n)


def agreement(predicted: Sequence[str], observed: Sequence[str]) -> tuple[int, int]:
    """``(agreeing, compared)`` over pairs where both are unique / non-unique."""
    both = [(p, o) for p, o in zip(predicted, observed, strict=True)
            if p in (UNIQUE, NON_UNIQUE) and o in (UNIQUE, NON_UNIQUE)]
    return sum(p == o for p, o in both), len(both)
