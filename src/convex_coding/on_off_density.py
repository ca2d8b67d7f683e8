r"""Theorem 3: dense codes split a variable into ON and OFF channels, sparse codes do not.

One scalar stimulus with centred samples ``x ∈ R^T`` is encoded by nonnegative neurons of
any tuning shape whose Treves–Rolls lifetime density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)``
is at most ``ρ`` (a constraint on **each** neuron), and decoded linearly:

    minimise  f(Q) = Tr(Q)/T + λ Tr(x Q⁺ xᵀ)   over  Q ∈ K_ρ = cone{ y yᵀ : y ≥ 0, a(y) ≤ ρ }.

``K_ρ`` is a convex cone (the conic hull of a scale-invariant set), so the problem is
convex.  ``a(y) ≥ 1/T`` for every ``y ≥ 0``, so ``ρ ≥ 1/T`` is needed for feasibility.

**Smallest conic program (atomic norm).**  Write ``Q = Σ_k c_k ŷ_k ŷ_kᵀ`` with unit
tunings ``ŷ_k`` and the readout as ``x = Σ_k v_k ŷ_k``.  The scalar matrix-fractional term
is ``Tr(xQ⁺xᵀ) = min Σ_k v_k²/c_k``; minimising over ``c_k`` (``c_k = √(λT)|v_k|``) gives

    f* = 2 √(λ/T) · ‖x‖_ρ,      ‖x‖_ρ = min { Σ_k |v_k| : x = Σ_k v_k ŷ_k,  a(ŷ_k) ≤ ρ },

the atomic norm of ``x`` over unit tunings of density ≤ ρ.  ``λ`` only scales the cost;
the optimal tunings do not depend on it.  On a dictionary this is a linear program
(:func:`solve_dictionary`), an inner (upper) bound; the neurons' energies are
``‖z_k‖² = c_k ∝ |v_k|``.

**Closed form (ours; checked numerically).**  For ``ρT ≥ 1`` the convex hull of the
unit tunings and 0 is ``C = {y ≥ 0, ‖y‖ ≤ 1, 1ᵀy ≤ √(ρT)}`` (its extreme points are 0
and unit tunings), whose gauge on ``u ≥ 0`` is ``γ(u) = max(‖u‖, 1ᵀu/√(ρT))``; ``γ`` is
monotone, so the best split ``x = u − w`` (``u, w ≥ 0``) is ``x₊ − x₋`` and

    ‖x‖_ρ = γ(x₊) + γ(x₋) = Σ_± max( ‖x_±‖, 1ᵀx_± / √(ρT) ).

For symmetric ``x`` both ramps ``x_± = relu(±x)`` have density
``ρ* = (E|x|)² / (2E[x²])``, hence ``f*(ρ) = 2√λ · E|x| / √min(ρ, ρ*)``: above ``ρ*`` the
optimum is the ON/OFF pair (unique), below it every neuron of every optimum has density
exactly ``ρ`` and responds to one sign of ``x`` only, and the optimum is **not unique**
(any decomposition of ``x₊`` and ``x₋`` into such tunings is optimal).
:func:`canonical_code` picks a principled representative of that face: the most
localised optimal code (smallest energy-weighted tuning width, a second LP over the
certified face).

**Certificate.**  A dual vector ``g`` with ``|gᵀŷ| ≤ 1`` for all feasible atoms gives
the lower bound ``‖x‖_ρ ≥ gᵀx``.  At an optimum ``Q*`` (``Q* g = √(λT)·x`` by
complementary slackness) ``G = I/T − λ Q⁺xxᵀQ⁺ = (I − g gᵀ)/T`` is a gradient of ``f``,
and the **relative reduced cost** of a unit tuning is ``T·ŷᵀGŷ = 1 − (gᵀŷ)²`` (the
activity cost of a unit tuning is ``1/T``; we report the reduced cost in units of it).
:func:`price` searches for improving atoms three ways: exact water-filling (the maximiser
of ``gᵀy`` over unit tunings of density ≤ ρ is ``relu(g − ν)/‖·‖`` for the smallest
``ν ≥ 0`` giving ``a ≤ ρ``; the maximum itself is computed robustly from the 1-D dual
``min_ν ‖relu(g − ν)‖ + ν√(ρT)``), projected gradient on the Rayleigh quotient
``yᵀGy/‖y‖²`` from many starts (:func:`projected_gradient_pricing`, generic ``G``), and a
dictionary on a 4× finer grid.

**Outer bound.**  Replacing the per-neuron constraint by its population average
``1ᵀQ1 ≤ ρ T Tr Q`` and ``CP`` by doubly nonnegative ``Q`` gives a lower bound
(:func:`outer_bound`), solved exactly in the symmetry-reduced form of
:func:`outer_bound_symmetric` when ``x`` is symmetric.  Its value equals ``f*`` for every
``ρ`` (dual certificates ``μ = 1/(ρT²)``, ``g ∝ sign x`` below ``ρ*``: ``11ᵀ − ssᵀ ≥ 0``
entrywise; ``μ = 0``, ``g ∝ ŷ₊ − ŷ₋`` above), although its optimal ``Q`` need not lie in
``K_ρ``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cvxpy as cp
import numpy as np
from scipy import stats
from scipy.optimize import linprog

from . import menu
from .solvers import (
    SolverError,
    SolverSettings,
    resolve_solver,
    solve_relaxing,
)

STIMULUS_KINDS = ("uniform", "gaussian", "laplace", "spike_and_slab", "gen_gaussian")

#: kinds that need ``param`` (spike_and_slab: slab probability p ∈ (0, 1];
#: gen_gaussian: shape β > 0)
STIMULUS_PARAMS = ("spike_and_slab", "gen_gaussian")


# ------------------------------------------------------------------------- stimuli


def quantile_samples(ppf: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """``n`` deterministic samples ``x_t = F⁻¹((t + ½)/n)`` of a symmetric law.

    The samples are symmetrised exactly, ``x_t = (F⁻¹(u_t) − F⁻¹(1 − u_t))/2``, so that
    ``x`` is centred and ``−x`` is a permutation of ``x`` up to rounding.
    """
    u = (np.arange(n) + 0.5) / n
    q = np.asarray(ppf(u), dtype=float)
    x = 0.5 * (q - q[::-1])
    return x - x.mean()


def stimulus_samples(kind: str, n: int, param: float | None = None) -> np.ndarray:
    """Quantile samples of a named symmetric law (centred).

    ``uniform`` on [−1, 1]; ``gaussian`` and ``laplace`` standard; ``spike_and_slab``:
    a standard normal with probability ``p = param``, else exactly 0 (smaller ``p`` is
    sparser, ``ρ* = p/π``); ``gen_gaussian``: density ∝ ``exp(−|x|^β)``, ``β = param``
    (``β = 1`` Laplace, ``β = 2`` Gaussian, ``β → ∞`` uniform).
    """
    if kind not in STIMULUS_KINDS:
        raise ValueError(f"unknown stimulus kind {kind!r}; allowed: {', '.join(STIMULUS_KINDS)}")
    if kind == "spike_and_slab" and not (param is not None and 0 < float(param) <= 1):
        raise ValueError(f"spike_and_slab needs a slab probability in (0, 1], got {param!r}")
    if kind == "gen_gaussian" and not (param is not None and 0 < float(param) < np.inf):
        raise ValueError(f"gen_gaussian needs a shape beta > 0, got {param!r}")
    if kind == "uniform":
        return quantile_samples(lambda u: 2 * u - 1, n)
    if kind == "gaussian":
        return quantile_samples(stats.norm.ppf, n)
    if kind == "laplace":
        return quantile_samples(stats.laplace.ppf, n)
    if kind == "gen_gaussian":
        return quantile_samples(lambda u: stats.gennorm.ppf(u, float(param)), n)
    p = float(param)

    def spike_slab_ppf(u: np.ndarray) -> np.ndarray:
        x = np.zeros_like(u)
        lo, hi = u < p / 2, u > 1 - p / 2
        x[lo] = stats.norm.ppf(u[lo] / p)
        x[hi] = stats.norm.ppf((u[hi] - (1 - p)) / p)
        return x

    return quantile_samples(spike_slab_ppf, n)


def lifetime_density(y: np.ndarray) -> np.ndarray:
    """Treves–Rolls density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)`` of each column of ``y``."""
    y = np.asarray(y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    sq = np.sum(y**2, axis=0)
    return np.sum(y, axis=0) ** 2 / (y.shape[0] * np.where(sq > 0, sq, np.inf))


def predicted_threshold(x: np.ndarray) -> float:
    """``ρ* = (E|x|)² / (2E[x²])`` from the samples; ``= a(relu(±x))`` for symmetric x."""
    return float(np.mean(np.abs(x)) ** 2 / (2 * np.mean(x**2)))


def is_symmetric(x: np.ndarray, tol: float = 1e-12) -> bool:
    """Whether ``−x`` is a permutation of ``x`` (to ``tol`` relative)."""
    xs = np.sort(x)
    return bool(np.allclose(xs, -xs[::-1], atol=tol * max(1.0, np.abs(x).max()), rtol=0))


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
    res = linprog(np.ones(2 * n_atoms), A_eq=np.hstack([atoms, -atoms]), b_eq=x / scale,
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


def dictionary_readout(sim: menu.Similarity, x: np.ndarray) -> tuple[cp.Expression, list]:
    """``Tr(xQ⁺xᵀ)`` for ``Q = Σ_k c_k y_k y_kᵀ`` (``sim`` from
    :func:`menu.dictionary_similarity`) in its low-dimensional form.

    ``x`` is one row, so the matrix-fractional term is the scalar
    ``min Σ_k w_k²/c_k`` over readouts with ``Σ_k w_k y_k = x`` (``w_k = r_k√c_k``): one
    rotated second-order cone per atom, ``w_k² ≤ c_k u_k``, instead of the
    ``(T+1)×(T+1)`` Schur complement of :func:`menu.readout_energy` (same value; the LMI
    is degenerate because ``Q`` is rank-deficient at a dictionary optimum).
    """
    k = sim.atoms.shape[1]
    w, u = cp.Variable(k), cp.Variable(k, nonneg=True)
    c = sim.core
    cons = [sim.atoms @ w == x, cp.SOC(c + u, cp.vstack([2 * w, c - u]), axis=0)]
    return cp.sum(u), cons


def q_space_cost(x: np.ndarray, atoms: np.ndarray, lam: float,
                 settings: SolverSettings) -> float:
    """``min Tr(Q)/T + λTr(xQ⁺xᵀ)`` over ``Q = Σ c_k ŷ_kŷ_kᵀ`` (menu dictionary similarity
    and activity energy, :func:`dictionary_readout`): checks the atomic-norm reduction,
    whose value is ``2√(λ/T)·‖x‖`` on the same atoms."""
    t = len(x)
    sim = menu.dictionary_similarity(atoms)
    readout, constraints = dictionary_readout(sim, x)
    objective = menu.activity_energy(sim) / t + lam * readout
    return solve_relaxing(cp.Problem(cp.Minimize(objective), constraints), settings,
                           "Q-space dictionary problem")


@dataclass(frozen=True)
class OnOffSolution:
    """Certified optimal population for one density bound (λ-free: costs are norms)."""

    rho: float
    atoms: np.ndarray  # unit tunings with positive weight (T × K)
    weights: np.ndarray  # |v_k|: proportional to each neuron's energy ‖z_k‖²
    signs: np.ndarray  # sign of each neuron's readout weight
    atomic_norm: float  # ‖x‖_ρ on the final dictionary (inner bound)
    lower_bound: float  # gᵀx / max(1, h(±g)) for the certifying dual g
    exact_norm: float  # from the SOCP (dictionary-free)
    closed_form: float  # γ(x₊) + γ(x₋)
    dual: np.ndarray  # certifying dual g
    dual_source: str  # "lp" or "closed_form"
    pricing: Pricing  # at the certifying dual
    complementarity: float  # Σ_k |v_k||1 − sign(v_k)ŷ_kᵀg| / Σ|v_k| (relative ⟨G, Q*⟩)
    rounds: int
    n_dictionary: int
    solver: str
    #: "basic" (a vertex of the dictionary LP, purified) or "canonical"
    #: (:func:`canonical_code`: the most localised code on the optimal face)
    representative: str = "basic"
    n_basic: int = 0  # neurons of the basic optimum the canonical code replaces

    @property
    def min_reduced_cost(self) -> float:
        return self.pricing.min_reduced_cost

    @property
    def gap(self) -> float:
        """Relative gap between the inner value and the certified lower bound."""
        return (self.atomic_norm - self.lower_bound) / self.atomic_norm


def _dual_bound(g: np.ndarray, x: np.ndarray, rho: float) -> float:
    h = float(np.max(support_value(np.column_stack([g, -g]), rho)))
    return float(g @ x) / max(1.0, h)


def solve_on_off(
    x: np.ndarray,
    rho: float,
    settings: SolverSettings,
    base: np.ndarray | None = None,
    tol: float = 1e-9,
    max_rounds: int = 30,
    drop: np.ndarray | None = None,
    split: bool = True,
    canonical: bool = False,
) -> OnOffSolution:
    """Certified optimum of the per-neuron-density problem by column generation.

    Dictionary: ``base`` (default :func:`ramps_and_tents`) filtered to ``a ≤ ρ``, plus
    (``split=True``) the exact decompositions of ``x₊`` and ``x₋`` (:func:`split_atoms`),
    minus any columns parallel to a column of ``drop``.  Each round solves the LP; if its
    value exceeds the best certified lower bound (LP dual or the closed-form dual, both
    verified by exact pricing) by more than ``tol`` (relative), atoms are priced at duals
    between the certifying dual and the LP dual (stabilised column generation) and added.
    The final LP solution is purified to a basic one and priced by all three methods.
    ``canonical=True`` then replaces the basic optimum by :func:`canonical_code` (same
    certificate: the pricing depends on the dual only).
    """
    t = len(x)
    if rho * t < 1:
        raise ValueError(f"rho={rho} < 1/T: no nonnegative tuning is that sparse")
    atoms = feasible_atoms(ramps_and_tents(x) if base is None else base, rho)
    if split:
        extra = [split_atoms(np.maximum(s * x, 0.0), x, rho)[0] for s in (1.0, -1.0)]
        atoms = np.hstack([atoms, *extra])
    if drop is not None:
        d = drop / np.linalg.norm(drop, axis=0)
        atoms = atoms[:, np.all(np.abs(atoms.T @ d) < 1 - 1e-9, axis=1)]
    g_cf = closed_form_dual(x, rho)
    lower_cf = _dual_bound(g_cf, x, rho)
    rounds = 0
    for rounds in range(1, max_rounds + 2):
        v, value, g_lp, solver = solve_dictionary(x, atoms, settings)
        lower_lp = _dual_bound(g_lp, x, rho)
        g_cert, lower, source = ((g_lp, lower_lp, "lp") if lower_lp >= lower_cf
                                 else (g_cf, lower_cf, "closed_form"))
        # the last pass only re-solves the LP on the atoms added by the previous round,
        # so that v always refers to the final dictionary
        if value <= lower * (1 + tol) or rounds > max_rounds:
            break
        duals = np.column_stack([g_cert + a * (g_lp - g_cert)
                                 for a in (1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0)])
        cand, _ = best_atoms(np.hstack([duals, -duals]), rho)
        cand = cand[:, lifetime_density(cand) <= rho * (1 + 1e-9)]
        rc = 1.0 - (g_lp @ cand) ** 2
        new = cand[:, rc < -1e-9]
        if new.shape[1] == 0:
            break
        atoms = np.hstack([atoms, new])
    v = purify(atoms, v)
    # a degenerate vertex (or, with an interior-point LP, solver noise) can leave tiny
    # weights on atoms of no optimum: drop weights below 1e-6 of the total and re-solve
    # on the rest, kept if the value is no worse (to 1e-8 relative; the certificate then
    # judges the kept solution)
    small = (np.abs(v) > 0) & (np.abs(v) <= 1e-6 * np.abs(v).sum())
    if small.any():
        keep = np.flatnonzero(np.abs(v) > 1e-6 * np.abs(v).sum())
        try:
            v_k, value_k, _, _ = solve_dictionary(x, atoms[:, keep], settings)
        except SolverError:
            value_k = np.inf
        if value_k <= np.abs(v).sum() * (1 + 1e-8):  # LP noise is ~1e-10 relative
            v = np.zeros_like(v)
            v[keep] = purify(atoms[:, keep], v_k)
    active = np.abs(v) > 0
    pricing = price(g_cert, x, rho)
    y = atoms[:, active]
    # complementary slackness ⟨G, Q*⟩ = 0: Σ_k |v_k| |1 − sign(v_k) ŷ_kᵀg| / Σ_k |v_k|
    comp = float(np.abs(v[active]) @ np.abs(1 - np.sign(v[active]) * (y.T @ g_cert))
                 / np.abs(v[active]).sum())
    sol = OnOffSolution(
        rho=rho,
        atoms=y,
        weights=np.abs(v[active]),
        signs=np.sign(v[active]),
        atomic_norm=float(np.abs(v).sum()),
        lower_bound=lower,
        exact_norm=exact_norm(x, rho, settings),
        closed_form=closed_form_norm(x, rho),
        dual=g_cert,
        dual_source=source,
        pricing=pricing,
        complementarity=comp,
        rounds=rounds,
        n_dictionary=atoms.shape[1],
        solver=solver,
        n_basic=int(active.sum()),
    )
    return canonical_code(x, sol) if canonical else sol


# ------------------------------------------------------------ canonical representative


def density_tents(x: np.ndarray, rho: float, refine: int = 2,
                  ratios: np.ndarray | None = None, iters: int = 60) -> np.ndarray:
    """Localised candidate tunings of density **exactly** ρ, one sign of ``x`` each
    (unit columns, T × K).

    Asymmetric tents ``u ↦ relu(1 − (p − u)/w)`` left of the peak ``p`` and
    ``relu(1 − (u − p)/(r w))`` right of it, in ``u = ±x`` on the samples with ``±x > 0``
    (zero elsewhere): peaks at 0, on a grid ``refine`` times finer than the samples and
    beyond the largest sample (so truncated tents, i.e. ramps at the extremes, are
    included); slope ratios ``r`` (default ``geomspace(1/8, 8, 7)``); the scale ``w``
    is set by bisection so that ``a(y) = ρ`` (shapes that cannot reach ρ are dropped).
    Below ``ρ*`` these are exactly the tunings with zero reduced cost at the sign-plateau
    dual, so they lie on the optimal face.
    """
    ratios = np.geomspace(1 / 8, 8, 7) if ratios is None else np.asarray(ratios, float)
    cols = []
    for sign in (1.0, -1.0):
        side = sign * x > 1e-12 * np.abs(x).max()
        pts = np.sort(sign * x[side])
        n = len(pts)
        if n == 0:
            continue
        step = pts[-1] / n
        grid = np.interp(np.linspace(0, n - 1, refine * (n - 1) + 1), np.arange(n), pts)
        peaks = np.concatenate([[0.0], grid, pts[-1] + 2 * step * np.arange(1, 2 * n) / refine])
        peak, ratio = (a.ravel() for a in np.meshgrid(peaks, ratios, indexing="ij"))
        u = np.where(side, sign * x, np.nan)[:, None] - peak[None, :]

        def shape(w: np.ndarray, u=u, side=side, ratio=ratio) -> np.ndarray:
            y = np.where(u < 0, 1 + u / w, 1 - u / (w * ratio))
            return np.where(side[:, None], np.maximum(np.nan_to_num(y, nan=0.0), 0.0), 0.0)

        lo = np.full(len(peak), 1e-6 * step)
        hi = np.full(len(peak), 8 * pts[-1])
        reach = lifetime_density(shape(hi)) >= rho
        for _ in range(iters):  # density grows with the scale w: geometric bisection
            mid = np.sqrt(lo * hi)
            over = lifetime_density(shape(mid)) > rho
            hi, lo = np.where(over, mid, hi), np.where(over, lo, mid)
        y = shape(lo)
        cols.append(y[:, reach & (lifetime_density(y) <= rho) & (y.sum(axis=0) > 0)])
    y = np.hstack(cols) if cols else np.zeros((len(x), 0))
    return y / np.linalg.norm(y, axis=0)


def tuning_spread(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Energy-weighted width of each tuning: the standard deviation of ``x`` under the
    weights ``ŷ_t²/‖ŷ‖²`` (stimulus units)."""
    w = y**2 / np.sum(y**2, axis=0)
    centre = x @ w
    return np.sqrt(np.maximum(np.sum((x[:, None] - centre) ** 2 * w, axis=0), 0.0))


