"""Extension (our own criteria, not the paper's Figure 2): one tuning-criteria instance:
config → certified ``Q*`` → criteria and restarts → record.

Instances (``experiment.instance``):

* ``theorem1``: the Theorem 1 optimum of the configured dataset/mixing/λ/seed.  Its
  certified solve is looked up in (or stored to) the cache under the *identifiability*
  key, so it is shared with the identifiability sweep.
* ``offset``: two sources on a grid decoded linearly with targets ``S + c``
  (:func:`convex_coding.uniqueness.offset_instance`).
* ``on_off``: the Theorem 3 optimum for one stimulus at density bound ``ρ``
  (:func:`convex_coding.uniqueness.on_off_instance`): the ON/OFF pair when ``ρ ≥ ρ*``,
  a face of localised codes below.

``experiment.nonnegative=false`` gives the PSD-only contrast of either.  An instance whose
optimum is not certified (solver status, certificate, dual gap) is returned with
``certified: false`` and the reason, and is not cached; it is listed, never counted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import __version__
from .. import uniqueness as uq
from ..identifiability import AutoencoderProblem
from ..solvers import SolverError, SolverSettings, solver_version
from .cache import ResultCache, check_fields, code_digest, content_key, jsonable
from .config import (
    check_options,
    is_int,
    is_real,
    require,
    solver_settings,
    validate_identifiability,
)
from .errors import CertificateError, ConfigError
from .experiment import Experiment, Inputs
from .theorem1 import (
    build_problem,
    cached_instance,
    numerics_of,
    problem_key,
)

INSTANCES = ("theorem1", "offset", "on_off")


def theorem1_config(cfg: DictConfig) -> DictConfig:
    """The identifiability view of a tuning-uniqueness config (same cache key)."""
    sub = OmegaConf.to_container(cfg, resolve=True)
    sub["experiment"] = sub["experiment"]["theorem1"]
    return OmegaConf.create(sub)


def validate_tuning_criteria(cfg: DictConfig) -> None:
    """Check every setting a tuning-uniqueness run reads."""
    kind = require(cfg, "experiment.instance", lambda v: v in INSTANCES, ", ".join(INSTANCES))
    require(cfg, "experiment.nonnegative", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "experiment.restarts", lambda v: is_int(v) and 2 <= v <= 1000,
            "an integer in [2, 1000]")
    require(cfg, "experiment.restart_seed", lambda v: is_int(v) and v >= 0, "an integer ≥ 0")
    require(cfg, "experiment.extra_neurons", lambda v: is_int(v) and 0 <= v <= 20,
            "an integer in [0, 20]")
    for key in ("cp_tol", "converged_tol", "discrepancy_tol", "zero_tol", "gap_tol"):
        require(cfg, f"experiment.{key}", lambda v: is_real(v) and 0 < v < 1, "a number in (0, 1)")
    require(cfg, "experiment.scattered_max_neurons", lambda v: is_int(v) and 1 <= v <= 6,
            "an integer in [1, 6]")
    require(cfg, "experiment.keep_restarts", lambda v: isinstance(v, bool), "true or false")
    per_solver = require(cfg, "experiment.qspace_solver_options",
                         lambda v: isinstance(v, DictConfig), "a mapping solver name → options")
    for name in per_solver:
        check_options(cfg, f"experiment.qspace_solver_options.{name}")
    if kind == "offset":
        require(cfg, "experiment.offset", lambda v: is_real(v) and 0 <= v <= 100,
                "a number in [0, 100]")
        require(cfg, "experiment.grid_points", lambda v: is_int(v) and 3 <= v <= 11,
                "an integer in [3, 11]")
        require(cfg, "experiment.aspect", lambda v: is_real(v) and 0 < v <= 1,
                "a number in (0, 1]")
        require(cfg, "experiment.readout_weight", lambda v: is_real(v) and v > 0,
                "a finite number > 0")
    elif kind == "on_off":
        from .. import on_off_density as oo  # scipy.special: only ON/OFF instances need it

        if not cfg.experiment.nonnegative:
            raise ConfigError("experiment.nonnegative=false is not available for "
                              "experiment.instance=on_off; allowed: true")
        require(cfg, "experiment.stimulus", lambda v: v in oo.STIMULUS_KINDS,
                ", ".join(oo.STIMULUS_KINDS))
        if cfg.experiment.stimulus == "spike_and_slab":
            require(cfg, "experiment.stimulus_param", lambda v: is_real(v) and 0 < v <= 1,
                    "the slab probability p, a number in (0, 1]")
        elif cfg.experiment.stimulus in oo.STIMULUS_PARAMS:
            require(cfg, "experiment.stimulus_param", lambda v: is_real(v) and 0 < v <= 100,
                    "the shape β, a number in (0, 100]")
        require(cfg, "experiment.rho", lambda v: is_real(v) and 0 < v <= 1, "a number in (0, 1]")
        require(cfg, "experiment.n_samples", lambda v: is_int(v) and 5 <= v <= 201,
                "an integer in [5, 201]")
    else:
        try:
            validate_identifiability(theorem1_config(cfg))
        except ConfigError as exc:  # name the key as the user wrote it
            text = str(exc)
            if text.startswith("experiment."):
                text = "experiment.theorem1." + text[len("experiment."):]
            raise ConfigError(text) from None
    solver_settings(cfg)


def qspace_settings(cfg: DictConfig, settings: SolverSettings) -> SolverSettings:
    """Solver options for the T×T conic solves: ``qspace_solver_options[name]`` merged in."""
    extra = OmegaConf.select(cfg, f"experiment.qspace_solver_options.{settings.name}",
                             default=None)
    options = {**settings.options, **(OmegaConf.to_container(extra) if extra else {})}
    return SolverSettings(name=settings.name, options=options)


def numerics(cfg: DictConfig) -> dict[str, Any]:
    exp = cfg.experiment
    keys = ("restarts", "restart_seed", "extra_neurons", "cp_tol", "converged_tol",
            "discrepancy_tol", "zero_tol", "gap_tol", "scattered_max_neurons", "keep_restarts")
    return {k: exp[k] for k in keys}


def params_of(cfg: DictConfig) -> dict[str, Any]:
    exp = cfg.experiment
    out: dict[str, Any] = {"instance": exp.instance, "nonnegative": bool(exp.nonnegative)}
    if exp.instance == "offset":
        out.update(offset=float(exp.offset), grid_points=int(exp.grid_points),
                   aspect=float(exp.aspect), readout_weight=float(exp.readout_weight))
    elif exp.instance == "on_off":
        from .. import on_off_density as oo

        param = exp.stimulus_param if exp.stimulus in oo.STIMULUS_PARAMS else None
        out.update(stimulus=str(exp.stimulus),
                   stimulus_param=None if param is None else float(param),
                   rho=float(exp.rho), n_samples=int(exp.n_samples))
    else:
        out.update(dataset=cfg.dataset.kind, dim=int(cfg.dataset.dim), mixing=cfg.mixing.kind,
                   lambda_w=float(cfg.lambda_w), lambda_r=float(cfg.lambda_r),
                   seed=int(cfg.seed))
    return out


def theorem1_solution(cfg: DictConfig, problem: AutoencoderProblem, settings: SolverSettings,
                      cache: ResultCache | None) -> dict[str, Any]:
    """The certified Theorem 1 record, shared with the identifiability cache."""
    sub = theorem1_config(cfg)
    num = numerics_of(sub)
    key = problem_key(problem, settings, num)
    return cached_instance(cache, key, problem, settings, num)[0]


def instance_from_config(cfg: DictConfig, settings: SolverSettings,
                         cache: ResultCache | None) -> uq.Instance:
    """Build the configured instance (raises CertificateError / SolverError when the
    optimum cannot be certified).  New families (e.g. ON/OFF) are added here."""
    exp = cfg.experiment
    qset = qspace_settings(cfg, settings)
    if exp.instance == "offset":
        if exp.nonnegative:
            return uq.offset_instance(int(exp.grid_points), float(exp.offset), qset,
                                      float(exp.readout_weight), float(exp.aspect),
                                      gap_tol=float(exp.gap_tol),
                                      rng=np.random.default_rng(int(exp.restart_seed)),
                                      zero_tol=float(exp.zero_tol))
        return uq.offset_psd_instance(int(exp.grid_points), float(exp.offset), qset,
                                      float(exp.readout_weight), float(exp.aspect))
    if exp.instance == "on_off":
        p = params_of(cfg)
        return uq.on_off_instance(p["n_samples"], p["rho"], qset, stimulus=p["stimulus"],
                                  param=p["stimulus_param"], gap_tol=float(exp.gap_tol),
                                  name="on_off")
    try:
        problem = build_problem(cfg)
    except ConfigError:  # the user's own data file: one line naming the key
        raise
    except ValueError as exc:
        raise CertificateError(f"the configured instance is degenerate: {exc}") from exc
    if not exp.nonnegative:
        return uq.theorem1_psd_instance(problem, qset)
    record = theorem1_solution(cfg, problem, settings, cache)
    sol = record["solution"]
    inst = uq.theorem1_instance(problem, np.asarray(sol["directions"]),
                                np.asarray(sol["weights"]), zero_tol=float(exp.zero_tol))
    certificate = {k: sol[k] for k in ("loss", "certificate_violation", "complementarity",
                                       "value_gap", "status")}
    certificate["theory_modular"] = record["theory"]["modular"]
    return replace(inst, certificate=certificate)


def instance_key(cfg: DictConfig, settings: SolverSettings) -> str:
    """Content address: the instance parameters (or Theorem 1 data), numerics, solver."""
    desc: dict[str, Any] = {"experiment": "tuning_uniqueness", "params": params_of(cfg),
                            "numerics": numerics(cfg)}
    if cfg.experiment.instance == "theorem1":
        problem = build_problem(cfg)
        desc["theorem1_key"] = problem_key(problem, settings, numerics_of(theorem1_config(cfg)))
    desc.update(solver=settings.as_dict(),
                qspace=qspace_settings(cfg, settings).as_dict(),
                solver_version=solver_version(settings.name), package_version=__version__,
                code=code_digest())
    return content_key(desc)



def analyse_to_record(instance: uq.Instance, cfg: DictConfig,
                      settings: SolverSettings) -> dict[str, Any]:
    """Run the empirical test and every criterion; JSON-able result."""
    exp = cfg.experiment
    an = uq.analyse(instance, qspace_settings(cfg, settings),
                    np.random.default_rng(int(exp.restart_seed)), restarts=int(exp.restarts),
                    extra_neurons=int(exp.extra_neurons), cp_tol=float(exp.cp_tol),
                    converged_tol=float(exp.converged_tol),
                    discrepancy_tol=float(exp.discrepancy_tol),
                    scattered_max_neurons=int(exp.scattered_max_neurons),
                    stop_when_decided=not exp.keep_restarts)
    emp = an.empirical
    observed = emp.verdict
    decided = observed in (uq.UNIQUE, uq.NON_UNIQUE)
    agree = {c: (p == observed if decided and p in (uq.UNIQUE, uq.NON_UNIQUE) else None)
             for c, p in an.predictions.items()}
    route = an.optimality
    result: dict[str, Any] = {
        "certified": instance.certified,
        "uncertified_reason": None if instance.certified else "optimum not certified",
        "certificate": instance.certificate,
        "family": instance.family,
        "n_neurons": an.n_neurons,
        "rank": uq.numerical_rank(instance.q),
        "empirical": {
            "verdict": observed, "best_residual": emp.best_residual,
            "max_discrepancy": emp.max_discrepancy, "n_restarts": emp.n_restarts,
            "n_converged": emp.n_converged, "n_neurons": emp.n_neurons,
        },
        "predictions": an.predictions,
        "agree": agree,
        "optimality": None if route is None else {
            "verdict": route.verdict, "n_zero_atoms": route.n_zero_atoms,
            "n_families": route.n_families, "independent": route.independent,
            "all_independent": route.all_independent, "lp_value": route.lp_value,
            "support_in_zero_set": route.support_in_zero_set,
        },
        "zero_set_continuum": None if instance.zero_set is None else instance.zero_set.continuum,
        "rigidity": None if an.rigidity is None else {
            "rigid": an.rigidity.rigid, "lp_value": an.rigidity.lp_value,
            "lineality": an.rigidity.lineality,
        },
        "nested_pairs": an.nested_pairs,
        "tunings": instance.tunings,
        "instance_params": instance.params,
    }
    if exp.keep_restarts:  # the figure's showcase: restarts drawn over the stimulus
        result["restarts"] = [np.asarray(z) for z in emp.aligned]
        result["stimuli"] = instance.stimuli
    if not instance.certified:
        result["uncertified_reason"] = uncertified_reason(instance)
    return jsonable(result)


def uncertified_reason(instance: uq.Instance) -> str:
    """Why an instance's optimum is not certified: the certificate numbers that decide."""
    return "optimum not certified: " + ", ".join(
        f"{k}={float(v):.3g}" for k, v in instance.certificate.items()
        if isinstance(v, float) and k in ("gap", "representation_error", "snap_distance",
                                           "min_reduced_cost", "complementarity"))


