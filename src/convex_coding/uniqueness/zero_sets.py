r"""Zero sets of the reduced cost, as isolated atoms and linear families.

A linear family is ``{B α : C α ≥ 0}``; every zero set met here is a union of such pieces
(on a linear piece of the bias ``m`` for Theorem 1, on an arc of fixed sign pattern for
the linear readout).  Tunings of an optimal factorisation must lie in the zero set and
in ``range Q*``, so families are restricted to that range.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..identifiability import (
    AutoencoderProblem,
    linear_pieces,
    modular_code,
)

# ================================================================================ zero sets


@dataclass(frozen=True)
class LinearFamily:
    """Zero-cost tunings ``y = B α`` for ``α`` in the cone ``{α : C α ≥ 0}``."""

    basis: np.ndarray  # T × k
    cone: np.ndarray  # m × k (rows are inequalities)


@dataclass(frozen=True)
class ZeroSet:
    """Tunings with zero reduced cost: isolated atoms (rows) and linear families."""

    atoms: np.ndarray  # n × T
    families: tuple[LinearFamily, ...] = ()

    @property
    def continuum(self) -> bool:
        return any(f.basis.shape[1] >= 2 for f in self.families)


def _arc_generators(cone: np.ndarray, tol: float = 1e-12) -> np.ndarray | None:
    """Boundary rays (columns, unit) of the 2D cone ``{α : Cα ≥ 0}``, or None if a ray.

    Each boundary ray is orthogonal to a row of ``C``; the feasible ones are collected
    and the two extreme ones returned.  Returns ``None`` when the cone is ``{0}``.
    """
    rows = cone / np.maximum(np.linalg.norm(cone, axis=1, keepdims=True), 1e-300)
    cands = np.vstack([rows @ np.array([[0.0, -1.0], [1.0, 0.0]]),
                       rows @ np.array([[0.0, 1.0], [-1.0, 0.0]])])
    feasible = cands[np.all(cands @ rows.T >= -tol, axis=1)]
    if len(feasible) == 0:
        return None
    ang = np.arctan2(feasible[:, 1], feasible[:, 0])
    centre = np.arctan2(feasible[:, 1].sum(), feasible[:, 0].sum())
    rel = np.angle(np.exp(1j * (ang - centre)))
    lo, hi = feasible[np.argmin(rel)], feasible[np.argmax(rel)]
    return np.column_stack([lo, hi])


def restrict_to_range(zero: ZeroSet, range_basis: np.ndarray, tol: float = 1e-7) -> ZeroSet:
    """``zero set ∩ range Q*``: every tuning of a factorisation of ``Q*`` lies in its range.

    Atoms are kept when ``‖(I − UUᵀ)y‖ ≤ tol‖y‖``; a family ``{Bα : Cα ≥ 0}`` is cut to the
    subspace ``α ∈ null((I − UUᵀ)B)`` exactly; a one-dimensional intersection becomes
    an atom if it meets the cone.
    """
    u = range_basis
    atoms = zero.atoms
    if len(atoms):
        perp = atoms - (atoms @ u) @ u.T
        keep = np.linalg.norm(perp, axis=1) <= tol * np.linalg.norm(atoms, axis=1)
        atoms = atoms[keep]
    new_atoms = [atoms]
    families = []
    for fam in zero.families:
        b = fam.basis / max(np.linalg.norm(fam.basis), 1e-300)
        perp = b - u @ (u.T @ b)
        _, s, vt = np.linalg.svd(perp)
        s_full = np.zeros(b.shape[1])
        s_full[: len(s)] = s
        null = vt[s_full <= tol * max(1.0, np.linalg.norm(b, 2))].T  # k × k'
        if null.shape[1] == 0:
            continue
        cone = fam.cone @ null
        if null.shape[1] == 1:
            for sign in (1.0, -1.0):
                if np.all(sign * cone[:, 0] >= -1e-10 * np.abs(cone).max()):
                    new_atoms.append((fam.basis @ (sign * null[:, 0]))[None, :])
                    break
            continue
        families.append(LinearFamily(basis=fam.basis @ null, cone=cone))
    atoms = np.vstack([a for a in new_atoms if len(a)]) if any(len(a) for a in new_atoms) \
        else np.zeros((0, zero.atoms.shape[1]))
    return ZeroSet(atoms=atoms, families=tuple(families))


def sample_family(fam: LinearFamily, n: int = 17) -> np.ndarray:
    """``n`` tunings spread over a family (rows), boundary rays included."""
    k = fam.basis.shape[1]
    if k == 2:
        gens = _arc_generators(fam.cone)
        if gens is None:
            return np.zeros((0, fam.basis.shape[0]))
        a0, a1 = np.arctan2(gens[1, 0], gens[0, 0]), np.arctan2(gens[1, 1], gens[0, 1])
        a1 = a0 + np.mod(a1 - a0, 2 * np.pi)
        ang = np.linspace(a0, a1, n)
        alphas = np.vstack([np.cos(ang), np.sin(ang)])
    else:  # simplicial cone in k ≥ 3 dimensions: generators from C⁻¹, barycentric grid
        gens = np.linalg.pinv(fam.cone)
        gens /= np.linalg.norm(gens, axis=0, keepdims=True)
        m = max(2, round(n ** (1.0 / (k - 1))))
        pts = [w for w in itertools.product(range(m + 1), repeat=k) if sum(w) == m]
        alphas = gens @ (np.array(pts, dtype=float).T / m)
    return (fam.basis @ alphas).T


# ----------------------------------------------------------- linear readout (offset family)


@dataclass(frozen=True)
class ReadoutArcs:
    """``‖relu(Wθ)‖²`` on the circle, exactly: arcs of fixed sign pattern of ``Wθ``.

    On the arc ``[start, end]`` the active samples ``A`` are fixed and
    ``‖relu(Wθ)‖² = θᵀ M θ`` with ``M = W_AᵀW_A``; its maximum on the arc is at an
    endpoint or at the top eigenvector of ``M``.
    """

    start: np.ndarray
    end: np.ndarray
    active: np.ndarray  # n_arcs × T (bool)
    gram: np.ndarray  # n_arcs × 2 × 2
    best: np.ndarray  # max of ‖relu(Wθ)‖² on each arc
    argbest: np.ndarray  # its angle

    @property
    def maximum(self) -> float:
        return float(self.best.max())


def readout_arcs(w: np.ndarray) -> ReadoutArcs:
    """Exact piecewise description of ``θ ↦ ‖relu(Wθ)‖²`` for ``W`` of shape ``T × 2``."""
    norms = np.linalg.norm(w, axis=1)
    w_nz = w[norms > 1e-14 * max(norms.max(initial=0.0), 1e-300)]
    ang = np.arctan2(w_nz[:, 1], w_nz[:, 0])
    bps = np.unique(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
    if len(bps) == 0:
        bps = np.array([0.0])
    start = bps
    end = np.append(bps[1:], bps[0] + 2 * np.pi)
    mid = 0.5 * (start + end)
    active = (np.column_stack([np.cos(mid), np.sin(mid)]) @ w.T) > 0
    gram = np.einsum("at,ti,tj->aij", active.astype(float), w, w)
    half_trace = 0.5 * (gram[:, 0, 0] + gram[:, 1, 1])
    amp = np.sqrt(0.25 * (gram[:, 0, 0] - gram[:, 1, 1]) ** 2 + gram[:, 0, 1] ** 2)
    phi0 = 0.5 * np.arctan2(2 * gram[:, 0, 1], gram[:, 0, 0] - gram[:, 1, 1])

    def value(phi: np.ndarray) -> np.ndarray:
        return half_trace + amp * np.cos(2 * (phi - phi0))

    v_s, v_e = value(start), value(end)
    best = np.maximum(v_s, v_e)
    arg = np.where(v_s >= v_e, start, end)
    for k in range(-2, 5):
        p = phi0 + k * np.pi
        inside = (p > start) & (p < end)
        better = inside & (half_trace + amp > best)
        best = np.where(better, half_trace + amp, best)
        arg = np.where(better, p, arg)
    return ReadoutArcs(start=start, end=end, active=active, gram=gram, best=best, argbest=arg)


def readout_zero_set(w: np.ndarray, level: float, tol: float = 1e-7) -> ZeroSet:
    """Zero set of ``yᵀGy`` over ``y ≥ 0`` for ``G = aI − λWWᵀ`` (``W`` is ``T × 2``).

    With ``level = a/λ`` and ``G`` copositive (``max_θ ‖relu(Wθ)‖² ≤ level``):
    ``yᵀGy = 0`` iff ``y ∝ relu(Wθ)`` with ``‖relu(Wθ)‖² = level`` (Cauchy–Schwarz on
    ``(Wθ)ᵀy ≤ ‖relu(Wθ)‖‖y‖`` with ``θ = Wᵀy/‖Wᵀy‖``).  An arc on which
    ``W_AᵀW_A = level·I`` is a continuum (family ``{W_A θ : θ in the arc}``); elsewhere
    the zeros are the isolated arc maxima at the level.
    """
    arcs = readout_arcs(w)
    ev = np.linalg.eigvalsh(arcs.gram) / level
    flat = np.all(np.abs(ev - 1.0) <= tol, axis=1) & (arcs.end - arcs.start > 1e-9)
    atoms, families = [], []
    for i in np.flatnonzero(flat):
        wa = w * arcs.active[i][:, None]
        e = np.column_stack([[np.cos(arcs.start[i]), np.sin(arcs.start[i])],
                             [np.cos(arcs.end[i]), np.sin(arcs.end[i])]])
        families.append(LinearFamily(basis=wa, cone=np.linalg.inv(e)))
    for i in np.flatnonzero(~flat & (arcs.best >= level * (1 - tol))):
        theta = np.array([np.cos(arcs.argbest[i]), np.sin(arcs.argbest[i])])
        atoms.append(np.maximum(w @ theta, 0.0))
    atoms_arr = _dedupe_rows(np.array(atoms)) if atoms else np.zeros((0, w.shape[0]))
    return ZeroSet(atoms=atoms_arr, families=tuple(families))


def _dedupe_rows(rows: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Unit-normalise rows and drop (near-)duplicates."""
    rows = rows[np.linalg.norm(rows, axis=1) > 0]
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    keep: list[int] = []
    for i in range(len(unit)):
        if all(np.linalg.norm(unit[i] - unit[j]) > tol for j in keep):
            keep.append(i)
    return unit[keep]


