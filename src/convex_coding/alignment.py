r"""Alignment of the mixing: how ``AᵀA`` moves Theorem 1's boundary (the paper's Figure 1).

The mixing enters the problem only through ``Σ_A = AᵀA``.  We set
``Σ_A = G C(c) G`` with ``C(c) = [[1, c], [c, 1]]`` (d = 2; for d = 3, ``C`` has the
pairwise correlations ``c_ij``) and optional gains ``G = diag(g)``.  With one weight
cost ``λ = λ_W = λ_R`` the modular code's matrix is (our ``Λ`` = the paper's ``F``)

    F = λ D Σ_A D − Σ_s − λ Σ_A⁻¹,    D = diag(1/μ),

so for unit gains ``F₁₂ = λ c D₁D₂ + λ c/(1 − c²) − Σ₁₂``: the mixing's correlation
adds ``λc(D₁D₂ + 1/(1 − c²))`` to the off-diagonal term.  The code is modular (tight
scattering: the hull of the centred sources holds ``E = {x : xᵀF⁻¹x = 1}``) iff
``φ(ω) = m(ω)² − ωᵀFω ≥ 0`` on the unit circle.  A mixing is *aligned* when
``c·Σ₁₂ > 0`` (its term cancels the sources' own ``−Σ₁₂`` in ``F₁₂``) and *anti-aligned*
when ``c·Σ₁₂ < 0``; ``c`` moves ``F₁₂`` monotonically, so the modular set in ``c`` is a
window: aligned mixing can rescue a set orthogonal mixing leaves mixed, too much of it
overshoots, anti-aligned mixing destroys.

Everything is pure: arrays in, arrays out; boundaries come from exact verdicts
(:func:`theory_boundaries`, bisection to ``1e-10`` in ``c``) and from certified solves
(:func:`measured_boundary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .identifiability import (
    AutoencoderProblem,
    fibonacci_sphere,
    modular_code,
    modularity,
    reduced_cost,
    solve_population,
    theory_verdict,
)
from .solvers import SolverSettings
from .sources import grid_sources, remove_corner

# ------------------------------------------------------------------- mixings


def correlation_matrix(c: float | np.ndarray, dim: int = 2) -> np.ndarray:
    """``C`` with unit diagonal: ``[[1, c], [c, 1]]`` (scalar ``c``, d = 2) or the pairwise
    correlations ``(c₁₂, c₁₃, c₂₃)`` for d = 3 (a scalar fills every pair).

    Raises ``ValueError`` unless ``C ≻ 0`` (for d = 2: ``|c| < 1``).
    """
    corr = np.eye(dim)
    iu = np.triu_indices(dim, 1)
    corr[iu] = np.broadcast_to(np.asarray(c, dtype=float), (len(iu[0]),))
    corr = corr + np.triu(corr, 1).T
    if np.linalg.eigvalsh(corr).min() <= 0:
        raise ValueError(f"correlation {c} gives a C that is not positive definite")
    return corr


def aligned_mixing(
    c: float | np.ndarray, dim: int = 2, gains: np.ndarray | None = None
) -> np.ndarray:
    """A square ``A`` with ``AᵀA = G C(c) G`` (``A = L_Cholᵀ``; only ``AᵀA`` matters)."""
    g = np.ones(dim) if gains is None else np.asarray(gains, dtype=float)
    gram = g[:, None] * correlation_matrix(c, dim) * g[None, :]
    return np.linalg.cholesky(gram).T


def alignment_sign(sigma_s: np.ndarray, c: float) -> int:
    """``sign(c·Σ₁₂)``: +1 aligned (cancels ``−Σ₁₂`` in ``F₁₂``), −1 anti-aligned, 0 neither."""
    scale = float(np.sqrt(sigma_s[0, 0] * sigma_s[1, 1]))
    corr = sigma_s[0, 1] / scale if abs(sigma_s[0, 1]) > 1e-12 * scale else 0.0
    return int(np.sign(c * corr))


def f_offdiagonal(lam: float, c: float, d_diag: np.ndarray, sigma12: float) -> float:
    """Closed form ``F₁₂ = λcD₁D₂ + λc/(1 − c²) − Σ₁₂`` (one λ, unit gains, d = 2)."""
    return float(lam * c * d_diag[0] * d_diag[1] + lam * c / (1 - c**2) - sigma12)


# --------------------------------------------------------------- source sets


def corner_cut_set(depth: float, points_per_axis: int = 11) -> np.ndarray:
    """Unit grid on ``[−1, 1]²`` with the ``(+, +)`` corner cut at ``s₁ + s₂ ≤ 2 − depth``."""
    grid = grid_sources(2, points_per_axis, np.ones(2))
    return remove_corner(grid, np.ones(2), np.ones(2), depth)


def sheared_set(shear: float, points_per_axis: int = 11) -> np.ndarray:
    """The unit grid sheared ``s₁ ← s₁ + shear·s₂``: a tilted parallelogram."""
    grid = grid_sources(2, points_per_axis, np.ones(2))
    return np.array([[1.0, shear], [0.0, 1.0]]) @ grid


def triangle_set(points_per_axis: int = 11) -> np.ndarray:
    """Grid points of the triangle ``s ≥ 0, s₁ + s₂ ≤ 1``."""
    axis = np.linspace(0.0, 1.0, points_per_axis)
    s1, s2 = np.meshgrid(axis, axis, indexing="ij")
    keep = s1 + s2 <= 1.0 + 1e-12
    return np.vstack([s1[keep], s2[keep]])


def double_cut_set(depth: float, points_per_axis: int = 11) -> np.ndarray:
    """Unit grid with the ``(+, +)`` and ``(−, −)`` corners both cut at ``depth``."""
    once = corner_cut_set(depth, points_per_axis)
    return remove_corner(once, np.ones(2), -np.ones(2), depth)


def box_set(aspect: float, points_per_axis: int = 11) -> np.ndarray:
    """Grid on ``[−1, 1] × [−aspect, aspect]`` (``Σ₁₂ = 0``: no alignment direction)."""
    return grid_sources(2, points_per_axis, np.array([1.0, aspect]))


SOURCE_SETS: dict[str, Callable[[float], np.ndarray]] = {
    "corner_cut": corner_cut_set,
    "sheared": sheared_set,
    "triangle": lambda _p: triangle_set(),
    "double_cut": double_cut_set,
    "box": box_set,
}


def named_sources(kind: str, param: float) -> np.ndarray:
    """Source set ``kind`` (see :data:`SOURCE_SETS`) at its parameter."""
    if kind not in SOURCE_SETS:
        raise ValueError(f"source set {kind!r} unknown; allowed: {', '.join(SOURCE_SETS)}")
    return SOURCE_SETS[kind](param)


def alignment_problem(
    sources: np.ndarray, c: float, lam: float, gains: np.ndarray | None = None
) -> AutoencoderProblem:
    """The one-λ (``λ_W = λ_R = λ``) autoencoder of ``sources`` under ``Σ_A = G C(c) G``."""
    dim = sources.shape[0]
    return AutoencoderProblem(sources, aligned_mixing(c, dim, gains), lam, lam)


# ---------------------------------------------------------------- the margin


def signed_margin(problem: AutoencoderProblem, n_grid: int = 7200) -> float:
    r"""``min_ω φ(ω) / (max_i m_i² · sin θ(ω))`` over unit ``ω`` off the code's axes.

    ``θ(ω)`` is the angle to the nearest code axis ``σ_i e_i``.  Theorem 1's margin
    ``min φ`` is exactly 0 whenever the code is modular (``φ(σ_i e_i) = 0``), so it cannot
    show how far from the boundary an instance is; dividing by ``sin θ`` keeps the sign
    of ``φ`` and makes the quantity continuous in ``c``: positive when the modular code is
    the unique optimum, negative when a mixed neuron pays, zero at the boundary (either an
    off-axis dip of ``φ`` reaches zero or ``φ``'s slope at an axis does).  Evaluated on
    ``n_grid`` directions that avoid the axes (a uniform circle for d = 2, a Fibonacci
    sphere for d = 3); used for drawing and as a cross-check of the exact verdict, never
    as the verdict itself.
    """
    if problem.dim == 2:
        theta = 2 * np.pi * (np.arange(n_grid) + 0.5) / n_grid  # avoids the axes exactly
        omega = np.column_stack([np.cos(theta), np.sin(theta)])
    elif problem.dim == 3:
        omega = fibonacci_sphere(n_grid)
    else:
        raise ValueError(f"signed_margin is defined for d = 2 or 3, got {problem.dim}")
    code = modular_code(problem)
    phi = reduced_cost(problem, code.lam, omega)
    axes = np.diag(code.signs)
    sin_theta = np.sqrt(np.clip(1.0 - (omega @ axes.T).max(axis=1) ** 2, 1e-300, None))
    scale = max(float(np.max(code.bias**2)), 1e-300)
    return float(np.min(phi / (scale * sin_theta)))


# ---------------------------------------------------------------- boundaries


def theory_modular(problem: AutoencoderProblem, tol: float = 1e-12) -> bool:
    """Theorem 1's exact verdict (piecewise-exact minimum of ``φ``)."""
    return bool(theory_verdict(problem, tol=tol).modular)


def _bisect(pred: Callable[[float], bool], lo: float, hi: float, tol: float) -> float:
    """Point where ``pred`` flips between ``lo`` and ``hi`` (``pred(lo) != pred(hi)``)."""
    p_lo = pred(lo)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if pred(mid) == p_lo:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def theory_boundaries(
    build: Callable[[float], AutoencoderProblem],
    cs: np.ndarray,
    tol: float = 1e-10,
    theory_tol: float = 1e-12,
) -> np.ndarray:
    """Values of ``c`` where the exact verdict flips, bracketed on the grid ``cs`` and
    refined by bisection to ``tol``."""
    verdict = np.array([theory_modular(build(c), theory_tol) for c in cs])
    flips = np.flatnonzero(verdict[1:] != verdict[:-1])
    return np.array([
        _bisect(lambda c: theory_modular(build(c), theory_tol), cs[i], cs[i + 1], tol)
        for i in flips
    ])


@dataclass(frozen=True)
class CertifiedVerdict:
    """A certified solve's verdict and its certificate numbers."""

    modular: bool
    off_axis_share: float
    max_angle_deg: float
    certificate_violation: float
    complementarity: float
    value_gap: float
    directions: np.ndarray
    weights: np.ndarray


class CertificationFailed(RuntimeError):
    """A solve whose certificate exceeds its tolerance (never reported as a verdict)."""


def certified_verdict(
    problem: AutoencoderProblem,
    settings: SolverSettings,
    certificate_tol: float = 1e-6,
    complementarity_tol: float = 1e-5,
    value_tol: float = 1e-5,
    off_axis_tol: float = 1e-6,
    angle_tol_deg: float = 1e-4,
) -> CertifiedVerdict:
    """Solve, check the certificate (reduced cost, complementarity, value gap) and return
    the measured verdict: modular iff the weight share of neurons more than
    ``angle_tol_deg`` from an axis is ≤ ``off_axis_tol``.  Past a boundary the optimal
    neurons leave the axes continuously, so the angle tolerance must be small (the
    pipeline's 0.05° would move the measured boundary by ~1e-3 in ``c``).
    """
    sol = solve_population(problem, settings)
    gap = abs(sol.loss - sol.solver_value) / max(abs(sol.loss), 1e-300)
    if (sol.certificate_violation > certificate_tol or sol.complementarity >
            complementarity_tol or gap > value_tol):
        raise CertificationFailed(
            f"certificate {sol.certificate_violation:.2g}, complementarity "
            f"{sol.complementarity:.2g}, value gap {gap:.2g} exceed their tolerances"
        )
    mod = modularity(sol.directions, sol.weights, angle_tol_deg=angle_tol_deg)
    return CertifiedVerdict(
        modular=bool(mod.off_axis_share <= off_axis_tol),
        off_axis_share=mod.off_axis_share,
        max_angle_deg=mod.max_angle_deg,
        certificate_violation=sol.certificate_violation,
        complementarity=sol.complementarity,
        value_gap=gap,
        directions=sol.directions,
        weights=sol.weights,
    )


def measured_boundary(
    build: Callable[[float], AutoencoderProblem],
    lo: float,
    hi: float,
    settings: SolverSettings,
    tol: float = 2e-4,
) -> tuple[float, float]:
    """Bisection in ``c`` on the certified solver's verdict between ``lo`` and ``hi``.

    Returns ``(boundary, bracket width)``.  Only certified solves enter: when the probe
    at the midpoint fails its certificate (the optimum is degenerate right at the
    boundary), probes at ``±1/4`` of the bracket are tried; if those fail too the
    bisection stops and the wider bracket is returned (callers compare it with their
    tolerance).
    """
    def pred(c: float) -> bool:
        return certified_verdict(build(c), settings).modular

    p_lo = pred(lo)
    if p_lo == pred(hi):
        raise ValueError(f"the solver's verdict does not flip on [{lo}, {hi}]")
    while hi - lo > tol:
        for probe in (0.5, 0.25, 0.75):
            mid = lo + probe * (hi - lo)
            try:
                same = pred(mid) == p_lo
                break
            except CertificationFailed:
                continue
        else:
            break
        lo, hi = (mid, hi) if same else (lo, mid)
    return 0.5 * (lo + hi), hi - lo


# --------------------------------------------------------------------- sweeps


def sweep_set(
    sources: np.ndarray,
    cs: np.ndarray,
    lam: float,
    settings: SolverSettings,
    boundary_tol: float = 2.5e-4,
    boundary_bracket: float = 1e-3,
    measure_boundaries: bool = True,
) -> dict:
    """Theory margin, exact verdict and certified verdict at every ``c``; the theory's
    boundary roots and the solver's measured boundaries (JSON-able).

    Raises :class:`CertificationFailed` if any solve fails its certificate.
    """
    def build(c: float) -> AutoencoderProblem:
        return alignment_problem(sources, c, lam)

    theory = [theory_verdict(build(c), tol=1e-12) for c in cs]
    solved = [certified_verdict(build(c), settings) for c in cs]
    roots = theory_boundaries(build, cs)
    measured, errors = [], []
    for root in roots if measure_boundaries else []:
        # The certified verdicts must differ at root ± bracket, which already places the
        # solver's boundary within ``bracket`` of the theory's; bisection narrows it.
        b, width = measured_boundary(build, float(root - boundary_bracket),
                                     float(root + boundary_bracket), settings, boundary_tol)
        measured.append(b)
        errors.append(abs(b - root) + 0.5 * width)  # worst case over the bracket
    sigma_s = build(0.0).sigma_s
    return {
        "c": [float(c) for c in cs],
        "sigma12": float(sigma_s[0, 1]),
        "alignment": [alignment_sign(sigma_s, float(c)) for c in cs],
        "margin": [t.margin for t in theory],
        "signed_margin": [signed_margin(build(c)) for c in cs],
        "theory_modular": [bool(t.modular) for t in theory],
        "solver_modular": [bool(s.modular) for s in solved],
        "certificate_violation": max(s.certificate_violation for s in solved),
        "theory_roots": [float(r) for r in roots],
        "measured_roots": [float(b) for b in measured],
        "boundary_error": max(errors) if errors else None,
        "modular_at_zero": bool(theory_modular(build(0.0))),
    }


def showcase(sources: np.ndarray, c: float, lam: float, settings: SolverSettings) -> dict:
    """Centred sources, ``F`` and the certified optimal neurons at one ``c`` (JSON-able)."""
    problem = alignment_problem(sources, c, lam)
    verdict = theory_verdict(problem, tol=1e-12)
    solved = certified_verdict(problem, settings)
    return {
        "c": float(c),
        "centred": problem.centred.tolist(),
        "F": verdict.code.lam.tolist(),
        "directions": solved.directions.tolist(),
        "weights": solved.weights.tolist(),
        "theory_modular": bool(verdict.modular),
        "solver_modular": bool(solved.modular),
    }


def phase_diagram(
    kind: str, params: np.ndarray, cs: np.ndarray, lam: float,
    settings: SolverSettings, solver_cs: np.ndarray,
) -> dict:
    """Theory boundaries in ``c`` for each dataset parameter and solver verdicts on the
    coarser grid ``solver_cs`` (JSON-able)."""
    roots, points = [], []
    for p in params:
        src = named_sources(kind, float(p))

        def build(c: float, src: np.ndarray = src) -> AutoencoderProblem:
            return alignment_problem(src, c, lam)

        roots.append([float(r) for r in theory_boundaries(build, cs)])
        for c in solver_cs:
            prob = build(float(c))
            points.append([float(p), float(c), bool(theory_modular(prob)),
                           bool(certified_verdict(prob, settings).modular)])
    return {"kind": kind, "params": [float(p) for p in params], "roots": roots,
            "points": points}
