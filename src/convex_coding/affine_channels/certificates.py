r"""Certificates that a code is optimal over *all* nonnegative codes (exact, no search).

Function space.  A vector ``g`` with ``‖g₊‖ ≤ 1``, ``‖g₋‖ ≤ 1`` and ``⟨g⟩ = 0`` gives the
lower bound ``cost ≥ 2√λ ⟨g, I⟩`` for every feasible code (``sup_{y ≥ 0} ⟨g, y⟩/‖y‖ = ‖g₊‖``,
so the norm conditions say ``|⟨g, y⟩| ≤ ‖y‖`` for every ``y ≥ 0``).  At the optimum
``g = v₊/‖v₊‖ − v₋/‖v₋‖`` and the bound is attained.

``Q`` space.  With ``D = diag(p)`` the model is ``min f(Q)`` over completely positive ``Q``,
``f(Q) = ⟨D, Q⟩ + λ Ĩᵀ(PQP)⁺Ĩ`` (``P`` the centring projector, ``Ĩ = PI``; the bias is the
free constant of the readout).  ``Q*`` is optimal iff ``G = ∇f(Q*) = D − λ u uᵀ`` with
``u = (PQ*P)⁺Ĩ`` is copositive and ``⟨G, Q*⟩ = 0``.  Copositivity of a diagonal minus a rank
one is exact: with ``ũ = u/√p``, ``min_{y ≥ 0} yᵀGy / yᵀDy = 1 − λ max(‖ũ₊‖², ‖ũ₋‖²)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CertificateError
from .closed_form import AffineCode
from .variables import Variable


@dataclass(frozen=True)
class Certificate:
    """Primal cost, dual bound ``2√λ⟨g, I⟩`` and the violations of the dual conditions."""

    cost: float
    bound: float
    readout_residual: float
    negativity: float
    bias_violation: float  # |⟨g⟩|
    norm_violation: float  # max(‖g₊‖ − 1, ‖g₋‖ − 1, 0)

    @property
    def gap(self) -> float:
        return (self.cost - self.bound) / max(abs(self.cost), 1e-300)

    @property
    def violation(self) -> float:
        """The largest relative violation among the checks."""
        return max(abs(self.gap), self.readout_residual, self.negativity, self.bias_violation,
                   self.norm_violation)


def dual_vector(var: Variable, bias: float) -> np.ndarray:
    """``g = v₊/‖v₊‖ − v₋/‖v₋‖``; when one side vanishes (``b`` at an extreme of ``I``) that side
    is replaced by the constant on the atom ``{v = 0}`` (mass ``p``) that makes ``⟨g⟩ = 0``:
    e.g. ``g = v₊/‖v₊‖ − (⟨v₊⟩/(‖v₊‖p)) 1_{v=0}``, whose ``‖g₋‖ = ⟨v₊⟩/(‖v₊‖√p) ≤ 1`` iff
    ``F'_+(b) ≥ 0``: the threshold condition."""
    x = var.values
    v = x - bias
    g = np.zeros_like(v)
    atom = np.abs(v) <= 1e-14 * max(1.0, float(np.abs(x).max()))
    for sign in (1.0, -1.0):
        ramp = np.maximum(sign * v, 0.0)
        norm = var.norm(ramp)
        if norm > 0:
            g += sign * ramp / norm
    if not (np.any(v > 0) and np.any(v < 0)) and np.any(atom):
        g[atom] -= var.mean(g) / var.mean(atom)
    return g


def _readout(code: AffineCode) -> tuple[np.ndarray, float]:
    x = code.variable.values
    z = code.tunings.reshape(-1, x.size)
    recon = code.weights @ z + code.bias if z.size else np.full_like(x, code.bias)
    return z, float(np.max(np.abs(recon - x)) / max(1.0, float(np.abs(x).max())))


