r"""Theorem 2: when does the optimal similarity matrix ``Q*`` fix the tuning curves?

Given ``Q* = ZᵀZ`` with ``Z ≥ 0`` (rows are tuning curves), the question is whether every
nonnegative factorisation of ``Q*`` equals ``Z`` up to permuting neurons and splitting a
neuron into scaled copies.  Without nonnegativity any ``OZ`` (``O`` orthogonal) works.

This module is pure (arrays in, dataclasses out).  It provides

* the **empirical test**: random-restart nonnegative symmetric factorisations
  ``min_{Z ≥ 0} ¼‖ZᵀZ − Q‖²_F`` (projected quasi-Newton, then pruning of tiny neurons,
  merging of parallel copies and a Gauss–Newton refit), aligned across restarts by
  cosine similarity and Hungarian matching, with a discrepancy score;
* the **criteria**: the optimality route (exact: every tuning of every optimal
  factorisation is a zero of the reduced cost *and* lies in ``range Q*``; the
  decomposition over those atoms is unique iff an LP says so), pairwise non-nesting
  (necessary; sufficient for two neurons), first-order rigidity (one LP), and the
  sufficiently-scattered test (sufficient, small ``N``);
* the **instances**: Theorem 1 optima, linear decoding of two sources with an offset
  ``c`` (solved in ``Q``-space with a DNN outer bound and a dictionary inner bound,
  certified by an exact copositive dual bound), the Theorem 3 (ON/OFF) optima, and the
  PSD-only contrasts.

Zero sets are stored as *isolated atoms* and *linear families*
``{B α : C α ≥ 0}`` (all zero sets met here are unions of such pieces: on a linear
piece of the bias ``m`` for Theorem 1, on an arc of fixed sign pattern for the
linear readout).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cvxpy as cp
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import linear_sum_assignment, linprog, minimize

from . import menu
from .identifiability import (
    AutoencoderProblem,
    affine_atoms,
    lambda_matrix,
    linear_pieces,
    modular_code,
    population_matrix,
)
from .solvers import SolverError, SolverSettings, solve_checked

UNIQUE = "unique"
NON_UNIQUE = "non-unique"
INCONCLUSIVE = "inconclusive"
UNCERTIFIED = "uncertified"

# =========================================================================== factorisation


@dataclass(frozen=True)
class Factorisation:
    """One nonnegative (or unconstrained) factorisation ``Q ≈ ZᵀZ`` (rows of ``z``)."""

    z: np.ndarray
    residual: float  # ‖ZᵀZ − Q‖_F / ‖Q‖_F


def relative_residual(q: np.ndarray, z: np.ndarray) -> float:
    """``‖ZᵀZ − Q‖_F / ‖Q‖_F``."""
    return float(np.linalg.norm(z.T @ z - q) / max(np.linalg.norm(q), 1e-300))


def _lbfgs(q: np.ndarray, z0: np.ndarray, nonnegative: bool, max_iter: int) -> np.ndarray:
    """``min ¼‖ZᵀZ − Q‖²`` (``Z ≥ 0`` by bounds), gradient ``Z(ZᵀZ − Q)``, L-BFGS-B."""
    n, t = z0.shape

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        z = x.reshape(n, t)
        r = z.T @ z - q
        return 0.25 * float(np.einsum("ij,ij->", r, r)), (z @ r).ravel()

    res = minimize(fun, z0.ravel(), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * (n * t) if nonnegative else None,
                   options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-13, "maxcor": 20})
    z = res.x.reshape(n, t)
    return np.maximum(z, 0.0) if nonnegative else z


def gauss_newton_refit(q: np.ndarray, z: np.ndarray, nonnegative: bool = True,
                       max_iter: int = 80, active_tol: float = 1e-6) -> np.ndarray:
    """Projected Levenberg–Marquardt on ``ZᵀZ = Q`` (quadratic convergence at zero residual).

    The Gauss–Newton matrix of ``r(Z) = ZᵀZ − Q`` has the closed form
    ``JᵀJ[(i,t),(j,s)] = 2(δ_ts (ZZᵀ)_ij + Z_is Z_jt)`` and ``Jᵀr = 2ZR``.  An
    ε-active set (Bertsekas) fixes at zero the entries below ``active_tol·max Z`` whose
    gradient pushes them down; a step that would make an entry negative is projected,
    and the damping grows until the residual decreases.
    """
    qn = max(np.linalg.norm(q), 1e-300)
    damping = 1e-6
    for _ in range(max_iter):
        r = z.T @ z - q
        f0 = float(np.einsum("ij,ij->", r, r))
        if np.sqrt(f0) <= 1e-15 * qn:
            break
        g = z @ r
        if nonnegative:
            bound = (z <= active_tol * z.max()) & (g >= 0)
            if bound.any() and np.any(z[bound] > 0):
                z = np.where(bound, 0.0, z)
                r = z.T @ z - q
                f0 = float(np.einsum("ij,ij->", r, r))
                g = z @ r
            free = ~bound
        else:
            free = np.ones(z.shape, dtype=bool)
        ii, tt = np.nonzero(free)
        if ii.size == 0:
            break
        zz = z @ z.T
        jtj = 2.0 * ((tt[:, None] == tt[None, :]) * zz[ii[:, None], ii[None, :]]
                     + z[ii[:, None], tt[None, :]] * z[ii[None, :], tt[:, None]])
        grad = 2.0 * g[ii, tt]
        scale = max(float(np.trace(jtj)) / ii.size, 1e-300)
        diag = np.diag(jtj).copy()
        improved = False
        while damping < 1e8:
            np.fill_diagonal(jtj, diag + damping * scale)  # JᵀJ + μI is positive definite
            try:
                step = cho_solve(cho_factor(jtj, check_finite=False), -grad,
                                 check_finite=False)
            except np.linalg.LinAlgError:  # numerically singular: damp more
                damping *= 10.0
                continue
            cand = z.copy()
            cand[ii, tt] += step
            if nonnegative:
                cand = np.maximum(cand, 0.0)
            rn = cand.T @ cand - q
            fn = float(np.einsum("ij,ij->", rn, rn))
            if fn < f0:
                damping = max(damping / 10.0, 1e-15)
                improved = True
                break
            damping *= 10.0
        if not improved:
            break
        z = cand
    return z


def merge_parallel_rows(z: np.ndarray, prune_tol: float = 1e-7,
                        angle_tol: float = 1e-5) -> np.ndarray:
    """Drop neurons with ``‖z_i‖² < prune_tol·Σ‖z‖²``; merge (near-)parallel rows.

    Parallel copies ``αy, βy`` contribute ``(α² + β²) y yᵀ`` to ``Q``: they are one
    neuron ``√(α² + β²) y`` split in two, so merging leaves ``Q`` unchanged.
    """
    sq = np.einsum("it,it->i", z, z)
    z = z[sq >= prune_tol * max(sq.sum(), 1e-300)]
    if len(z) == 0:
        return z
    norms = np.linalg.norm(z, axis=1)
    unit = z / norms[:, None]
    order = np.argsort(-norms)
    kept: list[int] = []
    energy: list[float] = []
    for i in order:
        for k, j in enumerate(kept):
            if np.linalg.norm(unit[i] - unit[j]) < angle_tol:
                energy[k] += norms[i] ** 2
                break
        else:
            kept.append(int(i))
            energy.append(float(norms[i] ** 2))
    return unit[kept] * np.sqrt(np.array(energy))[:, None]


def factorise(q: np.ndarray, n_neurons: int, rng: np.random.Generator,
              nonnegative: bool = True, max_iter: int = 1500) -> Factorisation:
    """One restart: random start, L-BFGS-B, prune/merge, Gauss–Newton refit, again.

    ``Q`` is scaled to unit Frobenius norm internally (tolerances are relative).
    """
    scale = max(np.linalg.norm(q), 1e-300)
    qs = q / scale
    t = q.shape[0]
    z0 = rng.standard_normal((n_neurons, t))
    if nonnegative:
        z0 = np.abs(z0)
    z0 *= np.sqrt(1.0 / max(np.linalg.norm(z0.T @ z0), 1e-300))
    z = _lbfgs(qs, z0, nonnegative, max_iter)
    if nonnegative:
        # split copies come out of the first stage nearly parallel: merge them, keep the
        # merge only if the refit is at least as good (distinct tunings stay distinct)
        refit = gauss_newton_refit(qs, z, nonnegative)
        merged = gauss_newton_refit(qs, merge_parallel_rows(z, angle_tol=1e-2), nonnegative)
        z = merged if relative_residual(qs, merged) <= max(relative_residual(qs, refit),
                                                            1e-13) else refit
        z = gauss_newton_refit(qs, merge_parallel_rows(z, angle_tol=1e-6), nonnegative)
        z = merge_parallel_rows(z, angle_tol=1e-7)
    else:
        z = gauss_newton_refit(qs, z, nonnegative)
    z = z * np.sqrt(scale)
    return Factorisation(z=z, residual=relative_residual(q, z))


def numerical_rank(q: np.ndarray, tol: float = 1e-9) -> int:
    """Rank of a PSD matrix: eigenvalues above ``tol·λ_max``."""
    w = np.linalg.eigvalsh(0.5 * (q + q.T))
    return int(np.sum(w > tol * max(w[-1], 1e-300)))


def max_neurons(t: int) -> int:
    """Largest starting ``N`` tried: the cp-rank of a ``T × T`` matrix is ``≤ T(T+1)/2``,
    capped at ``4T`` to bound the cost."""
    return min(t * (t + 1) // 2, 4 * t)


def random_restarts(q: np.ndarray, restarts: int, rng: np.random.Generator,
                    nonnegative: bool = True, extra_neurons: int = 2,
                    max_iter: int = 1500) -> list[Factorisation]:
    """``restarts`` factorisations with ``N = rank Q + extra_neurons`` initial neurons."""
    n = numerical_rank(q) + (extra_neurons if nonnegative else 0)
    return [factorise(q, n, rng, nonnegative, max_iter) for _ in range(restarts)]


# =============================================================================== alignment


@dataclass(frozen=True)
class Alignment:
    """Matching of the rows of ``z`` to those of a reference (Hungarian on 1 − cosine)."""

    ref_index: np.ndarray  # matched reference rows
    z_index: np.ndarray  # matched (merged) neurons
    discrepancy: float  # largest tuning difference, relative to sqrt(Tr Q)
    merged: np.ndarray | None = None  # z's neurons merged per reference neuron (rows)


def align(reference: np.ndarray, z: np.ndarray) -> Alignment:
    """Match neurons by cosine similarity (Hungarian); score the largest tuning difference.

    Splitting is undone first: every row of ``z`` joins the reference neuron it is most
    parallel to and each group is merged into one neuron ``√(Σ‖z_i‖²)·unit(Σ z_i)``
    (exact for parallel copies); the groups are then matched to the reference by
    ``linear_sum_assignment`` on ``1 − cosine``.  ``discrepancy`` is the largest
    ``‖merged_j − ref_j‖`` (an unmatched neuron counts with its norm) over
    ``sqrt(Σ‖ref_i‖²) = sqrt(Tr Q)``: zero iff ``z`` equals the reference up to
    permutation and splitting.
    """
    scale = np.sqrt(max(float(np.sum(reference**2)), 1e-300))
    if len(z) == 0 or len(reference) == 0:
        rest = np.vstack([reference, z]) if len(reference) + len(z) else np.zeros((1, 1))
        return Alignment(np.zeros(0, int), np.zeros(0, int),
                         float(np.linalg.norm(rest, axis=1).max()) / scale)
    ru = reference / np.maximum(np.linalg.norm(reference, axis=1, keepdims=True), 1e-300)
    norms = np.linalg.norm(z, axis=1)
    zu = z / np.maximum(norms[:, None], 1e-300)
    group = np.argmax(zu @ ru.T, axis=1)
    merged = np.zeros_like(reference)
    for j in range(len(reference)):
        members = group == j
        if members.any():
            total = z[members].sum(axis=0)
            merged[j] = np.sqrt(np.sum(norms[members] ** 2)) * total / np.linalg.norm(total)
    present = np.flatnonzero(np.linalg.norm(merged, axis=1) > 0)
    mu = merged[present] / np.linalg.norm(merged[present], axis=1, keepdims=True)
    rows, cols = linear_sum_assignment(1.0 - ru @ mu.T)
    diff = np.linalg.norm(reference[rows] - merged[present][cols], axis=1)
    unmatched = np.linalg.norm(np.delete(reference, rows, axis=0), axis=1)
    worst = max(float(diff.max(initial=0.0)), float(unmatched.max(initial=0.0)))
    return Alignment(ref_index=rows, z_index=present[cols], discrepancy=worst / scale,
                     merged=merged)


@dataclass(frozen=True)
class EmpiricalTest:
    """Random-restart factorisations of ``Q*`` and how much they disagree."""

    verdict: str  # unique | non-unique | inconclusive | uncertified (not certified CP)
    best_residual: float
    max_discrepancy: float  # over converged restarts, against the best one
    n_restarts: int
    n_converged: int
    n_neurons: list[int]  # per converged restart, after pruning and merging
    reference: np.ndarray  # best factorisation (rows)
    aligned: list[np.ndarray] = field(repr=False)  # converged restarts, rows matched to it


def empirical_test(q: np.ndarray, restarts: int, rng: np.random.Generator,
                   nonnegative: bool = True, extra_neurons: int = 2,
                   cp_tol: float = 1e-3, converged_tol: float = 1e-7,
                   discrepancy_tol: float = 1e-2, min_neurons: int = 0,
                   doublings: int = 1, stop_when_decided: bool = False,
                   certified: np.ndarray | None = None) -> EmpiricalTest:
    """Factorise ``restarts`` times; unique iff every converged restart matches the best.

    Restarts start from ``N = max(rank Q + extra_neurons, min_neurons)`` random neurons
    (``min_neurons``: the size of a known factorisation, so that ``N`` exceeds the cp-rank
    without a doubling search).  While fewer than half the restarts converge, up to
    ``doublings`` more rounds with twice as many neurons are pooled in.

    A restart has converged when its residual is ``≤ converged_tol``.  When even the best
    residual exceeds ``cp_tol`` the matrix is *not certified completely positive*: the
    verdict is ``uncertified`` and it is never counted as unique or non-unique.

    ``certified``: an exact factorisation (rows) of ``Q`` known in advance (the certified
    optimum's tunings). Restarts are then aligned to it rather than to the best restart,
    whose near-parallel low-weight copies (residual ~1e-8 allows copies of weight 1e-4
    at angles of 1e-2) would otherwise attract other restarts' neurons in the matching.

    ``stop_when_decided``: stop as soon as two converged restarts differ by more than
    ``discrepancy_tol`` — two exact factorisations that differ make the verdict
    *non-unique* whatever later restarts do (``max_discrepancy`` is then a lower bound).
    """
    rank, t = numerical_rank(q), q.shape[0]
    n = min(max(rank + extra_neurons, min_neurons), max_neurons(t)) if nonnegative else rank
    runs: list[Factorisation] = []

    def decided() -> bool:
        good = sorted((f for f in runs if f.residual <= converged_tol),
                      key=lambda f: f.residual)
        if not stop_when_decided or len(good) < 2:
            return False
        ref = reference_of(good[0])
        return any(align(ref, f.z).discrepancy > discrepancy_tol for f in good)

    def reference_of(best: Factorisation) -> np.ndarray:
        if certified is not None:
            return certified
        # the best restart with copies split at a small angle merged (a pair at angle δ
        # is one neuron up to O(δ²) in Q); otherwise the unmatched copy would count as a
        # discrepancy against restarts that did not split
        return merge_parallel_rows(best.z, prune_tol=0.0, angle_tol=1e-3)

    # the cp-rank can exceed rank Q + extra: while fewer than half the restarts converge,
    # add restarts with twice as many neurons (up to T(T+1)/2); all restarts are pooled
    for round_ in range(doublings + 1):
        if round_ > 0:
            if (not nonnegative or n >= max_neurons(t)
                    or 2 * sum(f.residual <= converged_tol for f in runs) >= restarts):
                break
            n = min(2 * n, max_neurons(t))
        for _ in range(restarts):
            runs += random_restarts(q, 1, rng, nonnegative, n - rank)
            if decided():
                break
        if decided():
            break
    best = min(runs, key=lambda f: f.residual)
    good = [f for f in runs if f.residual <= max(converged_tol, best.residual)]
    reference = reference_of(best)
    aligned, worst = [], 0.0
    for f in good:
        al = align(reference, f.z)
        worst = max(worst, al.discrepancy)
        aligned.append(al.merged)
    if best.residual > cp_tol:
        verdict = UNCERTIFIED
    elif len(good) < 2 or best.residual > converged_tol:
        verdict = INCONCLUSIVE  # completely positive, but too few restarts converged
    else:
        verdict = UNIQUE if worst <= discrepancy_tol else NON_UNIQUE
    return EmpiricalTest(verdict=verdict, best_residual=best.residual, max_discrepancy=worst,
                         n_restarts=len(runs), n_converged=len(good),
                         n_neurons=[len(f.z) for f in good], reference=reference,
                         aligned=aligned)


# ================================================================================ zero sets


@dataclass(frozen=True)
class LinearFamily:
    """Zero-cost tunings ``y = B α`` for ``α`` in the cone ``{α : C α ≥ 0}``."""

    basis: np.ndarray  # T × k
    cone: np.ndarray  # m × k (rows are inequalities)


@dataclass(frozen=True)
class ZeroSet:
    """Tunings with zero reduced cost: isolated atoms (rows) and linear families."""

    atoms: np.ndarray  # n × T
    families: tuple[LinearFamily, ...] = ()

    @property
    def continuum(self) -> bool:
        return any(f.basis.shape[1] >= 2 for f in self.families)


def _arc_generators(cone: np.ndarray, tol: float = 1e-12) -> np.ndarray | None:
    """Boundary rays (columns, unit) of the 2D cone ``{α : Cα ≥ 0}``, or None if a ray.

    Each boundary ray is orthogonal to a row of ``C``; the feasible ones are collected
    and the two extreme ones returned.  Returns ``None`` when the cone is ``{0}``.
    """
    rows = cone / np.maximum(np.linalg.norm(cone, axis=1, keepdims=True), 1e-300)
    cands = np.vstack([rows @ np.array([[0.0, -1.0], [1.0, 0.0]]),
                       rows @ np.array([[0.0, 1.0], [-1.0, 0.0]])])
    feasible = cands[np.all(cands @ rows.T >= -tol, axis=1)]
    if len(feasible) == 0:
        return None
    ang = np.arctan2(feasible[:, 1], feasible[:, 0])
    centre = np.arctan2(feasible[:, 1].sum(), feasible[:, 0].sum())
    rel = np.angle(np.exp(1j * (ang - centre)))
    lo, hi = feasible[np.argmin(rel)], feasible[np.argmax(rel)]
    return np.column_stack([lo, hi])


def restrict_to_range(zero: ZeroSet, range_basis: np.ndarray, tol: float = 1e-7) -> ZeroSet:
    """``zero set ∩ range Q*``: every tuning of a factorisation of ``Q*`` lies in its range.

    Atoms are kept when ``‖(I − UUᵀ)y‖ ≤ tol‖y‖``; a family ``{Bα : Cα ≥ 0}`` is cut to the
    subspace ``α ∈ null((I − UUᵀ)B)`` exactly; a one-dimensional intersection becomes
    an atom if it meets the cone.
    """
    u = range_basis
    atoms = zero.atoms
    if len(atoms):
        perp = atoms - (atoms @ u) @ u.T
        keep = np.linalg.norm(perp, axis=1) <= tol * np.linalg.norm(atoms, axis=1)
        atoms = atoms[keep]
    new_atoms = [atoms]
    families = []
    for fam in zero.families:
        b = fam.basis / max(np.linalg.norm(fam.basis), 1e-300)
        perp = b - u @ (u.T @ b)
        _, s, vt = np.linalg.svd(perp)
        s_full = np.zeros(b.shape[1])
        s_full[: len(s)] = s
        null = vt[s_full <= tol * max(1.0, np.linalg.norm(b, 2))].T  # k × k'
        if null.shape[1] == 0:
            continue
        cone = fam.cone @ null
        if null.shape[1] == 1:
            for sign in (1.0, -1.0):
                if np.all(sign * cone[:, 0] >= -1e-10 * np.abs(cone).max()):
                    new_atoms.append((fam.basis @ (sign * null[:, 0]))[None, :])
                    break
            continue
        families.append(LinearFamily(basis=fam.basis @ null, cone=cone))
    atoms = np.vstack([a for a in new_atoms if len(a)]) if any(len(a) for a in new_atoms) \
        else np.zeros((0, zero.atoms.shape[1]))
    return ZeroSet(atoms=atoms, families=tuple(families))


def sample_family(fam: LinearFamily, n: int = 17) -> np.ndarray:
    """``n`` tunings spread over a family (rows), boundary rays included."""
    k = fam.basis.shape[1]
    if k == 2:
        gens = _arc_generators(fam.cone)
        if gens is None:
            return np.zeros((0, fam.basis.shape[0]))
        a0, a1 = np.arctan2(gens[1, 0], gens[0, 0]), np.arctan2(gens[1, 1], gens[0, 1])
        a1 = a0 + np.mod(a1 - a0, 2 * np.pi)
        ang = np.linspace(a0, a1, n)
        alphas = np.vstack([np.cos(ang), np.sin(ang)])
    else:  # simplicial cone in k ≥ 3 dimensions: generators from C⁻¹, barycentric grid
        gens = np.linalg.pinv(fam.cone)
        gens /= np.linalg.norm(gens, axis=0, keepdims=True)
        m = max(2, round(n ** (1.0 / (k - 1))))
        pts = [w for w in itertools.product(range(m + 1), repeat=k) if sum(w) == m]
        alphas = gens @ (np.array(pts, dtype=float).T / m)
    return (fam.basis @ alphas).T


# ----------------------------------------------------------- linear readout (offset family)


@dataclass(frozen=True)
class ReadoutArcs:
    """``‖relu(Wθ)‖²`` on the circle, exactly: arcs of fixed sign pattern of ``Wθ``.

    On the arc ``[start, end]`` the active samples ``A`` are fixed and
    ``‖relu(Wθ)‖² = θᵀ M θ`` with ``M = W_AᵀW_A``; its maximum on the arc is at an
    endpoint or at the top eigenvector of ``M``.
    """

    start: np.ndarray
    end: np.ndarray
    active: np.ndarray  # n_arcs × T (bool)
    gram: np.ndarray  # n_arcs × 2 × 2
    best: np.ndarray  # max of ‖relu(Wθ)‖² on each arc
    argbest: np.ndarray  # its angle

    @property
    def maximum(self) -> float:
        return float(self.best.max())


def readout_arcs(w: np.ndarray) -> ReadoutArcs:
    """Exact piecewise description of ``θ ↦ ‖relu(Wθ)‖²`` for ``W`` of shape ``T × 2``."""
    norms = np.linalg.norm(w, axis=1)
    w_nz = w[norms > 1e-14 * max(norms.max(initial=0.0), 1e-300)]
    ang = np.arctan2(w_nz[:, 1], w_nz[:, 0])
    bps = np.unique(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
    if len(bps) == 0:
        bps = np.array([0.0])
    start = bps
    end = np.append(bps[1:], bps[0] + 2 * np.pi)
    mid = 0.5 * (start + end)
    active = (np.column_stack([np.cos(mid), np.sin(mid)]) @ w.T) > 0
    gram = np.einsum("at,ti,tj->aij", active.astype(float), w, w)
    half_trace = 0.5 * (gram[:, 0, 0] + gram[:, 1, 1])
    amp = np.sqrt(0.25 * (gram[:, 0, 0] - gram[:, 1, 1]) ** 2 + gram[:, 0, 1] ** 2)
    phi0 = 0.5 * np.arctan2(2 * gram[:, 0, 1], gram[:, 0, 0] - gram[:, 1, 1])

    def value(phi: np.ndarray) -> np.ndarray:
        return half_trace + amp * np.cos(2 * (phi - phi0))

    v_s, v_e = value(start), value(end)
    best = np.maximum(v_s, v_e)
    arg = np.where(v_s >= v_e, start, end)
    for k in range(-2, 5):
        p = phi0 + k * np.pi
        inside = (p > start) & (p < end)
        better = inside & (half_trace + amp > best)
        best = np.where(better, half_trace + amp, best)
        arg = np.where(better, p, arg)
    return ReadoutArcs(start=start, end=end, active=active, gram=gram, best=best, argbest=arg)


def readout_zero_set(w: np.ndarray, level: float, tol: float = 1e-7) -> ZeroSet:
    """Zero set of ``yᵀGy`` over ``y ≥ 0`` for ``G = aI − λWWᵀ`` (``W`` is ``T × 2``).

    With ``level = a/λ`` and ``G`` copositive (``max_θ ‖relu(Wθ)‖² ≤ level``):
    ``yᵀGy = 0`` iff ``y ∝ relu(Wθ)`` with ``‖relu(Wθ)‖² = level`` (Cauchy–Schwarz on
    ``(Wθ)ᵀy ≤ ‖relu(Wθ)‖‖y‖`` with ``θ = Wᵀy/‖Wᵀy‖``).  An arc on which
    ``W_AᵀW_A = level·I`` is a continuum (family ``{W_A θ : θ in the arc}``); elsewhere
    the zeros are the isolated arc maxima at the level.
    """
    arcs = readout_arcs(w)
    ev = np.linalg.eigvalsh(arcs.gram) / level
    flat = np.all(np.abs(ev - 1.0) <= tol, axis=1) & (arcs.end - arcs.start > 1e-9)
    atoms, families = [], []
    for i in np.flatnonzero(flat):
        wa = w * arcs.active[i][:, None]
        e = np.column_stack([[np.cos(arcs.start[i]), np.sin(arcs.start[i])],
                             [np.cos(arcs.end[i]), np.sin(arcs.end[i])]])
        families.append(LinearFamily(basis=wa, cone=np.linalg.inv(e)))
    for i in np.flatnonzero(~flat & (arcs.best >= level * (1 - tol))):
        theta = np.array([np.cos(arcs.argbest[i]), np.sin(arcs.argbest[i])])
        atoms.append(np.maximum(w @ theta, 0.0))
    atoms_arr = _dedupe_rows(np.array(atoms)) if atoms else np.zeros((0, w.shape[0]))
    return ZeroSet(atoms=atoms_arr, families=tuple(families))


def _dedupe_rows(rows: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Unit-normalise rows and drop (near-)duplicates."""
    rows = rows[np.linalg.norm(rows, axis=1) > 0]
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    keep: list[int] = []
    for i in range(len(unit)):
        if all(np.linalg.norm(unit[i] - unit[j]) > tol for j in keep):
            keep.append(i)
    return unit[keep]


# -------------------------------------------------------------------- Theorem 1 zero set


def theorem1_zero_set(problem: AutoencoderProblem, lam: np.ndarray,
                      tol: float = 1e-7) -> ZeroSet:
    """Exact zero set of ``r(ω) = m(ω)² − ωᵀΛω`` as tunings ``y(ω) = ω·s̃ + m(ω)``.

    On a linear piece of ``m`` (rays ``R``, vertex ``v``), ``ω = Rx``, ``x ≥ 0`` and
    ``r = xᵀAx / xᵀRᵀRx`` with ``A = Rᵀ(vvᵀ − Λ)R`` copositive at an optimum.  Zeros
    with support exactly ``F`` satisfy ``A_FF x_F = 0`` with ``x_F > 0`` (a zero of a
    nonnegative quadratic in the interior of a face is a stationary point), so each
    face contributes ``null(A_FF) ∩ int R₊^F``: one ray (an atom) or, when the null
    space has dimension ≥ 2, a linear family of tunings ``y = (S̃ᵀ + 1vᵀ)R_F x_F``.
    Eigenvalues count as zero below ``tol·max_i m_i²`` (generalised problem
    ``A_FF x = λ (RᵀR)_FF x``).
    """
    pieces = linear_pieces(problem)
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    d, t = problem.dim, problem.n_samples
    atoms, families = [], []
    for p in range(len(pieces)):
        r, v = pieces.rays[p], pieces.vertices[p]
        a = r.T @ (np.outer(v, v) - lam) @ r
        g = r.T @ r
        tuning_map = problem.centred.T + v[None, :]  # y(ω) = (S̃ᵀ + 1vᵀ) ω on this piece
        for k in range(1, d + 1):
            for face in itertools.combinations(range(d), k):
                idx = np.array(face)
                a_f, g_f = a[np.ix_(idx, idx)], g[np.ix_(idx, idx)]
                chol_inv = np.linalg.inv(np.linalg.cholesky(g_f))
                vals, vecs = np.linalg.eigh(chol_inv @ a_f @ chol_inv.T)
                null = chol_inv.T @ vecs[:, np.abs(vals) <= tol * scale]
                if null.shape[1] == 0:
                    continue
                if null.shape[1] == 1:
                    x = null[:, 0] * np.sign(null[:, 0].sum() or 1.0)
                    if np.all(x > 1e-9 * np.abs(x).max()):
                        atoms.append(tuning_map @ (r[:, idx] @ x))
                    continue
                # family: x_F = N α ≥ 0 (cone within the face)
                families.append(LinearFamily(basis=tuning_map @ r[:, idx] @ null, cone=null))
    atoms_arr = _dedupe_rows(np.array(atoms)) if atoms else np.zeros((0, t))
    return ZeroSet(atoms=atoms_arr, families=tuple(families))


# ====================================================================== optimality route


@dataclass(frozen=True)
class OptimalityRoute:
    """Exact decomposition test over the zero-cost tunings in ``range Q*``."""

    verdict: str
    n_zero_atoms: int  # isolated zero-cost atoms in range Q*
    n_families: int  # continua of zero-cost atoms in range Q* (dimension ≥ 2)
    independent: bool  # outer products of the support (and of all zero atoms) independent
    all_independent: bool  # outer products of every zero atom in range independent
    lp_value: float  # 0 iff unique: mass movable to other zero atoms
    support_in_zero_set: float  # largest angle (rad) of a support tuning from the zero set


def _sym_vec(y: np.ndarray) -> np.ndarray:
    """Rows ``y`` (n × T) → rows ``vec_sym(y yᵀ)`` (upper triangle, off-diagonal × √2)."""
    t = y.shape[1]
    iu = np.triu_indices(t)
    w = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    return (y[:, iu[0]] * y[:, iu[1]]) * w


def decomposition_unique(support: np.ndarray, others: np.ndarray, settings: SolverSettings,
                         rank_tol: float = 1e-9) -> tuple[bool, float, bool]:
    """Is ``Q* = Σ_s c_s y_s y_sᵀ`` (``c_s > 0``) the only decomposition over the atoms?

    The decompositions form ``{c ≥ 0 : Σ c_k y_k y_kᵀ = Q*}``, a single point iff the
    support's outer products are independent and no direction ``d ≠ 0`` with
    ``Σ d_k y_k y_kᵀ = 0``, ``d_k ≥ 0`` off the support exists:

        max Σ_{k ∉ S} d_k   s.t.  Σ_k d_k vec(y_k y_kᵀ) = 0,  d_{∉S} ≥ 0,  Σ_{∉S} d_k ≤ 1,
                                  |d_S| ≤ 10³.

    The equality is imposed on the numerically nonzero singular directions of the atom
    matrix (``rank_tol``).  Returns ``(unique, lp_value, support_independent)``.
    """
    atoms = np.vstack([support, others]) if len(others) else support
    atoms = atoms / np.linalg.norm(atoms, axis=1, keepdims=True)
    mat = _sym_vec(atoms).T  # (T(T+1)/2) × K
    s_sup = np.linalg.svd(mat[:, : len(support)], compute_uv=False)
    independent = bool(s_sup.min() > rank_tol * s_sup.max())
    if not independent:
        return False, float("inf"), False
    if len(others) == 0:
        return True, 0.0, True
    _, s, vt = np.linalg.svd(mat, full_matrices=False)
    keep = s > rank_tol * s.max()
    reduced = s[keep, None] * vt[keep]
    n_s, k = len(support), atoms.shape[0]
    # a simplex LP (HiGHS): exact vertices, no interior-point inaccuracy on the many
    # nearly dependent columns a sampled continuum produces
    cost = np.concatenate([np.zeros(n_s), -np.ones(k - n_s)])
    res = linprog(cost, A_eq=reduced, b_eq=np.zeros(len(reduced)),
                  A_ub=np.concatenate([np.zeros(n_s), np.ones(k - n_s)])[None, :], b_ub=[1.0],
                  bounds=[(-1e3, 1e3)] * n_s + [(0.0, None)] * (k - n_s), method="highs")
    if res.status != 0:
        raise SolverError(f"decomposition LP: {res.message}")
    value = float(-res.fun)
    return value <= 1e-6, value, True


def optimality_route(support: np.ndarray, zero: ZeroSet, settings: SolverSettings,
                     family_samples: int = 17, match_tol: float = 1e-3,
                     range_tol: float = 1e-4) -> OptimalityRoute:
    """Theorem 2 by optimality: all factorisations live on ``zero set ∩ range Q*``.

    ``support`` holds the tunings of the certified factorisation (rows, ``Q* = Σ y yᵀ``).
    Zero atoms within ``match_tol`` (unit-vector distance) of a support tuning are that
    tuning; families are sampled (``family_samples`` per family, boundary included) so
    that a continuum shows up as linearly dependent outer products.
    """
    sup_unit = support / np.linalg.norm(support, axis=1, keepdims=True)
    u, s, _ = np.linalg.svd(support.T, full_matrices=False)
    range_basis = u[:, s > 1e-10 * s.max()]
    zr = restrict_to_range(zero, range_basis, tol=range_tol)
    cand = [zr.atoms] + [sample_family(f, family_samples) for f in zr.families]
    cand_rows = np.vstack([c for c in cand if len(c)]) if any(len(c) for c in cand) \
        else np.zeros((0, support.shape[1]))
    if len(cand_rows):
        cand_rows = cand_rows[np.linalg.norm(cand_rows, axis=1) > 0]
        cand_unit = cand_rows / np.linalg.norm(cand_rows, axis=1, keepdims=True)
        dist = np.linalg.norm(cand_unit[:, None, :] - sup_unit[None, :, :], axis=2)
        others = _dedupe_rows(cand_unit[dist.min(axis=1) > match_tol], tol=1e-7)
        gap = float(dist.min(axis=0).max())
    else:
        others = np.zeros((0, support.shape[1]))
        gap = float("inf")
    unique, lp_value, independent = decomposition_unique(sup_unit, others, settings)
    n_fam = sum(f.basis.shape[1] >= 2 for f in zr.families)
    all_atoms = np.vstack([sup_unit, others]) if len(others) else sup_unit
    sv = np.linalg.svd(_sym_vec(all_atoms), compute_uv=False)
    all_indep = bool(sv.min() > 1e-9 * sv.max()) and len(all_atoms) <= len(sv)
    return OptimalityRoute(
        verdict=UNIQUE if unique else NON_UNIQUE,
        n_zero_atoms=len(zr.atoms),
        n_families=int(n_fam),
        independent=independent,
        all_independent=all_indep,
        lp_value=lp_value,
        support_in_zero_set=np.arccos(max(-1.0, min(1.0, 1 - gap**2 / 2))) if np.isfinite(gap)
        else float("inf"),
    )


# ============================================================================ other criteria


def zero_pattern(z: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """``z_it = 0`` (relative to the largest entry)."""
    return z <= tol * max(float(np.abs(z).max()), 1e-300)


def non_nesting(z: np.ndarray, tol: float = 1e-9) -> tuple[bool, list[tuple[int, int]]]:
    """Pairwise non-nesting: for all ``i ≠ j`` some stimulus has ``i`` active, ``j`` silent.

    Returns ``(holds, nested pairs (i, j) with supp z_i ⊆ supp z_j)``.  If ``i``'s support
    is inside ``j``'s, ``z_j − εz_i ≥ 0`` and a small rotation of the pair keeps ``Z ≥ 0``.
    """
    active = ~zero_pattern(z, tol)
    private = active[:, None, :] & ~active[None, :, :]  # i active, j silent
    nested = ~private.any(axis=2)
    np.fill_diagonal(nested, False)
    pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(nested), strict=True)]
    return not pairs, pairs


