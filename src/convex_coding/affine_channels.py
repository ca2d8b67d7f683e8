r"""ON and OFF channels of a scalar variable under an affine readout (the paper's Fig. 3 model).

A scalar variable ``I`` is represented by ``T`` equally weighted samples; inner products and
norms are those of ``L²(p)``: ``⟨f, g⟩ = (1/T) Σ_t f_t g_t``, ``‖f‖ = √⟨f, f⟩``.  The code is
any number of nonnegative tunings ``z_i(I)`` read out affinely, ``Σ_i w_i z_i(I) + b = I``,
at cost ``Σ_i ‖z_i‖² + λ Σ_i w_i²`` (no density constraint).

Closed form (derived in ``docs/on_off_channels.md``).  With ``v = I − b``,

    cost* = 2√λ · min_b F(b),    F(b) = ‖(I − b)₊‖ + ‖(b − I)₊‖,

reached by the ramp pair ON ``(I − b*)₊`` and OFF ``(b* − I)₊``, each scaled so that
``‖z_i‖ = √λ |w_i|``.  ``F`` is convex in ``b``, continuously differentiable on
``(min I, max I)`` with ``F'(b) = −⟨v₊, 1⟩/‖v₊‖ + ⟨v₋, 1⟩/‖v₋‖``, and has kinks only at the
extremes; its right derivative at ``b = min I`` is ``√p_min − ⟨v₊, 1⟩/‖v₊‖``, so for
``I ≥ 0`` with ``Pr(I = 0) = p₀`` the OFF channel vanishes iff ``p₀ ≥ ⟨I⟩²/⟨I²⟩``.

Certificate.  A vector ``g`` with ``‖g₊‖ ≤ 1``, ``‖g₋‖ ≤ 1`` and ``⟨g, 1⟩ = 0`` gives the lower
bound ``cost ≥ 2√λ ⟨g, I⟩`` for every feasible code (``sup_{y ≥ 0} ⟨g, y⟩/‖y‖ = ‖g₊‖``, so
the two norm conditions are exactly ``|⟨g, y⟩| ≤ ‖y‖`` for all ``y ≥ 0`` on each side).
:func:`certify` builds ``g`` from a code's bias and checks a code against that bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy import optimize, special, stats

from . import menu
from .pipeline.errors import CertificateError
from .solvers import SolverSettings, solve_checked

#: Slab laws on (0, ∞) (the sparse variable's nonzero part); ``shape`` is k or σ.
SLAB_LAWS: tuple[str, ...] = ("half_normal", "exponential", "uniform", "gamma", "lognormal")
#: Symmetric laws about 0 (the dense control).
SYMMETRIC_LAWS: tuple[str, ...] = ("gaussian", "laplace", "uniform")
MIN_SAMPLES = 10


# ---------------------------------------------------------------- laws and samples


def _slab_law(law: str, shape: float | None) -> tuple[stats.rv_continuous, object, float, float]:
    """(frozen law, partial mean ``M(x) = E[X 1{X ≤ x}]``, m₁, m₂) of a slab law."""
    if law == "half_normal":
        c = np.sqrt(2.0 / np.pi)
        return stats.halfnorm(), lambda x: c * -np.expm1(-0.5 * x**2), c, 1.0
    if law == "exponential":
        return stats.expon(), lambda x: 1.0 - np.exp(-x) * (1.0 + x), 1.0, 2.0
    if law == "uniform":
        return stats.uniform(), lambda x: 0.5 * np.minimum(x, 1.0) ** 2, 0.5, 1.0 / 3.0
    if law == "gamma":
        k = _positive(shape, "gamma shape k")
        return stats.gamma(k), lambda x: k * special.gammainc(k + 1.0, x), k, k * (k + 1.0)
    if law == "lognormal":
        s = _positive(shape, "lognormal sigma")
        m1 = float(np.exp(0.5 * s**2))  # partial mean evaluated at interior edges only (x > 0)
        partial = lambda x: m1 * special.ndtr((np.log(x) - s**2) / s)  # noqa: E731
        return stats.lognorm(s), partial, m1, float(np.exp(2.0 * s**2))
    raise ValueError(f"slab law {law!r} is unknown; allowed: {', '.join(SLAB_LAWS)}")


def _positive(shape: float | None, what: str) -> float:
    if shape is None or not np.isfinite(shape) or shape <= 0:
        raise ValueError(f"{what} must be a finite positive number, got {shape!r}")
    return float(shape)


def _cell_means(ppf, partial, mean: float, n: int) -> np.ndarray:
    """Quantile-cell means: ``x_j = n ∫_{(j−1)/n}^{j/n} Q(u) du = n (M(q_j) − M(q_{j−1}))``.

    Each sample is the conditional mean of its probability-``1/n`` cell, so the empirical mean
    equals the law's mean exactly and every sample is finite (unlike the quantile at 1)."""
    inner = partial(ppf(np.arange(1, n) / n))
    return n * np.diff(np.concatenate([[0.0], inner, [mean]]))


