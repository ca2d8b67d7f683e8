"""One identifiability instance: config → problem → cached, certified solve → record."""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

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
from .config import solver_settings, validate_identifiability
from .errors import CertificateError
from .experiment import Experiment, Inputs


def build_problem(cfg: DictConfig) -> AutoencoderProblem:
    """The instance a config describes (deterministic in ``seed``)."""
    rng = np.random.default_rng(cfg.seed)
    ds, mx = cfg.dataset, cfg.mixing
    sources = make_sources(
        ds.kind,
        ds.dim,
        rng,
        points_per_axis=ds.points_per_axis,
        n_points=ds.n_points,
        scale_spread=ds.scale_spread,
        cut_depth=tuple(ds.cut_depth),
        cut_corner=None if ds.cut_corner is None else np.asarray(ds.cut_corner, dtype=float),
    )
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


def verify_any(payload: dict[str, Any]) -> None:
    """The experiment's generic check: an alignment job's payload or an instance's."""
    if isinstance(payload, dict) and ({"c", "shown", "points"} & payload.keys()):
        verify_alignment(payload)
    else:
        verify_payload(payload)


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


def _alignment_payload(al: DictConfig, settings: SolverSettings) -> dict[str, Any]:
    """Compute one Figure 1 job: a sweep over c, a showcase, or the phase diagram."""
    from .. import alignment as alg

    lam = float(al.lam)
    cs = np.linspace(float(al.c_range[0]), float(al.c_range[1]), int(al.n_c))
    src = alg.named_sources(al.set, float(al.param))
    try:
        if al.job == "sweep":
            out = alg.sweep_set(src, cs, lam, settings,
                                measure_boundaries=bool(al.measure_boundaries))
            return {**out, "kind": al.set, "param": float(al.param)}
        if al.job == "showcase":
            return {"shown": [alg.showcase(src, float(c), lam, settings)
                              for c in al.showcase_c]}
        lo, hi, n = al.phase_params
        return alg.phase_diagram(al.set, np.linspace(float(lo), float(hi), int(n)), cs, lam,
                                 settings, np.linspace(cs[0], cs[-1], int(al.phase_solver_n_c)))
    except alg.CertificationFailed as exc:
        raise CertificateError(str(exc)) from exc


def _alignment_agree(job: str, payload: dict[str, Any]) -> bool:
    if job == "sweep":
        ok = payload["theory_modular"] == payload["solver_modular"]
        err = payload["boundary_error"]
        return bool(ok and (err is None or err <= 1e-3))
    if job == "showcase":
        return all(s["theory_modular"] == s["solver_modular"] for s in payload["shown"])
    return bool(all(p[2] == p[3] for p in payload["points"]))


ALIGNMENT_SWEEP_SCHEMA = {"c": list, "theory_modular": list, "solver_modular": list,
                          "signed_margin": list, "certificate_violation": float,
                          "theory_roots": list, "boundary_error": "number?", "kind": str,
                          "param": float}
ALIGNMENT_SHOWN_SCHEMA = {"c": float, "directions": list, "weights": list,
                          "theory_modular": bool, "solver_modular": bool}
ALIGNMENT_PHASE_SCHEMA = {"kind": str, "params": list, "points": list, "roots": list}


def verify_alignment(payload: dict[str, Any]) -> None:
    """Re-check a cached alignment payload from its stored numbers (cheap): its fields,
    per-c arrays of one length, the certificate violation, roots inside the c range, one
    weight per neuron, one root list per dataset parameter, and each agreement flag."""
    if "c" in payload:  # a sweep
        check_fields(payload, ALIGNMENT_SWEEP_SCHEMA)
        n = len(payload["c"])
        if not (len(payload["theory_modular"]) == len(payload["solver_modular"]) == n
                == len(payload["signed_margin"])):
            raise CertificateError("alignment sweep: per-c arrays differ in length")
        if payload["certificate_violation"] > 1e-6:
            raise CertificateError(
                f"alignment sweep: certificate violation {payload['certificate_violation']:.2g}"
            )
        for root in payload["theory_roots"]:
            if not payload["c"][0] < root < payload["c"][-1]:
                raise CertificateError(f"alignment sweep: root {root} outside the c range")
    elif "shown" in payload:
        check_fields(payload, {"shown": list})
        for i, shown in enumerate(payload["shown"]):
            check_fields(shown, ALIGNMENT_SHOWN_SCHEMA, f"payload.shown.{i}")
        if any(len(s["directions"]) != len(s["weights"]) for s in payload["shown"]):
            raise CertificateError("alignment showcase: neurons and weights differ in number")
    elif check_fields(payload, ALIGNMENT_PHASE_SCHEMA) or not all(
            isinstance(p, list) and len(p) == 4 and isinstance(p[2], bool)
            and isinstance(p[3], bool) for p in payload["points"]):
        raise CertificateError("alignment phase: each point is [param, c, theory, solver]")
    elif len(payload["roots"]) != len(payload["params"]):
        raise CertificateError("alignment phase: one root list per dataset parameter needed")