@dataclass(frozen=True)
class Rigidity:
    """First-order rigidity of ``Z`` under rotations ``(I + εK)Z``, ``K`` skew."""

    rigid: bool
    lp_value: float  # max Σ (KZ)_it over zeros with (KZ)_it ≥ 0, |K_ij| ≤ 1 (Z scaled)
    lineality: int  # dimension of {K : (KZ)_it = 0 on every zero}


def rigidity_lp(z: np.ndarray, settings: SolverSettings, tol: float = 1e-9,
                value_tol: float = 1e-7) -> Rigidity:
    """Only ``K = 0`` keeps ``(KZ)_it ≥ 0`` on the zeros of ``Z``?  One LP plus a rank.

    ``A k`` lists ``(KZ)_it`` over the zero pattern for ``K = Σ_{i<j} k_ij(e_ie_jᵀ −
    e_je_iᵀ)``.  Nonzero survivors exist iff ``max 1ᵀAk s.t. Ak ≥ 0, |k| ≤ 1`` is
    positive (a direction that strictly helps some zero) or ``A`` has a null space
    (a direction that keeps every zero at zero); by Stiemke's lemma the first fails
    iff some ``y > 0`` has ``Aᵀy = 0``.
    """
    n = z.shape[0]
    pairs = list(itertools.combinations(range(n), 2))
    if not pairs:
        return Rigidity(rigid=True, lp_value=0.0, lineality=0)
    zs = z / max(float(np.abs(z).max()), 1e-300)
    zi, zt = np.nonzero(zero_pattern(z, tol))
    a = np.zeros((len(zi), len(pairs)))
    for col, (i, j) in enumerate(pairs):
        # (KZ)_{i,t} = Σ_l K_il z_lt with K_ij = 1, K_ji = −1
        a[:, col] = np.where(zi == i, zs[j, zt], 0.0) - np.where(zi == j, zs[i, zt], 0.0)
    if len(zi) == 0:
        return Rigidity(rigid=False, lp_value=float("inf"), lineality=len(pairs))
    sv = np.linalg.svd(a, compute_uv=False)
    rank = int(np.sum(sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)))
    k = cp.Variable(len(pairs))
    problem = cp.Problem(cp.Maximize(cp.sum(a @ k)), [a @ k >= 0, cp.abs(k) <= 1])
    value = solve_checked(problem, settings).value
    lineality = len(pairs) - rank
    return Rigidity(rigid=bool(value <= value_tol and lineality == 0), lp_value=float(value),
                    lineality=lineality)


