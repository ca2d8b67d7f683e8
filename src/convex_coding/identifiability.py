r"""Theorem 1: identifiability of an energy-efficient semi-NMF.

The nonnegative affine autoencoder ``z_t = W x_t + b ≥ 0``, ``x_t = R z_t + c`` with
data ``x_t = A s_t`` and cost ``L = (1/T)Σ‖z_t‖² + λ_W‖W‖² + λ_R‖R‖²`` reduces to a
convex problem over a nonnegative measure ``μ`` on unit directions ``ω`` of source
space (one neuron per atom, ``u_i = √μ_i ω_i`` its source-space weight):

    L(μ) = Σ_i μ_i c(ω_i) + λ_R Tr(Σ_A H⁻¹),   H = Σ_i μ_i ω_i ω_iᵀ,
    c(ω) = ωᵀ(Σ_s + λ_W Σ_A⁻¹)ω + m(ω)²,       m(ω) = max(0, −min_t ω·s̃_t).

Its first-order condition is the reduced cost ``r(ω) = m(ω)² − ωᵀΛ(H)ω ≥ 0`` with
``Λ(H) = λ_R H⁻¹Σ_A H⁻¹ − Σ_s − λ_W Σ_A⁻¹`` and equality on the support.  The modular
code is optimal iff ``φ(ω) = m(ω)² − ωᵀΛω ≥ 0`` at its own ``Λ`` (the theorem), and the
unique optimum iff equality holds only on its axes.

Everything here is pure: arrays in, dataclasses out.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from functools import cached_property

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.spatial import ConvexHull

from .conic import ConeProgram, psd_block, solve_cone_program, svec
from .menu import schur_trace
from .solvers import SolverError, SolverSettings, solve_checked

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


# ----------------------------------------------------------------- reduced solver


@dataclass(frozen=True)
class PopulationSolution:
    """Optimal population (measure over directions) with its optimality certificate."""

    directions: np.ndarray  # neuron directions ω_i (rows)
    weights: np.ndarray  # μ_i = ‖u_i‖²
    loss: float  # L(μ) evaluated in NumPy from the neurons
    solver_value: float  # objective reported by the solver
    certificate_violation: float  # max(0, −min_ω r(ω)) / max_i m_i², exact
    grid_violation: float  # the same on a uniform grid finer than any piece
    complementarity: float  # Σ_i μ_i |r(ω_i)| / L  (⟨G, Q⟩ = 0 at an optimum)
    factorisation_residual: float  # ‖K − Σ x xᵀ‖ / ‖K‖, worst piece
    n_pieces: int
    solver: str
    status: str


def _symmetric_embedding(d: int) -> np.ndarray:
    """``E`` (d² × d(d+1)/2) with ``vec_C(K) = E k`` for the upper triangle ``k`` of ``K``."""
    iu = np.triu_indices(d)
    emb = np.zeros((d, d, len(iu[0])))
    emb[iu[0], iu[1], np.arange(len(iu[0]))] = 1.0
    emb[iu[1], iu[0], np.arange(len(iu[0]))] = 1.0
    return emb.reshape(d * d, -1)


def _cone_atoms(k: np.ndarray, tol: float) -> list[np.ndarray]:
    """Nonnegative rank-one terms ``x xᵀ`` (``x ≥ 0``) of a small DNN matrix ``K``.

    Rank one: the leading eigenvector.  Otherwise ``K = (K₁₁ − K₁₂²/K₂₂) e₁e₁ᵀ + y yᵀ``
    style peeling: repeatedly take a column ``y = K e_j / √K_jj`` and deflate, which
    stays nonnegative for the 2×2 and diagonally dominant cases seen here; the
    residual is reported either way.
    """
    w, v = np.linalg.eigh(k)
    if w[-1] <= 0:
        return []
    if w[-2] <= tol * w[-1]:
        x = v[:, -1] * np.sqrt(w[-1])
        return [np.abs(x)]
    atoms, rest = [], k.copy()
    for _ in range(k.shape[0] * 2):
        j = int(np.argmax(np.diag(rest)))
        if rest[j, j] <= tol * np.trace(k):
            break
        y = np.clip(rest[:, j] / np.sqrt(rest[j, j]), 0.0, None)
        atoms.append(y)
        rest = rest - np.outer(y, y)
    return atoms


def solve_population(
    problem: AutoencoderProblem,
    settings: SolverSettings,
    active_tol: float = 1e-7,
    certificate_grid: int = 20000,
) -> PopulationSolution:
    """Solve ``min_μ L(μ)`` exactly as one small conic program over the fan of ``m``.

    On a simplicial piece with rays ``R`` and vertex ``v`` a neuron ``u = Rx`` (x ≥ 0)
    costs ``uᵀ(N + vvᵀ)u`` with ``N = Σ_s + λ_W Σ_A⁻¹``, so the piece's neurons enter
    only through ``K = Σ xxᵀ ∈ CP_d``, and ``CP_d`` equals the doubly nonnegative cone
    for ``d ≤ 4``.  The program is therefore exact (no direction grid):

        min Σ_p Tr(C_p K_p) + λ_R Tr(S)   s.t.  K_p ⪰ 0, K_p ≥ 0,
        [[Σ_p R_p K_p R_pᵀ, L], [Lᵀ, S]] ⪰ 0,  C_p = R_pᵀ(N + v_p v_pᵀ)R_p,  Σ_A = LLᵀ.

    The certificate is the exact minimum of ``r(ω)`` at the recovered ``H``.
    """
    pieces = linear_pieces(problem)
    d, n_p = problem.dim, len(pieces)
    rays, verts = pieces.rays, pieces.vertices
    costs = np.einsum("pai,pab,pbj->pij", rays, problem.neuron_quadratic[None] + np.einsum(
        "pa,pb->pab", verts, verts), rays)
    # x = (upper triangles k_p of every K_p, then the upper triangle of S); K_p is
    # ``emb @ k_p`` reshaped.  H = Σ_p R_p K_p R_pᵀ is one constant lift of all k_p.
    emb = _symmetric_embedding(d)  # (d·d) × n_s: upper triangle → full matrix
    n_s = emb.shape[1]
    lift = np.einsum("pai,pbj,ijs->abps", rays, rays, emb.reshape(d, d, -1))
    h_coef = lift.reshape(d, d, n_p * n_s)
    objective = (costs.reshape(n_p, d * d) @ emb).ravel()  # Tr(C_p K_p) = vec(C_p)ᵀ E k_p
    program = _readout_program(problem, objective, h_coef, extra_psd=(n_p, emb))
    solution = solve_cone_program(program, settings)

    k_vals = (solution.x[:n_p * n_s].reshape(n_p, n_s) @ emb.T).reshape(n_p, d, d)
    traces = np.einsum("pii->p", k_vals)
    total = traces.sum()
    dirs, weights, worst_residual = [], [], 0.0
    for p in np.flatnonzero(traces >= active_tol * total):
        atoms = _cone_atoms(k_vals[p], tol=1e-6)
        recon = sum((np.outer(x, x) for x in atoms), np.zeros((d, d)))
        worst_residual = max(
            worst_residual, np.linalg.norm(k_vals[p] - recon) / np.linalg.norm(k_vals[p])
        )
        for x in atoms:
            u = rays[p] @ x
            dirs.append(u / np.linalg.norm(u))
            weights.append(float(u @ u))
    directions, start = _merge_parallel(np.array(dirs), np.array(weights))
    directions, mu, exact = polish_population(problem, pieces, directions, settings,
                                              start=start)
    lam = lambda_matrix(problem, population_matrix(directions, mu))
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    grid_min, _ = grid_minimum(problem, lam, certificate_grid)
    loss = population_loss(problem, directions, mu)
    return PopulationSolution(
        directions=directions,
        weights=mu,
        loss=loss,
        solver_value=solution.value,
        certificate_violation=max(0.0, -exact.value) / scale,
        grid_violation=max(0.0, -grid_min) / scale,
        complementarity=float(mu @ np.abs(reduced_cost(problem, lam, directions))) / loss,
        factorisation_residual=float(worst_residual),
        n_pieces=len(pieces),
        solver=solution.solver,
        status=solution.status,
    )


def _readout_program(
    problem: AutoencoderProblem,
    objective: np.ndarray,
    h_coef: np.ndarray,
    extra_psd: tuple[int, np.ndarray] | None = None,
) -> ConeProgram:
    """``min objectiveᵀy + λ_R Tr(S)`` over ``y ≥ 0`` and symmetric ``S`` with
    ``[[H(y), L], [Lᵀ, S]] ⪰ 0`` (``Σ_A = LLᵀ``, so ``Tr S ≥ Tr(Σ_A H⁻¹)``).

    ``H(y) = Σ_j h_coef[:, :, j] y_j``.  ``extra_psd = (P, E)`` adds ``P`` blocks
    ``K_p = mat(E y_p) ⪰ 0`` on consecutive slices ``y_p`` (the fan's DNN blocks).
    Variables: ``x = (y, s)`` with ``s`` the upper triangle of ``S``.
    """
    d = problem.dim
    emb = _symmetric_embedding(d)
    n_y, n_s = len(objective), emb.shape[1]
    chol = np.linalg.cholesky(problem.sigma_a)
    trace = emb.reshape(d, d, -1)[np.arange(d), np.arange(d)].sum(axis=0)
    c = np.concatenate([objective, problem.lambda_r * trace])
    rows, cols, vals = [np.arange(n_y)], [np.arange(n_y)], [-np.ones(n_y)]  # y ≥ 0
    b_parts, psd_dims, offset = [np.zeros(n_y)], [], n_y
    if extra_psd is not None:
        n_p, piece_emb = extra_psd
        block = sp.coo_matrix(-svec(piece_emb.reshape(d, d, -1)))  # svec K_p from y_p
        m, k = block.shape
        pieces = np.repeat(np.arange(n_p), block.nnz)
        rows.append(offset + pieces * m + np.tile(block.row, n_p))
        cols.append(pieces * k + np.tile(block.col, n_p))
        vals.append(np.tile(block.data, n_p))
        b_parts.append(np.zeros(n_p * m))
        psd_dims += [d] * n_p
        offset += n_p * m
    lmi = np.zeros((2 * d, 2 * d, n_y + n_s))
    lmi[:d, :d, :n_y] = h_coef
    lmi[d:, d:, n_y:] = emb.reshape(d, d, -1)
    const = np.zeros((2 * d, 2 * d))
    const[:d, d:], const[d:, :d] = chol, chol.T
    a_lmi, b_lmi = psd_block(lmi, const)
    a_lmi = a_lmi.tocoo()
    rows.append(offset + a_lmi.row)
    cols.append(a_lmi.col)
    vals.append(a_lmi.data)
    b_parts.append(b_lmi)
    psd_dims.append(2 * d)
    b = np.concatenate(b_parts)
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(b), n_y + n_s))
    return ConeProgram(c=c, a=a, b=b, n_nonneg=n_y, psd_dims=tuple(psd_dims))


def optimal_weights(
    problem: AutoencoderProblem, directions: np.ndarray, start: np.ndarray,
    max_iter: int = 50,
) -> np.ndarray:
    """``argmin_{μ ≥ 0} F(μ) = Σ μ_i c(ω_i) + λ_R Tr(Σ_A H(μ)⁻¹)`` for fixed directions.

    Projected Newton with an active set, to machine precision, using
    ``∂F/∂μ_i = c_i − λ_R ω_iᵀWω_i`` and ``∂²F/∂μ_i∂μ_j = 2λ_R (ω_iᵀH⁻¹ω_j)(ω_iᵀWω_j)``,
    ``W = H⁻¹Σ_A H⁻¹``.
    """
    costs = neuron_costs(problem, directions)
    lam_r = problem.lambda_r

    def value(mu: np.ndarray) -> float:
        h = population_matrix(directions, mu)
        if np.linalg.eigvalsh(h)[0] <= 1e-14 * max(np.trace(h), 1e-300):
            return np.inf
        return float(costs @ mu + lam_r * np.trace(np.linalg.solve(h, problem.sigma_a)))

    mu = np.maximum(start.astype(float), 0.0)
    f = value(mu)
    for _ in range(max_iter):
        h_inv = np.linalg.inv(population_matrix(directions, mu))
        w = h_inv @ problem.sigma_a @ h_inv
        grad = costs - lam_r * np.einsum("ka,ab,kb->k", directions, w, directions)
        hess = 2 * lam_r * (directions @ h_inv @ directions.T) * (directions @ w @ directions.T)
        # ε-active set (Bertsekas): weights at or near zero pushed down by the gradient
        eps = min(1e-3 * mu.max(), float(np.linalg.norm(mu - np.maximum(mu - grad, 0.0))))
        bound = (mu <= eps) & (grad > 0)
        free = ~bound
        if np.max(np.abs(grad[free]), initial=0.0) <= 1e-15 * max(abs(f), 1.0) and np.all(
            mu[bound] == 0
        ):
            break
        step = np.where(bound, -mu, 0.0)
        step[free] = -np.linalg.lstsq(hess[np.ix_(free, free)], grad[free], rcond=None)[0]
        t, accepted = 1.0, False
        while t > 1e-14:
            cand = np.maximum(mu + t * step, 0.0)
            cand[bound] = 0.0
            f_new = value(cand)
            if f_new <= f:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        done = f - f_new <= 1e-16 * max(abs(f), 1.0) and t == 1.0
        # a shortened step that leaves F unchanged: Newton has converged to rounding
        # (iterating on would only repeat ~40-step line searches up to max_iter)
        done = done or (f_new >= f and t < 1.0)
        mu, f = cand, f_new
        if done:
            break
    return mu


def conic_weights(
    problem: AutoencoderProblem, directions: np.ndarray, settings: SolverSettings
) -> np.ndarray:
    """``argmin_{μ ≥ 0} Σ μ_k c(ω_k) + λ_R Tr(Σ_A H⁻¹)`` on fixed directions (tiny SDP).

    ``vec H = M μ`` with ``M[(a,b), k] = ω_ka ω_kb``; the readout term is the Schur
    complement ``[[H, L], [Lᵀ, S]] ⪰ 0`` with ``Σ_A = LLᵀ``, minimising ``Tr S``.
    """
    lift = np.einsum("ka,kb->abk", directions, directions)
    program = _readout_program(problem, neuron_costs(problem, directions), lift)
    mu = solve_cone_program(program, settings).x[: len(directions)]
    return np.maximum(mu, 0.0)


def _home_piece(
    pieces: LinearPieces, directions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Piece containing each direction and its depth (min barycentric coordinate)."""
    coords = np.linalg.solve(pieces.rays[None], directions[:, None, :, None])[..., 0]
    depth = coords.min(axis=2) / np.abs(coords).max(axis=2)
    home = np.argmax(depth, axis=1)
    return home, depth[np.arange(len(directions)), home]


def refine_interior_neurons(
    problem: AutoencoderProblem,
    pieces: LinearPieces,
    directions: np.ndarray,
    weights: np.ndarray,
    min_depth: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Jointly move the neurons that lie strictly inside a piece of ``m`` (L-BFGS).

    There ``m(u) = v·u`` with the piece's vertex ``v``, so the loss is smooth:
    ``F = Σ_i u_iᵀ(N + v_iv_iᵀ)u_i + Σ_j s_j² c(ω_j) + λ_R Tr(Σ_A H⁻¹)`` over interior
    neurons ``u_i`` and the magnitudes ``s_j`` of boundary neurons (directions fixed),
    with gradient ``2(N + v_iv_iᵀ − λ_R W)u_i``, ``W = H⁻¹Σ_A H⁻¹``.  Column generation
    alone approaches a direction that is optimal inside a piece only slowly.  The move
    is kept only if every neuron stays in its piece and ``L`` does not increase.
    """
    home, depth = _home_piece(pieces, directions)
    inner = depth > min_depth
    if not inner.any():
        return directions, weights
    d, k_in = problem.dim, int(inner.sum())
    n_q = problem.neuron_quadratic
    v = pieces.vertices[home[inner]]
    quad = n_q[None] + np.einsum("ka,kb->kab", v, v)  # (k_in, d, d)
    fixed_dirs = directions[~inner]
    fixed_cost = neuron_costs(problem, fixed_dirs)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[: k_in * d].reshape(k_in, d), x[k_in * d:]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        u, s = unpack(x)
        h = u.T @ u + (fixed_dirs * (s**2)[:, None]).T @ fixed_dirs
        try:
            h_inv = np.linalg.inv(h)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(x)
        w = problem.lambda_r * h_inv @ problem.sigma_a @ h_inv
        val = (np.einsum("ka,kab,kb->", u, quad, u) + fixed_cost @ s**2
               + problem.lambda_r * np.trace(problem.sigma_a @ h_inv))
        g_u = 2 * np.einsum("kab,kb->ka", quad, u) - 2 * u @ w
        g_s = 2 * s * (fixed_cost - np.einsum("ka,ab,kb->k", fixed_dirs, w, fixed_dirs))
        return float(val), np.concatenate([g_u.ravel(), g_s])

    x0 = np.concatenate([(directions[inner] * np.sqrt(weights[inner])[:, None]).ravel(),
                         np.sqrt(weights[~inner])])
    f0 = fun(x0)[0]
    res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 2000, "maxcor": 30})
    if not np.isfinite(res.fun) or res.fun > f0:
        return directions, weights
    u, s = unpack(res.x)
    mu_in = np.einsum("ka,ka->k", u, u)
    new_dirs = directions.copy()
    new_w = weights.copy()
    new_dirs[inner] = u / np.sqrt(mu_in)[:, None]
    new_w[inner] = mu_in
    new_w[~inner] = s**2
    home_new, depth_new = _home_piece(pieces, new_dirs[inner])
    if np.any(depth_new < 0) or np.any(home_new != home[inner]):
        return directions, weights
    return new_dirs, new_w


def _newton_if_better(
    problem: AutoencoderProblem, directions: np.ndarray, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Projected-Newton polish of the weights, kept only if it lowers ``L``."""
    newton = optimal_weights(problem, directions, mu)
    if population_loss(problem, directions, newton) <= population_loss(problem, directions, mu):
        mu = newton
    keep = mu > 0
    return directions[keep], mu[keep]


def polish_population(
    problem: AutoencoderProblem,
    pieces: LinearPieces,
    directions: np.ndarray,
    settings: SolverSettings,
    rounds: int = 40,
    tol: float = 1e-10,
    support_tol: float = 1e-7,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, DirectionalMinimum]:
    """Refine an interior-point solution to machine precision by exact column generation.

    Each round solves for the weights of the current (few) neurons as a tiny conic
    program, prunes zero weights, polishes the remaining weights by projected Newton,
    and adds the exact minimiser of ``r(ω)`` on every piece where it is negative.  It
    stops when ``min_ω r(ω) ≥ −tol·max_i m_i²``: the KKT conditions of the convex
    problem, hence the global optimum.  ``start``: weights of ``directions`` from the
    fan program; the first round then polishes them by Newton alone (the tiny conic
    re-solve only serves later rounds, whose new neurons start at zero weight).
    """
    scale = max(float(np.max(modular_code(problem).bias ** 2)), 1e-300)
    mu = np.full(len(directions), 1.0 / len(directions))
    best: tuple | None = None  # the iterate with the best certificate so far
    for round_ in range(rounds):
        if round_ == 0 and start is not None and np.all(start > 0):
            mu = optimal_weights(problem, directions, start)
        else:
            try:
                mu = conic_weights(problem, directions, settings)
            except SolverError:  # nearly parallel neurons: Newton alone handles them
                mu = optimal_weights(problem, directions,
                                     np.maximum(mu, 1e-3 * mu.max()))
        keep = mu > 1e-6 * mu.max()
        directions, mu = _newton_if_better(problem, directions[keep], mu[keep])
        directions, mu = refine_interior_neurons(problem, pieces, directions, mu)
        lam = lambda_matrix(problem, population_matrix(directions, mu))
        found = minimise_reduced_cost(problem, lam, pieces)
        if best is None or found.value > best[2].value:
            best = (directions, mu, found, lam)
        negative = found.piece_values < -tol * scale
        if not negative.any():
            break
        # exact minimisers first, so a merged neuron takes the exact direction
        directions, mu = _merge_parallel(
            np.vstack([found.piece_directions[negative], directions]),
            np.concatenate([np.zeros(int(negative.sum())), mu]),
        )
    else:
        # no convergence within ``rounds`` (column generation can cycle between nearly
        # equivalent supports): return the iterate with the best certificate, not the last
        directions, mu, found, lam = best
    # complementary slackness: an interior-point solve leaves weights ~ gap/r on
    # neurons with r(ω) > 0; drop them and re-solve on the support, kept only if the
    # certificate does not get worse
    slack = reduced_cost(problem, lam, directions) > support_tol * scale
    if slack.any() and np.linalg.matrix_rank(directions[~slack]) == problem.dim:
        d2 = directions[~slack]
        try:
            mu2 = conic_weights(problem, d2, settings)
        except SolverError:
            mu2 = mu[~slack]
        d2, mu2 = _newton_if_better(problem, d2, mu2)
        lam2 = lambda_matrix(problem, population_matrix(d2, mu2))
        found2 = minimise_reduced_cost(problem, lam2, pieces)
        if found2.value >= min(found.value, -tol * scale):
            directions, mu, found = d2, mu2, found2
    return directions, mu, found


def _merge_parallel(
    directions: np.ndarray, weights: np.ndarray, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Merge neurons along the same direction (adjacent pieces share boundary rays)."""
    keep_dirs: list[np.ndarray] = []
    keep_w: list[float] = []
    for w_dir, w in zip(directions, weights, strict=True):
        for i, kd in enumerate(keep_dirs):
            if np.linalg.norm(kd - w_dir) < tol:
                keep_w[i] += w
                break
        else:
            keep_dirs.append(w_dir)
            keep_w.append(w)
    return np.array(keep_dirs), np.array(keep_w)


# ---------------------------------------------------------------------- modularity


@dataclass(frozen=True)
class Modularity:
    """How far the neurons of a solution are from coding single sources."""

    max_angle_deg: float  # largest angle of an active neuron from its nearest axis
    off_axis_share: float  # share of Σμ in neurons more than angle_tol from an axis
    n_active: int


def modularity(
    directions: np.ndarray,
    weights: np.ndarray,
    active_tol: float = 1e-6,
    angle_tol_deg: float = 0.05,
) -> Modularity:
    """Angles of active neurons (weight share ≥ ``active_tol``) from the nearest axis."""
    share = weights / weights.sum()
    active = share >= active_tol
    angle = _axis_angle_deg(directions)
    off = angle > angle_tol_deg
    return Modularity(
        max_angle_deg=float(angle[active].max()),
        off_axis_share=float(share[off].sum()),
        n_active=int(active.sum()),
    )


# ------------------------------------------------------------- full Q-space form


@dataclass(frozen=True)
class QSpaceBounds:
    """The T×T similarity-space problem solved with both approximations of ``CP_T``."""

    outer: float  # doubly nonnegative relaxation: a lower bound
    inner: float  # dictionary restriction: an upper bound
    outer_q: np.ndarray
    inner_q: np.ndarray


def affine_atoms(problem: AutoencoderProblem, directions: np.ndarray) -> np.ndarray:
    """Tunings of affine neurons at the tightest bias: ``y_t = ω·s̃_t + m(ω) ≥ 0`` (T × K)."""
    return problem.centred.T @ directions.T + bias_requirement(problem, directions)[None, :]


def qspace_bounds(
    problem: AutoencoderProblem, settings: SolverSettings, directions: np.ndarray
) -> QSpaceBounds:
    """Solve Theorem 1's problem in ``Q = ZᵀZ`` directly, from the menu pieces:

        min (1/T) Tr Q + λ_W Tr((X̃ᵀX̃)⁺ Q) + λ_R Tr(X̃ (PQP)⁺ X̃ᵀ)
        s.t. range Q ⊆ row [S; 1ᵀ],  Q ∈ CP_T (outer: DNN; inner: dictionary).

    ``directions`` generate the inner dictionary (tunings :func:`affine_atoms`).  The
    two programs are :func:`qspace_outer_bound` and :func:`qspace_inner_bound`; only
    the returned ``Q`` matrices are ``T × T``.
    """
    outer, m_outer, basis = qspace_outer_bound(problem, settings)
    inner, weights, atoms = qspace_inner_bound(problem, settings, directions)
    outer_q = basis @ m_outer @ basis.T
    inner_q = (atoms * weights[None, :]) @ atoms.T
    return QSpaceBounds(outer=outer, inner=inner, outer_q=0.5 * (outer_q + outer_q.T),
                        inner_q=0.5 * (inner_q + inner_q.T))


def _qspace_terms(problem: AutoencoderProblem) -> tuple[np.ndarray, int, np.ndarray,
                                                        np.ndarray]:
    """Basis ``B = [B_c, 1/√T]`` of ``row [S; 1ᵀ]``, its centred rank ``r``, the readout
    targets ``X̃ B_c`` and ``Bᵀ(X̃ᵀX̃)⁺`` factor ``F = Bᵀ X̃⁺`` (so ``BᵀKB = FFᵀ``), all
    in O(T) memory (the menu's T×T kernel is never formed)."""
    from . import menu

    data = problem.mixing @ problem.sources  # x_t = A s_t
    centred = data - data.mean(axis=1, keepdims=True)
    basis, rank = menu.affine_code_basis(problem.sources)
    targets = centred @ basis[:, :rank]
    if np.linalg.norm(centred - targets @ basis[:, :rank].T) > 1e-8 * max(
        1.0, np.linalg.norm(centred)
    ):
        raise ValueError("targets are not in the range allowed for Q: no exact readout")
    # rcond: X̃ = A S̃ has rank d < D; pinv's default cut-off (1e-15·T) keeps its rounding-
    # level singular values once T ≳ 5000 and the weight term blows up (~1e20)
    factor = basis.T @ np.linalg.pinv(centred, rcond=1e-10)  # (r+1) × D
    return basis, rank, targets, factor


def qspace_outer_bound(
    problem: AutoencoderProblem, settings: SolverSettings
) -> tuple[float, np.ndarray, np.ndarray]:
    """The doubly nonnegative (outer) bound: ``(value, M, B)`` with ``Q = B M Bᵀ``.

    ``Q_ts = b_tᵀ M b_s ≥ 0`` is linear in each of ``b_t``, ``b_s``, so it holds for all
    pairs iff it holds for the pairs of vertices of ``conv{b_t}``, which are the rows of
    the hull vertices of ``conv{s̃_t}`` (``b_t`` is an affine image of ``s̃_t``): an exact
    reduction from ``T²`` to ``V(V+1)/2`` constraints.
    """
    basis, rank, targets, factor = _qspace_terms(problem)
    t = problem.n_samples
    # O(1) scaling for any T: rows of √T·B are O(1), so M̂ = M/T is O(1) too, with
    # Tr M / T = Tr M̂, Tr(BᵀKB M) = T Tr(BᵀKB M̂), Tr(Y M_r⁻¹ Yᵀ) = Tr(Ŷ M̂_r⁻¹ Ŷᵀ), Ŷ = Y/√T
    verts = np.sqrt(t) * basis[np.sort(problem._hull.vertices)]
    iu = np.triu_indices(len(verts))
    pairs = np.einsum("ka,kb->kab", verts[iu[0]], verts[iu[1]]).reshape(len(iu[0]), -1)
    pairs /= np.abs(pairs).max(axis=1, keepdims=True)
    m = cp.Variable((rank + 1, rank + 1), PSD=True)
    readout, constraints = schur_trace(m[:rank, :rank], targets / np.sqrt(t))
    objective = (cp.trace(m) + problem.lambda_w * t * cp.trace((factor @ factor.T) @ m)
                 + problem.lambda_r * readout)
    constraints.append(pairs @ cp.vec(m, order="C") >= 0)
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    m_val = t * np.asarray(m.value, dtype=float)
    return report.value, 0.5 * (m_val + m_val.T), basis


def qspace_inner_bound(
    problem: AutoencoderProblem, settings: SolverSettings, directions: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The dictionary (inner) bound on the tunings of ``directions``:
    ``(value, c, Y)`` with ``Q = Y diag(c) Yᵀ`` (``Y`` = :func:`affine_atoms`, T × K)."""
    atoms = affine_atoms(problem, directions)
    basis, rank, targets, factor = _qspace_terms(problem)
    t = problem.n_samples
    coords = basis.T @ atoms
    if np.linalg.norm(atoms - basis @ coords) > 1e-8 * max(1.0, np.linalg.norm(atoms)):
        raise ValueError("targets are not in the range allowed for Q: no exact readout")
    c = cp.Variable(atoms.shape[1], nonneg=True)
    scaled = coords[:rank] / np.sqrt(t)  # O(1) entries for any T (value unchanged)
    block = scaled @ cp.diag(c) @ scaled.T
    readout, constraints = schur_trace(block, targets / np.sqrt(t))
    activity = np.sum(atoms**2, axis=0) / t
    weight = np.sum((factor.T @ coords) ** 2, axis=0)  # y_kᵀ(X̃ᵀX̃)⁺y_k = ‖X̃⁺ᵀ y_k‖²
    objective = (activity + problem.lambda_w * weight) @ c + problem.lambda_r * readout
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    return report.value, np.maximum(np.asarray(c.value, dtype=float), 0.0), atoms
