r"""Linear decoding of two sources with an offset, solved in ``Q``-space.

The stimulus is a grid on the circle shifted by ``c``; the code minimises
``f(Q) = Tr Q / T + λ Tr(YQ⁺Yᵀ)`` over completely positive ``Q``.  A dictionary of
direction tunings gives the inner bound (cutting planes on the direction), the doubly
nonnegative relaxation the outer bound, and an exact copositive dual bound certifies the
gap; :func:`polish_decoding` refines directions and weights of the optimal code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import menu
from .._lazy import cvxpy as cp
from ..solvers import SolverError, SolverSettings, solve_checked
from .factorisation import merge_parallel_rows, random_restarts
from .zero_sets import ZeroSet, readout_arcs, readout_zero_set

# ------------------------------------------------------------- offset linear decoding


def offset_decoding_data(grid_points: int, offset: float,
                         aspect: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Two sources on a ``g × g`` grid in ``[−1, 1] × [−aspect, aspect]``; ``Y = S + c``."""
    axis = np.linspace(-1.0, 1.0, grid_points)
    s = np.array(np.meshgrid(axis, axis, indexing="xy")).reshape(2, -1)
    s[1] *= aspect
    return s, s + offset


def copositive_dual_bound(w: np.ndarray, targets: np.ndarray, activity: float,
                          readout_weight: float) -> tuple[float, float]:
    """Rigorous lower bound on ``min_{Q ∈ CP} a Tr Q + λ Tr(YQ⁺Yᵀ)`` from any ``W`` (T × 2).

    ``f* = 2√(aλ)‖Y‖_A`` with the atomic norm ``‖Y‖_A = min Σ‖v_k‖‖y_k‖`` over
    ``Y = Σ v_k y_kᵀ``, ``y_k ≥ 0``, and ``⟨Wᵀ, Y⟩ ≤ ρ(W)‖Y‖_A`` with
    ``ρ(W) = max_{y ≥ 0, ‖y‖=1} ‖Wᵀy‖ = max_θ ‖relu(Wθ)‖`` (exact, :func:`readout_arcs`).
    Returns ``(bound, ρ(W)² λ/a − 1)``; the latter ≤ 0 iff ``G = aI − λWWᵀ`` is copositive.
    """
    rho2 = readout_arcs(w).maximum
    bound = 2 * np.sqrt(activity * readout_weight) * float(np.trace(w.T @ targets.T))
    return bound / np.sqrt(rho2), rho2 * readout_weight / activity - 1.0


def _direction_program(targets: np.ndarray, thetas: np.ndarray,
                       settings: SolverSettings) -> tuple[np.ndarray, np.ndarray]:
    """``min Σ_j ‖p_j‖ s.t. Σ_j θ_j p_jᵀ = Y, p_j ≥ 0``: neurons with readout direction θ_j.

    Returns the tunings ``p_j`` (rows) and the dual ``Ω`` of the equality (2 × T).
    """
    th = np.vstack([np.cos(thetas), np.sin(thetas)])
    p = cp.Variable((len(thetas), targets.shape[1]), nonneg=True)
    eq = th @ p == targets
    solve_checked(cp.Problem(cp.Minimize(cp.sum(cp.norm(p, 2, axis=1))), [eq]), settings)
    omega = np.asarray(eq.dual_value, dtype=float)
    if np.trace(omega @ targets.T) < 0:
        omega = -omega
    return np.maximum(np.asarray(p.value, dtype=float), 0.0), omega


def span_dictionary(atoms: np.ndarray, tol: float = 1e-9) -> menu.Similarity:
    """The menu's inner bound ``Q = Σ_k c_k y_k y_kᵀ`` parametrised on ``span{y_k}``.

    Like :func:`menu.dictionary_similarity` with a basis, but the basis ``B`` is an
    orthonormal basis of the atoms' own span (not ``row [X; 1ᵀ]``), so the reduced
    ``M = BᵀQB`` is positive definite for ``c > 0`` and the Schur complement of the
    readout term has a strictly feasible point.  ``atoms`` are rows (K × T).
    """
    _, sv, vt = np.linalg.svd(atoms, full_matrices=False)
    basis = vt[sv > tol * sv[0]].T
    base = menu.dictionary_similarity(atoms.T)
    coords = basis.T @ atoms.T
    reduced = coords @ cp.diag(base.core) @ coords.T
    return menu.Similarity(Q=base.Q, core=base.core, constraints=(), basis=basis,
                           atoms=base.atoms, reduced=reduced)


