"""The Theorem 1 instance shared by the experiments that solve it (identifiability, and the
tuning criteria's Theorem 1 family): config → problem → content key → certified solve, and
the re-verification of a stored optimum on its rebuilt problem.  Not a run module: run
modules import this, never each other."""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig

from .. import __version__
from ..identifiability import (
    AutoencoderProblem,
    modularity,
    solve_population,
    theory_verdict,
)
from ..identifiability.problem import (
    lambda_matrix,
    population_loss,
    population_matrix,
    reduced_cost,
)
from ..identifiability.theory import minimise_reduced_cost, modular_code
from ..solvers import SolverSettings, solver_version
from ..sources import make_mixing, make_sources
from .cache import ResultCache, array_digest, check_fields, code_digest, content_key, solve_cached
from .data_files import load_table
from .errors import CertificateError, ConfigError


def build_problem(cfg: DictConfig) -> AutoencoderProblem:
    """The instance a config describes (deterministic in ``seed``)."""
    rng = np.random.default_rng(cfg.seed)
    ds, mx = cfg.dataset, cfg.mixing
    if ds.kind == "file":
        sources = load_sources(ds.path, int(ds.dim))
    else:
        sources = _generated_sources(ds, rng)
    mixing = make_mixing(
        mx.kind,
        ds.dim,
        mx.out_dim,
        rng,
        max_correlation=mx.max_correlation,
        correlation=mx.correlation,
        gain_spread=mx.gain_spread,
    )
    return AutoencoderProblem(sources, mixing, float(cfg.lambda_w), float(cfg.lambda_r))


def _generated_sources(ds: DictConfig, rng: np.random.Generator) -> np.ndarray:
    return make_sources(
        ds.kind,
        ds.dim,
        rng,
        points_per_axis=ds.points_per_axis,
        n_points=ds.n_points,
        scale_spread=ds.scale_spread,
        cut_depth=tuple(ds.cut_depth),
        cut_corner=None if ds.cut_corner is None else np.asarray(ds.cut_corner, dtype=float),
    )


def load_sources(path: str, dim: int) -> np.ndarray:
    """The user's source set (``d × T``) from a file of ``T`` rows and ``d`` columns; one line
    naming ``dataset.path`` or ``dataset.dim`` if it is unusable."""
    table = load_table(path, "dataset.path")
    if table.shape[1] != dim:
        raise ConfigError(f"dataset.dim={dim} is invalid; {path!r} has {table.shape[1]} "
                          "column(s) (one per source)")
    if table.shape[0] < dim + 2:
        raise ConfigError(f"dataset.path={path!r}: {table.shape[0]} points; need at least "
                          f"{dim + 2} for {dim} sources")
    centred = table - table.mean(axis=0)
    if np.linalg.matrix_rank(centred) < dim:
        raise ConfigError(f"dataset.path={path!r}: the points lie in a lower-dimensional "
                          "plane (the centred sources must span all d dimensions)")
    return table.T.copy()


def problem_key(problem: AutoencoderProblem, settings: SolverSettings, numerics: dict) -> str:
    """Content address: the data, the costs, the numerics, the solver and our version."""
    return content_key(
        {
            "experiment": "identifiability",
            "sources": array_digest(problem.sources),
            "mixing": array_digest(problem.mixing),
            "lambda_w": problem.lambda_w,
            "lambda_r": problem.lambda_r,
            "numerics": numerics,
            "solver": settings.as_dict(),
            "solver_version": solver_version(settings.name),
            "package_version": __version__,
            "code": code_digest(),
        }
    )


