r"""Objective terms and constraints over ``Q = ZᵀZ`` as one object kind each.

Every factory returns a :class:`Term` (an objective piece ``w·f(Q)``) or a
:class:`Constraint`; both carry everything :class:`~convex_coding.problem.Problem`
needs: the cvxpy form on a :class:`~convex_coding.menu.Similarity` (built by the
menu), the value ``f(Q)`` in NumPy (to check a solver's number independently) and
the gradient ``∇f(Q)`` (the reduced cost of a tuning ``y ≥ 0`` is ``yᵀ G y`` with
``G`` the gradient of the Lagrangian; that is what pricing minimises).

==========================  =========================================  ===================
factory                     meaning (``Z`` neurons × stimuli)           ``f(Q)``
==========================  =========================================  ===================
:func:`activity_energy`     ``‖Z‖_F²``                                 ``Tr Q``
:func:`readout_energy`      least ``‖R‖_F²``, ``Y = RZ`` (+ ``c1ᵀ``)    ``Tr(Ỹ (PQP)⁺ Ỹᵀ)``
:func:`lifetime_density`    ``Σ_i (Σ_t z_it)²`` (``= Σ_i‖z_i‖₁²``)      ``1ᵀQ1``
:func:`weight_energy`       least ``‖W‖_F²``, ``ZP = WXP``              ``Tr((X̃ᵀX̃)⁺Q)``
:func:`similarity_matching` ``‖XᵀX − ZᵀZ‖_F²``                         ``‖C − Q‖_F²``
:func:`affine_range`        ``z_t = W x_t + b`` (constraint)           ``range Q ⊆ row[X;1ᵀ]``
:func:`decodable`           a readout of energy ≤ ``E`` (constraint)   ``Tr(ỸQ⁺Ỹᵀ) ≤ E``
==========================  =========================================  ===================

All ``f`` are convex on ``S₊^T``: linear, a convex quadratic, or matrix-fractional
(the readout energy is ``min Tr S`` s.t. ``[[Q, Yᵀ], [Y, S]] ⪰ 0``).  ``P = I − 11ᵀ/T``
centres; without a bias ``P = I``.  Importing this module imports cvxpy lazily (only
when a problem is built).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = [
    "Constraint", "Term", "activity_energy", "affine_range", "decodable",
    "lifetime_density", "readout_energy", "similarity_matching", "weight_energy",
]

Builder = Callable[[Any], tuple[Any, list]]  # Similarity -> (cvxpy expression, constraints)


@dataclass(frozen=True)
class Term:
    """One objective piece ``weight · f(Q)``.

    ``build(sim)`` gives the cvxpy form of ``f`` and its auxiliary constraints;
    ``value(Q)`` and ``gradient(Q)`` evaluate ``f`` and ``∇f`` in NumPy.  ``2.0 * term``
    scales the weight.  ``factor`` and ``trace_bound`` (optional) serve the first-order
    route (:mod:`convex_coding.first_order`).
    """

    name: str
    build: Builder
    value: Callable[[np.ndarray], float]
    gradient: Callable[[np.ndarray], np.ndarray]
    weight: float = 1.0
    #: ``Z ↦ (f(ZᵀZ), ∇_Z f(ZᵀZ))`` without forming ``Q`` (the first-order route)
    factor: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
    #: ``v ↦ τ`` with ``Tr Q ≤ τ`` whenever ``f(Q) ≤ v`` and ``Q`` is doubly nonnegative
    trace_bound: Callable[[float], float] | None = None
    #: ``(sim, constraints from build) ↦ weight·G`` read from the solver's multipliers
    #: (used instead of ``weight·gradient`` when pricing a master solve's optimum)
    dual_gradient: Callable[[Any, list], np.ndarray] | None = None
    #: the term's conjugate structure for the dual bound (:mod:`convex_coding.dual_bound`):
    #: ``("linear",)`` (``f = ⟨∇f, Q⟩``, constant gradient), ``("readout", Ỹ, bias)`` or
    #: ``("quadratic", C)`` (``f = ‖Q − C‖²``); None: no dual form there
    conjugate: tuple | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"weight={self.weight} is invalid; allowed: finite, ≥ 0")

    def __rmul__(self, scale: float) -> Term:
        return replace(self, weight=float(scale) * self.weight)

    __mul__ = __rmul__


@dataclass(frozen=True)
class Constraint:
    """A convex constraint on ``Q``: a range restriction (``basis``, exact by the
    parametrisation ``Q = B M Bᵀ``) or an inequality ``g(Q) ≤ bound`` (``term``)."""

    name: str
    inputs: np.ndarray | None = None  # affine range: X (features × T)
    term: Term | None = None  # inequality: g = term.value, ≤ bound
    bound: float = 0.0


def _matrix(a: np.ndarray, what: str) -> np.ndarray:
    arr = np.atleast_2d(np.asarray(a, dtype=float))
    if arr.ndim != 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a finite 2-D array (rows × T), got shape {arr.shape}")
    return arr


def _centred(y: np.ndarray, bias: bool) -> np.ndarray:
    return y - y.mean(axis=1, keepdims=True) if bias else y


def activity_energy(*, weights: np.ndarray | None = None, weight: float = 1.0) -> Term:
    """``f(Q) = Tr Q = Σ_i ‖z_i‖²``; ``∇f = I``.  With ``weights`` ``p`` (one per stimulus,
    ``≥ 0``, e.g. the probabilities of a finite distribution): the mean firing energy
    ``f(Q) = Σ_t p_t Q_tt = ⟨diag p, Q⟩``, ``∇f = diag p``."""
    from . import menu

    if weights is None:
        return Term("activity_energy", lambda sim: (menu.activity_energy(sim), []),
                    lambda q: float(np.trace(q)), lambda q: np.eye(q.shape[0]), weight,
                    factor=lambda z: (float(np.sum(z**2)), 2.0 * z), trace_bound=lambda v: v,
                    conjugate=("linear",))
    p = np.asarray(weights, dtype=float).ravel()
    if not (np.all(np.isfinite(p)) and np.all(p >= 0) and p.max(initial=0.0) > 0):
        raise ValueError("weights must be finite, ≥ 0 and not all zero (one per stimulus)")

    def build(sim: Any) -> tuple[Any, list]:
        import cvxpy as cp

        if sim.atoms is not None:
            return (p @ sim.atoms**2) @ sim.core, []
        if sim.basis is not None:
            return cp.trace((sim.basis.T @ (p[:, None] * sim.basis)) @ sim.reduced), []
        return p @ cp.diag(sim.Q), []

    lowest = float(p.min())
    return Term("activity_energy", build, lambda q: float(p @ np.diag(q)),
                lambda q: np.diag(p), weight, factor=lambda z: (float(np.sum(p * z**2)),
                                                                  2.0 * z * p),
                trace_bound=(lambda v: v / lowest) if lowest > 0 else None,
                conjugate=("linear",))


def lifetime_density(*, weight: float = 1.0) -> Term:
    """``f(Q) = 1ᵀQ1 = Σ_i (Σ_t z_it)²``, which for ``Z ≥ 0`` is ``Σ_i ‖z_i‖₁²``: a
    sparsity penalty that is linear in ``Q``; ``∇f = 11ᵀ``."""
    from . import menu

    def factor(z: np.ndarray) -> tuple[float, np.ndarray]:
        s = z.sum(axis=1, keepdims=True)
        return float(np.sum(s**2)), 2.0 * np.repeat(s, z.shape[1], axis=1)

    # for Q ≥ 0 entrywise, Tr Q ≤ 1ᵀQ1
    return Term("lifetime_density", lambda sim: (menu.lifetime_density(sim), []),
                lambda q: float(np.sum(q)), lambda q: np.ones_like(q), weight,
                factor=factor, trace_bound=lambda v: v, conjugate=("linear",))


def _pinv_psd(q: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (q + q.T))
    keep = w > rtol * max(w.max(initial=0.0), 1e-300)
    return (v[:, keep] / w[keep]) @ v[:, keep].T


def _readout_parts(targets: np.ndarray, bias: bool
                   ) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    y = _centred(_matrix(targets, "targets"), bias)

    def centre(q: np.ndarray) -> np.ndarray:
        return q - q.mean(0)[None] - q.mean(1)[:, None] + q.mean() if bias else q

    def value(q: np.ndarray) -> float:
        qc = centre(q)
        pinv = _pinv_psd(qc)
        if np.linalg.norm(y - y @ qc @ pinv) > 1e-6 * max(1.0, np.linalg.norm(y)):
            return float("inf")  # Y ∉ row space of Z: no exact readout
        return float(np.trace(y @ pinv @ y.T))

    def gradient(q: np.ndarray) -> np.ndarray:
        g = _pinv_psd(centre(q)) @ y.T  # −∇ = (PQP)⁺ỸᵀỸ(PQP)⁺ (range inside that of P)
        return -(g @ g.T)

    return value, gradient


def _readout_factor(targets: np.ndarray, bias: bool
                    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """``Z ↦ (‖R‖², ∇)`` with ``R = Ỹ Z̃⁺`` the least-norm readout (thin SVD of ``Z̃``,
    ``O(r²T)``); ``∇_Z = −2 RᵀR Z̃⁺ᵀ`` (``Z̃⁺ᵀ`` already ⊥ ``1`` with a bias)."""
    y = _centred(_matrix(targets, "targets"), bias)

    def factor(z: np.ndarray) -> tuple[float, np.ndarray]:
        zc = _centred(z, bias)
        u, s, vt = np.linalg.svd(zc, full_matrices=False)
        keep = s > 1e-9 * max(s.max(initial=0.0), 1e-300)
        pinv = (vt[keep].T / s[keep]) @ u[:, keep].T  # T × r
        r = y @ pinv
        if np.linalg.norm(y - r @ zc) > 1e-6 * max(1.0, np.linalg.norm(y)):
            return float("inf"), np.zeros_like(z)
        return float(np.sum(r**2)), -2.0 * (r.T @ r) @ pinv.T

    return factor


def readout_energy(targets: np.ndarray, *, bias: bool = False, weight: float = 1.0) -> Term:
    """``f(Q) = min ‖R‖_F²`` with ``Y = RZ`` (``bias``: ``Y = RZ + c1ᵀ``) ``= Tr(Ỹ(PQP)⁺Ỹᵀ)``.

    ``∇f = −(PQP)⁺ỸᵀỸ(PQP)⁺`` on the face where ``Ỹ`` stays decodable; ``f = ∞`` when
    the rows of ``Ỹ`` are not in ``range PQP``.
    """
    from . import menu

    y = _matrix(targets, "targets")
    value, gradient = _readout_parts(y, bias)
    form = menu.readout_energy_with_bias if bias else menu.readout_energy
    return Term("readout_energy_with_bias" if bias else "readout_energy",
                lambda sim: form(sim, y), value, gradient, weight,
                factor=_readout_factor(y, bias), dual_gradient=_readout_dual(bias),
                conjugate=("readout", _centred(y, bias), bias))


def _readout_dual(bias: bool) -> Callable[[Any, list], np.ndarray]:
    """``−E Λ₁₁ Eᵀ`` from the multiplier ``Λ ⪰ 0`` of the Schur block
    ``[[EᵀQE, Ỹᵀ], [Ỹ, S]] ⪰ 0`` (``E`` = ``I``, ``P``, the basis ``B`` or its centred
    part ``B_c``, as :mod:`convex_coding.menu` builds the block).

    Where ``Q`` is singular the readout energy is not differentiable: every
    ``W = Ỹ(PQP)⁺ + V`` with ``V ⊥ range PQP`` gives a supporting affine minorant
    ``2⟨W, Ỹ⟩ − Tr(W PQP Wᵀ)``, hence a gradient ``−PWᵀWP``.  The minimum-norm one
    (``V = 0``, :attr:`Term.gradient`) need not be copositive even at the optimum; the
    solver's multiplier is the one that prices the master's own atoms at ``≥ 0``."""

    def dual(sim: Any, constraints: list) -> np.ndarray:
        lam = np.asarray(constraints[0].dual_value, dtype=float)
        t = sim.size
        if sim.basis is not None and (not bias or sim.centred_rank is not None):
            e = sim.basis[:, :sim.centred_rank] if bias else sim.basis
        elif bias:
            e = np.eye(t) - np.full((t, t), 1.0 / t)
        else:
            e = np.eye(t)
        n = e.shape[1]
        block = 0.5 * (lam[:n, :n] + lam[:n, :n].T)
        return -(e @ block @ e.T)

    return dual


def weight_energy(inputs: np.ndarray, *, weight: float = 1.0) -> Term:
    """``f(Q) = Tr(K Q)``, ``K = (X̃ᵀX̃)⁺``: least ``‖W‖_F²`` of an affine code
    ``z_t = W x_t + b`` (``W = Z X̃⁺``); use with :func:`affine_range`.  ``∇f = K``."""
    x = _matrix(inputs, "inputs")
    centred = x - x.mean(axis=1, keepdims=True)
    pinv = np.linalg.pinv(centred, rcond=1e-10)  # T × features
    kernel = pinv @ pinv.T

    def build(sim: Any) -> tuple[Any, list]:
        import cvxpy as cp

        if sim.atoms is not None:
            return np.sum((pinv.T @ sim.atoms) ** 2, axis=0) @ sim.core, []
        if sim.basis is not None:
            return cp.trace((sim.basis.T @ kernel @ sim.basis) @ sim.reduced), []
        return cp.trace(kernel @ sim.Q), []

    def factor(z: np.ndarray) -> tuple[float, np.ndarray]:
        zp = z @ pinv
        return float(np.sum(zp**2)), 2.0 * zp @ pinv.T

    return Term("weight_energy", build, lambda q: float(np.sum(kernel * q)),
                lambda q: kernel, weight, factor=factor, conjugate=("linear",))


def similarity_matching(similarity: np.ndarray, *, weight: float = 1.0) -> Term:
    """``f(Q) = ‖C − Q‖_F²`` (similarity matching, ``C = XᵀX`` the input similarity);
    ``∇f = 2(Q − C)``.  With ``Z ≥ 0`` this is nonnegative similarity matching."""
    c = _matrix(similarity, "similarity")
    if c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
        raise ValueError(f"similarity must be a symmetric T×T matrix, got shape {c.shape}")

    def build(sim: Any) -> tuple[Any, list]:
        import cvxpy as cp

        return cp.sum_squares(sim.Q - c), []

    def factor(z: np.ndarray) -> tuple[float, np.ndarray]:
        d = z.T @ z - c
        return float(np.sum(d**2)), 4.0 * z @ d

    # Tr Q = Tr C + Tr(Q − C) ≤ Tr C + √T ‖Q − C‖_F
    trace_c, t = float(np.trace(c)), c.shape[0]
    return Term("similarity_matching", build, lambda q: float(np.sum((q - c) ** 2)),
                lambda q: 2.0 * (q - c), weight, factor=factor,
                trace_bound=lambda v: trace_c + np.sqrt(t * max(v, 0.0)),
                conjugate=("quadratic", c))


def affine_range(inputs: np.ndarray) -> Constraint:
    """``z_t = W x_t + b``: ``range Q ⊆ row [X; 1ᵀ]``, imposed exactly by ``Q = B M Bᵀ``."""
    return Constraint("affine_range", inputs=_matrix(inputs, "inputs"))


def decodable(targets: np.ndarray, *, max_energy: float, bias: bool = False) -> Constraint:
    """``Y`` (``bias``: up to a constant) is read out linearly with ``‖R‖_F² ≤ max_energy``:
    ``Tr(Ỹ(PQP)⁺Ỹᵀ) ≤ max_energy`` (a convex sublevel set)."""
    if not (np.isfinite(max_energy) and max_energy > 0):
        raise ValueError(f"max_energy={max_energy} is invalid; allowed: finite, > 0")
    return Constraint("decodable", term=readout_energy(targets, bias=bias),
                      bound=float(max_energy))
