r"""Tight scattering of population vectors: a sufficient condition for unique tunings.

``Z ∈ R₊^{N×T}`` has columns ``z_t`` (population vectors) with mean ``μ``.  Any other
nonnegative ``Z'`` with ``Z'ᵀZ' = ZᵀZ`` is ``OZ`` with ``O`` orthogonal (on ``range Z``).
Theorem (the paper's first hypothesis; the second is OUR reconstruction, proof in
``docs/tuning_uniqueness.md``): if for some ``F ≻ 0`` with ``diag F = μ ⊙ μ``

1. ``conv{z_t} ⊇ E_F = {μ + x : xᵀF⁻¹x ≤ 1}``, and
2. ``cone(Z)* ∩ ∂K_F = {λe_j : λ ≥ 0}``, where ``cone(Z)* = {o : Zᵀo ≥ 0}`` and
   ``K_F = {o : μᵀo ≥ ‖F^{1/2}o‖} = cone(E_F)*``,

then ``OZ ≥ 0`` with ``O`` orthogonal forces ``O`` to be a permutation.

Checks (all certified in code):

* facets ``a_kᵀy ≤ h_k`` of ``conv{z_t}`` by qhull; a hull of dimension ``< N`` cannot
  contain ``E_F`` (verdict *fails*, with that reason);
* hypothesis 1 as an SDP: ``min u`` s.t. ``F ⪰ 0``, ``diag F = μ²``,
  ``a_kᵀFa_k ≤ u(h_k − a_kᵀμ)²`` over the non-coordinate facets (the coordinate facets
  ``y_j ≥ 0`` are touched exactly by every admissible ``F``); the margin
  ``t = min_k (h_k − a_kᵀμ)/‖F^{1/2}a_k‖`` is re-evaluated in NumPy from the returned
  ``F`` (diagonal restored exactly), and hypothesis 1 holds iff every coordinate
  hyperplane carries a facet and ``t > 1``;
* hypothesis 2 on the extreme rays of ``cone(Z)*`` (facets of ``cone(Z)``, from qhull on
  ``z_t/1ᵀz_t``): as ``K_F`` is a strictly convex cone containing ``cone(Z)*`` (by
  hypothesis 1), a point of ``cone(Z)* ∩ ∂K_F`` is an extreme ray of ``cone(Z)*``; the
  margin is ``min (μᵀo − ‖F^{1/2}o‖)/‖o‖`` over the non-axis extreme rays ``o``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._lazy import cvxpy as cp
from .solvers import SolverError, SolverSettings, solve_checked

HOLDS = "holds"
FAILS = "fails"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Facets:
    """``conv{z_t} = {y : A y ≤ h}`` (rows ``a_k`` unit), or the reason there is none."""

    normals: np.ndarray  # (K, N)
    offsets: np.ndarray  # (K,)
    dimension: int
    reason: str = ""


@dataclass(frozen=True)
class Scattering:
    """Verdict of the tight-scattering test and every number it rests on."""

    verdict: str  # holds | fails | inconclusive
    reason: str
    n_facets: int
    hull_dimension: int
    coordinate_facets: int  # coordinate hyperplanes y_j = 0 carrying a facet
    scaling: float  # t = min_k (h_k − a_kᵀμ)/‖F^½a_k‖ over non-coordinate facets (≥ 1: fits)
    roundness: float  # λ_min(D⁻¹FD⁻¹), D = diag μ: > 0 iff E_F is a full ellipsoid
    margin2: float  # min over non-axis extreme rays of cone(Z)* of μᵀo − ‖F^½ o‖ (‖o‖=1)
    n_extreme_rays: int
    f: np.ndarray | None  # the certified F (diag F = μ² exactly)
    mu: np.ndarray

    @property
    def holds(self) -> bool:
        return self.verdict == HOLDS


def _dedupe(points: np.ndarray, decimals: int = 12) -> np.ndarray:
    scale = max(float(np.abs(points).max(initial=0.0)), 1e-300)
    _, idx = np.unique(np.round(points / scale, decimals), axis=0, return_index=True)
    return points[np.sort(idx)]


def hull_facets(z: np.ndarray, tol: float = 1e-9) -> Facets:
    """Facets of ``conv{z_t}`` (columns of ``z``) with unit outward normals.

    The affine dimension is the rank of the centred columns; below ``N`` no full-
    dimensional ellipsoid fits and no facet list is returned.  Coplanar qhull facets
    (same normal and offset within ``tol``) are merged.
    """
    n = z.shape[0]
    pts = _dedupe(z.T)
    centred = pts - pts.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False) if len(pts) > 1 else np.zeros(1)
    dim = int(np.sum(sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)))
    if dim < n:
        return Facets(np.zeros((0, n)), np.zeros(0), dim,
                      f"hull of the population vectors has dimension {dim} < N = {n}")
    eq = _hull_equations(pts)  # a·y + b ≤ 0 inside, ‖a‖ = 1
    a, h = eq[:, :-1], -eq[:, -1]
    scale = max(float(np.abs(pts).max()), 1e-300)
    a, h = _merge_rows(a, h / scale, tol)
    return Facets(a, h * scale, dim)


def _hull_equations(points: np.ndarray) -> np.ndarray:
    """qhull's facet equations ``a·y + b ≤ 0`` (``‖a‖ = 1``); on a precision error (many
    coplanar points) retried with joggled input (``QJ``: points moved by ≲ 1e-11
    relative, facets triangulated; duplicates are merged by the caller)."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        return ConvexHull(points).equations
    except QhullError:
        return ConvexHull(points, qhull_options="QJ").equations