def uncertified_record(instance: uq.Instance) -> dict[str, Any]:
    """The record of an instance whose optimum is not certified: its reason and
    certificate numbers only.  No restarts are run on an uncertified ``Q`` (their verdict
    would never be counted or drawn as a result)."""
    return jsonable({"certified": False, "uncertified_reason": uncertified_reason(instance),
                     "certificate": instance.certificate, "family": instance.family,
                     "empirical": {"verdict": uq.UNCERTIFIED}, "predictions": {},
                     "agree": {}})


#: fields of a certified cached record (an uncertified one needs only its reason)
RECORD_SCHEMA = {
    "certified": bool, "certificate": {}, "family": str, "n_neurons": int, "rank": int,
    "empirical": {"verdict": str, "best_residual": float, "n_restarts": int,
                  "n_converged": int},
    "predictions": {}, "agree": {}, "tunings": "matrix",
}
VERDICTS = (uq.UNIQUE, uq.NON_UNIQUE, uq.INCONCLUSIVE, uq.UNCERTIFIED)
#: defaults of conf/experiment/tuning_criteria.yaml and identifiability.yaml
DEFAULT_TOLERANCES = {"gap_tol": 1e-6, "certificate_tol": 1e-6, "complementarity_tol": 1e-5,
                      "value_tol": 1e-5}


