r"""Gauss–Newton systems of ``r(Z) = ZᵀZ − Q`` on a set of free entries, and the refit.

The residual ``r(Z) = ZᵀZ − Q`` (``Z``: ``n × T``, rows are neurons) has Jacobian
``J Δ = ΔᵀZ + ZᵀΔ`` (a symmetric ``T × T`` matrix), adjoint ``Jᵀ S = Z(S + Sᵀ)`` and

    ``JᵀJ Δ = 2(Z Zᵀ Δ + Z Δᵀ Z)``,  ``JᵀJ[(i,t),(j,s)] = 2(δ_ts (ZZᵀ)_ij + Z_is Z_jt)``.

With ``P_F`` the restriction to the free entries ``F`` (the ones not held at zero by the
active set) and ``J_F = J P_F``, a Levenberg–Marquardt step solves

    ``(J_Fᵀ J_F + λ I) x = −J_Fᵀ r``  (``|F|`` unknowns; the *primal* system).

``J_F`` maps ``R^F`` into the symmetric matrices, of dimension ``m = T(T+1)/2``.  The
push-through identity ``(XᵀX + λI)⁻¹Xᵀ = Xᵀ(XXᵀ + λI)⁻¹`` (any ``λ > 0``) gives the same
step from the ``m × m`` *dual* system

    ``x = −J_Fᵀ y``,  ``(J_F J_Fᵀ + λ I) y = svec(r)``,

where ``svec`` is the isometry ``Sym(T) → R^m`` (diagonal entries, ``√2 ×`` the upper
ones).  ``J_F J_Fᵀ`` is assembled from its structure, never from ``J_F``: for symmetric
``S``, ``W = P_F(2ZS)`` and ``(J_F J_Fᵀ S)_ab = (WᵀZ + ZᵀW)_ab
= 2 Σ_u (C_abu S_ua + C_bau S_ub)`` with ``C_abu = Σ_{i: (i,a) ∈ F} Z_ib Z_iu``
(``O(nT³)`` flops; ``2T`` nonzeros per row).

A third, *bordered* solve uses the closed-form inverse of the unmasked damped operator
(diagonal up to ``2 × 2`` blocks in the singular vectors of ``Z``) and a Schur complement
on the ``|B| = nT − |F|`` bound entries, then iterative refinement with the exact
operator (:class:`GaussNewtonSystem`).  Nonnegative factorisations keep most entries
free, so ``|B|`` is usually far smaller than ``|F|`` or ``m``.  :class:`GaussNewtonSystem`
factorises the smallest of the three matrices, so a damping value costs
``O(min(|F|, m, |B|)³)`` (plus ``O(nT(n + T))`` per operator application) instead of
``O(|F|³)``; in exact arithmetic all three give the same step.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SQRT2 = float(np.sqrt(2.0))


def gauss_newton_matrix(z: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Dense ``J_FᵀJ_F`` over the free entries (row-major order of ``np.nonzero(free)``):
    ``2(δ_ts (ZZᵀ)_ij + Z_is Z_jt)``."""
    ii, tt = np.nonzero(free)
    d = (z @ z.T).take(ii, 0).take(ii, 1)
    d *= tt[:, None] == tt[None, :]
    y = z.take(ii, 0).take(tt, 1)  # y[k, l] = Z[i_k, t_l]
    d += y * y.T
    d *= 2.0
    return d


@lru_cache(maxsize=8)
def _dual_pattern(t: int) -> tuple[np.ndarray, ...]:
    """Index pattern of ``J_F J_Fᵀ`` in ``svec`` coordinates (depends on ``T`` only).

    Pairs ``p = (a ≤ b)`` in ``np.triu_indices`` order; for each pair and each ``u`` the
    two entries ``(p(a,b), p(u,a))`` and ``(p(a,b), p(u,b))`` with their ``svec``
    weights ``2 β_ab γ_ua``, ``2 β_ab γ_ub`` (``β = √2`` off the diagonal, ``γ = 1/√2``
    off the diagonal, both 1 on it).
    """
    a, b = np.triu_indices(t)
    m = a.size
    index = np.empty((t, t), dtype=np.intp)
    index[a, b] = np.arange(m)
    index[b, a] = np.arange(m)
    u = np.arange(t)
    beta = np.where(a == b, 1.0, SQRT2)[:, None]
    gamma = np.where(u[None, :] == a[:, None], 1.0, 1.0 / SQRT2)
    gamma_b = np.where(u[None, :] == b[:, None], 1.0, 1.0 / SQRT2)
    rows = np.arange(m)[:, None] * m
    flat = np.concatenate([(rows + index[u[None, :], a[:, None]]).ravel(),
                           (rows + index[u[None, :], b[:, None]]).ravel()])
    weight = np.concatenate([(2.0 * beta * gamma).ravel(), (2.0 * beta * gamma_b).ravel()])
    scale = np.where(a == b, 1.0, SQRT2)  # svec weights
    return a, b, flat, weight, scale


