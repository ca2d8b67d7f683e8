r"""Theorem 3: dense codes split a variable into ON and OFF channels, sparse codes tile it.

One scalar stimulus with centred samples ``x ∈ R^T`` is encoded by nonnegative neurons of
any tuning shape whose Treves–Rolls lifetime density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)``
is at most ``ρ``, and decoded linearly:

    minimise  Tr(Q)/T + λ Tr(x Q⁺ xᵀ)   over  Q ∈ cone{ y yᵀ : y ≥ 0, a(y) ≤ ρ }.

**Reduction to an atomic norm.** Write ``Q = Σ_k c_k y_k y_kᵀ`` and the readout as
``x = Σ_k w_k y_k``; then ``Tr(xQ⁺xᵀ) = min Σ_k w_k²/c_k`` and minimising over ``c_k``
(``c_k = √(λT)|w_k|/‖y_k‖``) leaves

    cost = 2 √(λ/T) · ‖x‖_ρ,   ‖x‖_ρ = min { Σ_k |v_k| : x = Σ_k v_k ŷ_k },  ŷ = y/‖y‖,

the atomic norm of ``x`` over the unit tunings of density ≤ ρ.  ``λ`` only scales the
cost: the optimal tunings do not depend on it.  On a dictionary this is a linear
program (:func:`solve_dictionary`), an inner bound.

**Exact pricing.** The dual of the LP is ``max gᵀx`` s.t. ``|gᵀŷ| ≤ 1`` for all atoms.
The most violated atom for a dual vector ``g`` solves
``max gᵀy`` s.t. ``y ≥ 0, ‖y‖ ≤ 1, 1ᵀy ≤ √(ρT)``; for ``ρT > 1`` the norm constraint is
active, so the maximiser ``y = relu(g − ν)/‖relu(g − ν)‖`` (the smallest ``ν ≥ 0`` with
``a(y) ≤ ρ``) is a feasible unit tuning and the pricing is exact (:func:`best_atom`).
Column generation therefore converges to the optimum over the whole cone, and
``1 − max_ŷ (gᵀŷ)²`` is the most negative reduced cost ``T·ŷᵀGŷ`` of
``G = I/T − λ Q⁺xxᵀQ⁺`` at the reported optimum.

**Outer bound.** The population-average relaxation ``1ᵀQ1 ≤ ρ T Tr Q`` with ``Q`` doubly
nonnegative (:func:`outer_bound`) is reported alongside; it is loose.

**Threshold.** The ON/OFF pair ``relu(x), relu(−x)`` is optimal without the density
constraint (dual certificate ``g = relu(x)/‖relu(x)‖ − relu(−x)/‖relu(−x)‖``), so it is
optimal iff both ramps are feasible: ``ρ ≥ ρ* = (E|x|)² / (2E[x²])`` for symmetric ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy import stats

from . import menu
from .solvers import SolverError, SolverSettings, solve_checked

STIMULUS_KINDS = ("uniform", "gaussian", "laplace", "spike_and_slab", "gen_gaussian")


# ------------------------------------------------------------------------- stimuli


def stimulus_samples(kind: str, n: int, param: float | None = None) -> np.ndarray:
    """``n`` deterministic samples ``x_t = F⁻¹((t + ½)/n)`` of a symmetric law, centred.

    ``spike_and_slab``: with probability ``p = param`` a standard normal, else exactly 0
    (smaller ``p`` is sparser).  ``gen_gaussian``: density ∝ ``exp(−|x|^β)``, ``β = param``.
    """
    u = (np.arange(n) + 0.5) / n
    if kind == "uniform":
        x = 2 * u - 1
    elif kind == "gaussian":
        x = stats.norm.ppf(u)
    elif kind == "laplace":
        x = stats.laplace.ppf(u)
    elif kind == "spike_and_slab":
        p = float(param)
        x = np.zeros(n)
        lo, hi = u < p / 2, u > 1 - p / 2
        x[lo] = stats.norm.ppf(u[lo] / p)
        x[hi] = stats.norm.ppf((u[hi] - (1 - p)) / p)
    elif kind == "gen_gaussian":
        x = stats.gennorm.ppf(u, float(param))
    else:
        raise ValueError(f"unknown stimulus kind {kind!r}; allowed: {', '.join(STIMULUS_KINDS)}")
    return x - x.mean()


def lifetime_density(y: np.ndarray) -> np.ndarray:
    """Treves–Rolls density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)`` of each column of ``y``."""
    y = np.asarray(y, dtype=float)
    t = y.shape[0]
    return np.sum(y, axis=0) ** 2 / (t * np.sum(y**2, axis=0))


def predicted_threshold(x: np.ndarray) -> float:
    """``ρ* = (E|x|)² / (2E[x²])`` from the samples; equals ``a(relu(x))`` for symmetric x."""
    return float(np.mean(np.abs(x)) ** 2 / (2 * np.mean(x**2)))


# ----------------------------------------------------------------------- dictionary


def ramps_and_tents(x: np.ndarray) -> np.ndarray:
    """Ramps ``relu(±(x − θ))`` at every sample threshold, tents of every centre and
    width, and boxcars of every length and position (on the sorted samples), as columns
    (T × K), unnormalised."""
    xs = np.sort(x)
    cols = [np.maximum(x[:, None] - xs[None, :-1], 0.0), np.maximum(xs[None, 1:] - x[:, None], 0.0)]
    span = xs[-1] - xs[0]
    widths = span * np.geomspace(1.0 / len(x), 0.5, 24)
    centres = xs
    tents = np.maximum(0.0, 1 - np.abs(x[:, None, None] - centres[None, :, None])
                       / widths[None, None, :])
    cols.append(tents.reshape(len(x), -1))
    # boxcars of every length and position (sorted order): the extreme sparse tunings
    rank = np.argsort(np.argsort(x))
    t = len(x)
    for k in range(1, t // 2 + 1):
        starts = np.arange(t - k + 1)
        cols.append(((rank[:, None] >= starts[None, :]) & (rank[:, None] < starts[None, :] + k))
                    .astype(float))
    atoms = np.hstack(cols)
    return atoms[:, np.sum(atoms, axis=0) > 0]


def feasible_atoms(atoms: np.ndarray, rho: float, tol: float = 1e-12) -> np.ndarray:
    """Unit-norm columns with lifetime density ≤ ρ, duplicates removed."""
    keep = lifetime_density(atoms) <= rho + tol
    a = atoms[:, keep]
    a = a / np.linalg.norm(a, axis=0)
    _, idx = np.unique(np.round(a, 12), axis=1, return_index=True)
    return a[:, np.sort(idx)]


def best_atom(g: np.ndarray, rho: float) -> tuple[np.ndarray, float]:
    """Exact pricing: the unit tuning ``y ≥ 0`` with ``a(y) ≤ ρ`` maximising ``gᵀy``.

    ``y = relu(g − ν)/‖·‖`` with the smallest ``ν ≥ 0`` making ``a(y) ≤ ρ``; ``a`` falls
    as ``ν`` rises (the support shrinks), so ``ν`` is found exactly between the sorted
    values of ``g`` and refined by bisection.  Returns ``(y, gᵀy)``.
    """
    if np.max(g) <= 0:
        return np.zeros_like(g), 0.0

    def density(nu: float) -> float:
        y = np.maximum(g - nu, 0.0)
        return float(lifetime_density(y[:, None])[0])

    lo = 0.0
    if density(lo) > rho:
        hi = float(np.max(g)) * (1 - 1e-15)
        for _ in range(200):  # a(ν) is continuous and nonincreasing on [0, max g)
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if density(mid) > rho else (lo, mid)
            if hi - lo <= 1e-15 * max(1.0, abs(hi)):
                break
        lo = hi
    y = np.maximum(g - lo, 0.0)
    y /= np.linalg.norm(y)
    return y, float(g @ y)


# --------------------------------------------------------------------------- solvers


@dataclass(frozen=True)
class OnOffSolution:
    """Optimal population for one density bound, with its certificate."""

    rho: float
    atoms: np.ndarray  # unit tunings with positive weight (T × K)
    weights: np.ndarray  # |v_k| (sum = atomic norm), the share of population energy
    signs: np.ndarray  # sign of each neuron's readout weight
    atomic_norm: float  # ‖x‖_ρ on the final dictionary (inner bound)
    dual: np.ndarray  # g with |gᵀŷ| ≤ 1 on the dictionary
    min_reduced_cost: float  # 1 − max_ŷ (gᵀŷ)² over ALL feasible atoms (exact pricing)
    lower_bound: float  # xᵀg / max(1, max|gᵀŷ|): certified lower bound on ‖x‖_ρ
    rounds: int
    n_dictionary: int
    solver: str


def solve_dictionary(
    x: np.ndarray, atoms: np.ndarray, settings: SolverSettings
) -> tuple[np.ndarray, float, np.ndarray, str]:
    """LP ``min Σ|v_k|`` s.t. ``Σ_k v_k ŷ_k = x``: returns ``(v, value, dual g, solver)``."""
    v = cp.Variable(atoms.shape[1])
    fit = atoms @ v == x
    prob = cp.Problem(cp.Minimize(cp.norm1(v)), [fit])
    report = solve_checked(prob, settings)
    g = -np.asarray(fit.dual_value, dtype=float)
    if g @ x < 0:  # cvxpy's sign convention for equality duals
        g = -g
    return np.asarray(v.value, dtype=float), report.value, g, report.solver


def component_atoms(g: np.ndarray, x: np.ndarray, rho: float,
                    levels: int = 8) -> np.ndarray:
    """Candidate atoms from a dual vector: ``relu(g − ν)`` restricted to each contiguous
    run (in stimulus order) of its support, for several levels ``ν``, kept if a ≤ ρ."""
    order = np.argsort(x)
    out = []
    top = float(np.max(g))
    if top <= 0:
        return np.zeros((len(x), 0))
    for nu in top * np.linspace(0.0, 0.95, levels):
        y = np.maximum(g - nu, 0.0)
        active = y[order] > 0
        edges = np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            atom = np.zeros_like(y)
            idx = order[start:stop]
            atom[idx] = y[idx]
            out.append(atom)
    atoms = np.array(out).T
    return feasible_atoms(atoms, rho) if atoms.size else np.zeros((len(x), 0))


def dual_value(x: np.ndarray, rho: float, settings: SolverSettings) -> tuple[float, np.ndarray]:
    """``‖x‖_ρ`` exactly, from the dual over the whole continuum of tunings (an SOCP):

        max gᵀx  s.t.  h(g) ≤ 1, h(−g) ≤ 1,
        h(g) = max{gᵀy : y ≥ 0, ‖y‖ ≤ 1, 1ᵀy ≤ √(ρT)} = min_{η,ν ≥ 0} ‖g + η − ν1‖ + ν√(ρT).

    The relaxed set's support function equals that of the unit tunings of density ≤ ρ
    (its maximisers can be taken with ‖y‖ = 1), so this is a certified lower bound equal
    to the optimum.  Returns ``(value, g)``.
    """
    t = len(x)
    s = np.sqrt(rho * t)
    g = cp.Variable(t)
    cons = []
    for sign in (1.0, -1.0):
        eta, nu = cp.Variable(t, nonneg=True), cp.Variable(nonneg=True)
        cons.append(cp.norm(sign * g + eta - nu, 2) + s * nu <= 1)
    report = solve_checked(cp.Problem(cp.Maximize(x @ g), cons), settings)
    return report.value, np.asarray(g.value, dtype=float)


def solve_on_off(
    x: np.ndarray,
    rho: float,
    settings: SolverSettings,
    tol: float = 1e-7,
    max_rounds: int = 30,
    drop: np.ndarray | None = None,
) -> OnOffSolution:
    """Column generation on ramps + tents with exact pricing, until no atom of density
    ≤ ρ has ``|gᵀŷ| > 1 + tol``.  ``drop`` removes given unit atoms from the initial
    dictionary (to test that pricing finds them again)."""
    exact, g_star = dual_value(x, rho, settings)
    priced = [best_atom(sign * g_star, rho)[0] for sign in (1.0, -1.0)]
    atoms = feasible_atoms(ramps_and_tents(x), rho)
    if drop is None:
        atoms = np.hstack([atoms, np.array([p for p in priced if p.any()]).T])
    else:
        keep = np.all(np.abs(atoms.T @ drop) < 1 - 1e-9, axis=1)
        atoms = atoms[:, keep]
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - reported below
        v, value, g, solver = solve_dictionary(x, atoms, settings)
        solved_on = atoms
        if value <= exact * (1 + tol):  # the dictionary attains the exact optimum
            break
        new = [y for sign in (1.0, -1.0)
               for y, score in [best_atom(sign * g, rho)]
               if score > 1 + tol and np.max(atoms.T @ y) < 1 - 1e-10]  # not a duplicate
        if not new:
            break
        extra = [component_atoms(sign * dual, x, rho) for sign in (1.0, -1.0)
                 for dual in (g, g_star)]
        atoms = np.hstack([atoms, np.array(new).T, *extra])
    best = max(best_atom(sign * g_star, rho)[1] for sign in (1.0, -1.0))
    # an interior-point LP solution puts ~1e-9 weights on atoms of no optimum: keep the
    # support and re-solve on it (kept only if the value does not get worse)
    support = np.abs(v) > 1e-6 * np.abs(v).sum()
    try:
        v_s, value_s, _, _ = solve_dictionary(x, solved_on[:, support], settings)
    except SolverError:  # the support LP is degenerate: keep the full-dictionary solution
        value_s = np.inf
    if value_s <= value * (1 + 1e-9):
        solved_on, value = solved_on[:, support], value_s
        v = v_s
    active = np.abs(v) > 1e-9 * np.abs(v).sum()
    return OnOffSolution(
        rho=rho,
        atoms=solved_on[:, active],
        weights=np.abs(v[active]),
        signs=np.sign(v[active]),
        atomic_norm=value,
        dual=g_star,
        min_reduced_cost=1 - best**2,
        lower_bound=exact / max(1.0, best),
        rounds=rounds,
        n_dictionary=solved_on.shape[1],
        solver=solver,
    )


def cost(atomic_norm: float, lam: float, n: int) -> float:
    """``Tr(Q)/T + λ Tr(xQ⁺xᵀ)`` at the optimum: ``2√(λ/T)·‖x‖_ρ``."""
    return 2.0 * np.sqrt(lam / n) * atomic_norm


def outer_bound(x: np.ndarray, rho: float, lam: float, settings: SolverSettings) -> float:
    """Population-average relaxation: ``1ᵀQ1 ≤ ρ T Tr Q``, ``Q`` doubly nonnegative."""
    t = len(x)
    sim = menu.psd_similarity(t)
    readout, constraints = menu.readout_energy(sim, x[None, :])
    constraints += menu.outer_nonnegativity(sim)
    constraints.append(menu.lifetime_density(sim) <= rho * t * menu.activity_energy(sim))
    objective = menu.activity_energy(sim) / t + lam * readout
    return solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings).value


# ------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class OnOffAnalysis:
    on_off: bool  # an increasing and a decreasing tuning that together cover the range
    monotone_share: float  # share of population energy in monotone tunings
    n_tunings: int
    centres: np.ndarray  # energy-weighted centre of each tuning (stimulus units)
    widths: np.ndarray  # extent of each tuning's support (stimulus units)
    max_monotone_extent: float  # largest support of a monotone tuning / stimulus range


def analyse(x: np.ndarray, sol: OnOffSolution, tol: float = 1e-9) -> OnOffAnalysis:
    """ON/OFF index, monotone energy share, and the centres and widths of the tunings."""
    order = np.argsort(x)
    xs = x[order]
    y = sol.atoms[order]
    active = y > tol * y.max(axis=0, keepdims=True)
    diffs = np.diff(y, axis=0)
    scale = tol * y.max(axis=0)
    increasing = np.all(diffs >= -scale, axis=0)
    decreasing = np.all(diffs <= scale, axis=0)
    monotone = increasing | decreasing
    span = xs[-1] - xs[0]
    lo = np.array([xs[a].min() for a in active.T])
    hi = np.array([xs[a].max() for a in active.T])
    widths = hi - lo
    # an increasing tuning active up to the top and a decreasing one active down to the
    # bottom cover the range if at most the single threshold sample between them is
    # silent in both (relu(x) and relu(−x) both vanish at x = 0)
    covered = False
    for i in np.flatnonzero(increasing & active[-1]):
        for j in np.flatnonzero(decreasing & active[0]):
            silent = ~(active[:, i] | active[:, j])
            if silent.sum() <= 1:
                covered = True
    share = sol.weights / sol.weights.sum()
    if covered:  # "is an ON/OFF pair": the covering pair carries (almost) all the energy
        pair = max(share[i] + share[j] for i in np.flatnonzero(increasing & active[-1])
                   for j in np.flatnonzero(decreasing & active[0]))
        covered = pair >= 1 - 1e-6
    centres = (xs[:, None] * y**2).sum(axis=0) / (y**2).sum(axis=0)
    return OnOffAnalysis(
        on_off=covered,
        monotone_share=float(share[monotone].sum()),
        n_tunings=int(sol.atoms.shape[1]),
        centres=centres,
        widths=widths,
        max_monotone_extent=float(widths[monotone].max() / span) if monotone.any() else 0.0,
    )


def pair_is_optimal(x: np.ndarray, rho: float, settings: SolverSettings,
                    tol: float = 1e-7) -> bool:
    """Whether the ON/OFF pair is feasible at ``ρ`` and attains the exact optimum
    ``‖x‖_ρ`` (the dual SOCP of :func:`dual_value`)."""
    ramps = np.column_stack([np.maximum(x, 0.0), np.maximum(-x, 0.0)])
    if np.any(lifetime_density(ramps) > rho):
        return False
    pair_cost = float(np.linalg.norm(ramps, axis=0).sum())
    exact, _ = dual_value(x, rho, settings)
    return pair_cost <= exact * (1 + tol)


def measured_threshold(
    x: np.ndarray, settings: SolverSettings, lo: float = 0.01, hi: float = 0.6,
    tol: float = 1e-3,
) -> tuple[float, int]:
    """Smallest ρ at which the ON/OFF pair is an optimum, by bisection to ``tol``.

    Returns ``(threshold, number of solves)``: the midpoint of the final bracket.
    """
    solves = 0

    def optimal(rho: float) -> bool:
        nonlocal solves
        solves += 1
        return pair_is_optimal(x, rho, settings)

    if not optimal(hi) or optimal(lo):
        raise ValueError(f"no ON/OFF transition in [{lo}, {hi}]")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if optimal(mid) else (mid, hi)
    return 0.5 * (lo + hi), solves
