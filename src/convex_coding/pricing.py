r"""Pricing: search for a nonnegative tuning with negative reduced cost ``yᵀGy``.

At a candidate optimum ``Q`` with Lagrangian gradient ``G``, a tuning ``y ≥ 0`` (unit
norm) lowers the objective when added as a neuron iff ``yᵀGy < 0``; ``Q`` is optimal
over the completely positive cone iff ``G`` is copositive on the feasible tunings and
``⟨G, Q⟩ = 0``.  Deciding copositivity is NP-hard, so both searches here are
**heuristics**: a value ``< 0`` is a certificate that the dictionary can improve, a
value ``≥ 0`` is not a proof of optimality (the DNN lower bound is what certifies).

* :func:`price_nonnegative`: ``min yᵀGy`` over ``y ≥ 0, ‖y‖ = 1`` by projected
  gradient from many starts (unit vectors, nonnegative parts of the eigenvectors of
  ``G``, the current atoms, random points), vectorised over starts.
* :func:`price_affine`: tunings of an affine code, ``y = B_c w + b1`` with
  ``b ≥ m(w) = max(0, −min_t (B_c w)_t)`` (the only nonnegative tunings in
  ``row [X; 1ᵀ]``); for each direction ``w`` the best bias solves a quadratic in
  closed form, and the best directions are refined by Nelder–Mead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PricingResult", "price_affine", "price_nonnegative"]


@dataclass(frozen=True)
class PricingResult:
    """Candidate tunings (unit columns, ``T × K``, sorted by reduced cost) and their
    reduced costs ``yᵀGy``; ``exact`` is False (heuristic search)."""

    atoms: np.ndarray
    costs: np.ndarray
    exact: bool = False

    @property
    def minimum(self) -> float:
        return float(self.costs[0]) if self.costs.size else float("inf")


def _sorted(atoms: np.ndarray, g: np.ndarray) -> PricingResult:
    norms = np.linalg.norm(atoms, axis=0)
    keep = norms > 1e-12
    y = atoms[:, keep] / norms[keep]
    costs = np.einsum("tk,ts,sk->k", y, g, y)
    order = np.argsort(costs)
    return PricingResult(atoms=y[:, order], costs=costs[order])


def price_nonnegative(g: np.ndarray, *, starts: np.ndarray | None = None, n_random: int = 64,
                      iters: int = 300, seed: int = 0, unit_starts: bool = True
                      ) -> PricingResult:
    """Projected gradient ``y ← Π(y − η G y)`` (``Π``: clip at 0, normalise) with step
    ``η = 1/‖G‖₂``, from every start at once; returns the local minima found.
    ``unit_starts=False`` drops the ``T`` unit-vector starts (their prices ``G_tt``
    are still candidates): at large ``T`` they dominate the cost."""
    t = g.shape[0]
    rng = np.random.default_rng(seed)
    w, v = np.linalg.eigh(g)
    cols = [np.eye(t) if unit_starts else np.eye(t)[:, [int(np.argmin(np.diag(g)))]],
            np.ones((t, 1)), np.clip(v[:, :8], 0, None), np.clip(-v[:, :8], 0, None),
            rng.uniform(size=(t, n_random)) ** 3]
    if starts is not None:
        cols.append(np.clip(starts, 0, None))
    y = np.hstack(cols)
    y = y[:, np.linalg.norm(y, axis=0) > 1e-12]
    y /= np.linalg.norm(y, axis=0)
    step = 1.0 / max(float(np.abs(w).max()), 1e-300)
    for _ in range(iters):
        z = np.clip(y - step * (g @ y), 0.0, None)
        n = np.linalg.norm(z, axis=0)
        dead = n < 1e-14  # a start clipped to zero restarts at its largest coordinate
        z[:, dead] = np.eye(t)[:, np.argmax(y[:, dead], axis=0)]
        y = z / np.linalg.norm(z, axis=0)
    return _sorted(y, g)


def _affine_ratio(g: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best bias and reduced cost for each column ``u`` of ``B_c W`` (``u ⊥ 1``):
    minimise ``r(b) = (a + 2bβ + b²γ)/(n + b²T)`` over ``b ≥ m``, where ``a = uᵀGu``,
    ``β = uᵀG1``, ``γ = 1ᵀG1``, ``n = uᵀu``; ``r′ = 0`` iff ``βTb² − (γn − aT)b − βn = 0``."""
    t = g.shape[0]
    one = np.ones(t)
    a = np.einsum("tk,ts,sk->k", u, g, u)
    beta = u.T @ (g @ one)
    gamma = float(one @ g @ one)
    n = np.sum(u**2, axis=0)
    m = np.maximum(0.0, -u.min(axis=0))

    def ratio(b: np.ndarray) -> np.ndarray:
        return (a + 2 * b * beta + b**2 * gamma) / (n + b**2 * t)

    qa, qb, qc = beta * t, -(gamma * n - a * t), -beta * n
    disc = np.sqrt(np.maximum(qb**2 - 4 * qa * qc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = [(-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)]
    best_b, best = m, ratio(m)
    for root in roots:
        ok = np.isfinite(root) & (root >= m)
        cand = np.where(ok, root, m)
        val = ratio(cand)
        better = ok & (val < best)
        best_b, best = np.where(better, cand, best_b), np.where(better, val, best)
    return best_b, best


def price_affine(g: np.ndarray, centred_basis: np.ndarray, *, starts: np.ndarray | None = None,
                 n_directions: int = 4000, n_refine: int = 8, seed: int = 0) -> PricingResult:
    """``min yᵀGy/‖y‖²`` over affine tunings ``y = B_c w + b1 ≥ 0`` (``B_c ⊥ 1``, T × r).

    Random directions ``w`` on the sphere (plus ``starts``, r × K), best bias in closed
    form (:func:`_affine_ratio`), then Nelder–Mead on the ``n_refine`` best.  The
    constant tuning ``y = 1/√T`` is always a candidate.
    """
    t, r = centred_basis.shape
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((r, n_directions))
    if starts is not None:
        w = np.hstack([starts, w])
    w /= np.maximum(np.linalg.norm(w, axis=0), 1e-300)
    _, costs = _affine_ratio(g, centred_basis @ w)

    def objective(v: np.ndarray) -> float:
        nv = np.linalg.norm(v)
        if nv < 1e-12:
            return float(np.ones(t) @ g @ np.ones(t)) / t
        return float(_affine_ratio(g, (centred_basis @ (v / nv))[:, None])[1][0])

    from scipy.optimize import minimize

    refined = []
    for k in np.argsort(costs)[:n_refine]:
        res = minimize(objective, w[:, k], method="Nelder-Mead",
                       options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 400 * r})
        refined.append(res.x / max(np.linalg.norm(res.x), 1e-300))
    w = np.hstack([w, np.array(refined).T]) if refined else w
    u = centred_basis @ w
    b, _ = _affine_ratio(g, u)
    atoms = np.hstack([u + b[None, :], np.ones((t, 1))])
    return _sorted(np.clip(atoms, 0.0, None), g)
