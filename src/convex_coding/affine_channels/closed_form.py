r"""The exact optimum of the paper's Fig. 3 model: ramp pairs and the convex bracket.

The code is any number of nonnegative tunings ``z_i(I)`` read out affinely,
``Σ_i w_i z_i(I) + b = I``, at cost ``Σ_i ‖z_i‖² + λ Σ_i w_i²`` (no density constraint).
With ``v = I − b`` (derived in ``docs/on_off_channels.md``)

    cost* = 2√λ · min_b F(b),    F(b) = ‖(I − b)₊‖ + ‖(b − I)₊‖,

reached by the ramp pair ON ``(I − b*)₊`` and OFF ``(b* − I)₊``, each scaled so that
``‖z_i‖ = √λ |w_i|``.  ``F`` is convex, continuously differentiable on ``(min I, max I)``
with ``F'(b) = −⟨v₊⟩/‖v₊‖ + ⟨v₋⟩/‖v₋‖``; its right derivative at ``b = min I`` is
``√Pr(I = min I) − ⟨v₊⟩/‖v₊‖``, so the OFF channel vanishes iff
``Pr(I = min I) ≥ ⟨v⟩²/⟨v²⟩`` (``v = I − min I``): for ``I ≥ 0`` with ``Pr(I = 0) = p₀``,
``p₀ ≥ ⟨I⟩²/⟨I²⟩``, i.e. ``p₀ ≥ r/(1 + r)`` with ``r = m₁²/m₂`` of the slab.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import scipy_optimize as optimize
from .variables import Variable, _positive, slab_moments


def bracket(var: Variable, b: np.ndarray | float) -> np.ndarray:
    """``F(b) = ‖(I − b)₊‖ + ‖(b − I)₊‖`` (vectorised over ``b``)."""
    v = var.values[None, :] - np.atleast_1d(np.asarray(b, float))[:, None]
    p = var.weights
    return np.sqrt(np.maximum(v, 0) ** 2 @ p) + np.sqrt(np.minimum(v, 0) ** 2 @ p)


def one_sided_derivative(var: Variable, b: float, side: int) -> float:
    """Right (``side=+1``) or left (``−1``) derivative of ``F`` at ``b``, exactly.

    Where ``‖v₋‖ > 0`` the OFF term contributes ``⟨v₋⟩/‖v₋‖``; where ``‖v₋‖ = 0`` it is flat
    to the left and rises as ``√Pr(I ≤ b)`` to the right (and mirror for the ON term)."""
    v, p = var.values - b, var.weights
    up, dn = np.maximum(v, 0.0), np.maximum(-v, 0.0)
    a_up, a_dn = p @ up**2, p @ dn**2
    on = -(p @ up) / np.sqrt(a_up) if a_up > 0 else (
        -np.sqrt(p @ (v >= 0)) if side < 0 else 0.0)
    off = (p @ dn) / np.sqrt(a_dn) if a_dn > 0 else (
        np.sqrt(p @ (v <= 0)) if side > 0 else 0.0)
    return float(on + off)


def optimal_bias(var: Variable, xtol: float = 1e-13) -> float:
    """The exact minimiser ``b*`` of the convex bracket ``F``.

    ``F'`` is nondecreasing, so bisection over the values ``u_0 < … < u_m`` finds the first
    ``u_k`` with ``F'_+(u_k) ≥ 0`` (``O(T log T)``).  Then ``b* = u_k`` if ``k = 0`` or
    ``F'_−(u_k) ≤ 0``; otherwise ``F'`` is smooth on ``(u_{k−1}, u_k)`` with a sign change and
    Brent's method (bracketing, hence safeguarded) solves ``F'(b) = 0`` to ``xtol`` relative
    to the range of ``I``."""
    u = var.values
    lo, hi = 0, u.size - 1  # F'_+(u_m) > 0 always
    while lo < hi:
        mid = (lo + hi) // 2
        if one_sided_derivative(var, u[mid], +1) >= 0:
            hi = mid
        else:
            lo = mid + 1
    if lo == 0:
        return float(u[0])
    a, c = u[lo - 1], u[lo]
    left_at_c = one_sided_derivative(var, c, -1)
    if left_at_c <= 0:
        return float(c)

    def derivative(b: float) -> float:  # F' on [a, c]; at c the left derivative
        return left_at_c if b >= c else one_sided_derivative(var, b, +1)

    return float(optimize.brentq(derivative, a, c, xtol=xtol * float(np.ptp(u)),
                                 rtol=4 * np.finfo(float).eps))


@dataclass(frozen=True)
class AffineCode:
    """A nonnegative code with affine readout: ``Σ_i w_i z_i + b = I``.

    ``tunings`` is ``N × T`` (row ``i`` is ``z_i`` on the variable's values)."""

    variable: Variable
    lam: float
    bias: float
    tunings: np.ndarray
    weights: np.ndarray
    names: tuple[str, ...]

    @property
    def energy(self) -> np.ndarray:
        """``‖z_i‖²`` per channel."""
        return self.tunings.reshape(-1, self.variable.size) ** 2 @ self.variable.weights

    @property
    def cost(self) -> float:
        """``Σ_i ‖z_i‖² + λ ‖w‖²``."""
        return float(self.energy.sum() + self.lam * np.sum(self.weights**2))


def ramp_code(var: Variable, lam: float, bias: float) -> AffineCode:
    """The optimal code for a fixed bias: ON ``c₊(I − b)₊`` with ``w = 1/c₊`` and OFF
    ``c₋(b − I)₊`` with ``w = −1/c₋``, ``c_±² = √λ/‖v_±‖`` (so ``‖z‖ = √λ|w|``, cost
    ``2√λ‖v_±‖`` each); a channel of zero norm is dropped."""
    lam = _positive(lam, "lam")
    v = var.values - bias
    rows, weights, names = [], [], []
    for name, sign in (("ON", 1.0), ("OFF", -1.0)):
        ramp = np.maximum(sign * v, 0.0)
        norm = var.norm(ramp)
        if norm > 0:
            c = np.sqrt(np.sqrt(lam) / norm)
            rows.append(c * ramp)
            weights.append(sign / c)
            names.append(name)
    return AffineCode(var, lam, float(bias), np.array(rows).reshape(len(rows), var.size),
                      np.array(weights), tuple(names))


def optimal_code(var: Variable, lam: float) -> AffineCode:
    """The optimal code: the ramp pair at ``b*`` (:func:`optimal_bias`)."""
    return ramp_code(var, lam, optimal_bias(var))


@dataclass(frozen=True)
class CodeSummary:
    """What Fig. 3 reports about an optimal code."""

    bias: float
    n_channels: int
    cost: float
    cost_on_only: float
    cost_off_only: float
    advantage: float  # 1 − cost / best single-channel cost
    energy_share: dict[str, float]
    range_fraction: dict[str, float]
    mass_fraction: dict[str, float]


def summarise(code: AffineCode) -> CodeSummary:
    """Cost vs the best single channel (ON only: ``b = min I``; OFF only: ``b = max I``), each
    channel's share of the firing energy ``‖z_i‖²/Σ_j‖z_j‖²`` and its encoding range: the
    fraction of ``[min I, max I]`` and of the probability mass where it is active."""
    var, lam = code.variable, code.lam
    x = var.values
    lo, hi = float(x[0]), float(x[-1])
    on_only, off_only = ramp_code(var, lam, lo).cost, ramp_code(var, lam, hi).cost
    energy = code.energy
    share = {n: float(e / energy.sum()) for n, e in zip(code.names, energy, strict=True)}
    active = {"ON": x > code.bias, "OFF": x < code.bias}
    extent = {"ON": (hi - code.bias) / (hi - lo), "OFF": (code.bias - lo) / (hi - lo)}
    rng = {n: (float(extent[n]) if n in code.names else 0.0) for n in ("ON", "OFF")}
    mass = {n: (var.mean(active[n]) if n in code.names else 0.0) for n in ("ON", "OFF")}
    return CodeSummary(code.bias, len(code.names), code.cost, on_only, off_only,
                       float(1.0 - code.cost / min(on_only, off_only)), share, rng, mass)


# ---------------------------------------------------------------- thresholds


def population_threshold(law: str, shape: float | None = None) -> float:
    """``p₀* = r/(1 + r)`` with ``r = m₁²/m₂`` of the slab law."""
    m1, m2 = slab_moments(law, shape)
    r = m1**2 / m2
    return float(r / (1.0 + r))


def sample_threshold(slab: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Root in ``p₀`` of ``F'_+(0) = √p₀ − √(1−p₀) m̂₁/√m̂₂`` for ``I = p₀δ₀ + (1−p₀)·slab``:
    ``p₀ = r̂/(1 + r̂)``, ``r̂ = m̂₁²/m̂₂`` (the slab's moments under ``weights``, default
    equal); ``F'_+(0)`` is increasing in ``p₀``, so this root is unique."""
    s = np.asarray(slab, float)
    w = np.full(s.size, 1.0 / s.size) if weights is None else np.asarray(weights) / np.sum(weights)
    if s.size < 2 or np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError("slab samples must be finite and > 0 (at least 2)")
    r = (w @ s) ** 2 / (w @ s**2)
    return float(r / (1.0 + r))


def off_vanishes_predicted(var: Variable) -> bool:
    """The OFF channel vanishes iff ``Pr(I = min I) ≥ ⟨v⟩²/⟨v²⟩``, ``v = I − min I``."""
    return bool(var.p_min >= var.ratio)
