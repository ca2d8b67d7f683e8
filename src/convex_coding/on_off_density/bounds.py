r"""The outer (lower) bound: ``1ᵀQ1 ≤ ρ T Tr Q`` with ``Q`` doubly nonnegative.

:func:`outer_bound` builds it on the full ``T × T`` matrix from the menu pieces;
:func:`outer_bound_symmetric` solves the symmetry-reduced form for symmetric ``x``;
:func:`outer_certificate` bounds its value from below by an explicit dual certificate
(one eigenvalue computation, no conic solve), checked in floating point.
"""

from __future__ import annotations

import numpy as np

from .. import menu
from .._lazy import cvxpy as cp
from ..solvers import (
    SolverSettings,
    solve_relaxing,
)
from .norm import closed_form_dual
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


# ------------------------------------------------------------- dual certificate


def outer_certificate(x: np.ndarray, rho: float, lam: float = 1.0,
                      g: np.ndarray | None = None) -> tuple[float, dict]:
    r"""A certified **lower** bound on the outer relaxation's value, from a dual point.

    The relaxation is homogeneous: its value is ``2√(λ r*/T)`` with
    ``r* = min{ r(Q) = xᵀQ⁺x : Q ⪰ 0, Q ≥ 0, 1ᵀQ1 ≤ ρT, Tr Q = 1 }`` (see
    :func:`outer_bound_symmetric`).  For any ``g``, ``r(Q) ≥ 2αgᵀx − α²gᵀQg`` for every
    ``α`` (Schur complement), so ``r(Q) ≥ (gᵀx)²/gᵀQg``.  If

        ``ggᵀ = c I + μ(11ᵀ − ρT I) − N − P``,   ``μ ≥ 0``, ``N ≥ 0`` entrywise, ``P ⪰ 0``,

    then every feasible ``Q`` has ``gᵀQg = c + μ(1ᵀQ1 − ρT) − ⟨N, Q⟩ − ⟨P, Q⟩ ≤ c``, hence
    ``r* ≥ (gᵀx)²/c``.  Here ``R = μ11ᵀ − ggᵀ``, ``N`` is the positive part of ``R`` off
    the diagonal and ``c = μρT − λ_min(R − N)`` (so ``P = (c − μρT)I + R − N ⪰ 0``), with
    ``c`` raised by a rounding margin ``64·T·ε·‖R − N‖_max`` so that the eigenvalue's
    floating-point error cannot make the bound invalid.

    ``g`` defaults to the closed-form dual (:func:`~.norm.closed_form_dual`,
    ``gᵀx = ‖x‖_ρ``); ``μ`` is ``1/(ρT)`` if a sign of ``x`` is at its density plateau
    (``g = ±1/√(ρT)`` there: ``R − N`` is diagonal and ``≥ 0``, ``c = 1``) and 0 if both
    ramps are feasible (``g = ŷ₊ − ŷ₋``: ``R − N = −ŷ₊ŷ₊ᵀ − ŷ₋ŷ₋ᵀ``, ``c = 1``); the
    better of both is kept.  Either way the bound is ``2√(λ/T)·‖x‖_ρ = f*`` up to
    rounding: the relaxation is tight.  Returns ``(bound, details)`` with ``details``
    holding ``mu``, ``c`` and ``min_eig`` (``λ_min(R − N)``) of the certificate used.
    """
    t = len(x)
    g = closed_form_dual(x, rho) if g is None else np.asarray(g, dtype=float)
    best: tuple[float, dict] = (-np.inf, {})
    for mu in (0.0, 1.0 / (rho * t)):
        r = mu - np.outer(g, g)
        n = np.maximum(r, 0.0)
        np.fill_diagonal(n, 0.0)
        rest = r - n
        lam_min = float(np.linalg.eigvalsh(rest)[0])
        margin = 64.0 * t * np.finfo(float).eps * float(np.abs(rest).max())
        c = mu * rho * t - lam_min + margin
        if c <= 0:  # gᵀQg ≤ c ≤ 0 for every feasible Q is impossible (Tr Q = 1): skip
            continue
        r_lower = float(g @ x) ** 2 / c
        bound = 2.0 * float(np.sqrt(lam * r_lower / t))
        if bound > best[0]:
            best = (bound, {"mu": mu, "c": c, "min_eig": lam_min})
    return best