def solve_and_certify(
    problem: AutoencoderProblem, settings: SolverSettings, numerics: dict
) -> dict[str, Any]:
    """Theory verdict, certified solve and modularity of one instance (JSON-able)."""
    theory = theory_verdict(problem, tol=numerics["theory_tol"])
    sol = solve_population(problem, settings)
    if sol.certificate_violation > numerics["certificate_tol"]:
        raise CertificateError(
            f"reduced cost is negative by {sol.certificate_violation:.3g} (relative) at the "
            f"reported optimum (allowed {numerics['certificate_tol']:.1g})"
        )
    if sol.complementarity > numerics["complementarity_tol"]:
        raise CertificateError(
            f"complementary slackness violated: Σ μ|r| / L = {sol.complementarity:.3g}"
        )
    gap = abs(sol.loss - sol.solver_value) / max(abs(sol.loss), 1e-300)
    if gap > numerics["value_tol"]:
        raise CertificateError(
            f"polished loss {sol.loss:.10g} and conic optimum {sol.solver_value:.10g} "
            f"differ by {gap:.3g} (relative)"
        )
    mod = modularity(sol.directions, sol.weights, angle_tol_deg=numerics["angle_tol_deg"])
    code = theory.code
    return {
        "theory": {
            "modular": theory.modular,
            "margin": theory.margin,
            "off_axis_margin": (
                theory.off_axis_margin if np.isfinite(theory.off_axis_margin) else None
            ),
            "worst_direction": theory.worst_direction.tolist(),
            "lambda_psd": theory.lambda_psd,
            "ellipsoid_inside": theory.ellipsoid_inside,
            "facet_slack": theory.facet_slack,
            "lambda_matrix": code.lam.tolist(),
            "modular_weights": code.weights.tolist(),
            "modular_signs": code.signs.tolist(),
            "modular_loss": code.loss,
        },
        "solution": {
            "loss": sol.loss,
            "solver_value": sol.solver_value,
            "value_gap": gap,
            "certificate_violation": sol.certificate_violation,
            "grid_violation": sol.grid_violation,
            "complementarity": sol.complementarity,
            "factorisation_residual": sol.factorisation_residual,
            "n_pieces": sol.n_pieces,
            "directions": sol.directions.tolist(),
            "weights": sol.weights.tolist(),
            "status": sol.status,
            "solver": sol.solver,
            "solver_version": solver_version(sol.solver),
        },
        "measured": {
            "max_angle_deg": mod.max_angle_deg,
            "off_axis_share": mod.off_axis_share,
            "n_active": mod.n_active,
            "modular": mod.off_axis_share <= numerics["off_axis_tol"],
        },
        "n_samples": problem.n_samples,
        "package_version": __version__,
    }

#: fields of a cached instance payload (checked before any number is trusted)
PAYLOAD_SCHEMA = {
    "theory": {"modular": bool, "margin": float, "off_axis_margin": "number?",
               "worst_direction": list, "lambda_psd": bool, "lambda_matrix": "matrix",
               "modular_weights": list, "modular_signs": list, "modular_loss": float},
    "solution": {"loss": float, "solver_value": float, "value_gap": float,
                 "certificate_violation": float, "grid_violation": float,
                 "complementarity": float, "factorisation_residual": float,
                 "n_pieces": int, "directions": "matrix", "weights": list, "status": str,
                 "solver": str},
    "measured": {"max_angle_deg": float, "off_axis_share": float, "n_active": int,
                 "modular": bool},
    "n_samples": int,
}