def slab_moments(law: str, shape: float | None = None) -> tuple[float, float]:
    """Population moments ``(m₁, m₂)`` of a slab law."""
    _, _, m1, m2 = _slab_law(law, shape)
    return float(m1), float(m2)


def slab_samples(law: str, n: int, shape: float | None = None) -> np.ndarray:
    """``n`` increasing quantile-cell means of a slab law (all > 0)."""
    n = _count(n)
    dist, partial, m1, _ = _slab_law(law, shape)
    return _cell_means(dist.ppf, partial, m1, n)


def sparse_variable(law: str, p0: float, t: int, shape: float | None = None) -> np.ndarray:
    """``T`` sorted samples of ``I = 0`` w.p. ``p₀`` else slab: ``round(p₀T)`` zeros followed by
    ``T − round(p₀T)`` slab cell means (the realised ``Pr(I = 0)`` is ``round(p₀T)/T``)."""
    t = _count(t)
    if not (np.isfinite(p0) and 0.0 <= p0 < 1.0):
        raise ValueError(f"p0={p0!r} is invalid; allowed: [0, 1)")
    n0 = round(p0 * t)
    if t - n0 < 2:
        raise ValueError(f"p0={p0!r} leaves fewer than 2 nonzero samples of T={t}")
    return np.concatenate([np.zeros(n0), slab_samples(law, t - n0, shape)])


def symmetric_samples(law: str, t: int) -> np.ndarray:
    """``T`` sorted cell means of a law symmetric about 0, made exactly antisymmetric
    (``x = −x[::-1]``): ``gaussian`` N(0,1), ``laplace`` (scale 1), ``uniform`` on [−1, 1]."""
    t = _count(t)
    laws = {  # (quantile function, partial mean E[X 1{X ≤ x}])
        "gaussian": (stats.norm.ppf, lambda x: -stats.norm.pdf(x)),
        "laplace": (stats.laplace.ppf, lambda x: np.where(
            x < 0, 0.5 * np.exp(np.minimum(x, 0)) * (x - 1), -0.5 * np.exp(-np.abs(x)) * (x + 1))),
        "uniform": (lambda u: 2 * u - 1, lambda x: 0.25 * (x**2 - 1)),
    }
    if law not in laws:
        raise ValueError(f"symmetric law {law!r} is unknown; allowed: {', '.join(SYMMETRIC_LAWS)}")
    x = _cell_means(*laws[law], 0.0, t)
    return 0.5 * (x - x[::-1])


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_SAMPLES:
        raise ValueError(f"sample count {n!r} is invalid; allowed: integer ≥ {MIN_SAMPLES}")
    return int(n)