def canonical_code(x: np.ndarray, sol: OnOffSolution, candidates: np.ndarray | None = None,
                   face_tol: float = 1e-9, slack: float = 1e-8) -> OnOffSolution:
    """The most localised optimal code: a principled representative of the optimal face.

    Below ``ρ*`` the optimum is not unique (any decomposition of ``x₊`` and ``x₋`` into
    tunings of density exactly ρ is optimal), so the basic optimum a solver returns is an
    arbitrary vertex of the face, often with zig-zag tunings.  This second LP, over the
    certified optimal face,

        minimise  Σ_k u_k·spread(ŷ_k)   s.t.  Σ_k σ_k u_k ŷ_k = x,  u ≥ 0,
                  Σ_k u_k ≤ ‖x‖_ρ(1 + slack),

    picks the code of smallest energy-weighted tuning width (:func:`tuning_spread`; the
    weights ``u_k = |v_k|`` are proportional to the neurons' energies), i.e. the most
    localised optimal code: a tiling of ``x₊`` and ``x₋`` by bumps, with monotone
    tunings (truncated tents) at the extremes.  Candidates: :func:`density_tents` (and
    any ``candidates`` given); if they cannot represent ``x`` on the face (close to
    ``ρ*``, where the optimal tunings are nearly ramps), the basic optimum's atoms are
    added, which makes the LP feasible.  Only atoms with zero reduced cost at the
    certifying dual ``g``, ``|gᵀŷ| ≥ 1 − face_tol``, can carry weight (complementary
    slackness); their readout sign is ``σ_k = sign(gᵀŷ_k)``.  Solved by the HiGHS simplex
    (a vertex: exact zeros).  Above ``ρ*`` the face is the ON/OFF pair alone, which the
    LP returns.  If the LP fails, or its solution does not reproduce ``x`` to 1e-9
    relative, ``sol`` is returned as it is (``representative="basic"``).
    """
    scale = float(np.linalg.norm(x))
    pool = [density_tents(x, sol.rho)]
    if candidates is not None:
        pool.append(candidates / np.linalg.norm(candidates, axis=0))
    for extra in ([], [sol.atoms]):
        cand = np.hstack([*pool, *extra])
        score = sol.dual @ cand
        face = np.abs(score) >= 1 - face_tol
        if not face.any():
            continue
        cand, sigma = cand[:, face], np.sign(score[face])
        res = linprog(tuning_spread(x, cand), A_eq=cand * sigma, b_eq=x / scale,
                      A_ub=np.ones((1, cand.shape[1])),
                      b_ub=[sol.atomic_norm / scale * (1 + slack)], bounds=(0, None),
                      method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                               "dual_feasibility_tolerance": 1e-10})
        if res.status != 0:
            continue
        u = np.asarray(res.x, dtype=float) * scale
        active = u > 1e-12 * u.sum()
        y, u, sigma = cand[:, active], u[active], sigma[active]
        if np.linalg.norm(y @ (sigma * u) - x) > 1e-9 * scale:
            continue
        comp = float(u @ np.abs(1 - sigma * (y.T @ sol.dual)) / u.sum())
        return replace(sol, atoms=y, weights=u, signs=sigma, atomic_norm=float(u.sum()),
                       complementarity=comp, representative="canonical",
                       n_basic=sol.atoms.shape[1])
    return sol


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
