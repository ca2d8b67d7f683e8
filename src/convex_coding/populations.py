r"""Tuning-curve populations on a 1-D track: place cells and grid-cell modules.

Every function returns ``Z ∈ R^{N×T}`` (rows are tuning curves of the ``N`` neurons,
columns the population vectors ``z_t`` at the ``T`` track positions ``x_t``) and is
pure (arrays in, arrays out).

Field shape (compact support, so every tuning has zeros):
``b(u; w) = ½(1 + cos(π u / w))`` for ``|u| < w`` and ``0`` otherwise (a raised cosine
of support half-width ``w``).  The contrast without zeros is the Gaussian
``g(u; σ) = exp(−u²/2σ²)``: every tuning is strictly positive, so ``(I + εK)Z ≥ 0`` for
every skew ``K`` and small ``ε``: every small rotation keeps the tunings nonnegative.
"""

from __future__ import annotations

import numpy as np


def track(n_positions: int, length: float) -> np.ndarray:
    """``T`` evenly spaced positions ``x_t = (t + ½)·L/T`` on ``[0, L]``."""
    if n_positions < 1 or not length > 0:
        raise ValueError("track needs n_positions >= 1 and length > 0")
    return (np.arange(n_positions) + 0.5) * (length / n_positions)


def raised_cosine(u: np.ndarray, half_width: float | np.ndarray) -> np.ndarray:
    """``½(1 + cos(πu/w))`` on ``|u| < w``, zero outside (peak 1, support ``2w``)."""
    w = np.asarray(half_width, dtype=float)
    inside = np.abs(u) < w
    return np.where(inside, 0.5 * (1.0 + np.cos(np.pi * u / np.where(w > 0, w, 1.0))), 0.0)


def place_cells(x: np.ndarray, centres: np.ndarray, half_widths: np.ndarray,
                shape: str = "raised_cosine") -> np.ndarray:
    """Place fields ``z_i(x) = b(x − c_i; w_i)`` (raised cosine) or ``g(x − c_i; w_i)``
    (Gaussian, no zeros).  Fields near the track ends are clipped by the track."""
    u = x[None, :] - np.asarray(centres, dtype=float)[:, None]
    w = np.asarray(half_widths, dtype=float)[:, None] * np.ones_like(u)
    if shape == "raised_cosine":
        return raised_cosine(u, w)
    if shape == "gaussian":
        return np.exp(-0.5 * (u / w) ** 2)
    raise ValueError(f"shape={shape!r} is invalid; allowed: raised_cosine, gaussian")


def place_population(n_cells: int, overlap: float, n_positions: int = 240,
                     broad_every: int = 0, broad_factor: float = 2.5,
                     shape: str = "raised_cosine", margin: float = 1.0) -> tuple[
                         np.ndarray, np.ndarray]:
    """``n_cells`` fields with spacing 1 on a track of length ``n_cells − 1 + 2·margin``.

    ``overlap = w/s`` is the support half-width over the spacing: ``overlap ≤ ½`` gives
    disjoint supports (separated place cells), larger values overlapping ones.  Every
    ``broad_every``-th cell (``0``: none) has a broad field of half-width
    ``broad_factor·w`` that covers its neighbours' fields once ``broad_factor·w ≥ 1 + w``
    (nesting: ``supp z_j ⊆ supp z_i``).  Returns ``(x, Z)``.
    """
    centres = margin + np.arange(n_cells, dtype=float)
    widths = np.full(n_cells, float(overlap))
    if broad_every > 0:
        widths[broad_every // 2::broad_every] *= broad_factor
    x = track(n_positions, n_cells - 1 + 2 * margin)
    return x, place_cells(x, centres, widths, shape)


def grid_module(x: np.ndarray, period: float, n_phases: int, half_width: float) -> np.ndarray:
    """One module: ``n_phases`` cells with phases ``φ_k = k·P/n_phases`` and periodic fields
    ``z_k(x) = b(((x − φ_k + P/2) mod P) − P/2; w)`` (rectified, zero between fields)."""
    phases = np.arange(n_phases) * period / n_phases
    u = np.mod(x[None, :] - phases[:, None] + 0.5 * period, period) - 0.5 * period
    return raised_cosine(u, half_width)


def grid_population(ratio: float, n_periods: float = 12.0, n_phases: int = 3,
                    half_width: float = 0.12, n_positions: int = 600,
                    scale_width: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Two modules with periods ``P₁ = 1`` and ``P₂ = r`` on a track of ``n_periods·P₂``.

    ``half_width`` is the support half-width of the fine module's fields (in units of
    ``P₁``); the coarse module uses the same absolute width, or ``r·half_width`` with
    ``scale_width``.  With an integer ``r`` the coarse phases ``φ_k = k·r/n`` are, modulo
    ``P₁``, fine phases whenever ``n`` divides ``k·r·…``; a coarse field then always sits
    on a fine field and, with equal widths, ``supp z_coarse ⊆ supp z_fine`` (nesting).
    Returns ``(x, Z)`` with the fine module's rows first.
    """
    if not ratio > 0 or n_phases < 1 or not 0 < half_width < 0.5:
        raise ValueError("grid_population needs ratio > 0, n_phases >= 1, 0 < w < 1/2")
    x = track(n_positions, n_periods * ratio)
    fine = grid_module(x, 1.0, n_phases, half_width)
    coarse = grid_module(x, ratio, n_phases, half_width * (ratio if scale_width else 1.0))
    return x, np.vstack([fine, coarse])
