r"""Polishing a population: moving interior neurons to the minimisers of the reduced
cost on their linear piece of ``m``, Newton on the weights, merging parallel neurons, and
the modularity score of the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import scipy_optimize as optimize
from ..solvers import SolverError, SolverSettings
from .problem import (
    AutoencoderProblem,
    LinearPieces,
    lambda_matrix,
    neuron_costs,
    population_loss,
    population_matrix,
    reduced_cost,
)
from .theory import DirectionalMinimum, _axis_angle_deg, minimise_reduced_cost, modular_code
from .weights import conic_weights, optimal_weights


def _home_piece(
    pieces: LinearPieces, directions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Piece containing each direction and its depth (min barycentric coordinate)."""
    coords = np.linalg.solve(pieces.rays[None], directions[:, None, :, None])[..., 0]
    depth = coords.min(axis=2) / np.abs(coords).max(axis=2)
    home = np.argmax(depth, axis=1)
    return home, depth[np.arange(len(directions)), home]


def refine_interior_neurons(
    problem: AutoencoderProblem,
    pieces: LinearPieces,
    directions: np.ndarray,
    weights: np.ndarray,
    min_depth: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Jointly move the neurons that lie strictly inside a piece of ``m`` (L-BFGS).

    There ``m(u) = v·u`` with the piece's vertex ``v``, so the loss is smooth:
    ``F = Σ_i u_iᵀ(N + v_iv_iᵀ)u_i + Σ_j s_j² c(ω_j) + λ_R Tr(Σ_A H⁻¹)`` over interior
    neurons ``u_i`` and the magnitudes ``s_j`` of boundary neurons (directions fixed),
    with gradient ``2(N + v_iv_iᵀ − λ_R W)u_i``, ``W = H⁻¹Σ_A H⁻¹``.  Column generation
    alone approaches a direction that is optimal inside a piece only slowly.  The move
    is kept only if every neuron stays in its piece and ``L`` does not increase.
    """
    home, depth = _home_piece(pieces, directions)
    inner = depth > min_depth
    if not inner.any():
        return directions, weights
    d, k_in = problem.dim, int(inner.sum())
    n_q = problem.neuron_quadratic
    v = pieces.vertices[home[inner]]
    quad = n_q[None] + np.einsum("ka,kb->kab", v, v)  # (k_in, d, d)
    fixed_dirs = directions[~inner]
    fixed_cost = neuron_costs(problem, fixed_dirs)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[: k_in * d].reshape(k_in, d), x[k_in * d:]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        u, s = unpack(x)
        h = u.T @ u + (fixed_dirs * (s**2)[:, None]).T @ fixed_dirs
        try:
            h_inv = np.linalg.inv(h)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(x)
        w = problem.lambda_r * h_inv @ problem.sigma_a @ h_inv
        val = (np.einsum("ka,kab,kb->", u, quad, u) + fixed_cost @ s**2
               + problem.lambda_r * np.trace(problem.sigma_a @ h_inv))
        g_u = 2 * np.einsum("kab,kb->ka", quad, u) - 2 * u @ w
        g_s = 2 * s * (fixed_cost - np.einsum("ka,ab,kb->k", fixed_dirs, w, fixed_dirs))
        return float(val), np.concatenate([g_u.ravel(), g_s])

    x0 = np.concatenate([(directions[inner] * np.sqrt(weights[inner])[:, None]).ravel(),
                         np.sqrt(weights[~inner])])
    f0 = fun(x0)[0]
    res = optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 2000, "maxcor": 30})
    if not np.isfinite(res.fun) or res.fun > f0:
        return directions, weights
    u, s = unpack(res.x)
    mu_in = np.einsum("ka,ka->k", u, u)
    new_dirs = directions.copy()
    new_w = weights.copy()
    new_dirs[inner] = u / np.sqrt(mu_in)[:, None]
    new_w[inner] = mu_in
    new_w[~inner] = s**2
    home_new, depth_new = _home_piece(pieces, new_dirs[inner])
    if np.any(depth_new < 0) or np.any(home_new != home[inner]):
        return directions, weights
    return new_dirs, new_w


def _newton_if_better(
    problem: AutoencoderProblem, directions: np.ndarray, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Projected-Newton polish of the weights, kept only if it lowers ``L``."""
    newton = optimal_weights(problem, directions, mu)
    if population_loss(problem, directions, newton) <= population_loss(problem, directions, mu):
        mu = newton
    keep = mu > 0
    return directions[keep], mu[keep]


def polish_population(
    problem: AutoencoderProblem,
    pieces: LinearPieces,
    directions: np.ndarray,
    settings: SolverSettings,
    rounds: int = 40,
    tol: float = 1e-10,
    support_tol: float = 1e-7,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, DirectionalMinimum]:
    """Refine an interior-point solution to machine precision by exact column generation.

    Each round solves for the weights of the current (few) neurons as a tiny conic
    program, prunes zero weights, polishes the remaining weights by projected Newton,
    and adds the exact minimiser of ``r(ω)`` on every piece where it is negative.  It
    stops when ``min_ω r(ω) ≥ −tol·max_i m_i²``: the KKT conditions of the convex
    problem, hence the global optimum.  ``start``: weights of ``directions`` from the
    fan program; the first round then polishes them by Newton alone (the tiny conic
    re-solve only serves later rounds, whose new neurons start at zero weight).
    """
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    mu = np.full(len(directions), 1.0 / len(directions))
    best: tuple | None = None  # the iterate with the best certificate so far
    for round_ in range(rounds):
        if round_ == 0 and start is not None and np.all(start > 0):
            mu = optimal_weights(problem, directions, start)
        else:
            try:
                mu = conic_weights(problem, directions, settings)
            except SolverError:  # nearly parallel neurons: Newton alone handles them
                mu = optimal_weights(problem, directions,
                                     np.maximum(mu, 1e-3 * mu.max()))
        keep = mu > 1e-6 * mu.max()
        directions, mu = _newton_if_better(problem, directions[keep], mu[keep])
        directions, mu = refine_interior_neurons(problem, pieces, directions, mu)
        lam = lambda_matrix(problem, population_matrix(directions, mu))
        found = minimise_reduced_cost(problem, lam, pieces)
        if best is None or found.value > best[2].value:
            best = (directions, mu, found, lam)
        negative = found.piece_values < -tol * scale
        if not negative.any():
            break
        # exact minimisers first, so a merged neuron takes the exact direction
        directions, mu = _merge_parallel(
            np.vstack([found.piece_directions[negative], directions]),
            np.concatenate([np.zeros(int(negative.sum())), mu]),
        )
    else:
        # no convergence within ``rounds`` (column generation can cycle between nearly
        # equivalent supports): return the iterate with the best certificate, not the last
        directions, mu, found, lam = best
    # complementary slackness: an interior-point solve leaves weights ~ gap/r on
    # neurons with r(ω) > 0; drop them and re-solve on the support, kept only if the
    # certificate does not get worse
    slack = reduced_cost(problem, lam, directions) > support_tol * scale
    if slack.any() and np.linalg.matrix_rank(directions[~slack]) == problem.dim:
        d2 = directions[~slack]
        try:
            mu2 = conic_weights(problem, d2, settings)
        except SolverError:
            mu2 = mu[~slack]
        d2, mu2 = _newton_if_better(problem, d2, mu2)
        lam2 = lambda_matrix(problem, population_matrix(d2, mu2))
        found2 = minimise_reduced_cost(problem, lam2, pieces)
        if found2.value >= min(found.value, -tol * scale):
            directions, mu, found = d2, mu2, found2
    return directions, mu, found


def _merge_parallel(
    directions: np.ndarray, weights: np.ndarray, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Merge neurons along the same direction (adjacent pieces share boundary rays)."""
    keep_dirs: list[np.ndarray] = []
    keep_w: list[float] = []
    for w_dir, w in zip(directions, weights, strict=True):
        for i, kd in enumerate(keep_dirs):
            if np.linalg.norm(kd - w_dir) < tol:
                keep_w[i] += w
                break
        else:
            keep_dirs.append(w_dir)
            keep_w.append(w)
    return np.array(keep_dirs), np.array(keep_w)


# ---------------------------------------------------------------------- modularity


@dataclass(frozen=True)
class Modularity:
    """How far the neurons of a solution are from coding single sources."""

    max_angle_deg: float  # largest angle of an active neuron from its nearest axis
    off_axis_share: float  # share of Σμ in neurons more than angle_tol from an axis
    n_active: int


def modularity(
    directions: np.ndarray,
    weights: np.ndarray,
    active_tol: float = 1e-6,
    angle_tol_deg: float = 0.05,
) -> Modularity:
    """Angles of active neurons (weight share ≥ ``active_tol``) from the nearest axis."""
    share = weights / weights.sum()
    active = share >= active_tol
    angle = _axis_angle_deg(directions)
    off = angle > angle_tol_deg
    return Modularity(
        max_angle_deg=float(angle[active].max()),
        off_axis_share=float(share[off].sum()),
        n_active=int(active.sum()),
    )
