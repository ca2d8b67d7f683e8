r"""The uniqueness criteria for a factorisation ``Q* = ZᵀZ``, ``Z ≥ 0``.

* optimality route (exact): every tuning of every optimal factorisation is a zero of the
  reduced cost in ``range Q*``; the decomposition of ``Q*`` over those atoms is unique iff
  an LP over ``vec_sym(y yᵀ)`` says so;
* pairwise non-nesting of the zero patterns (necessary; sufficient for two neurons);
* first-order rigidity (one LP over the perturbations ``ZᵀΔ + ΔᵀZ = 0`` that keep
  ``Z + εΔ ≥ 0``);
* sufficiently scattered (sufficient, small ``N``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .._lazy import cvxpy as cp
from .._lazy import scipy_optimize as optimize
from ..solvers import SolverError, SolverSettings, solve_checked
from .factorisation import INCONCLUSIVE, NON_UNIQUE, UNIQUE
from .zero_sets import ZeroSet, _dedupe_rows, restrict_to_range, sample_family

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
    res = optimize.linprog(cost, A_eq=reduced, b_eq=np.zeros(len(reduced)),
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
    # max Σ (KZ)_it over zeros with (KZ)_it ≥ 0, |K_ij| ≤ 1 (Z scaled); None when the
    # lineality already decides (the LP is then not solved)
    lp_value: float | None
    lineality: int  # dimension of {K : (KZ)_it = 0 on every zero}


def rotation_constraints(z: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """``A`` with ``A k = ((KZ)_it)`` over the zeros of ``Z`` (``zero_pattern``, rows in
    ``np.nonzero`` order) for ``K = Σ_{i<j} k_ij(e_ie_jᵀ − e_je_iᵀ)`` (columns in
    ``np.triu_indices(N, 1)`` order), ``Z`` scaled to ``max |Z| = 1``.

    ``(KZ)_it = Σ_l K_il Z_lt``: the zero ``(i, t)`` meets pair ``(i, l)``, ``i < l``, with
    ``+Z_lt`` and pair ``(l, i)``, ``l < i``, with ``−Z_lt``; ``N − 1`` nonzeros per row.
    """
    n = z.shape[0]
    zs = z / max(float(np.abs(z).max()), 1e-300)
    zi, zt = np.nonzero(zero_pattern(z, tol))
    column = np.zeros((n, n), dtype=np.intp)
    pi, pj = np.triu_indices(n, 1)
    column[pi, pj] = np.arange(pi.size)
    column[pj, pi] = np.arange(pi.size)
    a = np.zeros((zi.size, pi.size))
    rows = np.repeat(np.arange(zi.size), n)
    partner = np.tile(np.arange(n), zi.size)
    mine = np.repeat(zi, n)
    other = partner != mine
    rows, partner, mine = rows[other], partner[other], mine[other]
    sign = np.where(mine < partner, 1.0, -1.0)
    a[rows, column[mine, partner]] = sign * zs[partner, np.repeat(zt, n)[other]]
    return a


def rigidity_lp(z: np.ndarray, settings: SolverSettings, tol: float = 1e-9,
                value_tol: float = 1e-7) -> Rigidity:
    """Only ``K = 0`` keeps ``(KZ)_it ≥ 0`` on the zeros of ``Z``?  A rank, then one LP.

    ``A`` (:func:`rotation_constraints`) lists ``(KZ)_it`` over the zero pattern.  Nonzero
    survivors exist iff ``A`` has a null space (a direction that keeps every zero at zero:
    the *lineality*, ``N(N−1)/2 − rank A``) or ``max 1ᵀAk s.t. Ak ≥ 0, |k| ≤ 1`` is
    positive (a direction that strictly helps some zero); by Stiemke's lemma the second
    fails iff some ``y > 0`` has ``Aᵀy = 0``.  A positive lineality decides (not rigid)
    without the LP — always so when there are fewer zeros than pairs — so the LP is solved
    only when ``A`` has full column rank.
    """
    n = z.shape[0]
    n_pairs = n * (n - 1) // 2
    if n_pairs == 0:
        return Rigidity(rigid=True, lp_value=0.0, lineality=0)
    a = rotation_constraints(z, tol)
    if a.shape[0] == 0:
        return Rigidity(rigid=False, lp_value=float("inf"), lineality=n_pairs)
    sv = np.linalg.svd(a, compute_uv=False)
    rank = int(np.sum(sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)))
    lineality = n_pairs - rank
    if lineality > 0:
        return Rigidity(rigid=False, lp_value=None, lineality=lineality)
    k = cp.Variable(n_pairs)
    problem = cp.Problem(cp.Maximize(cp.sum(a @ k)), [a @ k >= 0, cp.abs(k) <= 1])
    value = float(solve_checked(problem, settings).value)
    return Rigidity(rigid=bool(value <= value_tol), lp_value=value, lineality=0)


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