def sufficiently_scattered(z: np.ndarray, max_neurons: int = 4, tol: float = 1e-9) -> str:
    """Huang–Sidiropoulos–Swami (2014): sufficient for uniqueness of ``Q = ZᵀZ``.

    With columns ``z_t ∈ R₊^N``: (i) ``cone{z_t} ⊇ C = {x : 1ᵀx ≥ √(N−1)‖x‖}`` and (ii)
    ``cone{z_t}* ∩ bd C* = {λe_k}`` with ``C* = {x : 1ᵀx ≥ ‖x‖}``.  (i) ⟺ every extreme
    ray ``y`` of the dual cone ``{y : Zᵀy ≥ 0}`` satisfies ``1ᵀy ≥ ‖y‖``; as ``C*`` is
    strictly convex, (ii) only needs checking on those extreme rays.  Extreme rays are
    orthogonal to ``N − 1`` independent columns: enumerated, exponential in ``N``.
    Returns ``unique`` or ``inconclusive`` (also when ``N > max_neurons`` or rank < N).
    """
    n = z.shape[0]
    if n == 1:
        return UNIQUE
    if n > max_neurons or np.linalg.matrix_rank(z) < n:
        return INCONCLUSIVE
    cols = z.T[np.linalg.norm(z.T, axis=1) > 0]
    cols = _dedupe_rows(cols, tol=1e-12)
    rays = []
    for combo in itertools.combinations(range(len(cols)), n - 1):
        sub = cols[list(combo)]
        _, s, vt = np.linalg.svd(sub)
        if np.sum(s > 1e-10) < n - 1:
            continue
        y = vt[-1]
        proj = cols @ y
        scale = np.abs(proj).max()
        if np.all(proj >= -tol * scale):
            rays.append(y)
        elif np.all(proj <= tol * scale):
            rays.append(-y)
    if not rays:
        return INCONCLUSIVE
    rays_arr = np.array(rays)
    margin = rays_arr.sum(axis=1) - np.linalg.norm(rays_arr, axis=1)
    if np.any(margin < -1e-9):
        return INCONCLUSIVE
    on_boundary = rays_arr[margin <= 1e-9]
    axis_like = np.isclose(np.abs(on_boundary).max(axis=1), np.linalg.norm(on_boundary, axis=1),
                           rtol=1e-9)
    return UNIQUE if np.all(axis_like) else INCONCLUSIVE


