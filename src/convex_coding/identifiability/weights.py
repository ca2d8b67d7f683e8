r"""Optimal weights ``μ`` on a fixed support of directions.

With the directions fixed, ``L(μ) = Σ_i μ_i c(ω_i) + λ_R Tr(Σ_A H⁻¹)`` is convex in
``μ ≥ 0``: :func:`optimal_weights` minimises it by projected Newton (exact gradient
``c(ω_i) − λ_R ω_iᵀH⁻¹Σ_A H⁻¹ω_i``), :func:`conic_weights` as a conic program with the
readout as a Schur-complement block.
"""

from __future__ import annotations

import numpy as np

from ..conic import ConeProgram, psd_block, solve_cone_program, svec
from ..solvers import SolverSettings
from .problem import AutoencoderProblem, neuron_costs, population_matrix


def _symmetric_embedding(d: int) -> np.ndarray:
    """``E`` (d² × d(d+1)/2) with ``vec_C(K) = E k`` for the upper triangle ``k`` of ``K``."""
    iu = np.triu_indices(d)
    emb = np.zeros((d, d, len(iu[0])))
    emb[iu[0], iu[1], np.arange(len(iu[0]))] = 1.0
    emb[iu[1], iu[0], np.arange(len(iu[0]))] = 1.0
    return emb.reshape(d * d, -1)


def _readout_program(
    problem: AutoencoderProblem,
    objective: np.ndarray,
    h_coef: np.ndarray,
    extra_psd: tuple[int, np.ndarray] | None = None,
) -> ConeProgram:
    """``min objectiveᵀy + λ_R Tr(S)`` over ``y ≥ 0`` and symmetric ``S`` with
    ``[[H(y), L], [Lᵀ, S]] ⪰ 0`` (``Σ_A = LLᵀ``, so ``Tr S ≥ Tr(Σ_A H⁻¹)``).

    ``H(y) = Σ_j h_coef[:, :, j] y_j``.  ``extra_psd = (P, E)`` adds ``P`` blocks
    ``K_p = mat(E y_p) ⪰ 0`` on consecutive slices ``y_p`` (the fan's DNN blocks).
    Variables: ``x = (y, s)`` with ``s`` the upper triangle of ``S``.
    """
    import scipy.sparse as sp

    d = problem.dim
    emb = _symmetric_embedding(d)
    n_y, n_s = len(objective), emb.shape[1]
    chol = np.linalg.cholesky(problem.sigma_a)
    trace = emb.reshape(d, d, -1)[np.arange(d), np.arange(d)].sum(axis=0)
    c = np.concatenate([objective, problem.lambda_r * trace])
    rows, cols, vals = [np.arange(n_y)], [np.arange(n_y)], [-np.ones(n_y)]  # y ≥ 0
    b_parts, psd_dims, offset = [np.zeros(n_y)], [], n_y
    if extra_psd is not None:
        n_p, piece_emb = extra_psd
        block = sp.coo_matrix(-svec(piece_emb.reshape(d, d, -1)))  # svec K_p from y_p
        m, k = block.shape
        pieces = np.repeat(np.arange(n_p), block.nnz)
        rows.append(offset + pieces * m + np.tile(block.row, n_p))
        cols.append(pieces * k + np.tile(block.col, n_p))
        vals.append(np.tile(block.data, n_p))
        b_parts.append(np.zeros(n_p * m))
        psd_dims += [d] * n_p
        offset += n_p * m
    lmi = np.zeros((2 * d, 2 * d, n_y + n_s))
    lmi[:d, :d, :n_y] = h_coef
    lmi[d:, d:, n_y:] = emb.reshape(d, d, -1)
    const = np.zeros((2 * d, 2 * d))
    const[:d, d:], const[d:, :d] = chol, chol.T
    a_lmi, b_lmi = psd_block(lmi, const)
    a_lmi = a_lmi.tocoo()
    rows.append(offset + a_lmi.row)
    cols.append(a_lmi.col)
    vals.append(a_lmi.data)
    b_parts.append(b_lmi)
    psd_dims.append(2 * d)
    b = np.concatenate(b_parts)
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(b), n_y + n_s))
    return ConeProgram(c=c, a=a, b=b, n_nonneg=n_y, psd_dims=tuple(psd_dims))


