r"""The atomic norm ``‖x‖_ρ`` over unit tunings of density ≤ ρ and the optimal cost.

For ``ρT ≥ 1`` the gauge of the hull of unit tunings on ``u ≥ 0`` is
``γ(u) = max(‖u‖, 1ᵀu/√(ρT))``, so ``‖x‖_ρ = γ(x₊) + γ(x₋)`` (closed form) and the
optimal cost is ``f* = 2√(λ/T)·‖x‖_ρ``; :func:`exact_norm` computes the same norm from an
SOCP, independently of any dictionary.
"""

from __future__ import annotations

import numpy as np

from .._lazy import cvxpy as cp
from ..solvers import (
    SolverSettings,
    solve_relaxing,
)

# ---------------------------------------------------------------- closed forms


def gauge(u: np.ndarray, rho: float) -> float:
    """``γ(u) = max(‖u‖, 1ᵀu/√(ρT))`` for ``u ≥ 0``: the cheapest population for ``u``."""
    return float(max(np.linalg.norm(u), np.sum(u) / np.sqrt(rho * len(u))))


def closed_form_norm(x: np.ndarray, rho: float) -> float:
    """``‖x‖_ρ = γ(x₊) + γ(x₋)`` (valid for ``ρT ≥ 1``)."""
    return gauge(np.maximum(x, 0.0), rho) + gauge(np.maximum(-x, 0.0), rho)


def closed_form_dual(x: np.ndarray, rho: float) -> np.ndarray:
    """A dual certificate ``g`` attaining ``gᵀx = ‖x‖_ρ``: on each sign of ``x``,
    ``x_±/‖x_±‖`` if that ramp is feasible (``a(x_±) ≤ ρ``), else ``1/√(ρT)``."""
    t = len(x)
    g = np.zeros(t)
    for sign in (1.0, -1.0):
        u = np.maximum(sign * x, 0.0)
        if not u.any():
            continue
        if np.linalg.norm(u) >= np.sum(u) / np.sqrt(rho * t):
            g += sign * u / np.linalg.norm(u)
        else:
            g += sign * (u > 0) / np.sqrt(rho * t)
    return g


def cost(atomic_norm: float, lam: float, n: int) -> float:
    """``Tr(Q)/T + λ Tr(xQ⁺xᵀ)`` at the optimum: ``2√(λ/T)·‖x‖_ρ``."""
    return float(2.0 * np.sqrt(lam / n) * atomic_norm)


def on_off_pair(x: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """The unconstrained optimum: rows ``z_± = (λT)^{1/4} x_± / √‖x_±‖`` and its cost
    ``2√(λ/T)(‖x₊‖ + ‖x₋‖)`` (``= 2√(2λE[x²])`` for symmetric x)."""
    t = len(x)
    halves = [np.maximum(sign * x, 0.0) for sign in (1.0, -1.0)]
    rows = np.array([(lam * t) ** 0.25 * u / np.sqrt(np.linalg.norm(u)) for u in halves])
    return rows, cost(float(sum(np.linalg.norm(u) for u in halves)), lam, t)


def exact_norm(x: np.ndarray, rho: float, settings: SolverSettings) -> float:
    """``‖x‖_ρ`` from the conic program ``min γ(u) + γ(w)`` s.t. ``x = u − w``, ``u, w ≥ 0``
    (``u = x₊ + r``, ``w = x₋ + r``, ``r ≥ 0``), an SOCP with ``T`` variables.

    Independent of the dictionary; CLARABEL occasionally reports ``optimal_inaccurate`` at
    1e-10 tolerances on very sparse stimuli, in which case the solve is repeated
    (:func:`~convex_coding.solvers.solve_relaxing`; still required to be ``optimal``).
    """
    t = len(x)
    s = np.sqrt(rho * t)
    scale = float(np.linalg.norm(x))
    xp, xm = np.maximum(x, 0.0) / scale, np.maximum(-x, 0.0) / scale
    r = cp.Variable(t, nonneg=True)
    tp, tm = cp.Variable(), cp.Variable()
    cons = [cp.norm(xp + r, 2) <= tp, cp.sum(xp + r) <= s * tp,
            cp.norm(xm + r, 2) <= tm, cp.sum(xm + r) <= s * tm]
    return scale * solve_relaxing(cp.Problem(cp.Minimize(tp + tm), cons), settings,
                                   "exact atomic norm")