def validate_samples(values: np.ndarray) -> np.ndarray:
    """A user's samples as a sorted 1-D float array; ``ValueError`` naming the problem."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        x = x.squeeze()
        if x.ndim != 1:
            raise ValueError(f"samples must be one column, got shape {np.shape(values)}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"samples contain {int(np.sum(~np.isfinite(x)))} non-finite values")
    if x.size < MIN_SAMPLES:
        raise ValueError(f"samples have {x.size} values; need at least {MIN_SAMPLES}")
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        raise ValueError("samples are constant: there is no variable to encode")
    return np.sort(x)


# ---------------------------------------------------------------- the bracket and b*


def bracket(x: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """``F(b) = ‖(I − b)₊‖ + ‖(b − I)₊‖`` (vectorised over ``b``)."""
    v = np.asarray(x, float)[None, :] - np.atleast_1d(np.asarray(b, float))[:, None]
    return np.sqrt(np.mean(np.maximum(v, 0) ** 2, 1)) + np.sqrt(np.mean(np.minimum(v, 0) ** 2, 1))


def _one_sided(x: np.ndarray, b: float, side: int) -> float:
    """Right (``side=+1``) or left (``−1``) derivative of ``F`` at ``b``, exactly.

    Where ``‖v₋‖ > 0`` the OFF term contributes ``⟨v₋,1⟩/‖v₋‖``; where ``‖v₋‖ = 0`` it is flat
    to the left and rises as ``√Pr(I ≤ b)`` to the right (and mirror for the ON term)."""
    v = x - b
    up, dn = np.maximum(v, 0.0), np.maximum(-v, 0.0)
    a_up, a_dn = np.mean(up**2), np.mean(dn**2)
    on = -np.mean(up) / np.sqrt(a_up) if a_up > 0 else (
        -np.sqrt(np.mean(v >= 0)) if side < 0 else 0.0)
    off = np.mean(dn) / np.sqrt(a_dn) if a_dn > 0 else (
        np.sqrt(np.mean(v <= 0)) if side > 0 else 0.0)
    return float(on + off)


def optimal_bias(x: np.ndarray, xtol: float = 1e-13) -> float:
    """The exact minimiser ``b*`` of the convex bracket ``F``.

    ``F'`` is nondecreasing, so bisection over the sorted distinct values ``u_0 < … < u_m``
    finds the first ``u_k`` with ``F'_+(u_k) ≥ 0`` (``O(T log T)``).  Then ``b* = u_k`` if
    ``k = 0`` or ``F'_−(u_k) ≤ 0``; otherwise ``F'`` is smooth on ``(u_{k−1}, u_k)`` with a
    sign change and Brent's method (bracketing, hence safeguarded) solves ``F'(b) = 0`` to
    ``xtol`` relative to the range of ``I``."""
    x = validate_samples(x)
    u = np.unique(x)
    lo, hi = 0, len(u) - 1  # F'_+(u_m) > 0 always
    while lo < hi:
        mid = (lo + hi) // 2
        if _one_sided(x, u[mid], +1) >= 0:
            hi = mid
        else:
            lo = mid + 1
    if lo == 0:
        return float(u[0])
    a, c = u[lo - 1], u[lo]
    right = _one_sided(x, c, -1)
    if right <= 0:
        return float(c)

    def deriv(b: float) -> float:  # F' on [a, c]; at c (possibly max I) the left derivative
        return right if b >= c else _one_sided(x, b, +1)

    return float(optimize.brentq(deriv, a, c, xtol=xtol * float(np.ptp(x)),
                                 rtol=4 * np.finfo(float).eps))


# ---------------------------------------------------------------- the optimal code


@dataclass(frozen=True)
class AffineCode:
    """A nonnegative code with affine readout: ``Σ_i w_i z_i + b = I``.

    ``tunings`` is ``N × T`` (row ``i`` is ``z_i`` on the samples), ``names`` labels rows."""

    samples: np.ndarray
    lam: float
    bias: float
    tunings: np.ndarray
    weights: np.ndarray
    names: tuple[str, ...]

    @property
    def cost(self) -> float:
        """``Σ_i ‖z_i‖² + λ ‖w‖²``."""
        return float(np.sum(np.mean(self.tunings**2, axis=1)) + self.lam * np.sum(self.weights**2))


def ramp_code(x: np.ndarray, lam: float, bias: float) -> AffineCode:
    """The optimal code for a fixed bias: ON ``c₊(I − b)₊`` with ``w = 1/c₊`` and OFF
    ``c₋(b − I)₊`` with ``w = −1/c₋``, ``c_±² = √λ/‖v_±‖`` (so ``‖z‖ = √λ|w|``, cost
    ``2√λ‖v_±‖`` each); a channel of zero norm is dropped."""
    x = np.asarray(x, float)
    lam = _positive(lam, "lam")
    v = x - bias
    rows, weights, names = [], [], []
    for name, sign in (("ON", 1.0), ("OFF", -1.0)):
        ramp = np.maximum(sign * v, 0.0)
        norm = float(np.sqrt(np.mean(ramp**2)))
        if norm > 0:
            c = np.sqrt(np.sqrt(lam) / norm)
            rows.append(c * ramp)
            weights.append(sign / c)
            names.append(name)
    return AffineCode(x, lam, float(bias), np.array(rows), np.array(weights), tuple(names))


def optimal_code(x: np.ndarray, lam: float) -> AffineCode:
    """The optimal code: the ramp pair at ``b*`` (:func:`optimal_bias`)."""
    x = validate_samples(x)
    return ramp_code(x, lam, optimal_bias(x))


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
    x, lam = code.samples, code.lam
    lo, hi = float(x.min()), float(x.max())
    on_only = ramp_code(x, lam, lo).cost
    off_only = ramp_code(x, lam, hi).cost
    energy = np.mean(code.tunings**2, axis=1)
    share = {n: float(e / energy.sum()) for n, e in zip(code.names, energy, strict=True)}
    span = hi - lo
    active = {"ON": x > code.bias, "OFF": x < code.bias}
    extent = {"ON": (hi - code.bias) / span, "OFF": (code.bias - lo) / span}
    rng = {n: (float(extent[n]) if n in code.names else 0.0) for n in ("ON", "OFF")}
    mass = {n: (float(np.mean(active[n])) if n in code.names else 0.0) for n in ("ON", "OFF")}
    return CodeSummary(code.bias, len(code.names), code.cost, on_only, off_only,
                       float(1.0 - code.cost / min(on_only, off_only)), share, rng, mass)


# ---------------------------------------------------------------- certificate


@dataclass(frozen=True)
class Certificate:
    """Primal cost, dual bound ``2√λ⟨g, I⟩`` and the violations of the dual conditions."""

    cost: float
    bound: float
    readout_residual: float
    negativity: float
    bias_violation: float  # |⟨g, 1⟩|
    norm_violation: float  # max(‖g₊‖ − 1, ‖g₋‖ − 1, 0)

    @property
    def gap(self) -> float:
        return (self.cost - self.bound) / max(abs(self.cost), 1e-300)

    @property
    def violation(self) -> float:
        """The largest relative violation among the checks."""
        return max(abs(self.gap), self.readout_residual, self.negativity, self.bias_violation,
                   self.norm_violation)


def dual_vector(x: np.ndarray, bias: float) -> np.ndarray:
    """``g = v₊/‖v₊‖ − v₋/‖v₋‖``; when one side vanishes (``b`` at an extreme of ``I``) that side
    is replaced by the constant on the atom ``{v = 0}`` (mass ``p``) that makes ``⟨g,1⟩ = 0``:
    e.g. ``g = v₊/‖v₊‖ − (⟨v₊,1⟩/(‖v₊‖p)) 1_{v=0}``, whose ``‖g₋‖ = ⟨v₊,1⟩/(‖v₊‖√p) ≤ 1`` iff
    ``F'_+(b) ≥ 0``: the threshold condition."""
    v = np.asarray(x, float) - bias
    g = np.zeros_like(v)
    atom = np.abs(v) <= 1e-14 * max(1.0, float(np.abs(x).max()))
    for sign in (1.0, -1.0):
        ramp = np.maximum(sign * v, 0.0)
        norm = np.sqrt(np.mean(ramp**2))
        if norm > 0:
            g += sign * ramp / norm
    if not (np.any(v > 0) and np.any(v < 0)) and np.any(atom):
        g[atom] -= np.mean(g) / np.mean(atom)
    return g