@dataclass(frozen=True)
class DecodingSolution:
    """Certified optimum of ``min_{Q ∈ CP_T} Tr Q/T + λ Tr(YQ⁺Yᵀ)`` and its bounds."""

    tunings: np.ndarray  # rows of Q* = ZᵀZ (nonnegative: CP by construction)
    outer: float  # DNN relaxation (lower bound, solver value)
    inner: float  # dictionary restriction (upper bound, solver value)
    loss: float  # f(Q*) = 2√(aλ) Σ_j ‖p_j‖ (AM–GM split of each neuron)
    dual_bound: float  # rigorous copositive dual bound
    gap: float  # (loss − max(dual_bound, outer)) / loss
    dnn_gap: float  # (loss − outer) / loss: is the DNN relaxation tight?
    outer_cp_residual: float  # best residual of factorising the DNN optimum
    representation_error: float  # ‖Σ θ_j p_jᵀ − Y‖ / ‖Y‖ of the certified point
    zero_set: ZeroSet  # zero-cost tunings of the optimal dual (level ‖relu(Wθ)‖ = 1)
    dual: np.ndarray | None = None  # W (T × 2), normalised to max_θ ‖relu(Wθ)‖ = 1
    polished: bool = False  # Newton polish of the optimality system converged (exact)