#: defaults of conf/experiment/identifiability.yaml: the generic check's tolerances
DEFAULT_NUMERICS = {"theory_tol": 1e-9, "certificate_tol": 1e-6, "complementarity_tol": 1e-5,
                    "value_tol": 1e-5, "off_axis_tol": 1e-6, "angle_tol_deg": 0.05}


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def verify_payload(payload: dict[str, Any], numerics: dict | None = None) -> None:
    """Fields and stored certificate numbers of a cached instance (no problem needed):
    every field present and typed, one weight per unit direction, all weights > 0, the
    stored gap equal to the one its values give, every certificate number within the
    run's tolerances, and the verdict equal to the one its stored measures give."""
    num = {**DEFAULT_NUMERICS, **(numerics or {})}
    check_fields(payload, PAYLOAD_SCHEMA)
    sol, meas = payload["solution"], payload["measured"]
    dirs = np.asarray(sol["directions"], dtype=float)
    w = np.asarray(sol["weights"], dtype=float)
    if w.shape != (len(dirs),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise CertificateError("cached solution: weights must be positive, one per direction")
    if not np.allclose(np.linalg.norm(dirs, axis=1), 1.0, atol=1e-9):
        raise CertificateError("cached solution: directions are not unit vectors")
    gap = abs(sol["loss"] - sol["solver_value"]) / max(abs(sol["loss"]), 1e-300)
    if not _close(gap, sol["value_gap"], 1e-6) and abs(gap - sol["value_gap"]) > 1e-15:
        raise CertificateError(f"cached value_gap {sol['value_gap']:.3g} is not "
                               f"|loss − solver value|/loss = {gap:.3g}")
    for what, value, tol in (("certificate_violation", sol["certificate_violation"],
                              num["certificate_tol"]),
                             ("complementarity", sol["complementarity"],
                              num["complementarity_tol"]),
                             ("value_gap", gap, num["value_tol"])):
        if not 0 <= value <= tol:
            raise CertificateError(f"cached solution: {what}={value:.3g} outside [0, {tol:.1g}]")
    if sol["status"] != "optimal":
        raise CertificateError(f"cached solution: status {sol['status']!r} is not optimal")
    if meas["modular"] != (meas["off_axis_share"] <= num["off_axis_tol"]):
        raise CertificateError("cached measured.modular contradicts its off_axis_share")


def verify_instance(payload: dict[str, Any], problem: AutoencoderProblem,
                    numerics: dict) -> None:
    """:func:`verify_payload`, then the certificate recomputed from the stored neurons on
    the rebuilt instance (no solve): the exact minimum of the reduced cost ``r(ω)`` over
    all unit directions at ``H = Σ μ_i ω_i ω_iᵀ``, complementary slackness, the loss and
    the modularity measures, and the theory's verdict (the modular code's ``Λ``)."""
    verify_payload(payload, numerics)
    sol = payload["solution"]
    dirs = np.asarray(sol["directions"], dtype=float)
    w = np.asarray(sol["weights"], dtype=float)
    if dirs.shape[1] != problem.dim or payload["n_samples"] != problem.n_samples:
        raise CertificateError("cached solution does not match the instance's dimensions")
    h = population_matrix(dirs, w)
    if np.linalg.matrix_rank(h) < problem.dim:
        raise CertificateError("cached neurons do not span the sources (H is singular)")
    lam = lambda_matrix(problem, h)
    code = modular_code(problem)
    scale = max(float(np.max(code.bias ** 2)), 1e-300)
    violation = max(0.0, -minimise_reduced_cost(problem, lam).value) / scale
    loss = population_loss(problem, dirs, w)
    comp = float(w @ np.abs(reduced_cost(problem, lam, dirs))) / loss
    if violation > numerics["certificate_tol"]:
        raise CertificateError(f"cached optimum: the reduced cost is negative by "
                               f"{violation:.3g} (relative) at the stored neurons (allowed "
                               f"{numerics['certificate_tol']:.1g}): not an optimum")
    if comp > numerics["complementarity_tol"]:
        raise CertificateError(f"cached optimum: complementary slackness violated "
                               f"({comp:.3g})")
    if not _close(loss, sol["loss"], 1e-9):
        raise CertificateError(f"cached loss {sol['loss']:.10g} is not the stored neurons' "
                               f"loss {loss:.10g}")
    if abs(loss - sol["solver_value"]) / abs(loss) > numerics["value_tol"]:
        raise CertificateError("cached optimum: loss and conic optimum differ")
    mod = modularity(dirs, w, angle_tol_deg=numerics["angle_tol_deg"])
    meas = payload["measured"]
    if (mod.n_active != meas["n_active"]
            or (not _close(mod.off_axis_share, meas["off_axis_share"], 1e-9)
            and abs(mod.off_axis_share - meas["off_axis_share"]) > 1e-12)):
        raise CertificateError("cached modularity measures differ from the stored neurons'")
    theory_min = minimise_reduced_cost(problem, code.lam).value
    if (theory_min >= -numerics["theory_tol"] * scale) != payload["theory"]["modular"]:
        raise CertificateError("cached theory verdict differs from the recomputed one")


def numerics_of(cfg: DictConfig) -> dict[str, float]:
    exp = cfg.experiment
    return {
        "theory_tol": float(exp.theory_tol),
        "certificate_tol": float(exp.certificate_tol),
        "complementarity_tol": float(exp.complementarity_tol),
        "value_tol": float(exp.value_tol),
        "off_axis_tol": float(exp.off_axis_tol),
        "angle_tol_deg": float(exp.angle_tol_deg),
    }


def cached_instance(cache: ResultCache | None, key: str, problem: AutoencoderProblem,
                    settings: SolverSettings, numerics: dict) -> tuple[dict[str, Any], bool]:
    """``(payload, cache_hit)``: the cached optimum re-verified on ``problem``, or a new
    certified solve stored (an uncertified one is recorded as such, and raises)."""
    return solve_cached(cache, key, lambda: solve_and_certify(problem, settings, numerics),
                        verify=lambda p: verify_instance(p, problem, numerics))