def tolerances(cfg: DictConfig) -> dict[str, float]:
    """The tolerances a cached record's certificate is re-checked against."""
    t1 = cfg.experiment.theorem1
    return {"gap_tol": float(cfg.experiment.gap_tol),
            **{k: float(t1[k]) for k in ("certificate_tol", "complementarity_tol",
                                         "value_tol")}}


def _certificate_failure(family: str, c: dict[str, Any], tol: dict[str, float]) -> str | None:
    """Why a stored certificate does not certify its family's optimum (``None``: it does)."""
    def num(k: str) -> float:
        v = c.get(k)
        if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v):
            raise CertificateError(f"cached certificate.{k} is missing or not a number")
        return float(v)

    g = tol["gap_tol"]
    if family == "theorem1":
        if c.get("status") != "optimal":
            return f"status {c.get('status')!r}"
        for k, t in (("certificate_violation", tol["certificate_tol"]),
                     ("complementarity", tol["complementarity_tol"]),
                     ("value_gap", tol["value_tol"])):
            if not 0 <= num(k) <= t:
                return f"{k}={num(k):.3g} outside [0, {t:.1g}]"
    elif family == "offset":
        if num("gap") > g or num("representation_error") > g:
            return f"gap {num('gap'):.3g}, representation error {num('representation_error'):.3g}"
        if abs(num("inner") - num("loss")) > g * num("loss"):
            return "inner value and loss differ"
    elif family == "on_off":
        if num("gap") > g or num("min_reduced_cost") < -g or num("complementarity") > g:
            return (f"gap {num('gap'):.3g}, reduced cost {num('min_reduced_cost'):.3g}, "
                    f"complementarity {num('complementarity'):.3g}")
    elif family == "offset_psd":
        if num("closed_form_error") > 1e-4:
            return f"closed-form error {num('closed_form_error'):.3g}"
    elif family == "theorem1_psd":
        if c.get("status") != "optimal":
            return f"status {c.get('status')!r}"
    else:
        return f"unknown family {family!r}"
    return None


