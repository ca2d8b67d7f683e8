r"""Bounds on the optimum in similarity (``Q``) space.

The outer bound relaxes ``Q = ZᵀZ`` (``Z ≥ 0``) to doubly nonnegative ``Q = B M Bᵀ``
(exact vertex-pair reduction of the entrywise constraint); the inner bound restricts
``Q`` to a dictionary of affine tunings.  Both use the readout term
``Tr(Y M⁻¹ Yᵀ) = min Tr S`` s.t. ``[[M, Yᵀ], [Y, S]] ⪰ 0`` (:func:`menu.schur_trace`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import cvxpy as cp
from ..menu import schur_trace
from ..solvers import SolverSettings, solve_checked
from .problem import AutoencoderProblem, bias_requirement

# ------------------------------------------------------------- full Q-space form


@dataclass(frozen=True)
class QSpaceBounds:
    """The T×T similarity-space problem solved with both approximations of ``CP_T``."""

    outer: float  # doubly nonnegative relaxation: a lower bound
    inner: float  # dictionary restriction: an upper bound
    outer_q: np.ndarray
    inner_q: np.ndarray


def affine_atoms(problem: AutoencoderProblem, directions: np.ndarray) -> np.ndarray:
    """Tunings of affine neurons at the tightest bias: ``y_t = ω·s̃_t + m(ω) ≥ 0`` (T × K)."""
    return problem.centred.T @ directions.T + bias_requirement(problem, directions)[None, :]


def qspace_bounds(
    problem: AutoencoderProblem, settings: SolverSettings, directions: np.ndarray
) -> QSpaceBounds:
    """Solve Theorem 1's problem in ``Q = ZᵀZ`` directly, from the menu pieces:

        min (1/T) Tr Q + λ_W Tr((X̃ᵀX̃)⁺ Q) + λ_R Tr(X̃ (PQP)⁺ X̃ᵀ)
        s.t. range Q ⊆ row [S; 1ᵀ],  Q ∈ CP_T (outer: DNN; inner: dictionary).

    ``directions`` generate the inner dictionary (tunings :func:`affine_atoms`).  The
    two programs are :func:`qspace_outer_bound` and :func:`qspace_inner_bound`; only
    the returned ``Q`` matrices are ``T × T``.
    """
    outer, m_outer, basis = qspace_outer_bound(problem, settings)
    inner, weights, atoms = qspace_inner_bound(problem, settings, directions)
    outer_q = basis @ m_outer @ basis.T
    inner_q = (atoms * weights[None, :]) @ atoms.T
    return QSpaceBounds(outer=outer, inner=inner, outer_q=0.5 * (outer_q + outer_q.T),
                        inner_q=0.5 * (inner_q + inner_q.T))


def _qspace_terms(problem: AutoencoderProblem) -> tuple[np.ndarray, int, np.ndarray,
                                                        np.ndarray]:
    """Basis ``B = [B_c, 1/√T]`` of ``row [S; 1ᵀ]``, its centred rank ``r``, the readout
    targets ``X̃ B_c`` and ``Bᵀ(X̃ᵀX̃)⁺`` factor ``F = Bᵀ X̃⁺`` (so ``BᵀKB = FFᵀ``), all
    in O(T) memory (the menu's T×T kernel is never formed)."""
    from .. import menu

    data = problem.mixing @ problem.sources  # x_t = A s_t
    centred = data - data.mean(axis=1, keepdims=True)
    basis, rank = menu.affine_code_basis(problem.sources)
    targets = centred @ basis[:, :rank]
    if np.linalg.norm(centred - targets @ basis[:, :rank].T) > 1e-8 * max(
        1.0, np.linalg.norm(centred)
    ):
        raise ValueError("targets are not in the range allowed for Q: no exact readout")
    # rcond: X̃ = A S̃ has rank d < D; pinv's default cut-off (1e-15·T) keeps its rounding-
    # level singular values once T ≳ 5000 and the weight term blows up (~1e20)
    factor = basis.T @ np.linalg.pinv(centred, rcond=1e-10)  # (r+1) × D
    return basis, rank, targets, factor


def qspace_outer_bound(
    problem: AutoencoderProblem, settings: SolverSettings
) -> tuple[float, np.ndarray, np.ndarray]:
    """The doubly nonnegative (outer) bound: ``(value, M, B)`` with ``Q = B M Bᵀ``.

    ``Q_ts = b_tᵀ M b_s ≥ 0`` is linear in each of ``b_t``, ``b_s``, so it holds for all
    pairs iff it holds for the pairs of vertices of ``conv{b_t}``, which are the rows of
    the hull vertices of ``conv{s̃_t}`` (``b_t`` is an affine image of ``s̃_t``): an exact
    reduction from ``T²`` to ``V(V+1)/2`` constraints.
    """
    basis, rank, targets, factor = _qspace_terms(problem)
    t = problem.n_samples
    # O(1) scaling for any T: rows of √T·B are O(1), so M̂ = M/T is O(1) too, with
    # Tr M / T = Tr M̂, Tr(BᵀKB M) = T Tr(BᵀKB M̂), Tr(Y M_r⁻¹ Yᵀ) = Tr(Ŷ M̂_r⁻¹ Ŷᵀ), Ŷ = Y/√T
    verts = np.sqrt(t) * basis[np.sort(problem._hull.vertices)]
    iu = np.triu_indices(len(verts))
    pairs = np.einsum("ka,kb->kab", verts[iu[0]], verts[iu[1]]).reshape(len(iu[0]), -1)
    pairs /= np.abs(pairs).max(axis=1, keepdims=True)
    m = cp.Variable((rank + 1, rank + 1), PSD=True)
    readout, constraints = schur_trace(m[:rank, :rank], targets / np.sqrt(t))
    objective = (cp.trace(m) + problem.lambda_w * t * cp.trace((factor @ factor.T) @ m)
                 + problem.lambda_r * readout)
    constraints.append(pairs @ cp.vec(m, order="C") >= 0)
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    m_val = t * np.asarray(m.value, dtype=float)
    return report.value, 0.5 * (m_val + m_val.T), basis


def qspace_inner_bound(
    problem: AutoencoderProblem, settings: SolverSettings, directions: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The dictionary (inner) bound on the tunings of ``directions``:
    ``(value, c, Y)`` with ``Q = Y diag(c) Yᵀ`` (``Y`` = :func:`affine_atoms`, T × K)."""
    atoms = affine_atoms(problem, directions)
    basis, rank, targets, factor = _qspace_terms(problem)
    t = problem.n_samples
    coords = basis.T @ atoms
    if np.linalg.norm(atoms - basis @ coords) > 1e-8 * max(1.0, np.linalg.norm(atoms)):
        raise ValueError("targets are not in the range allowed for Q: no exact readout")
    c = cp.Variable(atoms.shape[1], nonneg=True)
    scaled = coords[:rank] / np.sqrt(t)  # O(1) entries for any T (value unchanged)
    block = scaled @ cp.diag(c) @ scaled.T
    readout, constraints = schur_trace(block, targets / np.sqrt(t))
    activity = np.sum(atoms**2, axis=0) / t
    weight = np.sum((factor.T @ coords) ** 2, axis=0)  # y_kᵀ(X̃ᵀX̃)⁺y_k = ‖X̃⁺ᵀ y_k‖²
    objective = (activity + problem.lambda_w * weight) @ c + problem.lambda_r * readout
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    return report.value, np.maximum(np.asarray(c.value, dtype=float), 0.0), atoms
