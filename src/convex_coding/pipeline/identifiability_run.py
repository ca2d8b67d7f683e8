"""One identifiability instance: config → problem → cached, certified solve → record."""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import __version__
from ..alignment import signed_margin
from ..solvers import SolverSettings, solver_version
from .cache import ResultCache, check_fields, code_digest, content_key, solve_cached
from .config import solver_settings, validate_identifiability
from .errors import CertificateError, ConfigError
from .experiment import Experiment, Inputs
from .theorem1 import build_problem, cached_instance, numerics_of, problem_key, verify_payload


def verify_any(payload: dict[str, Any]) -> None:
    """The experiment's generic check: an alignment job's payload or an instance's."""
    if isinstance(payload, dict) and ({"c", "shown", "points"} & payload.keys()):
        verify_alignment(payload)
    else:
        verify_payload(payload)


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


def run_identifiability(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Validate, build, look up or solve, and return the instance's record."""
    validate_identifiability(cfg)
    if cfg.experiment.alignment.job is not None:
        return run_alignment(cfg, cache)
    settings = solver_settings(cfg)
    try:
        problem = build_problem(cfg)
    except ConfigError:  # the user's own data file: one line naming the key
        raise
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
        # the figure's x-axis (Fig. 1e): drawn, never a verdict (alignment.signed_margin)
        "signed_margin": signed_margin(problem) if problem.dim in (2, 3) else None,
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
