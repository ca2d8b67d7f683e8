r"""Scalar stimuli and the Treves–Rolls lifetime density.

Stimulus samples are deterministic quantiles ``F⁻¹((t − ½)/T)`` of the named
distribution, centred; the lifetime density of a tuning ``y ≥ 0`` is
``a(y) = (Σ_t y_t)² / (T Σ_t y_t²) ∈ [1/T, 1]``, and the predicted threshold for
symmetric ``x`` is the density of its ramps, ``ρ* = (E|x|)² / (2E[x²])``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import quantiles

STIMULUS_KINDS = ("uniform", "gaussian", "laplace", "spike_and_slab", "gen_gaussian")

#: kinds that need ``param`` (spike_and_slab: slab probability p ∈ (0, 1];
#: gen_gaussian: shape β > 0)
STIMULUS_PARAMS = ("spike_and_slab", "gen_gaussian")


# ------------------------------------------------------------------------- stimuli


def quantile_samples(ppf: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """``n`` deterministic samples ``x_t = F⁻¹((t + ½)/n)`` of a symmetric law.

    The samples are symmetrised exactly, ``x_t = (F⁻¹(u_t) − F⁻¹(1 − u_t))/2``, so that
    ``x`` is centred and ``−x`` is a permutation of ``x`` up to rounding.
    """
    u = (np.arange(n) + 0.5) / n
    q = np.asarray(ppf(u), dtype=float)
    x = 0.5 * (q - q[::-1])
    return x - x.mean()


def stimulus_samples(kind: str, n: int, param: float | None = None) -> np.ndarray:
    """Quantile samples of a named symmetric law (centred).

    ``uniform`` on [−1, 1]; ``gaussian`` and ``laplace`` standard; ``spike_and_slab``:
    a standard normal with probability ``p = param``, else exactly 0 (smaller ``p`` is
    sparser, ``ρ* = p/π``); ``gen_gaussian``: density ∝ ``exp(−|x|^β)``, ``β = param``
    (``β = 1`` Laplace, ``β = 2`` Gaussian, ``β → ∞`` uniform).
    """
    if kind not in STIMULUS_KINDS:
        raise ValueError(f"unknown stimulus kind {kind!r}; allowed: {', '.join(STIMULUS_KINDS)}")
    if kind == "spike_and_slab" and not (param is not None and 0 < float(param) <= 1):
        raise ValueError(f"spike_and_slab needs a slab probability in (0, 1], got {param!r}")
    if kind == "gen_gaussian" and not (param is not None and 0 < float(param) < np.inf):
        raise ValueError(f"gen_gaussian needs a shape beta > 0, got {param!r}")
    if kind == "uniform":
        return quantile_samples(lambda u: 2 * u - 1, n)
    if kind == "gaussian":
        return quantile_samples(quantiles.norm_ppf, n)
    if kind == "laplace":
        return quantile_samples(quantiles.laplace_ppf, n)
    if kind == "gen_gaussian":
        return quantile_samples(lambda u: quantiles.gennorm_ppf(u, float(param)), n)
    p = float(param)

    def spike_slab_ppf(u: np.ndarray) -> np.ndarray:
        x = np.zeros_like(u)
        lo, hi = u < p / 2, u > 1 - p / 2
        x[lo] = quantiles.norm_ppf(u[lo] / p)
        x[hi] = quantiles.norm_ppf((u[hi] - (1 - p)) / p)
        return x

    return quantile_samples(spike_slab_ppf, n)


def lifetime_density(y: np.ndarray) -> np.ndarray:
    """Treves–Rolls density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)`` of each column of ``y``."""
    y = np.asarray(y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    sq = np.sum(y**2, axis=0)
    return np.sum(y, axis=0) ** 2 / (y.shape[0] * np.where(sq > 0, sq, np.inf))


def predicted_threshold(x: np.ndarray) -> float:
    """``ρ* = (E|x|)² / (2E[x²])`` from the samples; ``= a(relu(±x))`` for symmetric x."""
    return float(np.mean(np.abs(x)) ** 2 / (2 * np.mean(x**2)))


def is_symmetric(x: np.ndarray, tol: float = 1e-12) -> bool:
    """Whether ``−x`` is a permutation of ``x`` (to ``tol`` relative)."""
    xs = np.sort(x)
    return bool(np.allclose(xs, -xs[::-1], atol=tol * max(1.0, np.abs(x).max()), rtol=0))