def run_alignment(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """One Figure 1 job (``experiment.alignment.job`` = sweep | showcase | phase), cached."""
    al = cfg.experiment.alignment
    settings = solver_settings(cfg)
    spec = OmegaConf.to_container(al, resolve=True)
    key = content_key({"experiment": "identifiability.alignment", "job": spec,
                       "solver": settings.as_dict(), "solver_version":
                       solver_version(settings.name), "package_version": __version__,
                       "code": code_digest()})
    payload, hit = solve_cached(cache, key, lambda: _alignment_payload(al, settings),
                                verify=verify_alignment)
    return {
        "key": key,
        "params": {"job": al.job, "set": al.set, "param": float(al.param),
                   "lam": float(al.lam)},
        "config": OmegaConf.to_container(cfg, resolve=True),
        "cache_hit": hit,
        "agree": _alignment_agree(al.job, payload),
        "alignment": payload,
    }


def cached_instance(cache: ResultCache | None, key: str, problem: AutoencoderProblem,
                    settings: SolverSettings, numerics: dict) -> tuple[dict[str, Any], bool]:
    """``(payload, cache_hit)``: the cached optimum re-verified on ``problem``, or a new
    certified solve stored (an uncertified one is recorded as such, and raises)."""
    return solve_cached(cache, key, lambda: solve_and_certify(problem, settings, numerics),
                        verify=lambda p: verify_instance(p, problem, numerics))


def run_identifiability(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Validate, build, look up or solve, and return the instance's record."""
    validate_identifiability(cfg)
    if cfg.experiment.alignment.job is not None:
        return run_alignment(cfg, cache)
    settings = solver_settings(cfg)
    try:
        problem = build_problem(cfg)
    except ValueError as exc:  # e.g. a dataset that collapses to a line
        raise CertificateError(f"the configured instance is degenerate: {exc}") from exc
    numerics = numerics_of(cfg)
    key = problem_key(problem, settings, numerics)
    result, hit = cached_instance(cache, key, problem, settings, numerics)
    params = {
        "dataset": cfg.dataset.kind,
        "dim": int(cfg.dataset.dim),
        "mixing": cfg.mixing.kind,
        "lambda_w": float(cfg.lambda_w),
        "lambda_r": float(cfg.lambda_r),
        "seed": int(cfg.seed),
    }
    agree = result["theory"]["modular"] == result["measured"]["modular"]
    return {
        "key": key,
        "params": params,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "cache_hit": hit,
        "agree": agree,
        **result,
    }


def describe(record: dict[str, Any]) -> str:
    """Theory against measurement and the certificate, in one line."""
    if "alignment" in record:
        p = record["params"]
        return f"alignment {p['job']} {p['set']} {p['param']}: agree={record['agree']}"
    theory = "modular" if record["theory"]["modular"] else "mixed"
    measured = "modular" if record["measured"]["modular"] else "mixed"
    return (f"theory {theory} (margin {record['theory']['margin']:.3g}), solver {measured} "
            f"(max angle {record['measured']['max_angle_deg']:.2f}°), certificate "
            f"violation {record['solution']['certificate_violation']:.1e}")


def _records(inputs: Inputs) -> list[dict[str, Any]]:
    return [r for batch in inputs["batches"] for r in batch]


def summarise(inputs: Inputs) -> dict[str, Any]:
    from .figures import identifiability as fig

    out = fig.summarise(_records(inputs))
    if "alignment" in inputs:
        out["alignment"] = fig.summarise_alignment(_alignment_payload_of(inputs))
    return out


def _alignment_payload_of(inputs: Inputs) -> dict[str, Any]:
    """The figure's payload from the alignment job's named records."""
    recs = inputs["alignment"]
    return {
        "sweeps": {name[len("sweep_"):]: r["alignment"] for name, r in recs.items()
                   if name.startswith("sweep_")},
        "panel_a": recs["showcase_a"]["alignment"]["shown"],
        "panel_b": recs["showcase_b"]["alignment"]["shown"],
        "phase": recs["phase"]["alignment"],
    }


def render(inputs: Inputs, paths) -> None:
    from .figures import identifiability as fig

    if "alignment" in inputs:
        fig.render_fig1(_alignment_payload_of(inputs), _records(inputs), paths)
    else:
        fig.render(_records(inputs), inputs["showcase"], paths)


#: the config check alone (no solve): run before any job by the workflow
validate = validate_identifiability


EXPERIMENT = Experiment(
    name="identifiability",
    title="Theorem 1: when is the energy-efficient nonnegative affine autoencoder modular?",
    paper=True,
    run=run_identifiability,
    describe=describe,
    summarise=summarise,
    render=render,
    verify=verify_any,
)
