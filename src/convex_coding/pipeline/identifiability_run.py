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
from ..solvers import SolverSettings, solver_version
from ..sources import make_mixing, make_sources
from .cache import ResultCache, array_digest, code_digest, content_key
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


def verify_alignment(payload: dict[str, Any]) -> None:
    """Re-check a cached alignment payload from its stored numbers (cheap)."""
    if "c" in payload:  # a sweep
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
        if any(len(s["directions"]) != len(s["weights"]) for s in payload["shown"]):
            raise CertificateError("alignment showcase: neurons and weights differ in number")
    elif len(payload.get("roots", [])) != len(payload.get("params", [None])):
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
    payload = cache.get(key, verify=verify_alignment) if cache is not None else None
    hit = payload is not None
    if payload is None:
        payload = _alignment_payload(al, settings)
        if cache is not None:
            cache.put(key, payload)
    return {
        "key": key,
        "params": {"job": al.job, "set": al.set, "param": float(al.param),
                   "lam": float(al.lam)},
        "config": OmegaConf.to_container(cfg, resolve=True),
        "cache_hit": hit,
        "agree": _alignment_agree(al.job, payload),
        "alignment": payload,
    }


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
    result = cache.get(key) if cache is not None else None
    hit = result is not None
    if result is None:
        result = solve_and_certify(problem, settings, numerics)
        if cache is not None:
            cache.put(key, result)
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


EXPERIMENT = Experiment(
    name="identifiability",
    title="Theorem 1: when is the energy-efficient nonnegative affine autoencoder modular?",
    paper=True,
    run=run_identifiability,
    describe=describe,
    summarise=summarise,
    render=render,
)