def certify(code: AffineCode, tol: float = 1e-9) -> Certificate:
    """Check a code's optimality over all nonnegative codes; raise :class:`CertificateError`.

    Checks: ``z ≥ 0``, the readout ``wᵀz + b = I``, and that ``g`` (:func:`dual_vector`) is
    dual feasible (``‖g±‖ ≤ 1``, ``⟨g,1⟩ = 0``) with relative gap ``(cost − 2√λ⟨g,I⟩)/cost``
    all within ``tol``.  Every check is exact: ``sup_{y≥0}⟨g,y⟩/‖y‖ = ‖g₊‖`` needs no search."""
    x = code.samples
    scale = max(1.0, float(np.abs(x).max()))
    z = code.tunings.reshape(-1, x.size)
    recon = code.weights @ z + code.bias if z.size else np.full_like(x, code.bias)
    g = dual_vector(x, code.bias)
    cert = Certificate(
        cost=code.cost,
        bound=float(2 * np.sqrt(code.lam) * np.mean(g * x)),
        readout_residual=float(np.max(np.abs(recon - x)) / scale),
        negativity=float(max(0.0, -z.min(initial=0.0)) / scale),
        bias_violation=float(abs(np.mean(g))),
        norm_violation=float(max(0.0, np.sqrt(np.mean(np.maximum(g, 0) ** 2)) - 1,
                                 np.sqrt(np.mean(np.minimum(g, 0) ** 2)) - 1)),
    )
    if not cert.violation <= tol:
        raise CertificateError(
            f"affine ON/OFF code not certified: gap {cert.gap:.3e}, readout "
            f"{cert.readout_residual:.3e}, negativity {cert.negativity:.3e}, ⟨g,1⟩ "
            f"{cert.bias_violation:.3e}, ‖g±‖−1 {cert.norm_violation:.3e} (tol {tol:g})")
    return cert


