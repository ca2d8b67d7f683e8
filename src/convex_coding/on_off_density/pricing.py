r"""Dictionaries of tunings and pricing of improving atoms.

Given a dual vector ``g``, the relative reduced cost of a unit tuning is
``1 − (gᵀŷ)²``; :func:`price` looks for the most improving feasible tuning by exact
water-filling (:func:`best_atoms`, :func:`support_value`), projected gradient on a
Rayleigh quotient, and a finer dictionary.  :func:`solve_dictionary` is the LP
``min Σ|v_k|`` s.t. ``x = Σ_k v_k ŷ_k`` over a dictionary, and :func:`purify` reduces a
solution to a basic one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import scipy_optimize as optimize
from ..solvers import (
    SolverError,
    SolverSettings,
    resolve_solver,
)
from .stimuli import lifetime_density

# ----------------------------------------------------------------------- dictionary


def ramps_and_tents(x: np.ndarray, refine: int = 1, n_widths: int = 24) -> np.ndarray:
    """Candidate tunings as columns (T × K), unnormalised: ramps ``relu(±(x − θ))`` at
    every threshold, tents ``relu(1 − |x − c|/w)`` of every centre and ``n_widths``
    widths, and boxcars of every length and position (in stimulus order).

    ``refine > 1`` puts thresholds and centres on a grid ``refine`` times finer than the
    samples (the "finer dictionary" of the pricing step; no boxcars then).
    """
    xs = np.sort(x)
    t = len(x)
    if refine == 1:
        grid = xs
    else:
        grid = np.interp(np.linspace(0, t - 1, refine * (t - 1) + 1), np.arange(t), xs)
    cols = [np.maximum(x[:, None] - grid[None, :-1], 0.0),
            np.maximum(grid[None, 1:] - x[:, None], 0.0)]
    span = xs[-1] - xs[0]
    widths = span * np.geomspace(1.0 / t, 0.5, n_widths * refine)
    tents = np.maximum(0.0, 1 - np.abs(x[:, None, None] - grid[None, :, None])
                       / widths[None, None, :])
    cols.append(tents.reshape(t, -1))
    if refine == 1:
        rank = np.argsort(np.argsort(x, kind="stable"), kind="stable")
        for k in range(1, t // 2 + 1):
            starts = np.arange(t - k + 1)
            cols.append(((rank[:, None] >= starts[None, :])
                         & (rank[:, None] < starts[None, :] + k)).astype(float))
    atoms = np.hstack(cols)
    return atoms[:, np.sum(atoms, axis=0) > 0]


def feasible_atoms(atoms: np.ndarray, rho: float, tol: float = 1e-12,
                   unique: bool = True) -> np.ndarray:
    """Unit-norm columns with lifetime density ≤ ρ, duplicates removed (order kept).

    Duplicates are found by a fixed generic projection ``wᵀŷ`` rounded to 1e-12
    (``w_t = √(t + 1)``): equal tunings collide, distinct ones do not in practice.
    """
    keep = lifetime_density(atoms) <= rho * (1 + tol)
    a = atoms[:, keep]
    if a.shape[1] == 0:
        return a
    a = a / np.linalg.norm(a, axis=0)
    if not unique:
        return a
    key = np.round(np.sqrt(np.arange(1.0, a.shape[0] + 1)) @ a, 12)
    _, idx = np.unique(key, return_index=True)
    return a[:, np.sort(idx)]


def split_atoms(u: np.ndarray, x: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact decomposition ``u = Σ_k w_k ŷ_k`` of ``u ≥ 0`` into unit tunings of density
    ≤ ρ with ``Σ_k w_k = γ(u)`` (so the atoms are optimal for ``u``).

    If ``a(u) ≤ ρ``, ``u`` itself is the atom.  Otherwise ``u`` is inside the cone
    ``1ᵀy ≥ √(ρT)‖y‖``; moving along ``d = u_U/1ᵀu_U − u_L/1ᵀu_L`` (upper and lower halves
    of the support in stimulus order; ``1ᵀd = 0``) keeps ``1ᵀy`` fixed, so both ends of
    the chord are where ``‖y‖`` reaches ``1ᵀu/√(ρT)`` (density exactly ρ: an atom) or where
    one half vanishes (a point of half the support, split again).  Returns
    ``(atoms T × K, weights K)``.
    """
    t = len(u)
    s = np.sqrt(rho * t)
    order = np.argsort(x, kind="stable")
    atoms: list[np.ndarray] = []
    weights: list[float] = []
    stack = [(np.asarray(u, dtype=float), 1.0)]
    while stack:
        q, coef = stack.pop()
        norm, mass = np.linalg.norm(q), q.sum()
        if norm == 0:
            continue
        if mass <= s * norm * (1 + 1e-12):  # a(q) ≤ ρ: q is a feasible tuning
            atoms.append(q / norm)
            weights.append(coef * norm)
            continue
        supp = order[q[order] > 0]
        upper, lower = supp[len(supp) // 2:], supp[: len(supp) // 2]
        d = np.zeros(t)
        d[upper] = q[upper] / q[upper].sum()
        d[lower] = -q[lower] / q[lower].sum()
        radius2 = (mass / s) ** 2
        # ‖q + τd‖² = radius² ⇔ ‖d‖²τ² + 2(qᵀd)τ + ‖q‖² − radius² = 0 (one root each sign)
        a2, b, c0 = d @ d, q @ d, norm**2 - radius2
        disc = np.sqrt(b * b - a2 * c0)
        tau_hi = min((-b + disc) / a2, q[lower].sum())
        tau_lo = max((-b - disc) / a2, -q[upper].sum())
        ends = []
        for tau in (tau_hi, tau_lo):
            e = np.maximum(q + tau * d, 0.0)
            if tau == q[lower].sum():
                e[lower] = 0.0
            if tau == -q[upper].sum():
                e[upper] = 0.0
            ends.append(e)
        w_hi, w_lo = -tau_lo / (tau_hi - tau_lo), tau_hi / (tau_hi - tau_lo)
        stack.extend([(ends[0], coef * w_hi), (ends[1], coef * w_lo)])
    return np.array(atoms).T.reshape(t, -1), np.array(weights)


# ----------------------------------------------------------------------- pricing


def support_value(g: np.ndarray, rho: float, iters: int = 200) -> np.ndarray:
    """``h(g) = max{gᵀy : y ≥ 0, ‖y‖ ≤ 1, 1ᵀy ≤ √(ρT)}`` for each column of ``g``.

    For ``ρT ≥ 1`` this is ``max(0, max gᵀŷ over unit tunings of density ≤ ρ)``.  Computed
    from its dual ``min_{ν≥0} ‖relu(g − ν)‖ + ν√(ρT)`` (convex in ν) by golden-section
    search, which stays exact when the maximiser is not unique (ties in ``g``).
    """
    g = np.atleast_2d(np.asarray(g, dtype=float).T).T
    s = np.sqrt(rho * g.shape[0])
    top = np.maximum(g.max(axis=0), 0.0)

    def phi(nu: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.maximum(g - nu, 0.0), axis=0) + nu * s

    lo, hi = np.zeros_like(top), top.copy()
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(iters):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        left = phi(a) <= phi(b)
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
    nu = 0.5 * (lo + hi)
    return np.minimum.reduce([phi(nu), phi(np.zeros_like(top)), top * s])


def best_atoms(g: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact pricing for each column of ``g``: the unit tuning ``y = relu(g − ν)/‖·‖``
    (smallest ``ν ≥ 0`` with ``a(y) ≤ ρ``) maximising ``gᵀy``.  Returns ``(Y, gᵀY)``.

    ``r(ν) = 1ᵀy/‖y‖ = √(T a(y))`` is nonincreasing in ν.  With ``g`` sorted decreasingly
    and prefix sums ``S₁(k), S₂(k)`` of the top ``k`` entries, ``r(g_k)`` is found for
    every ``k`` at once; on the piece where ``r`` crosses ``s = √(ρT)`` (top-k support,
    ``k > s²``) ``r(ν) = s`` is the quadratic ``(S₁ − kν)² = s²(S₂ − 2νS₁ + kν²)`` with root
    ``ν = (S₁ − s√((kS₂ − S₁²)/(k − s²)))/k``.  No iteration, ``O(T log T)`` per column.
    With ties at the top of ``g`` the maximiser is not unique and ``y`` may be 0 or
    infeasible; :func:`support_value` gives the maximum robustly.
    """
    g = np.atleast_2d(np.asarray(g, dtype=float).T).T
    t = g.shape[0]
    s = np.sqrt(rho * t)
    gs = -np.sort(-g, axis=0)  # decreasing
    k = np.arange(1, t + 1)[:, None]
    s1, s2 = np.cumsum(gs, axis=0), np.cumsum(gs**2, axis=0)
    # r at ν = g_k with the top-k support (top-(k−1) values minus g_k)
    num = s1 - k * gs
    den2 = np.maximum(s2 - 2 * gs * s1 + k * gs**2, 0.0)
    r_break = np.where(den2 > 0, num / np.sqrt(np.where(den2 > 0, den2, 1.0)), 1.0)
    pos = np.maximum(g, 0.0)
    pn = np.linalg.norm(pos, axis=0)
    r0 = np.where(pn > 0, pos.sum(axis=0) / np.where(pn > 0, pn, 1.0), 0.0)
    # largest k with r(g_k) ≤ s (r(g_1) = 1 ≤ s): ν* lies in [g_{k+1}, g_k]
    ok = (r_break <= s * (1 + 1e-12)) & (gs > 0)
    kk = np.where(ok.any(axis=0), t - 1 - np.argmax(ok[::-1], axis=0), 0)
    cols = np.arange(g.shape[1])
    k_star = kk + 1.0
    a1, a2 = s1[kk, cols], s2[kk, cols]
    excess = k_star - s * s
    spread = np.maximum(k_star * a2 - a1 * a1, 0.0)
    lower = np.where(kk + 1 < t, gs[np.minimum(kk + 1, t - 1), cols], -np.inf)
    # k = s² (ρT an integer): the top-k support itself has density ≤ ρ, take ν = g_{k+1}
    nu = np.where(excess > 1e-12,
                  (a1 - s * np.sqrt(spread / np.where(excess > 1e-12, excess, 1.0))) / k_star,
                  lower)
    nu = np.clip(nu, lower, gs[kk, cols])
    nu = np.where(r0 <= s, 0.0, np.maximum(nu, 0.0))
    y = np.maximum(g - nu, 0.0)
    n = np.linalg.norm(y, axis=0)
    y = y / np.where(n > 0, n, 1.0)
    return y, np.sum(g * y, axis=0)


def rayleigh(gmat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``T·yᵀGy/‖y‖²`` per column: the relative reduced cost of each tuning."""
    n2 = np.sum(y**2, axis=0)
    return gmat.shape[0] * np.sum(y * (gmat @ y), axis=0) / np.where(n2 > 0, n2, np.inf)


def projected_gradient_pricing(gmat: np.ndarray, rho: float, starts: np.ndarray,
                               steps: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the Rayleigh quotient ``yᵀGy/‖y‖²`` over unit tunings of density ≤ ρ by
    projected gradient from each column of ``starts``.

    The projection of ``z`` onto ``{y ≥ 0, ‖y‖ = 1, a(y) ≤ ρ}`` is the maximiser of
    ``zᵀy`` there, i.e. :func:`best_atoms`; the step is ``1/(2‖G‖₂)``.  Returns the final
    tunings and their relative reduced costs ``T·yᵀGy``.
    """
    step = 1.0 / (2.0 * max(float(np.abs(np.linalg.eigvalsh(gmat)).max()), 1e-300))
    y, _ = best_atoms(np.maximum(starts, 0.0) + 1e-300, rho)
    best_y, best_r = y, rayleigh(gmat, y)
    feasible = lifetime_density(y) <= rho * (1 + 1e-9)
    best_r = np.where(feasible, best_r, np.inf)
    for _ in range(steps):
        r = np.sum(y * (gmat @ y), axis=0)
        z, _ = best_atoms(y - step * 2.0 * (gmat @ y - y * r), rho)
        # keep only true projections (ties in z can give 0 or an infeasible y)
        ok = (np.linalg.norm(z, axis=0) > 0) & (lifetime_density(z) <= rho * (1 + 1e-9))
        y = np.where(ok, z, y)
        feasible |= ok
        rc = np.where(feasible, rayleigh(gmat, y), np.inf)
        better = rc < best_r
        best_y = np.where(better, y, best_y)
        best_r = np.minimum(rc, best_r)
    return best_y, best_r


@dataclass(frozen=True)
class Pricing:
    """The most negative relative reduced cost ``1 − (gᵀŷ)²`` found, by method."""

    min_reduced_cost: float
    exact: float  # from the exact support function (never above the true minimum)
    projected_gradient: float
    fine_dictionary: float
    atom: np.ndarray  # the best tuning found (unit)


def price(g: np.ndarray, x: np.ndarray, rho: float, n_starts: int = 64,
          seed: int = 0) -> Pricing:
    """Search for atoms with negative reduced cost w.r.t. the dual ``g`` (see module doc).

    ``G = (I − ggᵀ)/T``; exact pricing evaluates ``1 − max(h(g), h(−g))²``, projected
    gradient starts from the exact atoms, the ramps at zero and ``n_starts`` seeded
    random tunings, and the fine dictionary is :func:`ramps_and_tents` on a 4× finer
    grid of thresholds and centres with 48 tent widths.
    """
    t = len(x)
    h = support_value(np.column_stack([g, -g]), rho)
    exact = float(1.0 - np.max(h) ** 2)
    y_exact, _ = best_atoms(np.column_stack([g, -g]), rho)
    gmat = (np.eye(t) - np.outer(g, g)) / t
    rng = np.random.default_rng(seed)
    starts = np.column_stack([y_exact, np.maximum(x, 0), np.maximum(-x, 0),
                              rng.exponential(size=(t, n_starts))
                              * (rng.random((t, n_starts)) < 0.5)])
    y_pg, r_pg = projected_gradient_pricing(gmat, rho, starts)
    fine = feasible_atoms(ramps_and_tents(x, refine=4, n_widths=12), rho, unique=False)
    r_fine = 1.0 - (g @ fine) ** 2
    candidates = [(exact, y_exact[:, int(np.argmax(h))]),
                  (float(r_pg.min()), y_pg[:, int(np.argmin(r_pg))]),
                  (float(r_fine.min()), fine[:, int(np.argmin(r_fine))])]
    best = min(candidates, key=lambda c: c[0])
    return Pricing(min_reduced_cost=best[0], exact=exact, projected_gradient=candidates[1][0],
                   fine_dictionary=candidates[2][0], atom=best[1])


# --------------------------------------------------------------------------- solvers


def solve_dictionary(
    x: np.ndarray, atoms: np.ndarray, settings: SolverSettings
) -> tuple[np.ndarray, float, np.ndarray, str]:
    """LP ``min Σ|v_k|`` s.t. ``Σ_k v_k ŷ_k = x``: returns ``(v, value, dual g, solver)``.

    ``g`` is the multiplier of the equality, signed so that ``gᵀx = value``.  Solved by
    the HiGHS dual simplex with ``v = p − n``, ``p, n ≥ 0``: a vertex, so exact zeros and
    exact duals.  (An interior-point solve of this degenerate LP stops short of 1e-10 on
    some dictionaries and then returns a value *below* the certified lower bound.)  The
    optimum is certified afterwards by exact pricing and the dual SOCP, solved by the
    configured conic solver, whose name is returned.
    """
    scale = float(np.linalg.norm(x))
    n_atoms = atoms.shape[1]
    res = optimize.linprog(np.ones(2 * n_atoms), A_eq=np.hstack([atoms, -atoms]), b_eq=x / scale,
                  bounds=(0, None), method="highs-ds",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SolverError(f"dictionary LP (HiGHS): {res.message}")
    v = res.x[:n_atoms] - res.x[n_atoms:]
    g = np.asarray(res.eqlin.marginals, dtype=float)
    if g @ x < 0:
        g = -g
    return v * scale, float(res.fun) * scale, g, resolve_solver(settings.name)


def purify(atoms: np.ndarray, v: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """A basic optimal solution from an optimal ``v`` of the dictionary LP.

    While the active columns are linearly dependent, move along a null-space direction
    ``d`` (the objective ``Σ sign(v_k) v_k`` is stationary along it at an optimum) until
    a weight reaches zero.  Deterministic; keeps ``Σ v_k ŷ_k`` and ``Σ|v_k|``.
    """
    v = v.copy()
    v[np.abs(v) <= tol * np.abs(v).sum()] = 0.0
    for _ in range(atoms.shape[1]):
        act = np.flatnonzero(v)
        _, sv, vt = np.linalg.svd(atoms[:, act], full_matrices=True)
        if int(np.sum(sv > 1e-10 * sv.max())) == len(act):
            break
        d = vt[-1]
        sgn = np.sign(v[act])
        if sgn @ d > 0:  # never increase Σ|v| (it is stationary along d at an optimum)
            d = -d
        toward = sgn * d < 0  # weights shrinking towards zero along d
        if not toward.any():
            d, toward = -d, sgn * d > 0
        ratio = np.where(toward, np.abs(v[act]) / np.where(toward, np.abs(d), 1.0), np.inf)
        k = int(np.argmin(ratio))
        new = v[act] + ratio[k] * d
        new[k] = 0.0
        new[np.abs(new) <= tol * np.abs(new).sum()] = 0.0
        v[act] = new
    return v