def solve_linear_decoding(targets: np.ndarray, settings: SolverSettings,
                          readout_weight: float = 1.0, rng: np.random.Generator | None = None,
                          rounds: int = 25, gap_tol: float = 1e-9,
                          dnn_restarts: int = 4, family_samples: int = 5,
                          zero_tol: float = 1e-7) -> DecodingSolution:
    """Solve the decoding problem in ``Q``-space with both bounds and certify it.

    1. **Outer**: DNN relaxation from the menu (``psd_similarity``, ``activity_energy``,
       ``readout_energy``, ``outer_nonnegativity``).  Its optimum is factorised to see
       whether it is completely positive (often it is not).
    2. **Pricing**: neurons are indexed by their readout direction ``θ``; for fixed
       directions the problem is :func:`_direction_program`; directions are added at
       the exact maxima of ``‖relu(Ωᵀθ)‖`` (cutting planes on the dual) until the
       rigorous copositive dual bound meets the primal value.
    3. **Inner**: the menu's dictionary bound over the exact zero-cost tunings of the
       final dual (isolated maxima and samples of flat arcs).
    4. **Certificate**: ``f(Q*)`` evaluated from the tunings, the best rigorous lower
       bound, the DNN bound, and copositivity of ``G`` at ``Q*``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    t = targets.shape[1]
    a = 1.0 / t
    sim = menu.psd_similarity(t)
    readout, cons = menu.readout_energy(sim, targets)
    outer = solve_checked(cp.Problem(cp.Minimize(menu.activity_energy(sim) / t
                                                 + readout_weight * readout),
                                     cons + menu.outer_nonnegativity(sim)), settings)
    q_out = sim.value()
    outer_res = min(f.residual for f in random_restarts(q_out, dnn_restarts, rng))

    thetas = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)
    best_bound, best_omega = -np.inf, None
    solved = None  # the last cutting-plane program solved: (directions, p, Ω)
    for _ in range(rounds):
        try:
            p, omega = _direction_program(targets, thetas, settings)
        except SolverError:
            # a degenerate cutting-plane program (near-duplicate directions) that the
            # solver cannot finish: keep the best dual found so far and go on to the
            # final solve on its exact zero-cost directions; the result is certified
            # (or not) by the same rigorous bounds as any other
            if solved is None:
                raise
            break
        solved = (thetas, p, omega)
        bound, _ = copositive_dual_bound(omega.T, targets, a, readout_weight)
        if bound > best_bound:
            best_bound, best_omega = bound, omega
        norms = np.linalg.norm(p, axis=1)
        active = norms > 1e-7 * norms.max()
        primal = 2 * np.sqrt(a * readout_weight) * float(norms.sum())
        if (primal - best_bound) / primal <= gap_tol:
            break
        # cutting planes: the dual constraint ‖relu(Ωᵀθ)‖ ≤ 1 is violated on these arcs
        arcs = readout_arcs(omega.T)
        new = np.mod(arcs.argbest[arcs.best > 1.0 + 1e-10], 2 * np.pi)
        if len(new) == 0:
            break
        thetas = np.unique(np.concatenate([thetas[active], new, thetas[~active][::3]]))
    # final solve on the exact zero-cost directions of the best dual only (isolated
    # maxima and samples of flat arcs): no clusters of near-duplicate neurons remain
    w_dual = best_omega.T / np.sqrt(readout_arcs(best_omega.T).maximum)
    arcs = readout_arcs(w_dual)
    flat = np.all(np.abs(np.linalg.eigvalsh(arcs.gram) - 1.0) <= 1e-6, axis=1)
    final = [arcs.argbest[~flat & (arcs.best >= 1.0 - 1e-6)]]
    final += [np.linspace(arcs.start[i], arcs.end[i], family_samples)
              for i in np.flatnonzero(flat)]
    final_thetas = _unique_angles(np.concatenate(final))
    try:
        p, omega = _direction_program(targets, final_thetas, settings)
        thetas = final_thetas
    except SolverError:  # keep the cutting-plane solution
        try:
            p, omega = _direction_program(targets, thetas, settings)
        except SolverError:  # the last program the cutting planes did solve
            thetas, p, omega = solved
    bound, _ = copositive_dual_bound(omega.T, targets, a, readout_weight)
    best_bound = max(best_bound, bound)
    norms = np.linalg.norm(p, axis=1)
    active = norms > 1e-9 * norms.max()
    p, norms, thetas = p[active], norms[active], thetas[active]
    polished = polish_decoding(targets, w_dual, thetas, p)
    if polished is not None:  # exact KKT point: replaces the solver's ~1e-6 accurate one
        w_dual, thetas, p = polished
        norms = np.linalg.norm(p, axis=1)
        best_bound = max(best_bound, copositive_dual_bound(w_dual, targets, a,
                                                           readout_weight)[0])
    primal = 2 * np.sqrt(a * readout_weight) * float(norms.sum())
    representation = float(np.linalg.norm(np.vstack([np.cos(thetas), np.sin(thetas)]) @ p
                                          - targets) / np.linalg.norm(targets))
    tunings = p * ((readout_weight / a) ** 0.25 / np.sqrt(norms))[:, None]  # AM–GM split
    tunings = merge_parallel_rows(tunings, prune_tol=0.0, angle_tol=1e-9)
    # menu inner bound on the same tunings (dictionary on their exact span)
    try:
        dsim = span_dictionary(tunings)
        readout_in, cons_in = menu.readout_energy(dsim, targets)
        inner = solve_checked(cp.Problem(cp.Minimize(menu.activity_energy(dsim) / t
                                                     + readout_weight * readout_in), cons_in),
                              settings).value
    except (SolverError, ValueError):
        inner = float("nan")
    lower = max(best_bound, outer.value)
    return DecodingSolution(
        tunings=tunings, outer=outer.value, inner=inner, loss=primal, dual_bound=best_bound,
        gap=(primal - lower) / primal, dnn_gap=(primal - outer.value) / primal,
        outer_cp_residual=outer_res, representation_error=representation,
        zero_set=readout_zero_set(w_dual, 1.0, tol=zero_tol), dual=w_dual,
        polished=polished is not None,
    )


def _merge_close_neurons(thetas: np.ndarray, weights: np.ndarray, tunings: np.ndarray,
                         tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge neurons whose unit tunings are within ``tol`` (weighted mean angle)."""
    unit = tunings / np.linalg.norm(tunings, axis=1, keepdims=True)
    order = np.argsort(-weights)
    groups: list[list[int]] = []
    for i in order:
        for g in groups:
            if np.linalg.norm(unit[i] - unit[g[0]]) < tol:
                g.append(int(i))
                break
        else:
            groups.append([int(i)])
    th, wt = [], []
    for g in groups:
        w = weights[g]
        th.append(float(np.angle(np.sum(w * np.exp(1j * thetas[g])))))
        wt.append(float(w.sum()))
    return np.array(th), np.array(wt)


