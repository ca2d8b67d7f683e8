r"""The test instances: an optimal ``Q*`` with its tunings, zero set and certificate.

Theorem 1 optima (from the certified population solve or the ``Q``-space PSD bound),
linear decoding of two sources with an offset ``c`` (:mod:`.decoding`), the Theorem 3
(ON/OFF) optima, and the PSD-only contrasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import menu
from .._lazy import cvxpy as cp
from ..identifiability import (
    AutoencoderProblem,
    affine_atoms,
    lambda_matrix,
    population_matrix,
)
from ..solvers import SolverSettings, solve_checked
from .decoding import offset_decoding_data, solve_linear_decoding
from .factorisation import merge_parallel_rows
from .zero_sets import ZeroSet, _dedupe_rows, sample_family, theorem1_zero_set

# ================================================================================ instances


@dataclass(frozen=True)
class Instance:
    """A certified optimum ``Q* = ZᵀZ`` and the zero set of its reduced cost.

    ``nonnegative=False`` marks a PSD-only contrast: tunings of any sign, so every
    rotation of ``Z`` factorises ``Q*`` too.
    """

    name: str
    family: str
    q: np.ndarray
    tunings: np.ndarray  # rows of the certified factorisation
    zero_set: ZeroSet | None
    nonnegative: bool = True
    certified: bool = True
    certificate: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    #: another certified optimum with a different Q exists (the optimum is a face): the
    #: tunings are not determined by the problem, whatever the factorisation of this Q*
    alternative_optimum: bool = False
    #: the stimulus values the tunings are indexed by (``d × T``; None if not recorded)
    stimuli: np.ndarray | None = None


def theorem1_instance(problem: AutoencoderProblem, directions: np.ndarray,
                      weights: np.ndarray, name: str = "theorem1",
                      zero_tol: float = 1e-7) -> Instance:
    """Theorem 1 optimum: tunings ``√μ_i (ω_i·s̃ + m(ω_i))``, zero set of ``r(ω)`` at ``H``."""
    tunings = (affine_atoms(problem, directions) * np.sqrt(weights)[None, :]).T
    lam = lambda_matrix(problem, population_matrix(directions, weights))
    zero = theorem1_zero_set(problem, lam, tol=zero_tol)
    return Instance(name=name, family="theorem1", q=tunings.T @ tunings, tunings=tunings,
                    zero_set=zero, stimuli=np.asarray(problem.sources, dtype=float))


def theorem1_psd_instance(problem: AutoencoderProblem, settings: SolverSettings,
                          name: str = "theorem1_psd") -> Instance:
    """PSD-only contrast of Theorem 1 (``Q ⪰ 0`` with the affine range, no ``Q ≥ 0``).

    Certificate: with ``G = ∇f`` on the allowed range ``B``, ``BᵀGB ⪰ 0`` and
    ``⟨G, Q⟩ = 0``; here checked as the solver status plus ``Q`` being a global
    minimiser of the convex problem over ``S₊`` (status optimal).
    """
    data = problem.mixing @ problem.sources
    t = problem.n_samples
    sim = menu.affine_similarity(problem.sources)
    readout, constraints = menu.readout_energy_with_bias(sim, data)
    objective = (menu.activity_energy(sim) / t
                 + problem.lambda_w * menu.linear_weight_energy(sim, data)
                 + problem.lambda_r * readout)
    report = solve_checked(cp.Problem(cp.Minimize(objective), constraints), settings)
    q = sim.value()
    return _psd_instance(q, name, "theorem1_psd", {"value": report.value,
                                                   "status": report.status})


def _psd_instance(q: np.ndarray, name: str, family: str, certificate: dict) -> Instance:
    w, v = np.linalg.eigh(q)
    keep = w > 1e-9 * w.max()
    tunings = (v[:, keep] * np.sqrt(w[keep])).T
    return Instance(name=name, family=family, q=tunings.T @ tunings, tunings=tunings,
                    zero_set=None, nonnegative=False, certificate=certificate)


def snap_to_zero_set(tunings: np.ndarray, zero: ZeroSet,
                     samples: int = 2049) -> tuple[np.ndarray, float]:
    """Replace each tuning by the nearest exact zero-cost tuning (same norm); merge copies.

    Candidates are the isolated atoms and dense samples of each family.  Returns the
    snapped tunings and the largest unit-vector distance moved.
    """
    cands = [zero.atoms] + [sample_family(f, samples) for f in zero.families]
    cand = np.vstack([c for c in cands if len(c)])
    cand = cand[np.linalg.norm(cand, axis=1) > 0]
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    norms = np.linalg.norm(tunings, axis=1)
    unit = tunings / norms[:, None]
    dist = np.linalg.norm(unit[:, None, :] - cand[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    snapped = cand[nearest] * norms[:, None]
    moved = float(dist.min(axis=1).max())
    return merge_parallel_rows(snapped, prune_tol=0.0, angle_tol=1e-12), moved


def offset_instance(grid_points: int, offset: float, settings: SolverSettings,
                    readout_weight: float = 1.0, aspect: float = 1.0, gap_tol: float = 1e-6,
                    snap_tol: float = 1e-3, rng: np.random.Generator | None = None,
                    zero_tol: float = 1e-6,
                    name: str = "offset") -> Instance:
    """Two sources decoded linearly with offset ``c``: certified ``Q*`` and its zero set.

    Certified iff ``f(Q*)`` is within ``gap_tol`` (relative) of the best rigorous lower
    bound, the neurons represent ``Y`` to ``gap_tol`` and the menu's dictionary bound on
    the same tunings agrees with ``f(Q*)``.  The zero set is the optimal dual's; the
    analysed ``Q*`` is the Newton-polished exact KKT point (:func:`polish_decoding`) or,
    if the polish fails, has each tuning replaced by its nearest exact zero-cost tuning
    (:func:`snap_to_zero_set`, moved by at most ``snap_tol``), so that the exact
    linear-algebra tests see the exact optimum and not the solver's ~1e-5 noise.
    """
    sources, targets = offset_decoding_data(grid_points, offset, aspect)
    sol = solve_linear_decoding(targets, settings, readout_weight, rng, zero_tol=zero_tol)
    if sol.polished:  # already an exact KKT point: every tuning is an exact zero atom
        tunings, snap = sol.tunings, 0.0
    else:
        tunings, snap = snap_to_zero_set(sol.tunings, sol.zero_set)
    q = tunings.T @ tunings
    zero = sol.zero_set
    inner_ok = bool(np.isfinite(sol.inner)) and abs(sol.inner - sol.loss) <= gap_tol * sol.loss
    certified = bool(sol.gap <= gap_tol and sol.representation_error <= gap_tol and inner_ok
                     and snap <= snap_tol)
    certificate = {
        "loss": sol.loss, "outer": sol.outer, "inner": sol.inner, "dual_bound": sol.dual_bound,
        "gap": sol.gap, "dnn_gap": sol.dnn_gap, "outer_cp_residual": sol.outer_cp_residual,
        "representation_error": sol.representation_error, "snap_distance": snap,
        "polished": sol.polished,
    }
    return Instance(name=name, family="offset", q=q, tunings=tunings, zero_set=zero,
                    certified=bool(certified), certificate=certificate,
                    params={"offset": offset, "grid_points": grid_points}, stimuli=sources)


def offset_psd_instance(grid_points: int, offset: float, settings: SolverSettings,
                        readout_weight: float = 1.0, aspect: float = 1.0,
                        name: str = "offset_psd") -> Instance:
    """PSD-only contrast: ``min_{Q ⪰ 0}``; closed form ``√(λT)(YᵀY)^{1/2}`` checked."""
    _, targets = offset_decoding_data(grid_points, offset, aspect)
    t = targets.shape[1]
    sim = menu.psd_similarity(t)
    readout, cons = menu.readout_energy(sim, targets)
    report = solve_checked(cp.Problem(cp.Minimize(menu.activity_energy(sim) / t
                                                  + readout_weight * readout), cons), settings)
    _, s, vt = np.linalg.svd(targets, full_matrices=False)
    closed = np.sqrt(readout_weight * t) * (vt.T * s) @ vt
    q = sim.value()
    err = float(np.linalg.norm(q - closed) / np.linalg.norm(closed))
    inst = _psd_instance(closed, name, "offset_psd",
                         {"value": report.value, "status": report.status,
                          "closed_form_error": err})
    return replace(inst, params={"offset": offset, "grid_points": grid_points},
                   certified=err <= 1e-4)


# ------------------------------------------------------------------ ON/OFF (Theorem 3)


def on_off_instance(n_samples: int, rho: float, settings: SolverSettings,
                    stimulus: str = "uniform", param: float | None = None, lam: float = 1.0,
                    zero_tol: float = 1e-9, gap_tol: float = 1e-6, snap_tol: float = 1e-3,
                    refine: int = 4, name: str = "on_off") -> Instance:
    """Certified ON/OFF optimum (per-neuron density ``a(y) ≤ ρ``) and its zero set.

    The optimum comes from :func:`convex_coding.on_off_density.solve_on_off` (column generation
    with an exactly priced dual ``g``); ``Q* = Σ_k c_k ŷ_k ŷ_kᵀ`` with
    ``c_k = √(λT)|v_k|`` and gradient ``G = (I − ggᵀ)/T``, so the relative reduced cost
    of a feasible unit tuning is ``1 − (gᵀŷ)²``.

    * Dense ``ρ ≥ ρ*``: ``g = ŷ₊ − ŷ₋`` and by Cauchy–Schwarz the zero set is exactly
      ``{ŷ₊, ŷ₋}``.  The solver's support atoms (near-copies of the ramps carrying
      weight at reduced cost ~1e-10) are snapped to these two (moved by at most
      ``snap_tol``) and ``Q*`` is the exact ON/OFF pair (:func:`on_off.on_off_pair`).
    * Sparse ``ρ < ρ*``: ``g = sign(x)/√(ρT)`` and the zero set is every one-signed
      tuning of density exactly ρ, a continuum; the optimum is a face.  It is confirmed
      non-trivial by a second certified optimum with a different ``Q``
      (:func:`on_off.canonical_code`, same dual), recorded as ``alternative_optimum``.
      ``Q*`` is the solver's basic optimum.  Zero atoms: the support plus a dictionary
      ``refine`` times finer than the solver's, filtered by reduced cost ``≤ zero_tol``.

    Certified iff the relative gap, the most negative priced reduced cost and the
    complementarity are at most ``gap_tol`` (and, dense, the snap is within ``snap_tol``).
    """
    from .. import on_off_density as oo

    x = oo.stimulus_samples(stimulus, n_samples, param)
    t = len(x)
    sol = oo.solve_on_off(x, rho, settings)
    g = sol.dual
    rho_star = oo.predicted_threshold(x)
    ramps = np.array([np.maximum(sgn * x, 0.0) for sgn in (1.0, -1.0)])
    ramps /= np.linalg.norm(ramps, axis=1, keepdims=True)
    dense = bool(np.all(oo.lifetime_density(ramps.T) <= rho * (1 + 1e-12)))
    snap, other = 0.0, 0.0
    if dense:
        dist = np.linalg.norm(sol.atoms.T[:, None, :] - ramps[None, :, :], axis=2)
        snap = float(dist.min(axis=1).max())
        tunings, _ = oo.on_off_pair(x, lam)
        zero_atoms = ramps
    else:
        energy = np.sqrt(lam * t) * sol.weights
        tunings = merge_parallel_rows(sol.atoms.T * np.sqrt(energy)[:, None], prune_tol=0.0,
                                      angle_tol=1e-9)
        cand = np.hstack([oo.feasible_atoms(oo.ramps_and_tents(x, refine=refine), rho),
                          oo.density_tents(x, rho, refine=refine), sol.atoms])
        cand = cand / np.linalg.norm(cand, axis=0)
        keep = ((oo.lifetime_density(cand) <= rho * (1 + 1e-9))
                & (1.0 - (g @ cand) ** 2 <= zero_tol))
        zero_atoms = _dedupe_rows(cand[:, keep].T, tol=1e-6)
        can = oo.canonical_code(x, sol)
        z_can = can.atoms.T * np.sqrt(np.sqrt(lam * t) * can.weights)[:, None]
        q = tunings.T @ tunings
        other = float(np.linalg.norm(z_can.T @ z_can - q) / np.linalg.norm(q))
    certified = bool(sol.gap <= gap_tol and sol.min_reduced_cost >= -gap_tol
                     and sol.complementarity <= gap_tol and snap <= snap_tol)
    certificate = {"gap": float(sol.gap), "min_reduced_cost": float(sol.min_reduced_cost),
                   "complementarity": float(sol.complementarity),
                   "atomic_norm": float(sol.atomic_norm), "closed_form": float(sol.closed_form),
                   "rho_star": float(rho_star), "dense": dense, "snap_distance": snap,
                   "alternative_optimum_distance": other, "dual_source": sol.dual_source}
    return Instance(name=name, family="on_off", q=tunings.T @ tunings, tunings=tunings,
                    zero_set=ZeroSet(atoms=zero_atoms), certified=certified,
                    certificate=certificate, alternative_optimum=other > 1e-6,
                    params={"rho": rho, "n_samples": n_samples, "stimulus": stimulus},
                    stimuli=np.asarray(x, dtype=float).reshape(1, -1))