def _merge_rows(a: np.ndarray, h: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    key = np.round(np.hstack([a, h[:, None]]) / tol) * tol
    _, idx = np.unique(key, axis=0, return_index=True)
    idx = np.sort(idx)
    return a[idx], h[idx]


def coordinate_mask(normals: np.ndarray, offsets: np.ndarray, scale: float,
                    tol: float = 1e-9) -> np.ndarray:
    """Facets that are coordinate hyperplanes ``−y_j ≤ 0`` (normal ``−e_j``, offset 0)."""
    axis = np.argmax(-normals, axis=1)
    is_axis = np.isclose(-normals[np.arange(len(normals)), axis], 1.0, atol=tol, rtol=0.0)
    return is_axis & (np.abs(offsets) <= tol * scale)


def cone_extreme_rays(z: np.ndarray, tol: float = 1e-9) -> np.ndarray | None:
    """Extreme rays (unit rows) of ``cone(Z)* = {o : Zᵀo ≥ 0}``: the facet normals of
    ``cone(Z)``, from the hull of ``w_t = z_t/1ᵀz_t`` in the plane ``1ᵀw = 1``.

    A facet ``bᵀBᵀ(w − 1/N) ≤ c`` of that hull (``B`` an orthonormal basis of ``1^⊥``)
    is ``oᵀw ≥ 0`` with ``o = c·1 − Bb`` on the plane.  ``None`` when ``cone(Z)`` is not
    full-dimensional (then ``cone(Z)*`` contains a line and hypothesis 2 fails).
    """
    n = z.shape[0]
    cols = z.T[z.sum(axis=0) > tol * max(float(z.max(initial=0.0)), 1e-300)]
    if len(cols) == 0 or np.linalg.matrix_rank(cols) < n:
        return None
    if n == 1:
        return np.ones((1, 1))
    w = _dedupe(cols / cols.sum(axis=1, keepdims=True))
    basis = np.linalg.svd(np.eye(n) - 1.0 / n)[0][:, : n - 1]
    coords = (w - 1.0 / n) @ basis
    if n == 2:
        lo, hi = coords[:, 0].min(), coords[:, 0].max()
        b, c = np.array([[1.0], [-1.0]]), np.array([hi, -lo])
    else:
        eq = _hull_equations(coords)
        b, c = eq[:, :-1], -eq[:, -1]
        b, c = _merge_rows(b, c, tol)
    o = c[:, None] * np.ones(n) - b @ basis.T
    o /= np.linalg.norm(o, axis=1, keepdims=True)
    return o


def _fix_diagonal(f: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Symmetrise, clip eigenvalues at 0, rescale so that ``diag F = μ²`` exactly."""
    f = 0.5 * (f + f.T)
    w, v = np.linalg.eigh(f)
    f = (v * np.maximum(w, 0.0)) @ v.T
    d = mu / np.sqrt(np.maximum(np.diag(f), 1e-300))
    return f * d[:, None] * d[None, :]


def tight_scattering(z: np.ndarray, settings: SolverSettings | None = None,
                     tol: float = 1e-6) -> Scattering:
    """Decide both hypotheses for ``Z ≥ 0`` (see the module docstring).

    Verdict *holds* needs ``t ≥ 1 + tol`` and hypothesis-2 margin ``≥ tol``; *fails* when
    the hull is lower-dimensional, a coordinate hyperplane carries no facet, ``t ≤ 1 − tol``
    or a non-axis extreme ray sits on ``∂K_F`` (margin ``≤ −tol`` cannot occur once
    hypothesis 1 holds and is reported as an error); otherwise *inconclusive*.
    """
    if np.any(z < 0):
        raise ValueError("tight_scattering needs Z >= 0")
    settings = settings or SolverSettings()
    n = z.shape[0]
    mu = z.mean(axis=1)
    scale = max(float(z.max(initial=0.0)), 1e-300)
    facets = hull_facets(z)
    base = dict(n_facets=len(facets.offsets), hull_dimension=facets.dimension, mu=mu)
    if facets.reason:
        return Scattering(FAILS, facets.reason, coordinate_facets=0, scaling=0.0, roundness=0.0,
                          margin2=float("nan"), n_extreme_rays=0, f=None, **base)
    coord = coordinate_mask(facets.normals, facets.offsets, scale)
    touched = np.zeros(n, bool)
    touched[np.argmax(-facets.normals[coord], axis=1)] = True
    if not touched.all():
        missing = [int(j) for j in np.flatnonzero(~touched)]
        return Scattering(FAILS, f"no facet of the hull lies on y_j = 0 for j = {missing}",
                          coordinate_facets=int(touched.sum()), scaling=0.0,
                          roundness=0.0,
                          margin2=float("nan"), n_extreme_rays=0, f=None, **base)
    a, h = facets.normals[~coord], facets.offsets[~coord]
    slack = h - a @ mu
    if np.any(slack <= 0):  # pragma: no cover - μ is interior once the hull is full
        raise ValueError("the mean population vector is not interior to its hull")
    t, f = _largest_scaling(a, slack, mu, settings)
    rays = cone_extreme_rays(z)
    n_rays = 0 if rays is None else len(rays)
    if t < 1.0 - tol:
        return Scattering(FAILS, f"hypothesis 1: at most t = {t:.6g} times E_F fits",
                          coordinate_facets=n, scaling=t, roundness=0.0,
                          margin2=float("nan"), n_extreme_rays=n_rays, f=f, **base)
    if t < 1.0 + tol:
        return Scattering(INCONCLUSIVE, f"hypothesis 1 is borderline: t = {t:.9g}",
                          coordinate_facets=n, scaling=t, roundness=0.0,
                          margin2=float("nan"), n_extreme_rays=n_rays, f=f, **base)
    try:
        lam, f = _roundest(a, slack, mu, settings)
    except SolverError as exc:  # the only admissible ellipsoids are (nearly) flat
        return Scattering(INCONCLUSIVE, f"hypothesis 1: roundest-ellipsoid SDP: {exc}",
                          coordinate_facets=n, scaling=t, roundness=0.0,
                          margin2=float("nan"), n_extreme_rays=n_rays, f=f, **base)
    t = float(np.min(slack / np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", a, f, a), 1e-300))))
    if lam < tol or t < 1.0 - 1e-7:
        return Scattering(INCONCLUSIVE, f"hypothesis 1: E_F fits only when flat (λ = "
                          f"{lam:.3g}, t = {t:.9g})", coordinate_facets=n, scaling=t,
                          roundness=lam, margin2=float("nan"), n_extreme_rays=n_rays, f=f,
                          **base)
    assert rays is not None  # a full-dimensional hull inside R₊^N spans a full cone
    root = _sqrt_psd(f)
    axis_like = np.isclose(rays.max(axis=1), 1.0, atol=1e-9, rtol=0.0)
    g = rays[~axis_like] @ mu - np.linalg.norm(rays[~axis_like] @ root, axis=1)
    m2 = float(g.min(initial=np.inf))
    if m2 <= -tol:
        raise ValueError(f"cone(Z)* is not inside K_F (margin {m2:.3g}) although "
                         "hypothesis 1 holds: the conic consequence is violated")
    verdict = HOLDS if m2 >= tol else INCONCLUSIVE
    reason = ("both hypotheses hold" if verdict == HOLDS
              else f"hypothesis 2: a non-axis extreme ray is within {m2:.3g} of ∂K_F")
    return Scattering(verdict, reason, coordinate_facets=n, scaling=t, roundness=lam,
                      margin2=m2, n_extreme_rays=len(rays), f=f, **base)


def _solve(problem: cp.Problem, settings: SolverSettings) -> None:
    """``solve_checked`` with ``settings``; if that is not ``optimal``, once more with SCS
    at tolerance 1e-9 (a second failure raises :class:`SolverError`)."""
    try:
        solve_checked(problem, settings)
    except SolverError:
        solve_checked(problem, SolverSettings("SCS", {"eps_abs": 1e-9, "eps_rel": 1e-9,
                                                      "max_iters": 200000}))


def _scaled_rows(a: np.ndarray, slack: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``b_k = D a_k / slack_k`` (``D = diag μ``): with ``F = D C D`` (``diag C = 1``) the
    containment ``a_kᵀFa_k ≤ slack_k²`` reads ``b_kᵀ C b_k ≤ 1`` (well scaled)."""
    return a * mu[None, :] / slack[:, None]


def _largest_scaling(a: np.ndarray, slack: np.ndarray, mu: np.ndarray,
                     settings: SolverSettings) -> tuple[float, np.ndarray]:
    """``max_F min_k slack_k/‖F^½a_k‖`` over ``F ⪰ 0``, ``diag F = μ²``: with ``F = DCD``
    the SDP ``min u`` s.t. ``b_kᵀCb_k ≤ u``, ``C ⪰ 0``, ``diag C = 1``; ``t`` is
    re-evaluated from the repaired ``F``.  When neither solver reaches ``optimal`` the
    last iterate is kept if it certifies ``t ≥ 1 + 10⁻³`` by itself (a lower bound needs no
    optimality); otherwise :class:`SolverError`."""
    n, b = len(mu), _scaled_rows(a, slack, mu)
    c_var, u = cp.Variable((n, n), PSD=True), cp.Variable()
    quad = cp.sum(cp.multiply(b @ c_var, b), axis=1)
    try:
        _solve(cp.Problem(cp.Minimize(u), [cp.diag(c_var) == 1, quad <= u]), settings)
        optimal = True
    except SolverError:
        if c_var.value is None:
            raise
        optimal = False  # any F is a valid lower bound on t; only t ≥ 1 + tol is used
    f = _fix_diagonal(np.asarray(c_var.value) * np.outer(mu, mu), mu)
    quad_f = np.einsum("ki,ij,kj->k", a, f, a)
    t = float(np.min(slack / np.sqrt(np.maximum(quad_f, 1e-300))))
    if not optimal and t < 1.0 + 1e-3:
        raise SolverError(f"largest-scaling SDP not solved to optimality and its iterate "
                          f"only certifies t = {t:.6g}: cannot decide hypothesis 1")
    return t, f


def _roundest(a: np.ndarray, slack: np.ndarray, mu: np.ndarray,
              settings: SolverSettings) -> tuple[float, np.ndarray]:
    """``max λ`` s.t. ``C ⪰ λI``, ``diag C = 1``, ``b_kᵀCb_k ≤ 1 − 1e-7`` (``F = DCD``):
    the roundest admissible ellipsoid (``λ ≤ 1``; ``λ > 0`` iff ``F ≻ 0``), with a
    relative safety of 1e-7 so that the repaired ``F`` fits exactly.  ``λ`` is
    re-evaluated as ``λ_min(D⁻¹FD⁻¹)``."""
    n, b = len(mu), _scaled_rows(a, slack, mu)
    c_var, lam = cp.Variable((n, n), symmetric=True), cp.Variable()
    quad = cp.sum(cp.multiply(b @ c_var, b), axis=1)
    _solve(cp.Problem(cp.Maximize(lam), [c_var - lam * np.eye(n) >> 0,
                                                cp.diag(c_var) == 1,
                                                quad <= 1.0 - 1e-7]), settings)
    f = _fix_diagonal(np.asarray(c_var.value) * np.outer(mu, mu), mu)
    corr = f / np.outer(mu, mu)
    return float(np.linalg.eigvalsh(0.5 * (corr + corr.T))[0]), f


def _sqrt_psd(f: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (f + f.T))
    return (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
