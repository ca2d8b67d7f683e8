r"""The convex menu: terms and constraints that are convex in ``Q = ZᵀZ``.

Each function takes a :class:`Similarity` (the decision variable ``Q ∈ S^T``) and
returns a cvxpy expression, or an ``(expression, constraints)`` pair when an
auxiliary variable is needed, so terms compose freely into one problem:

=====================  ==============================  ==================================
term                   meaning                         form in ``Q``
=====================  ==============================  ==================================
activity energy        ``Σ_i ‖z_i‖²``                  ``Tr Q``
readout energy         least ``‖R‖_F²`` with Y = RZ    ``Tr(Y Q⁺ Yᵀ)`` (Schur complement)
readout with bias      Y = RZ + c1ᵀ                    ``Tr(Ỹ (PQP)⁺ Ỹᵀ)``, P = I − 11ᵀ/T
lifetime density       ``Σ_i (Σ_t z_it)²``             ``1ᵀQ1``
affine code            z_t = W x_t + b                 ``range Q ⊆ row [X; 1ᵀ]``
nonnegativity (outer)  relaxation of ``Z ≥ 0``         ``Q ⪰ 0, Q ≥ 0`` (doubly nonnegative)
nonnegativity (inner)  tunings from a dictionary       ``Q = Σ_k c_k y_k y_kᵀ, c ≥ 0``
=====================  ==============================  ==================================

A range constraint is imposed exactly by the parametrisation ``Q = B M Bᵀ`` with an
orthonormal basis ``B``: this is the smallest conic program expressing it (``M`` is
``r×r`` instead of ``T×T``), and the Schur complements shrink with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._lazy import cvxpy as cp


@dataclass(frozen=True)
class Similarity:
    """The decision variable ``Q`` and how it is parametrised.

    ``Q`` is the T×T expression and ``core`` the decision variable: ``Q = core`` (PSD),
    ``Q = B M Bᵀ`` with ``M = core`` PSD (a range constraint, ``basis = B``), or
    ``Q = A diag(c) Aᵀ`` with ``c = core ≥ 0`` (the inner dictionary bound, ``atoms = A``).
    With a basis, ``reduced`` is ``M = BᵀQB`` (also for a dictionary whose atoms lie in
    ``span B``), and ``centred_rank`` is set when ``B = [B_c, 1/√T]`` with ``B_c ⊥ 1``,
    which lets the readout-with-bias term use the leading block of ``M``.
    """

    Q: cp.Expression
    core: cp.Variable
    constraints: tuple[cp.Constraint, ...]
    basis: np.ndarray | None = None
    atoms: np.ndarray | None = None
    centred_rank: int | None = None
    reduced: cp.Expression | None = None

    @property
    def size(self) -> int:
        return int(self.Q.shape[0])

    def value(self) -> np.ndarray:
        """Numerical ``Q`` after a solve (symmetrised)."""
        q = np.asarray(self.Q.value, dtype=float)
        return 0.5 * (q + q.T)


def psd_similarity(size: int) -> Similarity:
    """Unrestricted ``Q ∈ S₊^T``."""
    q = cp.Variable((size, size), PSD=True)
    return Similarity(Q=q, core=q, constraints=())


def affine_code_basis(inputs: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, int]:
    """Orthonormal basis ``B = [B_c, 1/√T]`` of ``row [X; 1ᵀ]`` with ``B_c ⊥ 1``.

    ``inputs`` is ``X`` (features × T).  Returns ``(B, r_c)`` with ``r_c`` the rank of
    the centred inputs, so ``B`` is ``T × (r_c + 1)``.
    """
    x = np.atleast_2d(np.asarray(inputs, dtype=float))
    t = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    rank = int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))
    basis = np.column_stack([vt[:rank].T, np.full(t, 1.0 / np.sqrt(t))])
    return basis, rank


def affine_similarity(inputs: np.ndarray) -> Similarity:
    """``Q`` of an affine code ``z_t = W x_t + b``: ``range Q ⊆ row [X; 1ᵀ]``, exactly."""
    basis, rank = affine_code_basis(inputs)
    m = cp.Variable((basis.shape[1], basis.shape[1]), PSD=True)
    q = basis @ m @ basis.T
    return Similarity(Q=q, core=m, constraints=(), basis=basis, centred_rank=rank, reduced=m)


def dictionary_similarity(atoms: np.ndarray, inputs: np.ndarray | None = None) -> Similarity:
    """Inner approximation of ``CP_T``: ``Q = Σ_k c_k y_k y_kᵀ``, ``c ≥ 0``.

    ``atoms`` is T × K with nonnegative columns (candidate tunings ``y_k``).  With
    ``inputs`` (an affine code's ``X``) the atoms must lie in ``row [X; 1ᵀ]`` and the
    readout terms work in that basis, as for :func:`affine_similarity`.
    """
    a = np.asarray(atoms, dtype=float)
    if np.any(a < -1e-12 * max(1.0, np.abs(a).max())):
        raise ValueError("dictionary atoms must be nonnegative tunings")
    c = cp.Variable(a.shape[1], nonneg=True)
    q = a @ cp.diag(c) @ a.T
    if inputs is None:
        return Similarity(Q=q, core=c, constraints=(), atoms=a)
    basis, rank = affine_code_basis(inputs)
    _require_in_span(a.T, basis)
    coords = basis.T @ a
    m = coords @ cp.diag(c) @ coords.T
    return Similarity(Q=q, core=c, constraints=(), basis=basis, atoms=a,
                      centred_rank=rank, reduced=m)


def outer_nonnegativity(sim: Similarity) -> list[cp.Constraint]:
    """Outer (DNN) relaxation of ``Q ∈ CP_T``: entrywise ``Q ≥ 0`` (PSD is built in)."""
    if sim.atoms is not None:
        return []  # a nonnegative dictionary is already inside CP_T
    return [sim.Q >= 0]


def activity_energy(sim: Similarity) -> cp.Expression:
    """``Σ_i ‖z_i‖² = Tr Q``."""
    if sim.atoms is not None:
        return (np.sum(sim.atoms**2, axis=0)) @ sim.core
    if sim.basis is not None:
        return cp.trace(sim.reduced)  # Tr(B M Bᵀ) = Tr M for orthonormal B
    return cp.trace(sim.Q)


def lifetime_density(sim: Similarity) -> cp.Expression:
    """``Σ_i (Σ_t z_it)² = 1ᵀQ1``."""
    if sim.atoms is not None:
        return (np.sum(sim.atoms, axis=0) ** 2) @ sim.core
    return cp.sum(sim.Q)


def linear_weight_energy(sim: Similarity, inputs: np.ndarray) -> cp.Expression:
    """Least ``‖W‖_F²`` with ``Z P = W X P`` (affine code): ``Tr((X̃ᵀX̃)⁺ Q)``.

    ``X̃ = XP`` are the centred inputs; the weight matrix of an affine code is fixed by
    the centred responses, ``W = Z X̃⁺``, so the cost is linear in ``Q``.
    """
    x = np.atleast_2d(np.asarray(inputs, dtype=float))
    centred = x - x.mean(axis=1, keepdims=True)
    pinv = np.linalg.pinv(centred)  # T × features
    kernel = pinv @ pinv.T  # (X̃ᵀX̃)⁺
    if sim.atoms is not None:
        return np.einsum("tk,ts,sk->k", sim.atoms, kernel, sim.atoms) @ sim.core
    if sim.basis is not None:
        return cp.trace((sim.basis.T @ kernel @ sim.basis) @ sim.reduced)
    return cp.trace(kernel @ sim.Q)


def schur_trace(block: cp.Expression, targets: np.ndarray) -> tuple[cp.Expression, list]:
    """``Tr(Y P⁺ Yᵀ)`` as ``min Tr S`` s.t. ``[[P, Yᵀ], [Y, S]] ⪰ 0``."""
    k = targets.shape[0]
    s = cp.Variable((k, k), symmetric=True)
    lmi = cp.bmat([[block, targets.T], [targets, s]])
    return cp.trace(s), [0.5 * (lmi + lmi.T) >> 0]


def readout_energy(sim: Similarity, targets: np.ndarray) -> tuple[cp.Expression, list]:
    """Least ``‖R‖_F²`` with ``Y = RZ``: ``Tr(Y Q⁺ Yᵀ)`` (matrix-fractional).

    ``targets`` is ``Y`` (outputs × T).  With a basis, ``Tr(Y Q⁺ Yᵀ) = Tr(YB M⁻¹ BᵀYᵀ)``
    provided the rows of ``Y`` lie in ``span B`` (otherwise no readout exists).
    """
    y = np.atleast_2d(np.asarray(targets, dtype=float))
    if sim.basis is not None:
        _require_in_span(y, sim.basis)
        return schur_trace(sim.reduced, y @ sim.basis)
    return schur_trace(sim.Q, y)


def readout_energy_with_bias(
    sim: Similarity, targets: np.ndarray
) -> tuple[cp.Expression, list]:
    """Least ``‖R‖_F²`` with ``Y = RZ + c1ᵀ``: ``Tr(Ỹ (PQP)⁺ Ỹᵀ)``.

    ``Y = RZ + c1ᵀ`` holds for some ``c`` iff ``YP = RZP``, so the cost is the readout
    energy of the centred targets ``Ỹ = YP`` from the centred similarity ``PQP``
    (centring ``Y`` alone is not enough unless ``Q`` is centred too).
    """
    y = np.atleast_2d(np.asarray(targets, dtype=float))
    centred = y - y.mean(axis=1, keepdims=True)
    if sim.basis is not None and sim.centred_rank is not None:
        r = sim.centred_rank
        b_c = sim.basis[:, :r]
        _require_in_span(centred, b_c)
        return schur_trace(sim.reduced[:r, :r], centred @ b_c)
    t = sim.size
    p = np.eye(t) - np.full((t, t), 1.0 / t)
    return schur_trace(p @ sim.Q @ p, centred)


def _require_in_span(y: np.ndarray, basis: np.ndarray, tol: float = 1e-8) -> None:
    residual = y - (y @ basis) @ basis.T
    if np.linalg.norm(residual) > tol * max(1.0, np.linalg.norm(y)):
        raise ValueError("targets are not in the range allowed for Q: no exact readout")


def least_norm_readout(z: np.ndarray, targets: np.ndarray, bias: bool = False) -> float:
    """``min ‖R‖_F²`` with ``Y = RZ`` (or ``Y = RZ + c1ᵀ``), computed from ``Z`` directly.

    Reference implementation (``numpy.linalg.lstsq``) against which the matrix-fractional
    forms are tested.
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    y = np.atleast_2d(np.asarray(targets, dtype=float))
    if bias:
        z = z - z.mean(axis=1, keepdims=True)
        y = y - y.mean(axis=1, keepdims=True)
    # Y = R Z  <=>  Zᵀ Rᵀ = Yᵀ; lstsq returns the least-norm solution.
    r_t, *_ = np.linalg.lstsq(z.T, y.T, rcond=None)
    if not np.allclose(z.T @ r_t, y.T, atol=1e-8 * max(1.0, np.abs(y).max())):
        raise ValueError("no exact readout exists: Y is not in the row space of Z")
    return float(np.sum(r_t**2))


def readout_gradient(q: np.ndarray, targets: np.ndarray, activity_weight: float,
                     readout_weight: float) -> np.ndarray:
    """``G = ∇f(Q)`` for ``f = a Tr Q + λ Tr(Y Q⁺ Yᵀ)``: ``G = aI − λ Q⁺YᵀYQ⁺``.

    ``Q`` is optimal over ``CP_T`` iff ``G`` is copositive and ``⟨G, Q⟩ = 0``; the
    reduced cost of a tuning ``y ≥ 0`` is ``yᵀGy``.
    """
    q_pinv = np.linalg.pinv(q, hermitian=True)
    g = q_pinv @ np.atleast_2d(targets).T
    return activity_weight * np.eye(q.shape[0]) - readout_weight * (g @ g.T)