# ---------------------------------------------------------------- thresholds and Q-space


def population_threshold(law: str, shape: float | None = None) -> float:
    """``p₀* = r/(1 + r)`` with ``r = m₁²/m₂`` of the slab."""
    m1, m2 = slab_moments(law, shape)
    r = m1**2 / m2
    return float(r / (1.0 + r))


def sample_threshold(slab: np.ndarray) -> float:
    """Root in ``p₀`` of ``F'_+(0) = √p₀ − √(1−p₀) m̂₁/√m̂₂`` for ``I = p₀δ₀ + (1−p₀)·slab``
    (slab samples equally weighted): ``p₀ = r̂/(1+r̂)``, ``r̂ = m̂₁²/m̂₂``; ``F'_+(0)`` is
    increasing in ``p₀``, so this root is unique."""
    s = np.asarray(slab, float)
    if s.size < 2 or np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError("slab samples must be finite and > 0 (at least 2)")
    r = np.mean(s) ** 2 / np.mean(s**2)
    return float(r / (1.0 + r))


def off_vanishes_predicted(x: np.ndarray) -> bool:
    """For ``I ≥ 0``: the OFF channel vanishes iff ``Pr(I = min I) ≥ ⟨v⟩²/⟨v²⟩``, ``v = I − min I``
    (``Pr(I = 0) ≥ ⟨I⟩²/⟨I²⟩`` when ``min I = 0``)."""
    x = validate_samples(x)
    v = x - x[0]
    return bool(np.mean(v == 0) >= np.mean(v) ** 2 / np.mean(v**2))


def q_space_dnn_value(x: np.ndarray, lam: float,
                      settings: SolverSettings | None = None) -> float:
    """``min_{Q, c} Tr(Q)/T + λ (I − c1)ᵀ Q⁺ (I − c1)`` over doubly nonnegative ``Q`` (``Q ⪰ 0``,
    ``Q ≥ 0``): a lower bound on the optimum over completely positive ``Q``.

    The readout with a free bias ``c`` is the Schur complement ``[[Q, I − c1], [·ᵀ, s]] ⪰ 0``;
    minimising over ``c`` gives ``Tr(Ĩ (PQP)⁺ Ĩᵀ)`` (:func:`menu.readout_energy_with_bias`).
    The explicit-bias form is used because on these rank-2, mostly-zero optima CLARABEL ends
    the ``PQP`` form ``optimal_inaccurate`` while this one solves to ``optimal``."""
    x = validate_samples(x)
    t = x.size
    sim = menu.psd_similarity(t)
    c, s = cp.Variable(), cp.Variable((1, 1))
    y = cp.reshape(x - c, (t, 1), order="F")
    lmi = cp.bmat([[sim.Q, y], [y.T, s]])
    objective = menu.activity_energy(sim) / t + _positive(lam, "lam") * s[0, 0]
    constraints = [0.5 * (lmi + lmi.T) >> 0, *menu.outer_nonnegativity(sim)]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    return solve_checked(problem, settings or SolverSettings("CLARABEL")).value