def verify_record(payload: dict[str, Any], tol: dict[str, float] | None = None) -> None:
    """Re-check a cached record from its stored numbers (no solve): its fields, the
    family's certificate against the run's tolerances (a record marked certified whose
    certificate fails is rejected), the verdicts known, and each criterion's agreement
    equal to the one its prediction and the observed verdict give."""
    tol = {**DEFAULT_TOLERANCES, **(tol or {})}
    if not isinstance(payload, dict) or not isinstance(payload.get("certified"), bool):
        raise CertificateError("cached record: field certified missing")
    if not payload["certified"]:
        reason = payload.get("uncertified_reason")
        if not isinstance(reason, str) or not reason:
            raise CertificateError("cached uncertified record without its reason")
        return
    check_fields(payload, RECORD_SCHEMA)
    why = _certificate_failure(payload["family"], payload["certificate"], tol)
    if why is not None:
        raise CertificateError(f"cached record marked certified, but its certificate "
                               f"fails: {why}")
    observed = payload["empirical"]["verdict"]
    if observed not in VERDICTS or any(p not in VERDICTS
                                       for p in payload["predictions"].values()):
        raise CertificateError(f"cached record: unknown verdict {observed!r}")
    decided = observed in (uq.UNIQUE, uq.NON_UNIQUE)
    for c, p in payload["predictions"].items():
        expect = p == observed if decided and p in (uq.UNIQUE, uq.NON_UNIQUE) else None
        if payload["agree"].get(c) != expect:
            raise CertificateError(f"cached record: agreement of {c} contradicts its "
                                   "prediction and the observed verdict")


