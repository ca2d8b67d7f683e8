r"""Independent checks of the closed form: a dictionary (inner) and a DNN (outer) bound.

Inner: the ``Q``-space program restricted to ``Q = Σ_k c_k d_k d_kᵀ`` over a dictionary of
nonnegative columns ``d_k``.  Writing ``z_k = √c_k d_k`` and ``β_k = w_k √c_k`` and
minimising over ``c_k`` (``c_k‖d_k‖² = √λ|β_k|‖d_k‖`` balances the two terms) turns it into
a linear program (HiGHS):

    min 2√λ Σ_k ‖d_k‖ |β_k|   s.t.   Σ_k β_k d_k + b 1 = I.

The dictionary is the ON ramps ``(I − u)₊`` and OFF ramps ``(u − I)₊`` at 17 values ``u`` of
``I`` spread in rank (never the closed form's bias).  Pricing over *all* nonnegative columns
is exact for a dual vector ``g``: ``min_{d ≥ 0} (1 − ⟨g, d⟩/‖d‖) = 1 − ‖g₊‖``
at ``d = g₊`` (and ``g₋``).
The LP's own multipliers are not used to price: the ``T`` equality rows leave most of them
free and HiGHS's vertex duals are spiky (``‖g₊‖ ≈ 4`` at ``T = 40``), so pricing on them
stalls; the price is the solution ``g`` of the exact dual (:func:`dual_bound`, an SOCP,
solved by CLARABEL), and its two columns are added before the final solve.

Exact dual: ``max 2√λ⟨g, I⟩`` over ``‖g₊‖ ≤ 1``, ``‖g₋‖ ≤ 1``, ``⟨g⟩ = 0``, a lower bound.
Inner minus dual is the solver-side gap of the instance.

Outer: the doubly nonnegative relaxation ``min ⟨D, Q⟩ + λ s`` over ``Q ⪰ 0``, ``Q ≥ 0`` with
``[[Q, I − c1], [·, s]] ⪰ 0`` (free bias ``c``), a lower bound on every nonnegative code.
It is an SDP of size ``T``, so it is solved on a coarse twin of the variable
(:func:`~.variables.compress`); the inner bound is solved on the same twin and the gap of the
two is the check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import scipy_optimize as optimize
from ..solvers import SolveReport, SolverSettings, solve_retrying
from .variables import Variable

#: HiGHS tolerances (the value is compared with the dual bound to 1e-6 relative)
#: CLARABEL to 1e-10 (its defaults leave relative gaps near 1e-6 on these SOCPs)
PRECISE = SolverSettings("CLARABEL", {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10,
                                      "tol_feas": 1e-10})
_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


@dataclass(frozen=True)
class DictionaryBound:
    """The restricted program's value (an upper bound on the optimum) and its pricing."""

    value: float
    bias: float
    n_columns: int
    rounds: int
    reduced_cost: float  # 1 − max(‖g₊‖, ‖g₋‖) at the end: ≥ −tol means globally optimal


def _ramp_dictionary(var: Variable, n_levels: int) -> list[np.ndarray]:
    """ON ramps ``(I − u)₊`` and OFF ramps ``(u − I)₊`` at ``n_levels`` values ``u`` of ``I``
    (evenly spaced in rank, both extremes included; zero columns dropped)."""
    u = var.values[np.unique(np.linspace(0, var.size - 1, n_levels).round().astype(int))]
    on = np.maximum(var.values[None, :] - u[:-1, None], 0.0)
    off = np.maximum(u[1:, None] - var.values[None, :], 0.0)
    return [*on, *off]


def dual_bound(var: Variable, lam: float,
               settings: SolverSettings | None = None) -> tuple[float, np.ndarray]:
    """``(value, g)`` of the exact dual: ``max 2√λ⟨g, I⟩`` over ``‖g₊‖ ≤ 1``, ``‖g₋‖ ≤ 1``,
    ``⟨g⟩ = 0`` (the copositive dual of the ``Q``-space program, exact here because
    copositivity of ``D − λuuᵀ`` is exactly ``max‖(u/√p)±‖² ≤ 1/λ``), an SOCP in ``T``
    variables: a lower bound on every nonnegative code's cost."""
    import cvxpy as cp

    g, up, dn = cp.Variable(var.size), cp.Variable(var.size), cp.Variable(var.size)
    root = np.sqrt(var.weights)
    constraints = [up >= g, up >= 0, dn >= -g, dn >= 0, var.weights @ g == 0,
                   cp.norm(cp.multiply(root, up)) <= 1, cp.norm(cp.multiply(root, dn)) <= 1]
    problem = cp.Problem(cp.Maximize(2 * np.sqrt(lam) * (var.weights * var.values) @ g),
                         constraints)
    report = _solve_with_retries(problem, settings)
    return float(report.value), np.asarray(g.value, float)


