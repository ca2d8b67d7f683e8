r"""The theorem's verdict: the modular code, its ``Λ`` and the directional minimum.

The modular code (one neuron per source axis) is optimal iff
``φ(ω) = m(ω)² − ωᵀΛω ≥ 0`` for every unit ``ω`` at its own ``Λ``, and the unique optimum
iff equality holds only on its axes.  ``m`` is piecewise linear (one piece per hull
vertex of the sources), so ``φ`` is minimised exactly piece by piece
(:func:`minimise_reduced_cost`); direction grids give a numerical cross-check.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from .problem import (
    AutoencoderProblem,
    LinearPieces,
    bias_requirement,
    lambda_matrix,
    linear_pieces,
    population_loss,
    reduced_cost,
    unique_directions,
)

# ------------------------------------------------------------------- modular code


@dataclass(frozen=True)
class ModularCode:
    """The closed-form modular code: one neuron per source along ``σ_i e_i``."""

    signs: np.ndarray  # σ_i
    bias: np.ndarray  # m_i = m(σ_i e_i)
    weights: np.ndarray  # μ_i
    lam: np.ndarray  # Λ at H* = diag(μ)
    loss: float

    @property
    def directions(self) -> np.ndarray:
        return np.diag(self.signs.astype(float))


def modular_code(problem: AutoencoderProblem) -> ModularCode:
    """``μ_i = sqrt(λ_R (Σ_A)_ii / (m_i² + (Σ_s)_ii + λ_W (Σ_A⁻¹)_ii))``, ``H* = diag μ``."""
    d = problem.dim
    axes = np.vstack([np.eye(d), -np.eye(d)])
    m_axes = bias_requirement(problem, axes).reshape(2, d)
    signs = np.where(m_axes[0] <= m_axes[1], 1.0, -1.0)
    m = np.minimum(m_axes[0], m_axes[1])
    denom = m**2 + np.diag(problem.neuron_quadratic)
    mu = np.sqrt(problem.lambda_r * np.diag(problem.sigma_a) / denom)
    lam = lambda_matrix(problem, np.diag(mu))
    loss = population_loss(problem, np.diag(signs), mu)
    return ModularCode(signs=signs, bias=m, weights=mu, lam=lam, loss=loss)


# --------------------------------------------------------------------- minimisers


@dataclass(frozen=True)
class DirectionalMinimum:
    """Exact minima of ``r(ω) = m(ω)² − ωᵀΛω`` over unit ``ω``, piece by piece."""

    value: float  # global minimum
    direction: np.ndarray  # its argmin
    piece_values: np.ndarray  # minimum on each linear piece
    piece_directions: np.ndarray  # argmin on each piece (rows)


def minimise_reduced_cost(
    problem: AutoencoderProblem, lam: np.ndarray, pieces: LinearPieces | None = None
) -> DirectionalMinimum:
    """Exact ``min_ω m(ω)² − ωᵀΛω`` over the unit sphere.

    On piece ``p`` with rays ``R`` and vertex ``v``, ``ω = Rx/‖Rx‖`` with ``x ≥ 0`` and
    ``r = xᵀRᵀ(vvᵀ − Λ)Rx / xᵀRᵀRx``: a Rayleigh quotient on the nonnegative orthant.
    Its minimum is a generalised eigenvalue of a principal sub-pencil whose eigenvector
    is positive (KKT on the face that holds the minimiser), so enumerating the
    ``2^d − 1`` faces is exact.  Vectorised over pieces.
    """
    pieces = linear_pieces(problem) if pieces is None else pieces
    r, v = pieces.rays, pieces.vertices
    quad = np.einsum("pa,pb->pab", v, v) - lam[None]
    a = np.einsum("pai,pab,pbj->pij", r, quad, r)  # Rᵀ(vvᵀ − Λ)R
    g = np.einsum("pai,paj->pij", r, r)  # RᵀR
    n_p, d = len(pieces), problem.dim
    best = np.full(n_p, np.inf)
    best_x = np.zeros((n_p, d))
    for k in range(1, d + 1):
        for face in itertools.combinations(range(d), k):
            idx = np.array(face)
            a_f = a[:, idx[:, None], idx[None, :]]
            g_f = g[:, idx[:, None], idx[None, :]]
            chol_inv = np.linalg.inv(np.linalg.cholesky(g_f))
            vals, vecs = np.linalg.eigh(chol_inv @ a_f @ np.swapaxes(chol_inv, 1, 2))
            xs = np.swapaxes(chol_inv, 1, 2) @ vecs  # columns: generalised eigenvectors
            xs = xs * np.where(xs.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
            scale = np.abs(xs).max(axis=1, keepdims=True)
            positive = np.all(xs >= -1e-12 * scale, axis=1)  # (P, k)
            vals = np.where(positive, vals, np.inf)
            j = np.argmin(vals, axis=1)
            cand = vals[np.arange(n_p), j]
            better = cand < best
            best[better] = cand[better]
            x_full = np.zeros((n_p, d))
            x_full[:, idx] = np.clip(xs[np.arange(n_p), :, j], 0.0, None)
            best_x[better] = x_full[better]
    dirs = np.einsum("pai,pi->pa", r, best_x)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    i = int(np.argmin(best))
    return DirectionalMinimum(
        value=float(best[i]), direction=dirs[i], piece_values=best, piece_directions=dirs
    )


def circle_directions(n: int) -> np.ndarray:
    """``n`` equally spaced unit vectors in 2D (axes included when 4 | n)."""
    theta = 2 * np.pi * np.arange(n) / n
    return np.column_stack([np.cos(theta), np.sin(theta)])


def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` near-uniform unit vectors on S² (Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    r = np.sqrt(1 - z**2)
    phi = np.pi * (1 + 5**0.5) * i
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


@functools.cache
def direction_grid(dim: int, n: int) -> np.ndarray:
    """A uniform grid of ``n`` unit directions plus the axes ``±e_i`` (d = 2 or 3).

    Built once per ``(dim, n)`` and returned read-only (every certificate reuses it).
    """
    if dim == 2:
        base = circle_directions(n)
    elif dim == 3:
        base = fibonacci_sphere(n)
    else:
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    grid = unique_directions(np.vstack([np.vstack([np.eye(dim), -np.eye(dim)]), base]))
    grid.flags.writeable = False
    return grid


def grid_minimum(
    problem: AutoencoderProblem, lam: np.ndarray, n_grid: int
) -> tuple[float, np.ndarray]:
    """``min r(ω)`` on a uniform grid: an independent check of the exact minimum."""
    grid = direction_grid(problem.dim, n_grid)
    vals = reduced_cost(problem, lam, grid)
    i = int(np.argmin(vals))
    return float(vals[i]), grid[i]


# ------------------------------------------------------------------------ theory


@dataclass(frozen=True)
class TheoryVerdict:
    """The theorem's prediction for one instance."""

    modular: bool  # φ ≥ 0 everywhere: the modular code is optimal
    margin: float  # min_ω φ(ω) / max_i m_i²  (0 at the axes when modular)
    worst_direction: np.ndarray
    off_axis_margin: float  # min φ / max m_i² over piece minima away from the axes
    lambda_psd: bool  # Λ ⪰ 0, so the ellipsoid picture applies
    ellipsoid_inside: bool | None  # exact facet test (None when Λ is not PSD)
    facet_slack: float | None  # min over facets of h − sqrt(nᵀΛn), relative
    code: ModularCode = field(repr=False)