def run_tuning_criteria(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Validate, build, look up or analyse, and return the instance's record."""
    validate_tuning_criteria(cfg)
    settings = solver_settings(cfg)
    try:
        key = instance_key(cfg, settings)
    except ValueError as exc:
        raise ConfigError(f"the configured instance is degenerate: {exc}") from exc
    tol = tolerances(cfg)
    result = cache.get(key, verify=lambda p: verify_record(p, tol)) if cache is not None else None
    hit = result is not None
    if result is None:
        try:
            instance = instance_from_config(cfg, settings, cache)
            result = (analyse_to_record(instance, cfg, settings) if instance.certified
                      else uncertified_record(instance))
        except (CertificateError, SolverError) as exc:
            result = {"certified": False, "uncertified_reason": str(exc),
                      "empirical": {"verdict": uq.UNCERTIFIED}, "predictions": {},
                      "agree": {}}
        if cache is not None:
            # an uncertified outcome is deterministic (seeded restarts, fixed solver): it is
            # stored under the same key, so a rerun does not repeat the failing solve; it
            # carries no result (``certified: false``) and is never counted or drawn as one
            cache.put(key, result)
    certified = bool(result["certified"]) and result["empirical"]["verdict"] != uq.UNCERTIFIED
    return {
        "key": key,
        "params": params_of(cfg),
        "config": OmegaConf.to_container(cfg, resolve=True),
        "cache_hit": hit,
        "agree": result.get("agree", {}).get("optimality"),
        "verdict": result["empirical"]["verdict"] if certified else uq.UNCERTIFIED,
        **result,
    }


def describe(record: dict[str, Any]) -> str:
    """The restarts' verdict and each criterion's prediction, in one line."""
    if record["verdict"] == "uncertified":
        return f"uncertified ({record.get('uncertified_reason')}), not counted"
    predicted = ", ".join(f"{c}: {v}" for c, v in record["predictions"].items())
    return f"restarts say {record['verdict']}; criteria {predicted}"


def _records(inputs: Inputs) -> list[dict[str, Any]]:
    return [r for batch in inputs["batches"] for r in batch]


def summarise(inputs: Inputs) -> dict[str, Any]:
    from .figures import tuning_criteria as fig

    return fig.summarise(_records(inputs))


def render(inputs: Inputs, paths) -> None:
    from .figures import tuning_criteria as fig

    fig.render(_records(inputs), inputs["showcase"], paths)


#: the config check alone (no solve): run before any job by the workflow
validate = validate_tuning_criteria


EXPERIMENT = Experiment(
    name="tuning_criteria",
    title="Extension: our four criteria for unique tunings on certified optima",
    paper=False,
    run=run_tuning_criteria,
    describe=describe,
    summarise=summarise,
    render=render,
    verify=verify_record,
)