def polish_decoding(targets: np.ndarray, w: np.ndarray, thetas: np.ndarray, p: np.ndarray,
                    merge_tols: Sequence[float] = (3e-2, 1e-2, 1e-3, 0.0),
                    tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Newton polish of the optimality system of the readout problem (solver → exact).

    Unknowns: the dual ``W`` (T × 2) and, per neuron, its readout angle ``φ_j`` and
    weight ``c_j`` (tuning ``c_j relu(Wθ_j)``).  Equations: ``Σ_j c_j θ_j relu(Wθ_j)ᵀ = Y``
    (primal feasibility), ``‖relu(Wθ_j)‖² = 1`` and ``d/dφ ‖relu(Wθ_j)‖² = 0`` (each
    neuron is a zero-cost, stationary point of the dual constraint).  A solution with
    ``c > 0`` and ``max_θ ‖relu(Wθ)‖ = 1`` (checked exactly, :func:`readout_arcs`) is a
    KKT point of the convex problem, i.e. an exact optimum with zero duality gap.
    Solver output resolves two maxima of the dual only ~√tol apart, so neurons closer
    than ``merge_tol`` are first merged; the tolerances are tried from coarse to none
    and the first that converges is kept.  Returns ``(W, θ, tunings)`` or ``None``.
    """
    from scipy.optimize import least_squares

    t = targets.shape[1]
    scale = float(np.linalg.norm(targets))
    base = np.linalg.norm(np.maximum(w @ np.vstack([np.cos(thetas), np.sin(thetas)]), 0.0),
                          axis=0)
    weights = np.linalg.norm(p, axis=1) / np.maximum(base, 1e-300)

    def unpack(x: np.ndarray, k: int):
        wm = x[: 2 * t].reshape(t, 2)
        phi, c = x[2 * t: 2 * t + k], x[2 * t + k:]
        th = np.vstack([np.cos(phi), np.sin(phi)])  # 2 × k
        perp = np.vstack([-np.sin(phi), np.cos(phi)])
        act = wm @ th  # t × k
        return wm, c, th, perp, act, np.maximum(act, 0.0), wm @ perp

    def residual(x: np.ndarray, k: int) -> np.ndarray:
        _, c, th, _, _, r, wp = unpack(x, k)
        rep = (th * c) @ r.T - targets
        return np.concatenate([rep.ravel() / scale, np.sum(r**2, axis=0) - 1.0,
                               2.0 * np.sum(r * wp, axis=0)])

    def jacobian(x: np.ndarray, k: int) -> np.ndarray:
        _, c, th, perp, act, r, wp = unpack(x, k)
        on = (act > 0).astype(float)  # t × k
        jac = np.zeros((2 * t + 2 * k, 2 * t + 2 * k))
        # representation rows (a, s) = a·t + s
        for a in range(2):
            rows = a * t + np.arange(t)
            for b in range(2):  # ∂/∂W[s, b] = Σ_j c_j θ_j[a] 1_sj θ_j[b]
                jac[rows, 2 * np.arange(t) + b] = on @ (c * th[a] * th[b]) / scale
            jac[rows, 2 * t: 2 * t + k] = (c * (perp[a] * r + th[a] * on * wp)) / scale
            jac[rows, 2 * t + k:] = th[a] * r / scale
        lv, st = 2 * t + np.arange(k), 2 * t + k + np.arange(k)
        for b in range(2):
            cols = 2 * np.arange(t) + b
            jac[np.ix_(lv, cols)] = (2.0 * r * th[b]).T
            jac[np.ix_(st, cols)] = (2.0 * (on * wp * th[b] + r * perp[b])).T
        jac[lv, 2 * t + np.arange(k)] = 2.0 * np.sum(r * wp, axis=0)
        jac[st, 2 * t + np.arange(k)] = 2.0 * np.sum(on * wp**2 - r * act, axis=0)
        return jac

    for merge_tol in merge_tols:
        th0, c0 = (_merge_close_neurons(thetas, weights, p, merge_tol) if merge_tol > 0
                   else (thetas, weights))
        k = len(th0)
        x0 = np.concatenate([w.ravel(), th0, c0])
        try:
            sol = least_squares(residual, x0, jac=jacobian, args=(k,), method="lm",
                                xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=200)
        except ValueError:  # fewer equations than unknowns
            continue
        if np.abs(sol.fun).max() > tol:
            continue
        wm = sol.x[: 2 * t].reshape(t, 2)
        phi, c = sol.x[2 * t: 2 * t + k], sol.x[2 * t + k:]
        if np.any(c <= 0) or readout_arcs(wm).maximum > 1.0 + 1e-10:
            continue
        th = np.vstack([np.cos(phi), np.sin(phi)])
        return wm, np.mod(phi, 2 * np.pi), (np.maximum(wm @ th, 0.0) * c).T
    return None


def _unique_angles(theta: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    theta = np.sort(np.mod(theta, 2 * np.pi))
    keep = np.append(True, np.diff(theta) > tol)
    theta = theta[keep]
    if len(theta) > 1 and theta[-1] - theta[0] > 2 * np.pi - tol:
        theta = theta[:-1]
    return theta