def _potrf(matrix: np.ndarray) -> np.ndarray:
    """LAPACK's Cholesky (what ``scipy.linalg.cho_factor`` calls, without its checks)."""
    from scipy.linalg.lapack import dpotrf

    factor, info = dpotrf(matrix, lower=0, clean=0, overwrite_a=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"damped Gauss–Newton matrix not positive definite "
                                    f"(potrf info {info})")
    return factor


def _potrs(factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve with the upper Cholesky factor of :func:`_potrf` (LAPACK ``dpotrs``)."""
    from scipy.linalg.lapack import dpotrs

    return dpotrs(factor, rhs, lower=0)[0]


class GaussNewtonSystem:
    """``J_FᵀJ_F + λI`` at ``Z`` on the free entries ``F``; ``solve`` for any ``λ > 0``.

    ``form``:

    * ``"primal"``: Cholesky of the dense ``|F| × |F|`` matrix
      (:func:`gauss_newton_matrix`);
    * ``"dual"``: Cholesky of ``J_F J_Fᵀ + λI`` (``m × m``, assembled from ``C_abu``;
      module docstring);
    * ``"bordered"``: the closed-form inverse ``Y = (JᵀJ + λI)⁻¹`` of the *unmasked*
      operator and the bound entries ``B`` (the complement of ``F``), by the inverse of
      a principal submatrix ``((JᵀJ + λI)_FF)⁻¹ = Y_FF − Y_FB Y_BB⁻¹ Y_BF``
      (``|B| × |B|`` Cholesky), followed by iterative refinement with the exact operator
      ``2(ZZᵀΔ + ZΔᵀZ) + λΔ`` on ``F`` until the backward error is below ``1e-15``
      (dense primal solve if it is not reached).  With ``Z = UΣVᵀ`` (full SVD) and
      ``Δ = UWVᵀ`` the unmasked operator is ``W ↦ 2(ΣΣᵀW + ΣWᵀΣ) + λW``: it couples
      only ``W_ab`` and ``W_ba``, through ``2vvᵀ + λI`` with ``v = (σ_a, σ_b)``, so
      ``Y = U·[(W − 2σ_a(σ_aW_ab + σ_bW_ba)/(λ + 2σ_a² + 2σ_b²))/λ]·Vᵀ``
      (``σ = 0`` beyond ``min(n, T)``; no partner ``W_ba`` when ``a ≥ T`` or ``b ≥ n``);
    * ``None``: the cheapest (smallest factorised matrix).

    ``trace`` is ``tr J_FᵀJ_F = Σ_{(i,t) ∈ F} 2((ZZᵀ)_ii + Z_it²)``.
    """

    def __init__(self, z: np.ndarray, free: np.ndarray, form: str | None = None) -> None:
        self.z, self.free = z, free
        self.ii, self.tt = np.nonzero(free)
        n, t = z.shape
        m = t * (t + 1) // 2
        n_bound = z.size - self.ii.size
        if form is None:
            sizes = {"primal": self.ii.size, "dual": m, "bordered": 2 * n_bound + 16}
            form = min(sizes, key=sizes.__getitem__)
        self.form = form
        self._matrix: np.ndarray | None = None
        self.fallbacks = 0  # bordered solves handed to the dense primal one
        if form == "primal":
            self._matrix = gauss_newton_matrix(z, free)
            self.diag = np.diag(self._matrix).copy()
            self.trace = float(np.trace(self._matrix))
            return
        sq = np.einsum("it,it->i", z, z)
        self.trace = float(2.0 * np.sum(sq[self.ii] + z[self.ii, self.tt] ** 2))
        if form == "dual":
            self._matrix = self._dual_matrix()
        elif form == "bordered":
            self.bi, self.bt = np.nonzero(~free)
            u, sigma, vt = np.linalg.svd(z)
            self.u, self.vt = u, vt
            k = sigma.size
            self.sn, self.st = np.zeros(n), np.zeros(t)
            self.sn[:k] = sigma
            self.st[:k] = sigma
            self.k = k
            self.zz = z @ z.T
        else:
            raise ValueError(f"form must be 'primal', 'dual', 'bordered' or None, "
                             f"not {form!r}")
        if self._matrix is not None:
            self.diag = np.diag(self._matrix).copy()

    def _dual_matrix(self) -> np.ndarray:
        """``J_F J_Fᵀ`` in ``svec`` coordinates, ``m × m``."""
        z, t = self.z, self.z.shape[1]
        a, b, flat, weight, _ = _dual_pattern(t)
        m = a.size
        zf = self.free.T[:, :, None] * z[None, :, :]  # zf[a, i, u] = F_ia Z_iu
        c = np.matmul(zf.transpose(0, 2, 1), z)  # c[a, b, u] = Σ_i F_ia Z_ib Z_iu
        values = np.concatenate([c[a, b, :].ravel(), c[b, a, :].ravel()]) * weight
        return np.bincount(flat, weights=values, minlength=m * m).reshape(m, m)

    def _unmasked_inverse(self, w: np.ndarray, lam: float) -> np.ndarray:
        """``Y`` in SVD coordinates: ``W ↦ (W − 2σ_a T_ab/(λ + 2σ_a² + 2σ_b²))/λ``,
        ``T_ab = σ_a W_ab + σ_b W_ba`` (``w``: ``(…, n, T)``)."""
        k, sn, st = self.k, self.sn, self.st
        coupled = sn[:, None] * w
        coupled[..., :k, :k] += np.swapaxes(w[..., :k, :k], -1, -2) * st[None, :k]
        denom = lam + 2.0 * (sn[:, None] ** 2 + st[None, :] ** 2)
        return (w - 2.0 * sn[:, None] * coupled / denom) / lam

    def _apply_inverse(self, x: np.ndarray, lam: float) -> np.ndarray:
        """``Y X`` for ``X`` of shape ``(…, n, T)``."""
        w = self.u.T @ x @ self.vt.T
        return self.u @ self._unmasked_inverse(w, lam) @ self.vt

    def _bordered(self, rhs: np.ndarray, lam: float) -> np.ndarray:
        """``((JᵀJ + λI)_FF)⁻¹ rhs`` with refinement (``rhs`` on ``F``)."""
        ii, tt, bi, bt = self.ii, self.tt, self.bi, self.bt
        n, t = self.z.shape
        if bi.size:
            # columns Y e_b for the bound entries: in SVD coordinates e_b ↦ U[i_b]ᵀ V[t_b]
            w = self.u[bi][:, :, None] * self.vt.T[bt][:, None, :]
            cols = self.u @ self._unmasked_inverse(w, lam) @ self.vt  # (|B|, n, T)
            y_bb = cols[:, bi, bt]
            y_fb = cols[:, ii, tt].T
            factor = _potrf(y_bb)

        def once(b: np.ndarray) -> np.ndarray:
            full = np.zeros((n, t))
            full[ii, tt] = b
            yb = self._apply_inverse(full, lam)
            x = yb[ii, tt]
            if bi.size:
                x = x - y_fb @ _potrs(factor, yb[bi, bt])
            return x

        def matvec(x: np.ndarray) -> np.ndarray:
            full = np.zeros((n, t))
            full[ii, tt] = x
            out = 2.0 * (self.zz @ full + self.z @ (full.T @ self.z)) + lam * full
            return out[ii, tt]

        # backward error ‖rhs − A x‖ / (‖A‖‖x‖ + ‖rhs‖), ‖A‖ ≤ 4σ₁² + λ: refine to 1e-15
        # (a dense Cholesky solve attains O(1e-16)); typically one refinement step
        x = once(rhs)
        anorm = 4.0 * self.sn[0] ** 2 + lam
        previous = np.inf
        for _ in range(8):
            res = rhs - matvec(x)
            norm = np.linalg.norm(res)
            if norm <= 1e-15 * (anorm * np.linalg.norm(x) + np.linalg.norm(rhs)):
                return x
            if norm > 0.5 * previous:  # refinement stalled: not at rounding level
                break
            previous = norm
            x = x + once(res)
        raise np.linalg.LinAlgError("bordered solve did not converge")

    def solve(self, residual: np.ndarray, lam: float) -> np.ndarray:
        """The step ``x = −(J_FᵀJ_F + λI)⁻¹ J_Fᵀ r`` on the free entries (``|F|`` values,
        in ``np.nonzero(free)`` order).  ``residual``: the symmetric ``r = ZᵀZ − Q``.
        Raises ``numpy.linalg.LinAlgError`` when the damped matrix is numerically not
        positive definite."""
        if self.form == "bordered":
            grad = 2.0 * (self.z @ residual)[self.ii, self.tt]  # J_Fᵀr
            try:
                return self._bordered(-grad, lam)
            except np.linalg.LinAlgError:  # ill-conditioned: the dense primal solve
                if self._matrix is None:
                    self._matrix = gauss_newton_matrix(self.z, self.free)
                    self.diag = np.diag(self._matrix).copy()
                self.fallbacks += 1
                return self._primal(grad, lam)
        if self.form == "primal":
            return self._primal(2.0 * (self.z @ residual)[self.ii, self.tt], lam)
        assert self._matrix is not None
        np.fill_diagonal(self._matrix, self.diag + lam)
        factor = _potrf(self._matrix)
        a, b, _, _, scale = _dual_pattern(self.z.shape[1])
        y = _potrs(factor, residual[a, b] * scale)
        s = np.empty_like(residual)
        s[a, b] = y / scale
        s[b, a] = s[a, b]
        return -2.0 * (self.z @ s)[self.ii, self.tt]

    def _primal(self, grad: np.ndarray, lam: float) -> np.ndarray:
        assert self._matrix is not None
        np.fill_diagonal(self._matrix, self.diag + lam)
        return _potrs(_potrf(self._matrix), -grad)


def gauss_newton_refit(q: np.ndarray, z: np.ndarray, nonnegative: bool = True,
                       max_iter: int = 80, active_tol: float = 1e-6,
                       form: str | None = None, stall_window: int = 10,
                       stall_ratio: float = 0.95) -> np.ndarray:
    """Projected Levenberg–Marquardt on ``ZᵀZ = Q`` (quadratic convergence at zero residual).

    Each iteration solves ``(J_FᵀJ_F + μ·s·I) x = −J_Fᵀ r`` with ``s = tr(J_FᵀJ_F)/|F|``
    (:class:`GaussNewtonSystem`: the primal or the equivalent dual system, whichever is
    smaller; ``form`` forces one).  An ε-active set (Bertsekas) fixes at zero the entries
    below ``active_tol·max Z`` whose gradient ``Jᵀr = 2ZR`` pushes them down; a step that
    would make an entry negative is projected, and the damping ``μ`` grows ×10 until the
    residual decreases (÷10 after a success, floor ``1e-15``).  Stops at
    ``‖r‖_F ≤ 1e-15‖Q‖_F``, after ``max_iter`` iterations, when no damping ``< 1e8``
    decreases the residual, or when it *stalls*: ``‖r‖²`` fell by less than a factor
    ``stall_ratio`` over the last ``stall_window`` iterations.

    The stall rule is for optima on the boundary of the completely positive cone: there
    the residual is flat to first order along directions that nonnegativity stops only
    at second order, and the iteration creeps (``‖r‖²`` shrinking by ≤ 0.5 % per step);
    at that rate the rest of an 80-step budget lowers ``‖r‖`` by at most
    ``0.95^{7/2} ≈ 0.84``, not by the order of magnitude that separates a converged
    restart (``≤ 1e-7``) from one stuck at ``1e-6``.  Measured on four of the paper's
    slowest instances: same verdicts, converged counts and best residuals, and about a
    quarter less factorisation time (``docs/theory.md``).
    """
    qn = max(np.linalg.norm(q), 1e-300)
    damping = 1e-6
    history: list[float] = []
    for _ in range(max_iter):
        r = z.T @ z - q
        f0 = float(np.einsum("ij,ij->", r, r))
        if np.sqrt(f0) <= 1e-15 * qn:
            break
        history.append(f0)
        if len(history) > stall_window and f0 > stall_ratio * history[-1 - stall_window]:
            break
        if nonnegative:
            g = z @ r
            bound = (z <= active_tol * z.max()) & (g >= 0)
            if bound.any() and np.any(z[bound] > 0):
                z = np.where(bound, 0.0, z)
                r = z.T @ z - q
                f0 = float(np.einsum("ij,ij->", r, r))
            free = ~bound
        else:
            free = np.ones(z.shape, dtype=bool)
        if not free.any():
            break
        system = GaussNewtonSystem(z, free, form)
        ii, tt = system.ii, system.tt
        scale = max(system.trace / ii.size, 1e-300)
        improved = False
        while damping < 1e8:
            try:
                step = system.solve(r, damping * scale)  # JᵀJ + μI is positive definite
            except np.linalg.LinAlgError:  # numerically singular: damp more
                damping *= 10.0
                continue
            cand = z.copy()
            cand[ii, tt] += step
            if nonnegative:
                cand = np.maximum(cand, 0.0)
            rn = cand.T @ cand - q
            fn = float(np.einsum("ij,ij->", rn, rn))
            if fn < f0:
                damping = max(damping / 10.0, 1e-15)
                improved = True
                break
            damping *= 10.0
        if not improved:
            break
        z = cand
    return z
