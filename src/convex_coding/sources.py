"""Source sets and mixing matrices for the identifiability experiment.

All generators are deterministic functions of their arguments and a
``numpy.random.Generator``; sources are returned as ``d × T`` arrays.
"""

from __future__ import annotations

import itertools

import numpy as np

DATASET_KINDS = ("grid", "grid_cut", "uniform", "uniform_corners")
MIXING_KINDS = ("orthogonal", "general")


def box_scales(dim: int, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Half-widths of the source box, ``U[1 − spread, 1 + spread]`` per source."""
    return rng.uniform(1.0 - spread, 1.0 + spread, size=dim)


def grid_sources(dim: int, points_per_axis: int, scales: np.ndarray) -> np.ndarray:
    """Full grid on the box ``Π_i [−a_i, a_i]``."""
    axis = np.linspace(-1.0, 1.0, points_per_axis)
    pts = np.array(list(itertools.product(axis, repeat=dim))).T
    return pts * scales[:, None]


def remove_corner(
    sources: np.ndarray, scales: np.ndarray, corner: np.ndarray, depth: float
) -> np.ndarray:
    """Remove the points beyond the plane ``Σ_i σ_i s_i / a_i ≤ d − depth``.

    ``corner`` holds the signs ``σ`` of the corner cut away; ``depth`` ∈ (0, d) is how
    far (in units of the box half-widths) the plane moves in from that corner.
    """
    dim = sources.shape[0]
    level = (corner[:, None] * sources / scales[:, None]).sum(axis=0)
    keep = level <= dim - depth + 1e-12
    return sources[:, keep]


def uniform_sources(
    dim: int, n_points: int, scales: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``n_points`` independent uniform samples in the box."""
    return rng.uniform(-1.0, 1.0, size=(dim, n_points)) * scales[:, None]


def box_corners(scales: np.ndarray) -> np.ndarray:
    """The ``2^d`` corners of the box."""
    dim = len(scales)
    return np.array(list(itertools.product((-1.0, 1.0), repeat=dim))).T * scales[:, None]


def make_sources(
    kind: str,
    dim: int,
    rng: np.random.Generator,
    *,
    points_per_axis: int,
    n_points: int,
    scale_spread: float,
    cut_depth: tuple[float, float],
    cut_corner: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one source set of the named kind (see :data:`DATASET_KINDS`)."""
    scales = box_scales(dim, rng, scale_spread)
    if kind == "grid":
        return grid_sources(dim, points_per_axis, scales)
    if kind == "grid_cut":
        corner = rng.choice([-1.0, 1.0], size=dim) if cut_corner is None else cut_corner
        depth = rng.uniform(*cut_depth)
        return remove_corner(grid_sources(dim, points_per_axis, scales), scales, corner, depth)
    if kind == "uniform":
        return uniform_sources(dim, n_points, scales, rng)
    if kind == "uniform_corners":
        pts = uniform_sources(dim, n_points, scales, rng)
        return np.hstack([pts, box_corners(scales)])
    raise ValueError(f"unknown dataset kind {kind!r}; allowed: {', '.join(DATASET_KINDS)}")


def random_orthonormal_columns(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A ``rows × cols`` matrix with orthonormal columns (Haar distributed)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def make_mixing(
    kind: str,
    dim: int,
    out_dim: int,
    rng: np.random.Generator,
    *,
    max_correlation: float,
    gain_spread: float,
    correlation: float | None = None,
) -> np.ndarray:
    """Mixing matrix ``A`` (``out_dim × dim``).

    ``orthogonal``: ``AᵀA = I``.  ``general``: ``AᵀA = G C G`` with gains
    ``G = diag(g)``, ``g_i ∈ U[1 − spread, 1 + spread]``, and a correlation matrix ``C``
    whose off-diagonal entries are ``U[−ρ_max, ρ_max]`` (resampled until positive
    definite) or all equal to ``correlation`` when given, embedded in ``out_dim``
    dimensions by a random isometry.
    """
    if out_dim < dim:
        raise ValueError(f"mixing.out_dim={out_dim} must be ≥ the number of sources {dim}")
    frame = random_orthonormal_columns(out_dim, dim, rng)
    if kind == "orthogonal":
        return frame
    if kind == "general":
        gains = rng.uniform(1.0 - gain_spread, 1.0 + gain_spread, size=dim)
        while True:
            corr = np.eye(dim)
            iu = np.triu_indices(dim, 1)
            corr[iu] = (
                rng.uniform(-max_correlation, max_correlation, size=len(iu[0]))
                if correlation is None
                else correlation
            )
            corr = corr + np.triu(corr, 1).T
            if np.linalg.eigvalsh(corr).min() > 0.05:
                break
            if correlation is not None:
                raise ValueError(f"mixing.correlation={correlation} is not positive definite")
        gram = gains[:, None] * corr * gains[None, :]
        return frame @ np.linalg.cholesky(gram).T
    raise ValueError(f"unknown mixing kind {kind!r}; allowed: {', '.join(MIXING_KINDS)}")
