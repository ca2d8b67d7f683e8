r"""The empirical uniqueness test: random-restart nonnegative symmetric factorisations.

``min_{Z ≥ 0} ¼‖ZᵀZ − Q‖²_F`` from random starts (projected quasi-Newton), then pruning
of tiny neurons, merging of parallel copies and a Gauss–Newton refit
(:mod:`.gauss_newton`); the factors of different restarts are aligned by cosine
similarity and Hungarian matching, and their discrepancy decides ``unique`` /
``non-unique``.  Also the verdict labels shared by the
criteria.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._lazy import scipy_optimize as optimize
from .gauss_newton import gauss_newton_refit

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

    res = optimize.minimize(fun, z0.ravel(), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * (n * t) if nonnegative else None,
                   options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-13, "maxcor": 20})
    z = res.x.reshape(n, t)
    return np.maximum(z, 0.0) if nonnegative else z


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
    rows, cols = optimize.linear_sum_assignment(1.0 - ru @ mu.T)
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

    A restart has converged when its residual is ``≤ converged_tol``.  *Non-unique* needs
    two exact factorisations that differ by more than ``discrepancy_tol``: two converged
    restarts, or, when ``certified`` is given, one converged restart and the certified
    factorisation; *unique* needs at least two converged restarts, all matching.  When even the best
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
        # a certified factorisation is itself one exact factorisation: one converged
        # restart that differs from it already shows two
        if not stop_when_decided or len(good) < (1 if certified is not None else 2):
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
    elif best.residual > converged_tol:
        verdict = INCONCLUSIVE  # completely positive, but no restart converged
    elif worst > discrepancy_tol and (len(good) >= 2 or certified is not None):
        verdict = NON_UNIQUE  # two exact factorisations differ (the certified one counts)
    elif len(good) < 2:
        verdict = INCONCLUSIVE  # one converged restart, and it matches: too few to say
    else:
        verdict = UNIQUE
    return EmpiricalTest(verdict=verdict, best_residual=best.residual, max_discrepancy=worst,
                         n_restarts=len(runs), n_converged=len(good),
                         n_neurons=[len(f.z) for f in good], reference=reference,
                         aligned=aligned)