# ================================================================================ instances


@dataclass(frozen=True)
class Instance:
    """A certified optimum ``Q* = ZᵀZ`` and the zero set of its reduced cost.

    ``nonnegative=False`` marks a PSD-only contrast: tunings of any sign, so every
    rotation of ``Z`` factorises ``Q*`` too.
    """

    name: str
    family: str
    q: np.ndarray
    tunings: np.ndarray  # rows of the certified factorisation
    zero_set: ZeroSet | None
    nonnegative: bool = True
    certified: bool = True
    certificate: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    #: another certified optimum with a different Q exists (the optimum is a face): the
    #: tunings are not determined by the problem, whatever the factorisation of this Q*
    alternative_optimum: bool = False


def theorem1_instance(problem: AutoencoderProblem, directions: np.ndarray,
                      weights: np.ndarray, name: str = "theorem1",
                      zero_tol: float = 1e-7) -> Instance:
    """Theorem 1 optimum: tunings ``√μ_i (ω_i·s̃ + m(ω_i))``, zero set of ``r(ω)`` at ``H``."""
    tunings = (affine_atoms(problem, directions) * np.sqrt(weights)[None, :]).T
    lam = lambda_matrix(problem, population_matrix(directions, weights))
    zero = theorem1_zero_set(problem, lam, tol=zero_tol)
    return Instance(name=name, family="theorem1", q=tunings.T @ tunings, tunings=tunings,
                    zero_set=zero)