def theory_verdict(problem: AutoencoderProblem, tol: float = 1e-9) -> TheoryVerdict:
    """Apply Theorem 1: the modular code is optimal iff ``φ(ω) = m(ω)² − ωᵀΛω ≥ 0``.

    ``φ`` is minimised exactly (piecewise Rayleigh quotients).  Margins are relative to
    ``max_i m_i²``; ``tol`` is the relative tolerance of the verdict.
    """
    code = modular_code(problem)
    found = minimise_reduced_cost(problem, code.lam)
    scale = max(float(np.max(code.bias**2)), 1e-300)
    axis_angle = _axis_angle_deg(found.piece_directions)
    away = axis_angle > 1.0
    off_axis = float(found.piece_values[away].min()) / scale if away.any() else np.inf
    lam_psd = bool(np.linalg.eigvalsh(code.lam).min() >= -tol * scale)
    inside, slack = (None, None)
    if lam_psd:
        inside, slack = ellipsoid_facet_test(problem, code.lam, tol)
    return TheoryVerdict(
        modular=bool(found.value >= -tol * scale),
        margin=found.value / scale,
        worst_direction=found.direction,
        off_axis_margin=off_axis,
        lambda_psd=lam_psd,
        ellipsoid_inside=inside,
        facet_slack=slack,
        code=code,
    )


def ellipsoid_facet_test(
    problem: AutoencoderProblem, lam: np.ndarray, tol: float = 1e-9
) -> tuple[bool, float]:
    """Exact test that ``{Λ^{1/2} v : ‖v‖ ≤ 1} ⊆ conv{s̃_t}`` (needs ``Λ ⪰ 0``).

    An origin-symmetric ellipsoid lies in a polytope iff its support function is below
    every facet offset: ``sqrt(nᵀΛn) ≤ h`` for each facet ``n·s ≤ h``.
    Returns ``(inside, min_facet (h − sqrt(nᵀΛn)) / max h)``.
    """
    normals, offsets = problem.hull_facets
    support = np.sqrt(np.maximum(0.0, np.einsum("ka,ab,kb->k", normals, lam, normals)))
    scale = float(np.max(offsets))
    slack = float((offsets - support).min()) / scale
    return bool(slack >= -tol), slack


def _axis_angle_deg(directions: np.ndarray) -> np.ndarray:
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.abs(unit).max(axis=1), -1.0, 1.0)))