def _restricted_lp(var: Variable, columns: list[np.ndarray]) -> tuple[float, float]:
    x, p = var.values, var.weights
    d = np.array(columns).T  # T × K
    norms = np.sqrt(p @ d**2)
    k = d.shape[1]
    res = optimize.linprog(
        np.r_[norms, norms, 0.0, 0.0], A_eq=np.c_[d, -d, np.ones(x.size), -np.ones(x.size)],
        b_eq=x, bounds=(0, None), method="highs", options=_LP_OPTIONS)
    if res.status != 0:
        raise RuntimeError(f"dictionary LP failed: {res.message}")
    return float(res.fun), float(res.x[2 * k] - res.x[2 * k + 1])


def _ramp_kinks(var: Variable, g: np.ndarray) -> list[float]:
    """Where the priced columns ``g₊``, ``g₋`` (affine in ``I`` on their supports when the price
    is exact) cross zero: a straight-line fit on each support of ≥ 2 values.  Columns must
    satisfy the readout *exactly*, and an SOCP's ``g`` is off by ~1e-6, so the column added
    is the ramp at the fitted kink, not ``g±`` itself."""
    kinks = []
    for s in (1.0, -1.0):
        support = s * g > 1e-4 * np.abs(g).max()
        if np.count_nonzero(support) >= 2:
            slope, intercept = np.polyfit(var.values[support], g[support], 1)
            if slope != 0 and np.isfinite(-intercept / slope):
                kinks.append(float(np.clip(-intercept / slope, var.values[0], var.values[-1])))
    return kinks


def dictionary_bound(var: Variable, lam: float, price: np.ndarray, *,
                     n_levels: int = 17) -> DictionaryBound:
    """The dictionary LP (module doc) on ramps at ``n_levels`` values of ``I``, priced with the
    dual vector ``price`` (e.g. from :func:`dual_bound`): the most negative reduced cost over
    all nonnegative columns is ``1 − max(‖g₊‖, ‖g₋‖)`` at ``g₊``, ``g₋``; the ramps at their
    kinks (:func:`_ramp_kinks`) are added and the LP solved again.  The value is the cost of
    a feasible code: an upper bound on the optimum."""
    g = np.asarray(price, float)
    columns = _ramp_dictionary(var, n_levels)
    value, _ = _restricted_lp(var, columns)
    tops = [var.norm(np.maximum(s * g, 0)) for s in (1.0, -1.0)]
    for kink in _ramp_kinks(var, g):
        columns += [np.maximum(var.values - kink, 0), np.maximum(kink - var.values, 0)]
    priced, bias = _restricted_lp(var, columns)
    return DictionaryBound(float(2 * np.sqrt(lam) * min(value, priced)), bias, len(columns), 2,
                           float(1.0 - max(tops)))


def dnn_bound(var: Variable, lam: float, settings: SolverSettings | None = None) -> float:
    """The doubly nonnegative outer bound (module doc), solved as an SDP of size ``T``.

    Degenerate (rank-2, mostly zero) optima can end ``optimal_inaccurate`` at 1e-10; the
    solve is retried with the relaxed settings of :func:`~convex_coding.solvers.relaxed_settings`
    (down to 1e-7; the caller compares the value to 1e-6).  The explicit-bias Schur form
    is used: on these rank-2, mostly-zero optima CLARABEL ends the centred ``(PQP)⁺`` form
    ``optimal_inaccurate`` while this one solves to ``optimal``."""
    import cvxpy as cp

    t = var.size
    q = cp.Variable((t, t), PSD=True)
    c, s = cp.Variable(), cp.Variable((1, 1))
    y = cp.reshape(var.values - c, (t, 1), order="F")
    lmi = cp.bmat([[q, y], [y.T, s]])
    objective = var.weights @ cp.diag(q) + lam * s[0, 0]
    problem = cp.Problem(cp.Minimize(objective), [0.5 * (lmi + lmi.T) >> 0, q >= 0])
    return float(_solve_with_retries(problem, settings, start=1e-9,
                                      tolerances=(1e-9, 1e-8, 1e-7)).value)


def _solve_with_retries(problem, settings: SolverSettings | None, *,
                        start: float | None = None,
                        tolerances: tuple[float, ...] = (1e-9, 1e-8)) -> SolveReport:
    """:func:`~convex_coding.solvers.solve_retrying` from ``settings`` (default
    :data:`PRECISE`): the callers compare values to 1e-6, and an ``optimal_inaccurate`` end
    is never accepted.  The DNN SDP starts at ``start=1e-9`` (it ends ``optimal_inaccurate``
    at 1e-10 on three instances in four, so starting there only costs time) and goes on to
    1e-7 (one twin in 50 of our tests, uniform slab at p₀ = 0.1, needs it; its value still
    meets the closed form to 5e-8)."""
    return solve_retrying(problem, settings or PRECISE, tolerances=tolerances, start=start)