def theorem1_psd_instance(problem: AutoencoderProblem, settings: SolverSettings,
                          name: str = "theorem1_psd") -> Instance:
    """PSD-only contrast of Theorem 1 (``Q ⪰ 0`` with the affine range, no ``Q ≥ 0``).

    Certificate: with ``G = ∇f`` on the allowed range ``B``, ``BᵀGB ⪰ 0`` and
    ``⟨G, Q⟩ = 0``; here checked as the solver status plus ``Q`` being a global
    minimiser of the convex problem over ``S₊`` (status optimal).
    """
    data = problem.mixing @ problem.sources
    t = problem.n_samples
    sim = menu.affine_similarity(problem.sources)
    readout, constraints = menu.readout_energy_with_bias(sim, data)
    objective = (menu.activity_energy(sim) / t
                 + problem.lambda_w * menu.linear_weight_energy(sim, data)
                 + problem.lambda_r * readout)
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    q = sim.value()
    return _psd_instance(q, name, "theorem1_psd", {"value": report.value,
                                                   "status": report.status})


def _psd_instance(q: np.ndarray, name: str, family: str, certificate: dict) -> Instance:
    w, v = np.linalg.eigh(q)
    keep = w > 1e-9 * w.max()
    tunings = (v[:, keep] * np.sqrt(w[keep])).T
    return Instance(name=name, family=family, q=tunings.T @ tunings, tunings=tunings,
                    zero_set=None, nonnegative=False, certificate=certificate)


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
    for _ in range(rounds):
        p, omega = _direction_program(targets, thetas, settings)
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
        p, omega = _direction_program(targets, thetas, settings)
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


