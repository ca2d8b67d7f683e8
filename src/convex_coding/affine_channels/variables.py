r"""Encoded variables of the paper's Fig. 3 model, as finite distributions.

A scalar variable ``I`` is a finite distribution: sorted values ``x_t`` with probabilities
``p_t`` (``Σ_t p_t = 1``).  Inner products and norms are those of ``L²(p)``:
``⟨f, g⟩ = Σ_t p_t f_t g_t``, ``‖f‖ = √⟨f, f⟩``.  Every law below is discretised by
*quantile-cell means*: the probability is split into ``n`` cells of equal mass and each cell
is represented by its conditional mean, so the discrete mean equals the law's mean exactly and
every value is finite.  A point mass (the sparse variable's ``Pr(I = 0) = p₀``) is kept as one
value of weight ``p₀``, so ``p₀`` is continuous, not rounded to a multiple of ``1/T``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from .. import quantiles

#: Slab laws on (0, ∞) (the sparse variable's nonzero part); ``shape`` is k or σ.
SLAB_LAWS: tuple[str, ...] = ("half_normal", "exponential", "uniform", "gamma", "lognormal")
#: Laws symmetric about 0 (the dense control).
SYMMETRIC_LAWS: tuple[str, ...] = ("gaussian", "laplace", "uniform")
#: Shaped slab laws: the name of their shape parameter.
SHAPED = {"gamma": "k", "lognormal": "σ"}
MIN_SAMPLES = 10


@dataclass(frozen=True)
class Variable:
    """``I`` takes value ``values[t]`` with probability ``weights[t]`` (values increasing)."""

    values: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        x, p = np.asarray(self.values, float), np.asarray(self.weights, float)
        if x.ndim != 1 or x.shape != p.shape or x.size < 2:
            raise ValueError("a variable needs ≥ 2 values and one weight per value")
        if not (np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)):
            raise ValueError("variable values must be finite and strictly increasing")
        if not (np.all(p > 0) and abs(p.sum() - 1.0) <= 1e-12):
            raise ValueError("variable weights must be positive and sum to 1")
        object.__setattr__(self, "values", x)
        object.__setattr__(self, "weights", p / p.sum())

    @property
    def size(self) -> int:
        return int(self.values.size)

    def mean(self, f: np.ndarray) -> float:
        """``⟨f⟩ = Σ_t p_t f_t``."""
        return float(self.weights @ f)

    def norm(self, f: np.ndarray) -> float:
        """``‖f‖ = √⟨f²⟩``."""
        return float(np.sqrt(self.weights @ np.square(f)))

    @property
    def p_min(self) -> float:
        """``Pr(I = min I)``: the mass of the lowest value (``Pr(I = 0)`` for a sparse variable)."""
        return float(self.weights[0])

    @property
    def ratio(self) -> float:
        """``⟨v⟩²/⟨v²⟩`` with ``v = I − min I`` (``⟨I⟩²/⟨I²⟩`` when ``min I = 0``)."""
        v = self.values - self.values[0]
        return float(self.mean(v) ** 2 / self.mean(v**2))


# ---------------------------------------------------------------- laws


def _positive(shape: float | None, what: str) -> float:
    if shape is None or not np.isfinite(shape) or shape <= 0:
        raise ValueError(f"{what} must be a finite positive number, got {shape!r}")
    return float(shape)


def _slab_law(law: str, shape: float | None) -> tuple[Callable, Callable, float, float]:
    """(quantile function, partial mean ``M(x) = E[X 1{X ≤ x}]``, m₁, m₂) of a slab law."""
    if law == "half_normal":
        c = np.sqrt(2.0 / np.pi)
        return quantiles.halfnorm_ppf, lambda x: c * -np.expm1(-0.5 * x**2), c, 1.0
    if law == "exponential":
        return quantiles.expon_ppf, lambda x: 1.0 - np.exp(-x) * (1.0 + x), 1.0, 2.0
    if law == "uniform":
        return (lambda u: u), lambda x: 0.5 * np.minimum(x, 1.0) ** 2, 0.5, 1.0 / 3.0
    if law == "gamma":
        k = _positive(shape, "gamma shape k")
        return (lambda u: quantiles.gamma_ppf(u, k),
                lambda x: k * special.gammainc(k + 1.0, x), k, k * (k + 1.0))
    if law == "lognormal":
        s = _positive(shape, "lognormal sigma")
        m1 = float(np.exp(0.5 * s**2))
        return (lambda u: quantiles.lognorm_ppf(u, s),
                lambda x: m1 * special.ndtr((np.log(x) - s**2) / s), m1,
                float(np.exp(2.0 * s**2)))
    raise ValueError(f"slab law {law!r} is unknown; allowed: {', '.join(SLAB_LAWS)}")


def _cell_means(ppf: Callable, partial: Callable, mean: float, n: int) -> np.ndarray:
    """``x_j = n ∫_{(j−1)/n}^{j/n} Q(u) du = n (M(q_j) − M(q_{j−1}))`` for ``j = 1..n``."""
    inner = partial(ppf(np.arange(1, n) / n))
    return n * np.diff(np.concatenate([[0.0], inner, [mean]]))


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < MIN_SAMPLES:
        raise ValueError(f"sample count {n!r} is invalid; allowed: integer ≥ {MIN_SAMPLES}")
    return int(n)


def slab_moments(law: str, shape: float | None = None) -> tuple[float, float]:
    """Population moments ``(m₁, m₂)`` of a slab law."""
    _, _, m1, m2 = _slab_law(law, shape)
    return float(m1), float(m2)


def slab_samples(law: str, n: int, shape: float | None = None) -> np.ndarray:
    """``n`` increasing quantile-cell means of a slab law (all > 0)."""
    return _cell_means(*_slab_law(law, shape)[:3], _count(n))


def sparse_variable(law: str, p0: float, n: int, shape: float | None = None) -> Variable:
    """``I = 0`` with probability ``p₀``, else the slab (``n`` equal-mass cells)."""
    if not (np.isfinite(p0) and 0.0 <= p0 < 1.0):
        raise ValueError(f"p0={p0!r} is invalid; allowed: [0, 1)")
    slab = slab_samples(law, n, shape)
    if p0 == 0.0:
        return Variable(slab, np.full(slab.size, 1.0 / slab.size))
    return Variable(np.r_[0.0, slab], np.r_[p0, np.full(slab.size, (1.0 - p0) / slab.size)])


def symmetric_variable(law: str, n: int) -> Variable:
    """``n`` equal-mass cells of a law symmetric about 0, made exactly antisymmetric
    (``x = −x[::-1]``): ``gaussian`` N(0,1), ``laplace`` (scale 1), ``uniform`` on [−1, 1]."""
    n = _count(n)
    laws = {  # (quantile function, partial mean E[X 1{X ≤ x}])
        "gaussian": (quantiles.norm_ppf, lambda x: -quantiles.norm_pdf(x)),
        "laplace": (quantiles.laplace_ppf, lambda x: np.where(
            x < 0, 0.5 * np.exp(np.minimum(x, 0)) * (x - 1), -0.5 * np.exp(-np.abs(x)) * (x + 1))),
        "uniform": (lambda u: 2 * u - 1, lambda x: 0.25 * (x**2 - 1)),
    }
    if law not in laws:
        raise ValueError(f"symmetric law {law!r} is unknown; allowed: {', '.join(SYMMETRIC_LAWS)}")
    x = _cell_means(*laws[law], 0.0, n)
    return Variable(0.5 * (x - x[::-1]), np.full(n, 1.0 / n))


def skewed_variable(law: str, n: int, shape: float | None = None) -> Variable:
    """A two-signed skewed variable: a slab law centred at its mean, ``I = X − ⟨X⟩``."""
    x = slab_samples(law, n, shape)
    return Variable(x - slab_moments(law, shape)[0], np.full(x.size, 1.0 / x.size))


# ---------------------------------------------------------------- data


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


def compress(values: np.ndarray, weights: np.ndarray | None, n_cells: int) -> Variable:
    """The distribution of ``values`` (probabilities ``weights``, default equal) as its atom at
    the minimum (all mass exactly at ``min``) plus ``n_cells`` cells of nearly equal mass
    above it, each at its conditional mean.  The mean and ``Pr(I = min I)`` are exact; the
    second moment drops by the within-cell variance (reported by the callers)."""
    x = np.asarray(values, float)
    p = np.full(x.size, 1.0 / x.size) if weights is None else np.asarray(weights, float)
    order = np.argsort(x, kind="stable")
    x, p = x[order], p[order] / p.sum()
    at_min = x == x[0]
    rest_x, rest_p = x[~at_min], p[~at_min]
    if rest_x.size == 0:
        raise ValueError("the variable is constant: there is no variable to encode")
    # cell of each value: by the cumulative mass at its midpoint, so cells have equal mass
    mid = (np.cumsum(rest_p) - 0.5 * rest_p) / rest_p.sum()
    cell = np.minimum((mid * _count(n_cells)).astype(int), n_cells - 1)
    mass = np.bincount(cell, rest_p, n_cells)
    keep = mass > 0
    means = np.bincount(cell, rest_p * rest_x, n_cells)[keep] / mass[keep]
    means, tie = np.unique(means, return_inverse=True)  # ties across a cell edge merge
    mass = np.bincount(tie, mass[keep])
    if p[at_min].sum() == 0:  # x[0] is always at the minimum; its mass may be 0
        return Variable(means, mass / mass.sum())
    return Variable(np.r_[x[0], means], np.r_[p[at_min].sum(), mass])


def samples_variable(values: np.ndarray, n_cells: int) -> Variable:
    """A user's samples (validated: finite, ≥ 10 values, not constant), compressed."""
    return compress(validate_samples(values), None, n_cells)