# -------------------------------------------------------------------- Theorem 1 zero set


def theorem1_zero_set(problem: AutoencoderProblem, lam: np.ndarray,
                      tol: float = 1e-7) -> ZeroSet:
    """Exact zero set of ``r(ω) = m(ω)² − ωᵀΛω`` as tunings ``y(ω) = ω·s̃ + m(ω)``.

    On a linear piece of ``m`` (rays ``R``, vertex ``v``), ``ω = Rx``, ``x ≥ 0`` and
    ``r = xᵀAx / xᵀRᵀRx`` with ``A = Rᵀ(vvᵀ − Λ)R`` copositive at an optimum.  Zeros
    with support exactly ``F`` satisfy ``A_FF x_F = 0`` with ``x_F > 0`` (a zero of a
    nonnegative quadratic in the interior of a face is a stationary point), so each
    face contributes ``null(A_FF) ∩ int R₊^F``: one ray (an atom) or, when the null
    space has dimension ≥ 2, a linear family of tunings ``y = (S̃ᵀ + 1vᵀ)R_F x_F``.
    Eigenvalues count as zero below ``tol·max_i m_i²`` (generalised problem
    ``A_FF x = λ (RᵀR)_FF x``).
    """
    pieces = linear_pieces(problem)
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    d, t = problem.dim, problem.n_samples
    atoms, families = [], []
    for p in range(len(pieces)):
        r, v = pieces.rays[p], pieces.vertices[p]
        a = r.T @ (np.outer(v, v) - lam) @ r
        g = r.T @ r
        tuning_map = problem.centred.T + v[None, :]  # y(ω) = (S̃ᵀ + 1vᵀ) ω on this piece
        for k in range(1, d + 1):
            for face in itertools.combinations(range(d), k):
                idx = np.array(face)
                a_f, g_f = a[np.ix_(idx, idx)], g[np.ix_(idx, idx)]
                chol_inv = np.linalg.inv(np.linalg.cholesky(g_f))
                vals, vecs = np.linalg.eigh(chol_inv @ a_f @ chol_inv.T)
                null = chol_inv.T @ vecs[:, np.abs(vals) <= tol * scale]
                if null.shape[1] == 0:
                    continue
                if null.shape[1] == 1:
                    x = null[:, 0] * np.sign(null[:, 0].sum() or 1.0)
                    if np.all(x > 1e-9 * np.abs(x).max()):
                        atoms.append(tuning_map @ (r[:, idx] @ x))
                    continue
                # family: x_F = N α ≥ 0 (cone within the face)
                families.append(LinearFamily(basis=tuning_map @ r[:, idx] @ null, cone=null))
    atoms_arr = _dedupe_rows(np.array(atoms)) if atoms else np.zeros((0, t))
    return ZeroSet(atoms=atoms_arr, families=tuple(families))
