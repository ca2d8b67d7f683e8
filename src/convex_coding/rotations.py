r"""Search for a non-trivial nonnegative rotation: orthogonal ``O`` with ``OZ ≥ 0``.

``Z' = OZ`` has the same similarity ``Z'ᵀZ' = ZᵀZ``; a permutation ``O`` only relabels
neurons.  The search minimises, over ``O = O₀·cay(S)`` with ``cay(S) = (I − S)(I + S)⁻¹``
(``S`` skew, so ``O`` stays orthogonal exactly),

``f(O) = ‖min(OZ, 0)‖²_F / ‖Z‖²_F − β·min(‖O − P_O‖²_F, d²)``

(``P_O`` the nearest permutation, by Hungarian matching on ``O``; the second term pushes
away from the trivial solutions, capped at ``d``), then drops the push and minimises the
violation alone from that point.  Starts: Haar-random ``O₀``, and ``O₀ = cay(−εK)`` along
first-order rigidity directions ``K`` (nonzero skew ``K`` with ``(KZ)_it ≥ 0`` on the
zeros of ``Z``, from an LP).  A candidate counts as *found* only if it verifies exactly:
``‖OᵀO − I‖ ≤ 1e-12``, ``min OZ ≥ −1e-10·max Z``, ``‖(OZ)ᵀOZ − ZᵀZ‖ ≤ 1e-10·‖ZᵀZ‖`` and
distance to the nearest permutation ``≥ min_distance``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ._lazy import scipy_optimize as optimize


@dataclass(frozen=True)
class RotationSearch:
    """Outcome of the search; ``o`` is the verified rotation (or the best candidate)."""

    found: bool
    o: np.ndarray
    distance: float  # ‖O − P‖_F to the nearest permutation
    min_oz: float  # min (OZ)_it / max Z
    orthogonality: float  # ‖OᵀO − I‖_F
    gram_error: float  # ‖(OZ)ᵀOZ − ZᵀZ‖_F / ‖ZᵀZ‖_F
    n_restarts: int
    n_lp_starts: int


def nearest_permutation(o: np.ndarray) -> np.ndarray:
    """Permutation ``P`` minimising ``‖O − P‖_F`` (= maximising ``tr PᵀO``)."""
    rows, cols = optimize.linear_sum_assignment(-o)
    p = np.zeros_like(o)
    p[rows, cols] = 1.0
    return p


def cayley(s: np.ndarray) -> np.ndarray:
    """``(I − S)(I + S)⁻¹``: orthogonal for skew ``S``."""
    eye = np.eye(len(s))
    return np.linalg.solve((eye + s).T, (eye - s).T).T


def _skew(x: np.ndarray, n: int) -> np.ndarray:
    s = np.zeros((n, n))
    s[np.triu_indices(n, 1)] = x
    return s - s.T


def rigidity_directions(z: np.ndarray, tol: float = 1e-9, max_dirs: int = 8) -> list[np.ndarray]:
    """Skew ``K ≠ 0`` with ``(KZ)_it ≥ 0`` wherever ``z_it = 0`` (first-order feasible
    rotation directions): LPs ``max (KZ)_{it}`` for a few zeros ``(i, t)`` at random,
    ``|K_ij| ≤ 1``.  Empty when ``Z`` is first-order rigid."""
    n = z.shape[0]
    pairs = list(itertools.combinations(range(n), 2))
    zs = z / max(float(z.max(initial=0.0)), 1e-300)
    zi, zt = np.nonzero(zs <= tol)
    if not pairs or len(zi) == 0:
        return []
    a = np.zeros((len(zi), len(pairs)))
    for col, (i, j) in enumerate(pairs):
        a[:, col] = np.where(zi == i, zs[j, zt], 0.0) - np.where(zi == j, zs[i, zt], 0.0)
    dirs = []
    objectives = [a.sum(axis=0)] + [a[k] for k in np.linspace(0, len(a) - 1, max_dirs - 1,
                                                              dtype=int)]
    for c in objectives:
        res = optimize.linprog(-c, A_ub=-a, b_ub=np.zeros(len(a)), bounds=[(-1, 1)] * len(pairs),
                      method="highs")
        if res.status == 0 and -res.fun > 1e-9:
            dirs.append(_skew(res.x, n))
    # directions keeping every zero at zero (null space of A)
    _, sv, vt = np.linalg.svd(a)
    rank = int(np.sum(sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)))
    dirs += [_skew(v, n) for v in vt[rank:][:max_dirs]]
    return dirs


def _objective(z: np.ndarray, o0: np.ndarray, beta: float, cap: float):
    n, zz = len(z), float(np.sum(z**2))
    iu = np.triu_indices(n, 1)
    eye = np.eye(n)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        s = _skew(x, n)
        inv = np.linalg.inv(eye + s)
        c = (eye - s) @ inv
        o = o0 @ c
        oz = o @ z
        neg = np.minimum(oz, 0.0)
        val = float(np.sum(neg**2)) / zz
        g = 2.0 * neg @ z.T / zz  # ∂/∂O
        if beta > 0:
            diff = o - nearest_permutation(o)
            d2 = float(np.sum(diff**2))
            if d2 < cap**2:
                val -= beta * d2
                g = g - 2.0 * beta * diff
        # dO = −O₀(I + C) dS (I + S)⁻¹  ⇒  ∂f/∂S = −[(I+S)⁻¹ Gᵀ O₀ (I+C)]ᵀ
        m = -(inv @ g.T @ o0 @ (eye + c)).T
        return val, (m - m.T)[iu]

    return fun


def verify(z: np.ndarray, o: np.ndarray) -> tuple[float, float, float, float]:
    """``(‖OᵀO − I‖, min OZ / max Z, relative Gram error, distance to permutation)``."""
    q = z.T @ z
    oz = o @ z
    return (float(np.linalg.norm(o.T @ o - np.eye(len(o)))),
            float(oz.min()) / max(float(z.max()), 1e-300),
            float(np.linalg.norm(oz.T @ oz - q)) / max(float(np.linalg.norm(q)), 1e-300),
            float(np.linalg.norm(o - nearest_permutation(o))))


def search_rotation(z: np.ndarray, rng: np.random.Generator, restarts: int = 40,
                    beta: float = 1e-3, cap: float = 0.5, min_distance: float = 1e-3,
                    neg_tol: float = 1e-10, max_iter: int = 400) -> RotationSearch:
    """Restarts from rigidity-LP directions first, then Haar-random ``O₀``; stops at the
    first verified non-permutation rotation (see the module docstring)."""
    n = z.shape[0]
    k = n * (n - 1) // 2
    dirs = rigidity_directions(z)
    starts = [cayley(-eps * d / np.abs(d).max()) for d in dirs for eps in (0.05, 0.3)]
    n_lp = len(starts)
    for _ in range(restarts):
        g = np.linalg.qr(rng.standard_normal((n, n)))
        starts.append(g[0] * np.sign(np.diag(g[1])))
    best: tuple[float, np.ndarray] | None = None
    for count, o0 in enumerate(starts, start=1):
        push = optimize.minimize(_objective(z, o0, beta, cap), np.zeros(k), jac=True,
                        method="L-BFGS-B", options={"maxiter": max_iter})
        o1 = o0 @ cayley(_skew(push.x, n))
        clean = optimize.minimize(_objective(z, o1, 0.0, cap), np.zeros(k), jac=True,
                         method="L-BFGS-B",
                         options={"maxiter": 4 * max_iter, "gtol": 1e-16, "ftol": 1e-30})
        o = o1 @ cayley(_skew(clean.x, n))
        orth, min_oz, gram, dist = verify(z, o)
        ok = orth <= 1e-12 and min_oz >= -neg_tol and gram <= 1e-10
        if ok and dist >= min_distance:
            return RotationSearch(True, o, dist, min_oz, orth, gram, count, n_lp)
        score = max(-min_oz, 0.0) - 1e-3 * dist
        if best is None or score < best[0]:
            best = (score, o)
    assert best is not None
    orth, min_oz, gram, dist = verify(z, best[1])
    return RotationSearch(False, best[1], dist, min_oz, orth, gram, len(starts), n_lp)
