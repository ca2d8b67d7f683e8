r"""The certified population solve: the fan (conic) program over the linear pieces of
``m``.

:func:`solve_population` minimises ``L(μ)`` over measures on unit directions as one conic
program (a PSD moment block per linear piece of ``m``), extracts the atoms of the optimal
measure, polishes them and certifies the optimum by the reduced cost over all unit
directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conic import solve_cone_program
from ..solvers import SolverSettings
from .polish import _merge_parallel, polish_population
from .problem import (
    AutoencoderProblem,
    lambda_matrix,
    linear_pieces,
    population_loss,
    population_matrix,
    reduced_cost,
)
from .theory import grid_minimum, modular_code
from .weights import _readout_program, _symmetric_embedding

# ----------------------------------------------------------------- reduced solver


@dataclass(frozen=True)
class PopulationSolution:
    """Optimal population (measure over directions) with its optimality certificate."""

    directions: np.ndarray  # neuron directions ω_i (rows)
    weights: np.ndarray  # μ_i = ‖u_i‖²
    loss: float  # L(μ) evaluated in NumPy from the neurons
    solver_value: float  # objective reported by the solver
    certificate_violation: float  # max(0, −min_ω r(ω)) / max_i m_i², exact
    grid_violation: float  # the same on a uniform grid finer than any piece
    complementarity: float  # Σ_i μ_i |r(ω_i)| / L  (⟨G, Q⟩ = 0 at an optimum)
    factorisation_residual: float  # ‖K − Σ x xᵀ‖ / ‖K‖, worst piece
    n_pieces: int
    solver: str
    status: str


def _cone_atoms(k: np.ndarray, tol: float) -> list[np.ndarray]:
    """Nonnegative rank-one terms ``x xᵀ`` (``x ≥ 0``) of a small DNN matrix ``K``.

    Rank one: the leading eigenvector.  Otherwise ``K = (K₁₁ − K₁₂²/K₂₂) e₁e₁ᵀ + y yᵀ``
    style peeling: repeatedly take a column ``y = K e_j / √K_jj`` and deflate, which
    stays nonnegative for the 2×2 and diagonally dominant cases seen here; the
    residual is reported either way.
    """
    w, v = np.linalg.eigh(k)
    if w[-1] <= 0:
        return []
    if w[-2] <= tol * w[-1]:
        x = v[:, -1] * np.sqrt(w[-1])
        return [np.abs(x)]
    atoms, rest = [], k.copy()
    for _ in range(k.shape[0] * 2):
        j = int(np.argmax(np.diag(rest)))
        if rest[j, j] <= tol * np.trace(k):
            break
        y = np.clip(rest[:, j] / np.sqrt(rest[j, j]), 0.0, None)
        atoms.append(y)
        rest = rest - np.outer(y, y)
    return atoms


def solve_population(
    problem: AutoencoderProblem,
    settings: SolverSettings,
    active_tol: float = 1e-7,
    certificate_grid: int = 20000,
) -> PopulationSolution:
    """Solve ``min_μ L(μ)`` exactly as one small conic program over the fan of ``m``.

    On a simplicial piece with rays ``R`` and vertex ``v`` a neuron ``u = Rx`` (x ≥ 0)
    costs ``uᵀ(N + vvᵀ)u`` with ``N = Σ_s + λ_W Σ_A⁻¹``, so the piece's neurons enter
    only through ``K = Σ xxᵀ ∈ CP_d``, and ``CP_d`` equals the doubly nonnegative cone
    for ``d ≤ 4``.  The program is therefore exact (no direction grid):

        min Σ_p Tr(C_p K_p) + λ_R Tr(S)   s.t.  K_p ⪰ 0, K_p ≥ 0,
        [[Σ_p R_p K_p R_pᵀ, L], [Lᵀ, S]] ⪰ 0,  C_p = R_pᵀ(N + v_p v_pᵀ)R_p,  Σ_A = LLᵀ.

    The certificate is the exact minimum of ``r(ω)`` at the recovered ``H``.
    """
    pieces = linear_pieces(problem)
    d, n_p = problem.dim, len(pieces)
    rays, verts = pieces.rays, pieces.vertices
    costs = np.einsum("pai,pab,pbj->pij", rays, problem.neuron_quadratic[None] + np.einsum(
        "pa,pb->pab", verts, verts), rays)
    # x = (upper triangles k_p of every K_p, then the upper triangle of S); K_p is
    # ``emb @ k_p`` reshaped.  H = Σ_p R_p K_p R_pᵀ is one constant lift of all k_p.
    emb = _symmetric_embedding(d)  # (d·d) × n_s: upper triangle → full matrix
    n_s = emb.shape[1]
    lift = np.einsum("pai,pbj,ijs->abps", rays, rays, emb.reshape(d, d, -1))
    h_coef = lift.reshape(d, d, n_p * n_s)
    objective = (costs.reshape(n_p, d * d) @ emb).ravel()  # Tr(C_p K_p) = vec(C_p)ᵀ E k_p
    program = _readout_program(problem, objective, h_coef, extra_psd=(n_p, emb))
    solution = solve_cone_program(program, settings)

    k_vals = (solution.x[:n_p * n_s].reshape(n_p, n_s) @ emb.T).reshape(n_p, d, d)
    traces = np.einsum("pii->p", k_vals)
    total = traces.sum()
    dirs, weights, worst_residual = [], [], 0.0
    for p in np.flatnonzero(traces >= active_tol * total):
        atoms = _cone_atoms(k_vals[p], tol=1e-6)
        recon = sum((np.outer(x, x) for x in atoms), np.zeros((d, d)))
        worst_residual = max(
            worst_residual, np.linalg.norm(k_vals[p] - recon) / np.linalg.norm(k_vals[p])
        )
        for x in atoms:
            u = rays[p] @ x
            dirs.append(u / np.linalg.norm(u))
            weights.append(float(u @ u))
    directions, start = _merge_parallel(np.array(dirs), np.array(weights))
    directions, mu, exact = polish_population(problem, pieces, directions, settings,
                                              start=start)
    lam = lambda_matrix(problem, population_matrix(directions, mu))
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    grid_min, _ = grid_minimum(problem, lam, certificate_grid)
    loss = population_loss(problem, directions, mu)
    return PopulationSolution(
        directions=directions,
        weights=mu,
        loss=loss,
        solver_value=solution.value,
        certificate_violation=max(0.0, -exact.value) / scale,
        grid_violation=max(0.0, -grid_min) / scale,
        complementarity=float(mu @ np.abs(reduced_cost(problem, lam, directions))) / loss,
        factorisation_residual=float(worst_residual),
        n_pieces=len(pieces),
        solver=solution.solver,
        status=solution.status,
    )