def optimal_weights(
    problem: AutoencoderProblem, directions: np.ndarray, start: np.ndarray,
    max_iter: int = 50,
) -> np.ndarray:
    """``argmin_{μ ≥ 0} F(μ) = Σ μ_i c(ω_i) + λ_R Tr(Σ_A H(μ)⁻¹)`` for fixed directions.

    Projected Newton with an active set, to machine precision, using
    ``∂F/∂μ_i = c_i − λ_R ω_iᵀWω_i`` and ``∂²F/∂μ_i∂μ_j = 2λ_R (ω_iᵀH⁻¹ω_j)(ω_iᵀWω_j)``,
    ``W = H⁻¹Σ_A H⁻¹``.
    """
    costs = neuron_costs(problem, directions)
    lam_r = problem.lambda_r

    def value(mu: np.ndarray) -> float:
        h = population_matrix(directions, mu)
        if np.linalg.eigvalsh(h)[0] <= 1e-14 * max(np.trace(h), 1e-300):
            return np.inf
        return float(costs @ mu + lam_r * np.trace(np.linalg.solve(h, problem.sigma_a)))

    mu = np.maximum(start.astype(float), 0.0)
    f = value(mu)
    for _ in range(max_iter):
        h_inv = np.linalg.inv(population_matrix(directions, mu))
        w = h_inv @ problem.sigma_a @ h_inv
        grad = costs - lam_r * np.einsum("ka,ab,kb->k", directions, w, directions)
        hess = 2 * lam_r * (directions @ h_inv @ directions.T) * (directions @ w @ directions.T)
        # ε-active set (Bertsekas): weights at or near zero pushed down by the gradient
        eps = min(1e-3 * mu.max(), float(np.linalg.norm(mu - np.maximum(mu - grad, 0.0))))
        bound = (mu <= eps) & (grad > 0)
        free = ~bound
        if np.max(np.abs(grad[free]), initial=0.0) <= 1e-15 * max(abs(f), 1.0) and np.all(
            mu[bound] == 0
        ):
            break
        step = np.where(bound, -mu, 0.0)
        step[free] = -np.linalg.lstsq(hess[np.ix_(free, free)], grad[free], rcond=None)[0]
        t, accepted = 1.0, False
        while t > 1e-14:
            cand = np.maximum(mu + t * step, 0.0)
            cand[bound] = 0.0
            f_new = value(cand)
            if f_new <= f:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        done = f - f_new <= 1e-16 * max(abs(f), 1.0) and t == 1.0
        # a shortened step that leaves F unchanged: Newton has converged to rounding
        # (iterating on would only repeat ~40-step line searches up to max_iter)
        done = done or (f_new >= f and t < 1.0)
        mu, f = cand, f_new
        if done:
            break
    return mu


def conic_weights(
    problem: AutoencoderProblem, directions: np.ndarray, settings: SolverSettings
) -> np.ndarray:
    """``argmin_{μ ≥ 0} Σ μ_k c(ω_k) + λ_R Tr(Σ_A H⁻¹)`` on fixed directions (tiny SDP).

    ``vec H = M μ`` with ``M[(a,b), k] = ω_ka ω_kb``; the readout term is the Schur
    complement ``[[H, L], [Lᵀ, S]] ⪰ 0`` with ``Σ_A = LLᵀ``, minimising ``Tr S``.
    """
    lift = np.einsum("ka,kb->abk", directions, directions)
    program = _readout_program(problem, neuron_costs(problem, directions), lift)
    mu = solve_cone_program(program, settings).x[: len(directions)]
    return np.maximum(mu, 0.0)
