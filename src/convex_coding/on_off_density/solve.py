r"""The certified ON/OFF solve: column generation on the dictionary LP.

:func:`solve_on_off` alternates the dictionary LP with pricing until no feasible tuning
has a negative reduced cost, then certifies the value against the dual lower bound
``gᵀx ≤ ‖x‖_ρ`` and the closed form; :func:`q_space_cost` evaluates the same optimum as a
conic program in ``Q``.  Below ``ρ*`` the optimum is a face, and
:func:`canonical_code` picks its most localised code (smallest energy-weighted tuning
width, a second LP over the certified face).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import menu
from .._lazy import cvxpy as cp
from .._lazy import scipy_optimize as optimize
from ..solvers import (
    SolverError,
    SolverSettings,
    solve_relaxing,
)
from .norm import closed_form_dual, closed_form_norm, exact_norm
from .pricing import (
    Pricing,
    best_atoms,
    feasible_atoms,
    price,
    purify,
    ramps_and_tents,
    solve_dictionary,
    split_atoms,
    support_value,
)
from .stimuli import lifetime_density


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
        res = optimize.linprog(tuning_spread(x, cand), A_eq=cand * sigma, b_eq=x / scale,
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
