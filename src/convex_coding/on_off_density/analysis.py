r"""Analysis of a certified optimum: its ON/OFF structure and the measured density
threshold ``ρ*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers import (
    SolverError,
    SolverSettings,
)
from .pricing import ramps_and_tents
from .solve import OnOffSolution, solve_on_off

# ------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class OnOffAnalysis:
    """What the optimal population looks like."""

    on_off: bool  # an increasing and a decreasing tuning cover x ≠ 0 and carry all energy
    covering_pair: bool  # such a covering pair exists (energy not required)
    monotone_share: float  # share of population energy in monotone tunings
    n_tunings: int  # distinct tunings (parallel atoms merged)
    n_two_sided: int  # tunings active on both signs of x
    centres: np.ndarray  # energy-weighted centre Σ x ŷ² of each tuning (stimulus units)
    widths: np.ndarray  # extent of each tuning's support (stimulus units)
    max_monotone_extent: float  # largest support of a monotone tuning / stimulus range


def analyse(x: np.ndarray, sol: OnOffSolution, tol: float = 1e-9) -> OnOffAnalysis:
    """ON/OFF index, monotone energy share, distinct tunings, centres and widths.

    "Is an ON/OFF pair" means: an increasing and a decreasing tuning that together are
    active on every sample with ``x ≠ 0`` and carry (to 1e-6) all the population energy.
    This is unambiguous: the pair is the unique optimum for ``ρ ≥ ρ*`` and infeasible
    below (a pair carrying everything must be ``x₊, x₋``).
    """
    order = np.argsort(x, kind="stable")
    xs = x[order]
    y = sol.atoms[order]
    share = sol.weights / sol.weights.sum()
    # merge parallel tunings (splitting a neuron into scaled copies changes nothing)
    keep: list[int] = []
    merged = share.copy()
    for k in range(y.shape[1]):
        match = [j for j in keep if y[:, j] @ y[:, k] > 1 - 1e-9]
        if match:
            merged[match[0]] += merged[k]
        else:
            keep.append(k)
    y, share = y[:, keep], merged[keep]
    peak = y.max(axis=0)
    active = y > tol * peak
    diffs = np.diff(y, axis=0)
    increasing = np.all(diffs >= -tol * peak, axis=0)
    decreasing = np.all(diffs <= tol * peak, axis=0)
    monotone = increasing | decreasing
    nonzero = np.abs(xs) > 1e-12 * np.abs(xs).max()
    span = xs[-1] - xs[0]
    lo = np.array([xs[a].min() for a in active.T])
    hi = np.array([xs[a].max() for a in active.T])
    widths = hi - lo
    covering, pair_share = False, 0.0
    for i in np.flatnonzero(increasing & active[-1]):
        for j in np.flatnonzero(decreasing & active[0]):
            if np.all((active[:, i] | active[:, j])[nonzero]):
                covering = True
                pair_share = max(pair_share, share[i] + share[j])
    two_sided = np.array([(xs[a] > 0).any() and (xs[a] < 0).any() for a in active.T])
    centres = (xs[:, None] * y**2).sum(axis=0) / (y**2).sum(axis=0)
    return OnOffAnalysis(
        on_off=bool(covering and pair_share >= 1 - 1e-6),
        covering_pair=covering,
        monotone_share=float(share[monotone].sum()),
        n_tunings=int(y.shape[1]),
        n_two_sided=int(two_sided.sum()),
        centres=centres,
        widths=widths,
        max_monotone_extent=float(widths[monotone].max() / span) if monotone.any() else 0.0,
    )


@dataclass(frozen=True)
class Threshold:
    """Bisection on ρ for the smallest density at which the certified optimum is the
    ON/OFF pair."""

    measured: float  # midpoint of the final bracket
    bracket: tuple[float, float]  # (not a pair, a pair)
    n_solves: int
    min_reduced_cost: float  # over every certified solve of the bisection
    max_gap: float  # largest relative inner/lower gap over the solves


def measured_threshold(
    x: np.ndarray, settings: SolverSettings, lo: float = 0.05, hi: float = 0.5,
    tol: float = 1e-3, cert_tol: float = 1e-6, gap_tol: float = 1e-6,
) -> Threshold:
    """Bisection to ``tol`` on the ON/OFF index of the certified optimum.

    Each step solves :func:`solve_on_off` (the dictionary is built once and reused) and
    asks :func:`analyse` whether the optimum is the ON/OFF pair; a step whose
    certificate fails (reduced cost < −cert_tol or gap > gap_tol) raises
    :class:`SolverError`.
    """
    base = ramps_and_tents(x)
    worst_rc, worst_gap, solves = np.inf, 0.0, 0

    def is_pair(rho: float) -> bool:
        nonlocal worst_rc, worst_gap, solves
        sol = solve_on_off(x, rho, settings, base=base)
        solves += 1
        worst_rc = min(worst_rc, sol.min_reduced_cost)
        worst_gap = max(worst_gap, sol.gap)
        if sol.min_reduced_cost < -cert_tol or sol.gap > gap_tol:
            raise SolverError(f"uncertified optimum at rho={rho}: reduced cost "
                              f"{sol.min_reduced_cost:.3g}, gap {sol.gap:.3g}")
        return analyse(x, sol).on_off

    if not is_pair(hi) or is_pair(lo):
        raise ValueError(f"no ON/OFF transition in [{lo}, {hi}]")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if is_pair(mid) else (mid, hi)
    return Threshold(measured=0.5 * (lo + hi), bracket=(lo, hi), n_solves=solves,
                     min_reduced_cost=float(worst_rc), max_gap=float(worst_gap))
