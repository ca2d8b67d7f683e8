r"""The affine autoencoder of Theorem 1 and its costs.

:class:`AutoencoderProblem` holds whitened sources ``s̃_t``, the data covariance ``Σ_A`` and
the weights ``λ_W``, ``λ_R``.  A neuron of unit source-space direction ``ω`` costs
``c(ω) = ωᵀ(Σ_s + λ_W Σ_A⁻¹)ω + m(ω)²`` with bias requirement
``m(ω) = max(0, −min_t ω·s̃_t)``; a population of weights ``μ`` has
``H = Σ_i μ_i ω_i ω_iᵀ``, loss ``L(μ) = Σ_i μ_i c(ω_i) + λ_R Tr(Σ_A H⁻¹)``, dual matrix
``Λ(H) = λ_R H⁻¹Σ_A H⁻¹ − Σ_s − λ_W Σ_A⁻¹`` and reduced cost
``r(ω) = m(ω)² − ωᵀΛ(H)ω``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import ConvexHull

# --------------------------------------------------------------------------- problem


@dataclass(frozen=True, eq=False)
class AutoencoderProblem:
    """Data and weight costs of one nonnegative affine autoencoder instance.

    ``sources`` is ``d × T`` (``s_t`` in columns), ``mixing`` is ``A`` (``D × d``).
    """

    sources: np.ndarray
    mixing: np.ndarray
    lambda_w: float
    lambda_r: float

    def __post_init__(self) -> None:
        s = np.atleast_2d(np.asarray(self.sources, dtype=float))
        a = np.atleast_2d(np.asarray(self.mixing, dtype=float))
        object.__setattr__(self, "sources", s)
        object.__setattr__(self, "mixing", a)
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(a))):
            raise ValueError("sources and mixing must be finite (no NaN or inf)")
        if a.shape[1] != s.shape[0]:
            raise ValueError(
                f"mixing has {a.shape[1]} columns but there are {s.shape[0]} sources"
            )
        if a.shape[0] < a.shape[1] or np.linalg.matrix_rank(a) < a.shape[1]:
            raise ValueError("mixing must have full column rank (D ≥ d)")
        if s.shape[1] <= s.shape[0] or np.linalg.matrix_rank(self.centred) < s.shape[0]:
            raise ValueError("the centred sources must span all d dimensions")
        if not (self.lambda_w >= 0 and self.lambda_r > 0):
            raise ValueError("need lambda_w ≥ 0 and lambda_r > 0")

    @property
    def dim(self) -> int:
        return int(self.sources.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.sources.shape[1])

    @cached_property
    def centred(self) -> np.ndarray:
        """``s̃_t = s_t − mean_t s_t`` (d × T)."""
        return self.sources - self.sources.mean(axis=1, keepdims=True)

    @cached_property
    def sigma_s(self) -> np.ndarray:
        """Source covariance ``Σ_s = (1/T) Σ_t s̃_t s̃_tᵀ``."""
        return self.centred @ self.centred.T / self.n_samples

    @cached_property
    def sigma_a(self) -> np.ndarray:
        """``Σ_A = AᵀA``."""
        return self.mixing.T @ self.mixing

    @cached_property
    def sigma_a_inv(self) -> np.ndarray:
        return np.linalg.inv(self.sigma_a)

    @cached_property
    def neuron_quadratic(self) -> np.ndarray:
        """``Σ_s + λ_W Σ_A⁻¹``: activity plus encoder cost per unit weight."""
        return self.sigma_s + self.lambda_w * self.sigma_a_inv

    @cached_property
    def _hull(self) -> ConvexHull:
        """``ConvexHull`` of ``{−s̃_t}``, computed once per instance (O(T log T))."""
        from scipy.spatial import ConvexHull

        return ConvexHull(-self.centred.T)

    @cached_property
    def hull_vertices(self) -> np.ndarray:
        """Vertices of ``conv{−s̃_t}`` (rows); ``m(ω)`` is their support function."""
        pts = -self.centred.T
        if self.dim == 1:
            return np.array([[pts.min()], [pts.max()]])
        return pts[self._hull.vertices]

    @cached_property
    def hull_facets(self) -> tuple[np.ndarray, np.ndarray]:
        """Facets ``n·s ≤ h`` (unit ``n``) of ``conv{s̃_t}``: ``(normals, offsets)``."""
        from scipy.spatial import ConvexHull

        eq = ConvexHull(self.centred.T).equations
        return eq[:, :-1], -eq[:, -1]

    @cached_property
    def _linear_pieces(self) -> LinearPieces:
        return _build_linear_pieces(self)


def bias_requirement(problem: AutoencoderProblem, directions: np.ndarray) -> np.ndarray:
    """``m(ω) = max(0, −min_t ω·s̃_t)`` for each row of ``directions``."""
    proj = problem.hull_vertices @ directions.T  # (−s̃)·ω: vertices × directions
    return np.maximum(0.0, proj.max(axis=0))  # (a max down columns is 7× faster)


def neuron_costs(problem: AutoencoderProblem, directions: np.ndarray) -> np.ndarray:
    """``c(ω) = ωᵀ(Σ_s + λ_W Σ_A⁻¹)ω + m(ω)²``: cost of a neuron per unit ``μ``."""
    quad = _quadratic_form(directions, problem.neuron_quadratic)
    return quad + bias_requirement(problem, directions) ** 2


def _quadratic_form(directions: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``ω_kᵀ M ω_k`` for each row ``ω_k`` (a matrix product, not a 3-operand einsum)."""
    return np.einsum("ka,ka->k", directions @ matrix, directions)


