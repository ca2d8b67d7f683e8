r"""The outer (lower) bound: ``1ᵀQ1 ≤ ρ T Tr Q`` with ``Q`` doubly nonnegative.

:func:`outer_bound` builds it on the full ``T × T`` matrix from the menu pieces;
:func:`outer_bound_symmetric` solves the symmetry-reduced form for symmetric ``x``.
"""

from __future__ import annotations

import numpy as np

from .. import menu
from .._lazy import cvxpy as cp
from ..solvers import (
    SolverSettings,
    solve_relaxing,
)
from .stimuli import is_symmetric

# --------------------------------------------------------------------- outer bound


def outer_bound(x: np.ndarray, rho: float, lam: float, settings: SolverSettings) -> float:
    """Population-average relaxation ``1ᵀQ1 ≤ ρ T Tr Q`` with ``Q`` doubly nonnegative,
    built from the menu pieces on the full ``T × T`` matrix (reference implementation;
    use :func:`outer_bound_symmetric` for symmetric ``x``)."""
    t = len(x)
    sim = menu.psd_similarity(t)
    readout, constraints = menu.readout_energy(sim, x[None, :])
    constraints += menu.outer_nonnegativity(sim)
    constraints.append(menu.lifetime_density(sim) <= rho * t * menu.activity_energy(sim))
    objective = menu.activity_energy(sim) / t + lam * readout
    return solve_relaxing(cp.Problem(cp.Minimize(objective), constraints), settings,
                           "outer bound")


def outer_bound_symmetric(x: np.ndarray, rho: float, lam: float,
                          settings: SolverSettings) -> float:
    """:func:`outer_bound` reduced by the symmetries of ``x`` (exact, much smaller).

    The problem is invariant under the reflection ``P`` pairing ``x_i`` with ``−x_i`` and
    under permutations of the ``z`` zero samples, so averaging an optimal ``Q`` over
    them keeps it optimal.  An invariant ``Q`` has blocks ``Q_PP = Q_NN = A``,
    ``Q_PN = B = Bᵀ``, ``Q_PZ = Q_NZ = q1ᵀ``, ``Q_ZZ = (d − e)I + e11ᵀ``; in the basis
    ``(e_P ∓ e_N)/√2``, ``1/√z`` it is block diagonal:

        antisymmetric  A − B ⪰ 0,    Tr(xQ⁺xᵀ) = 2 x_Pᵀ (A − B)⁺ x_P,
        symmetric      [[A + B, √(2z) q], [√(2z) qᵀ, d + (z − 1)e]] ⪰ 0,   d ≥ e,

    with ``A, B, q, d, e ≥ 0``, ``Tr Q = 2 Tr A + z d`` and
    ``1ᵀQ1 = 2·1ᵀ(A + B)1 + 4z·1ᵀq + z d + z(z − 1)e``.
    """
    if not is_symmetric(x):
        raise ValueError("outer_bound_symmetric needs −x to be a permutation of x")
    t = len(x)
    scale = float(np.abs(x).max())
    xs = np.sort(x) / scale
    pos = xs[xs > 1e-12]
    m, z = len(pos), int(np.sum(np.abs(xs) <= 1e-12))
    a = cp.Variable((m, m), symmetric=True)
    b = cp.Variable((m, m), symmetric=True)
    s = cp.Variable()
    cons = [a >= 0, b >= 0,
            cp.bmat([[a - b, np.sqrt(2) * pos[:, None]],
                     [np.sqrt(2) * pos[None, :], cp.reshape(s, (1, 1), order="C")]]) >> 0]
    trace = 2 * cp.trace(a)
    total = 2 * cp.sum(a + b)
    if z == 0:
        cons.append(a + b >> 0)
    else:
        q, d = cp.Variable(m, nonneg=True), cp.Variable(nonneg=True)
        e = cp.Variable(nonneg=True) if z > 1 else cp.Constant(0.0)
        corner = cp.reshape(d + (z - 1) * e, (1, 1), order="C")
        col = cp.reshape(np.sqrt(2 * z) * q, (m, 1), order="C")
        cons.append(cp.bmat([[a + b, col], [col.T, corner]]) >> 0)
        if z > 1:
            cons.append(d >= e)
        trace = trace + z * d
        total = total + 4 * z * cp.sum(q) + z * d + z * (z - 1) * e
    cons.append(total <= rho * t * trace)
    # Homogeneous form: the feasible Q form a cone and the readout term scales as 1/α
    # under Q → αQ, so min Tr(Q)/T + λ r(Q) = 2√(λ r*/T) with r* = min{r(Q) : Tr Q = 1}
    # (better conditioned at and above ρ*, where the free-scale form ended
    # optimal_inaccurate at every tolerance for some stimuli).
    # Q is scaled with x: solve for x/scale and rescale, f(x) = scale·f(x/scale).
    cons.append(trace == 1)
    problem = cp.Problem(cp.Minimize(s), cons)
    r_star = solve_relaxing(problem, settings, "outer bound")
    return scale * 2.0 * float(np.sqrt(lam * max(r_star, 0.0) / t))