def snap_to_zero_set(tunings: np.ndarray, zero: ZeroSet,
                     samples: int = 2049) -> tuple[np.ndarray, float]:
    """Replace each tuning by the nearest exact zero-cost tuning (same norm); merge copies.

    Candidates are the isolated atoms and dense samples of each family.  Returns the
    snapped tunings and the largest unit-vector distance moved.
    """
    cands = [zero.atoms] + [sample_family(f, samples) for f in zero.families]
    cand = np.vstack([c for c in cands if len(c)])
    cand = cand[np.linalg.norm(cand, axis=1) > 0]
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    norms = np.linalg.norm(tunings, axis=1)
    unit = tunings / norms[:, None]
    dist = np.linalg.norm(unit[:, None, :] - cand[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    snapped = cand[nearest] * norms[:, None]
    moved = float(dist.min(axis=1).max())
    return merge_parallel_rows(snapped, prune_tol=0.0, angle_tol=1e-12), moved


def _unique_angles(theta: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    theta = np.sort(np.mod(theta, 2 * np.pi))
    keep = np.append(True, np.diff(theta) > tol)
    theta = theta[keep]
    if len(theta) > 1 and theta[-1] - theta[0] > 2 * np.pi - tol:
        theta = theta[:-1]
    return theta


def offset_instance(grid_points: int, offset: float, settings: SolverSettings,
                    readout_weight: float = 1.0, aspect: float = 1.0, gap_tol: float = 1e-6,
                    snap_tol: float = 1e-3, rng: np.random.Generator | None = None,
                    zero_tol: float = 1e-6,
                    name: str = "offset") -> Instance:
    """Two sources decoded linearly with offset ``c``: certified ``Q*`` and its zero set.

    Certified iff ``f(Q*)`` is within ``gap_tol`` (relative) of the best rigorous lower
    bound, the neurons represent ``Y`` to ``gap_tol`` and the menu's dictionary bound on
    the same tunings agrees with ``f(Q*)``.  The zero set is the optimal dual's; the
    analysed ``Q*`` is the Newton-polished exact KKT point (:func:`polish_decoding`) or,
    if the polish fails, has each tuning replaced by its nearest exact zero-cost tuning
    (:func:`snap_to_zero_set`, moved by at most ``snap_tol``), so that the exact
    linear-algebra tests see the exact optimum and not the solver's ~1e-5 noise.
    """
    _, targets = offset_decoding_data(grid_points, offset, aspect)
    sol = solve_linear_decoding(targets, settings, readout_weight, rng, zero_tol=zero_tol)
    if sol.polished:  # already an exact KKT point: every tuning is an exact zero atom
        tunings, snap = sol.tunings, 0.0
    else:
        tunings, snap = snap_to_zero_set(sol.tunings, sol.zero_set)
    q = tunings.T @ tunings
    zero = sol.zero_set
    inner_ok = bool(np.isfinite(sol.inner)) and abs(sol.inner - sol.loss) <= gap_tol * sol.loss
    certified = bool(sol.gap <= gap_tol and sol.representation_error <= gap_tol and inner_ok
                     and snap <= snap_tol)
    certificate = {
        "loss": sol.loss, "outer": sol.outer, "inner": sol.inner, "dual_bound": sol.dual_bound,
        "gap": sol.gap, "dnn_gap": sol.dnn_gap, "outer_cp_residual": sol.outer_cp_residual,
        "representation_error": sol.representation_error, "snap_distance": snap,
        "polished": sol.polished,
    }
    return Instance(name=name, family="offset", q=q, tunings=tunings, zero_set=zero,
                    certified=bool(certified), certificate=certificate,
                    params={"offset": offset, "grid_points": grid_points})


def offset_psd_instance(grid_points: int, offset: float, settings: SolverSettings,
                        readout_weight: float = 1.0, aspect: float = 1.0,
                        name: str = "offset_psd") -> Instance:
    """PSD-only contrast: ``min_{Q ⪰ 0}``; closed form ``√(λT)(YᵀY)^{1/2}`` checked."""
    _, targets = offset_decoding_data(grid_points, offset, aspect)
    t = targets.shape[1]
    sim = menu.psd_similarity(t)
    readout, cons = menu.readout_energy(sim, targets)
    report = solve_checked(cp.Problem(cp.Minimize(menu.activity_energy(sim) / t
                                                  + readout_weight * readout), cons), settings)
    _, s, vt = np.linalg.svd(targets, full_matrices=False)
    closed = np.sqrt(readout_weight * t) * (vt.T * s) @ vt
    q = sim.value()
    err = float(np.linalg.norm(q - closed) / np.linalg.norm(closed))
    inst = _psd_instance(closed, name, "offset_psd",
                         {"value": report.value, "status": report.status,
                          "closed_form_error": err})
    return replace(inst, params={"offset": offset, "grid_points": grid_points},
                   certified=err <= 1e-4)


# ================================================================================= analysis


@dataclass(frozen=True)
class Analysis:
    """Every criterion and the empirical test on one instance."""

    empirical: EmpiricalTest
    predictions: dict[str, str]  # criterion → unique | non-unique | inconclusive
    optimality: OptimalityRoute | None
    rigidity: Rigidity | None
    nested_pairs: list[tuple[int, int]]
    n_neurons: int


CRITERIA = ("optimality", "non_nesting", "rigidity", "scattered")


def analyse(instance: Instance, settings: SolverSettings, rng: np.random.Generator,
            restarts: int = 24, extra_neurons: int = 2, cp_tol: float = 1e-3,
            converged_tol: float = 1e-7, discrepancy_tol: float = 1e-2,
            scattered_max_neurons: int = 4, stop_when_decided: bool = False) -> Analysis:
    """Empirical test and the four criteria on ``instance``.

    PSD-only contrasts have no sign constraint: the factorisations are unconstrained,
    every criterion predicts non-uniqueness when ``rank Q* ≥ 2`` (any rotation
    ``OZ`` factorises ``Q*``) and the scattered test does not apply.
    """
    z = instance.tunings
    emp = empirical_test(instance.q, restarts, rng, instance.nonnegative, extra_neurons,
                         cp_tol, converged_tol, discrepancy_tol,
                         min_neurons=len(instance.tunings),
                         stop_when_decided=stop_when_decided,
                         certified=instance.tunings if instance.nonnegative else None)
    n = len(z)
    if not instance.nonnegative:
        rotating = NON_UNIQUE if n >= 2 else UNIQUE
        preds = {"optimality": rotating, "non_nesting": rotating, "rigidity": rotating,
                 "scattered": INCONCLUSIVE}
        return Analysis(emp, preds, None, None, [], n)
    route = optimality_route(z, instance.zero_set, settings) if instance.zero_set is not None \
        else None
    holds, pairs = non_nesting(z)
    try:
        rig: Rigidity | None = rigidity_lp(z, settings)
    except SolverError:  # an LP without a certified optimum is no verdict
        rig = None
    opt = route.verdict if route is not None else INCONCLUSIVE
    if instance.alternative_optimum:
        opt = NON_UNIQUE
    elif opt == UNIQUE and pairs:
        # at an exact optimum a nested pair y_i, y_j in the support makes y_i − εy_j ≥ 0
        # part of another factorisation, hence zero-cost: G vanishes on span{y_i, y_j}
        # and the zero set has a continuum there.  A finite zero set with a nested
        # support therefore means the computed optimum is not accurate enough to decide.
        opt = INCONCLUSIVE
    preds = {
        "optimality": opt,
        "non_nesting": UNIQUE if holds else NON_UNIQUE,
        "rigidity": INCONCLUSIVE if rig is None else (UNIQUE if rig.rigid else NON_UNIQUE),
        "scattered": sufficiently_scattered(z, scattered_max_neurons),
    }
    return Analysis(emp, preds, route, rig, pairs, n)


def agreement(predicted: Sequence[str], observed: Sequence[str]) -> tuple[int, int]:
    """``(agreeing, compared)`` over pairs where both are unique / non-unique."""
    both = [(p, o) for p, o in zip(predicted, observed, strict=True)
            if p in (UNIQUE, NON_UNIQUE) and o in (UNIQUE, NON_UNIQUE)]
    return sum(p == o for p, o in both), len(both)


# ------------------------------------------------------------------ ON/OFF (Theorem 3)


def on_off_instance(n_samples: int, rho: float, settings: SolverSettings,
                    stimulus: str = "uniform", param: float | None = None, lam: float = 1.0,
                    zero_tol: float = 1e-9, gap_tol: float = 1e-6, snap_tol: float = 1e-3,
                    refine: int = 4, name: str = "on_off") -> Instance:
    """Certified ON/OFF optimum (per-neuron density ``a(y) ≤ ρ``) and its zero set.

    The optimum comes from :func:`convex_coding.on_off_density.solve_on_off` (column generation
    with an exactly priced dual ``g``); ``Q* = Σ_k c_k ŷ_k ŷ_kᵀ`` with
    ``c_k = √(λT)|v_k|`` and gradient ``G = (I − ggᵀ)/T``, so the relative reduced cost
    of a feasible unit tuning is ``1 − (gᵀŷ)²``.

    * Dense ``ρ ≥ ρ*``: ``g = ŷ₊ − ŷ₋`` and by Cauchy–Schwarz the zero set is exactly
      ``{ŷ₊, ŷ₋}``.  The solver's support atoms (near-copies of the ramps carrying
      weight at reduced cost ~1e-10) are snapped to these two (moved by at most
      ``snap_tol``) and ``Q*`` is the exact ON/OFF pair (:func:`on_off.on_off_pair`).
    * Sparse ``ρ < ρ*``: ``g = sign(x)/√(ρT)`` and the zero set is every one-signed
      tuning of density exactly ρ, a continuum; the optimum is a face.  It is confirmed
      non-trivial by a second certified optimum with a different ``Q``
      (:func:`on_off.canonical_code`, same dual), recorded as ``alternative_optimum``.
      ``Q*`` is the solver's basic optimum.  Zero atoms: the support plus a dictionary
      ``refine`` times finer than the solver's, filtered by reduced cost ``≤ zero_tol``.

    Certified iff the relative gap, the most negative priced reduced cost and the
    complementarity are at most ``gap_tol`` (and, dense, the snap is within ``snap_tol``).
    """
    from . import on_off_density as oo

    x = oo.stimulus_samples(stimulus, n_samples, param)
    t = len(x)
    sol = oo.solve_on_off(x, rho, settings)
    g = sol.dual
    rho_star = oo.predicted_threshold(x)
    ramps = np.array([np.maximum(sgn * x, 0.0) for sgn in (1.0, -1.0)])
    ramps /= np.linalg.norm(ramps, axis=1, keepdims=True)
    dense = bool(np.all(oo.lifetime_density(ramps.T) <= rho * (1 + 1e-12)))
    snap, other = 0.0, 0.0
    if dense:
        dist = np.linalg.norm(sol.atoms.T[:, None, :] - ramps[None, :, :], axis=2)
        snap = float(dist.min(axis=1).max())
        tunings, _ = oo.on_off_pair(x, lam)
        zero_atoms = ramps
    else:
        energy = np.sqrt(lam * t) * sol.weights
        tunings = merge_parallel_rows(sol.atoms.T * np.sqrt(energy)[:, None], prune_tol=0.0,
                                      angle_tol=1e-9)
        cand = np.hstack([oo.feasible_atoms(oo.ramps_and_tents(x, refine=refine), rho),
                          oo.density_tents(x, rho, refine=refine), sol.atoms])
        cand = cand / np.linalg.norm(cand, axis=0)
        keep = ((oo.lifetime_density(cand) <= rho * (1 + 1e-9))
                & (1.0 - (g @ cand) ** 2 <= zero_tol))
        zero_atoms = _dedupe_rows(cand[:, keep].T, tol=1e-6)
        can = oo.canonical_code(x, sol)
        z_can = can.atoms.T * np.sqrt(np.sqrt(lam * t) * can.weights)[:, None]
        q = tunings.T @ tunings
        other = float(np.linalg.norm(z_can.T @ z_can - q) / np.linalg.norm(q))
    certified = bool(sol.gap <= gap_tol and sol.min_reduced_cost >= -gap_tol
                     and sol.complementarity <= gap_tol and snap <= snap_tol)
    certificate = {"gap": float(sol.gap), "min_reduced_cost": float(sol.min_reduced_cost),
                   "complementarity": float(sol.complementarity),
                   "atomic_norm": float(sol.atomic_norm), "closed_form": float(sol.closed_form),
                   "rho_star": float(rho_star), "dense": dense, "snap_distance": snap,
                   "alternative_optimum_distance": other, "dual_source": sol.dual_source}
    return Instance(name=name, family="on_off", q=tunings.T @ tunings, tunings=tunings,
                    zero_set=ZeroSet(atoms=zero_atoms), certified=certified,
                    certificate=certificate, alternative_optimum=other > 1e-6,
                    params={"rho": rho, "n_samples": n_samples, "stimulus": stimulus})