def certify(code: AffineCode, tol: float = 1e-9) -> Certificate:
    """Check a code's optimality over all nonnegative codes; raise :class:`CertificateError`.

    Checks: ``z ≥ 0``, the readout ``wᵀz + b = I``, and that ``g`` (:func:`dual_vector`) is
    dual feasible (``‖g±‖ ≤ 1``, ``⟨g⟩ = 0``) with relative gap ``(cost − 2√λ⟨g,I⟩)/cost``,
    all within ``tol``."""
    var = code.variable
    z, residual = _readout(code)
    g = dual_vector(var, code.bias)
    scale = max(1.0, float(np.abs(var.values).max()))
    cert = Certificate(
        cost=code.cost,
        bound=float(2 * np.sqrt(code.lam) * var.mean(g * var.values)),
        readout_residual=residual,
        negativity=float(max(0.0, -z.min(initial=0.0)) / scale),
        bias_violation=float(abs(var.mean(g))),
        norm_violation=float(max(0.0, var.norm(np.maximum(g, 0)) - 1,
                                 var.norm(np.minimum(g, 0)) - 1)),
    )
    if not cert.violation <= tol:
        raise CertificateError(
            f"affine ON/OFF code not certified: gap {cert.gap:.3e}, readout "
            f"{cert.readout_residual:.3e}, negativity {cert.negativity:.3e}, ⟨g⟩ "
            f"{cert.bias_violation:.3e}, ‖g±‖−1 {cert.norm_violation:.3e} (tol {tol:g})")
    return cert


@dataclass(frozen=True)
class QCertificate:
    """``Q``-space optimality of ``Q = ZᵀZ``: ``f(Q)``, the exact minimum relative reduced
    cost of ``G = ∇f(Q)`` over the nonnegative orthant, and the relative ``⟨G, Q⟩``."""

    value: float
    reduced_cost: float  # min_{y ≥ 0} yᵀGy / yᵀDy  (≥ 0 iff G copositive)
    complementarity: float  # ⟨G, Q⟩ / f(Q)
    range_residual: float  # ‖Z_cᵀZ_c u − Ĩ‖/‖Ĩ‖ and |1ᵀu|: u is not a multiplier at Q

    @property
    def violation(self) -> float:
        return max(-self.reduced_cost, abs(self.complementarity), self.range_residual, 0.0)


def q_space_certificate(code: AffineCode, tol: float = 1e-9) -> QCertificate:
    """Check the ``Q``-space optimality conditions of ``Q = ZᵀZ`` with the multiplier
    ``u = p ⊙ g/√λ`` (``g`` from :func:`dual_vector`); raise :class:`CertificateError`.

    Checks: ``u`` is a gradient multiplier at ``Q`` (``Z_cᵀ Z_c u = Ĩ`` with ``Z_c = ZP``,
    and ``1ᵀu = 0``), ``G = D − λuuᵀ`` is copositive (exact: ``1 − λ max‖(u/√p)±‖² ≥ 0``)
    and ``⟨G, Q⟩ = 0``.  When ``Q`` is singular the multiplier is not unique and the
    minimum-norm one ``(PQP)⁺Ĩ`` is in general *not* copositive (with unequal weights it is
    off by a null-space component), so the multiplier is part of the certificate."""
    var, lam = code.variable, code.lam
    p, x = var.weights, var.values
    z = code.tunings.reshape(-1, var.size)
    zc = z - z.mean(axis=1, keepdims=True)
    u = p * dual_vector(var, code.bias) / np.sqrt(lam)
    centred = x - x.mean()
    activity = float(p @ np.sum(z**2, axis=0))
    value = code.cost
    scaled = u / np.sqrt(p)
    top = max(np.sum(np.maximum(scaled, 0) ** 2), np.sum(np.minimum(scaled, 0) ** 2))
    cert = QCertificate(
        value=value,
        reduced_cost=float(1.0 - lam * top),
        complementarity=float((activity - lam * np.sum((z @ u) ** 2)) / value),
        range_residual=float(max(np.linalg.norm(zc.T @ (zc @ u) - centred)
                                 / np.linalg.norm(centred), abs(u.sum()) / np.abs(u).sum())),
    )
    if not cert.violation <= tol:
        raise CertificateError(
            f"Q-space certificate fails: min reduced cost {cert.reduced_cost:.3e}, "
            f"⟨G,Q⟩/f {cert.complementarity:.3e}, multiplier residual "
            f"{cert.range_residual:.3e} (tol {tol:g})")
    return cert