def population_matrix(directions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``H = Σ_i μ_i ω_i ω_iᵀ``."""
    return (directions * weights[:, None]).T @ directions


def population_loss(
    problem: AutoencoderProblem, directions: np.ndarray, weights: np.ndarray
) -> float:
    """``L(μ) = Σ_i μ_i c(ω_i) + λ_R Tr(Σ_A H⁻¹)`` (``inf`` if ``H`` is singular)."""
    h = population_matrix(directions, weights)
    if np.linalg.matrix_rank(h) < problem.dim:
        return float("inf")
    readout = problem.lambda_r * np.trace(np.linalg.solve(h, problem.sigma_a))
    return float(weights @ neuron_costs(problem, directions) + readout)


def lambda_matrix(problem: AutoencoderProblem, h: np.ndarray) -> np.ndarray:
    """``Λ(H) = λ_R H⁻¹ Σ_A H⁻¹ − Σ_s − λ_W Σ_A⁻¹``."""
    h_inv = np.linalg.inv(h)
    return problem.lambda_r * h_inv @ problem.sigma_a @ h_inv - problem.neuron_quadratic


def reduced_cost(
    problem: AutoencoderProblem, lam: np.ndarray, directions: np.ndarray
) -> np.ndarray:
    """``r(ω) = m(ω)² − ωᵀΛω``: the derivative of ``L`` for adding a neuron along ``ω``."""
    quad = _quadratic_form(directions, lam)
    return bias_requirement(problem, directions) ** 2 - quad


# ------------------------------------------------------------ linear pieces of m


@dataclass(frozen=True)
class LinearPieces:
    """Simplicial cones of directions on which ``m`` is linear.

    ``m(ω) = max_v v·ω`` over the vertices ``v`` of ``conv{−s̃_t}``; vertex ``v`` attains
    it on its normal cone.  Each normal cone is split into simplicial cones spanned by
    ``d`` rays (columns of ``rays[p]``), on which ``m(ω) = vertices[p]·ω`` exactly.
    """

    vertices: np.ndarray  # P × d
    rays: np.ndarray  # P × d × d (unit columns)

    def __len__(self) -> int:
        return int(self.vertices.shape[0])


def linear_pieces(problem: AutoencoderProblem) -> LinearPieces:
    """Fan of ``m``: normal cones of ``conv{−s̃_t}``, triangulated (d = 2 or 3).

    Computed once per instance and reused (the theory verdict, the solver and its
    polishing rounds all need it).
    """
    return problem._linear_pieces


def _build_linear_pieces(problem: AutoencoderProblem) -> LinearPieces:
    pts = -problem.centred.T
    if problem.dim not in (2, 3):
        raise ValueError(f"the identifiability solver supports d = 2 or 3, got {problem.dim}")
    hull = problem._hull
    normals = hull.equations[:, :-1]  # outward unit facet normals
    verts, rays = [], []
    if problem.dim == 2:
        # ConvexHull lists 2D vertices counter-clockwise; the facet (edge) normals
        # adjacent to a vertex bound its normal cone.
        for v in hull.vertices:
            adjacent = np.flatnonzero((hull.simplices == v).any(axis=1))
            n1, n2 = normals[adjacent[0]], normals[adjacent[1]]
            if n1[0] * n2[1] - n1[1] * n2[0] < 0:  # order counter-clockwise
                n1, n2 = n2, n1
            verts.append(pts[v])
            rays.append(np.column_stack([n1, n2]))
    elif problem.dim == 3:
        for v in hull.vertices:
            adjacent = np.flatnonzero((hull.simplices == v).any(axis=1))
            cone = unique_directions(normals[adjacent], tol=1e-9)
            centre = cone.mean(axis=0)
            centre /= np.linalg.norm(centre)
            e1 = np.linalg.svd(np.eye(3) - np.outer(centre, centre))[0][:, 0]
            e2 = np.cross(centre, e1)
            cone = cone[np.argsort(np.arctan2(cone @ e2, cone @ e1))]
            for j in range(1, len(cone) - 1):  # fan triangulation of a convex cone
                verts.append(pts[v])
                rays.append(np.column_stack([cone[0], cone[j], cone[j + 1]]))
    else:
        raise ValueError(f"the identifiability solver supports d = 2 or 3, got {problem.dim}")
    return LinearPieces(vertices=np.array(verts), rays=np.array(rays))


def unique_directions(directions: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Normalise rows and drop near-duplicates (keeps first occurrence)."""
    d = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    keys = np.round(d / tol).astype(np.int64)
    _, idx = np.unique(keys, axis=0, return_index=True)
    return d[np.sort(idx)]
