"""Extension (the project's own model): one ON/OFF instance under a density bound:
config → stimulus → cached, certified solve → record.

``experiment.mode=solve`` solves the per-neuron-density problem at one ``rho``;
``experiment.mode=threshold`` bisects on ρ for the density at which the certified optimum
becomes the ON/OFF pair.  A failed certificate raises :class:`CertificateError`, so
nothing is cached.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import __version__
from ..on_off_density import (
    STIMULUS_KINDS,
    analyse,
    closed_form_norm,
    cost,
    is_symmetric,
    lifetime_density,
    measured_threshold,
    outer_bound,
    outer_bound_symmetric,
    outer_certificate,
    predicted_threshold,
    q_space_cost,
    solve_on_off,
    stimulus_samples,
    support_value,
)
from ..solvers import SolverError, SolverSettings, solver_version
from .cache import (
    ResultCache,
    array_digest,
    check_fields,
    code_digest,
    content_key,
    solve_cached,
)
from .config import is_int, is_real, require, solver_settings
from .errors import CertificateError
from .experiment import Experiment, Inputs

MODES = ("solve", "threshold")


def validate_on_off_density(cfg: DictConfig) -> None:
    """Check every setting an ON/OFF run reads (key and allowed range in each message)."""
    kind = require(cfg, "stimulus.kind", lambda v: v in STIMULUS_KINDS, ", ".join(STIMULUS_KINDS))
    t = require(cfg, "stimulus.n_samples", lambda v: is_int(v) and 5 <= v <= 401,
                "an integer in [5, 401]")
    if kind == "spike_and_slab":
        require(cfg, "stimulus.param", lambda v: is_real(v) and 0 < v <= 1,
                "the slab probability p, a number in (0, 1]")
    elif kind == "gen_gaussian":
        require(cfg, "stimulus.param", lambda v: is_real(v) and 0 < v <= 100,
                "the shape β, a number in (0, 100]")
    else:
        require(cfg, "stimulus.param", lambda v: v is None, f"null for stimulus.kind={kind}")
    mode = require(cfg, "experiment.mode", lambda v: v in MODES, ", ".join(MODES))
    if mode == "solve":
        require(cfg, "rho", lambda v: is_real(v) and 1.0 / t <= v <= 1,
                f"a number in [1/T, 1] = [{1.0 / t:.4g}, 1] (T = stimulus.n_samples)")
    require(cfg, "lam", lambda v: is_real(v) and 0 < v <= 1e6, "a number in (0, 1e6]")
    for key in ("experiment.certificate_tol", "experiment.value_tol"):
        require(cfg, key, lambda v: is_real(v) and 0 < v < 1, "a number in (0, 1)")
    # the bracket is read by mode=threshold only: a solve at small T keeps the default
    low = 1.0 / t if mode == "threshold" else 0.0
    require(cfg, "experiment.threshold_bracket",
            lambda v: len(v) == 2 and all(is_real(b) for b in v) and low <= v[0] < v[1] <= 1
            and v[0] > 0, f"[low, high] with 1/T = {1.0 / t:.4g} ≤ low < high ≤ 1"
            if mode == "threshold" else "[low, high] with 0 < low < high ≤ 1")
    require(cfg, "experiment.threshold_tol", lambda v: is_real(v) and 0 < v <= 0.1,
            "a number in (0, 0.1]")
    solver_settings(cfg)


def stimulus_of(cfg: DictConfig) -> np.ndarray:
    s = cfg.stimulus
    param = None if s.param is None else float(s.param)
    return stimulus_samples(s.kind, int(s.n_samples), param)


def stimulus_label(kind: str, param: float | None) -> str:
    if param is None:
        return kind
    symbol = "p" if kind == "spike_and_slab" else "β"
    return f"{kind} ({symbol}={param:g})"


def numerics_of(cfg: DictConfig) -> dict[str, Any]:
    exp = cfg.experiment
    return {
        "certificate_tol": float(exp.certificate_tol),
        "value_tol": float(exp.value_tol),
        "threshold_bracket": [float(b) for b in exp.threshold_bracket],
        "threshold_tol": float(exp.threshold_tol),
    }


def problem_key(x: np.ndarray, mode: str, rho: float | None, lam: float | None,
                settings: SolverSettings, numerics: dict) -> str:
    """Content address: samples, mode, ρ, λ (``None`` for the λ-free core solve),
    numerics, solver and our code."""
    return content_key({
        "experiment": "on_off",
        "mode": mode,
        "stimulus": array_digest(x),
        "rho": rho,
        "lam": lam,
        "numerics": numerics,
        "solver": settings.as_dict(),
        "solver_version": solver_version(settings.name),
        "package_version": __version__,
        "code": code_digest(),
    })


def _rel(a: float, b: float) -> float:
    return float((a - b) / max(abs(a), 1e-300))


def outer_value(x: np.ndarray, rho: float, inner: float, settings: SolverSettings,
                numerics: dict) -> tuple[float, str]:
    """The outer relaxation's value at ``λ = 1`` and how it was obtained.

    First the explicit dual certificate (:func:`outer_certificate`): a lower bound on
    the relaxation, which is at most the inner value (the inner optimum is feasible for
    the relaxation), so when the certificate is within ``value_tol`` of the inner value
    it pins the relaxation's value to that precision without a conic solve
    (``"dual_certificate"``).  Otherwise the relaxation itself is solved, in its
    symmetry-reduced form when ``x`` is symmetric (``"sdp"``)."""
    bound, _ = outer_certificate(x, rho, 1.0)
    if (inner - bound) / inner <= numerics["value_tol"]:
        return bound, "dual_certificate"
    solve = outer_bound_symmetric if is_symmetric(x) else outer_bound
    return solve(x, rho, 1.0, settings), "sdp"


def solve_core(x: np.ndarray, rho: float, settings: SolverSettings,
               numerics: dict) -> dict[str, Any]:
    """The λ-free part of one instance (JSON-able): the certified optimum at one ρ as
    atomic norms and costs at ``λ = 1``, reduced costs, the canonical code
    (:func:`canonical_code`) and its analysis.

    ``λ`` only scales the cost: the inner, lower and exact values are ``2√(λ/T)·‖x‖``,
    and the outer and Q-space problems ``min_Q Tr(Q)/T + λ r(Q)`` over a cone (with
    ``r(αQ) = r(Q)/α``) have value ``2√λ·min_Q √(Tr(Q) r(Q)/T)``, i.e. ``√λ`` times their
    value at ``λ = 1`` (checked in the tests).  So one solve per (stimulus, ρ) serves
    every λ; :func:`record_for_lambda` scales it.
    """
    t = len(x)
    sol = solve_on_off(x, rho, settings, canonical=True)
    inner = cost(sol.atomic_norm, 1.0, t)
    outer, outer_source = outer_value(x, rho, inner, settings, numerics)
    q_space = q_space_cost(x, sol.atoms, 1.0, settings)
    checks = {
        "inner vs certified lower bound": sol.gap,
        "inner vs exact SOCP": abs(_rel(sol.atomic_norm, sol.exact_norm)),
        "inner vs Q-space dictionary problem": abs(_rel(inner, q_space)),
        "outer above inner": -_rel(inner, outer),
        "complementary slackness": sol.complementarity,
    }
    if sol.min_reduced_cost < -numerics["certificate_tol"]:
        raise CertificateError(
            f"an atom with relative reduced cost {sol.min_reduced_cost:.3g} exists at the "
            f"reported optimum (allowed ≥ −{numerics['certificate_tol']:.1g})")
    for what, value in checks.items():
        if value > numerics["value_tol"]:
            raise CertificateError(f"{what}: {value:.3g} (relative) exceeds "
                                   f"{numerics['value_tol']:.1g}")
    an = analyse(x, sol)
    return {
        "rho_star": predicted_threshold(x),
        "closed_form_norm": closed_form_norm(x, rho),
        "norms": {"inner": sol.atomic_norm, "lower": sol.lower_bound,
                  "exact": sol.exact_norm},
        "at_unit_lambda": {"outer": outer, "q_space": q_space},
        "solution": {
            "gap_inner_outer": _rel(inner, outer),
            "gap_inner_lower": sol.gap,
            "min_reduced_cost": sol.min_reduced_cost,
            "reduced_cost_by_method": {
                "exact": sol.pricing.exact,
                "projected_gradient": sol.pricing.projected_gradient,
                "fine_dictionary": sol.pricing.fine_dictionary,
            },
            "complementarity": sol.complementarity,
            "dual_source": sol.dual_source,
            "outer_source": outer_source,
            "rounds": sol.rounds,
            "n_dictionary": sol.n_dictionary,
            "representative": sol.representative,
            "n_basic": sol.n_basic,
            "atoms": sol.atoms.T.tolist(),
            "weights": sol.weights.tolist(),
            "signs": sol.signs.tolist(),
            "status": "optimal",
            "solver": sol.solver,
            "solver_version": solver_version(sol.solver),
        },
        "measured": {
            "on_off": an.on_off,
            "covering_pair": an.covering_pair,
            "monotone_share": an.monotone_share,
            "n_tunings": an.n_tunings,
            "n_two_sided": an.n_two_sided,
            "centres": an.centres.tolist(),
            "widths": an.widths.tolist(),
            "max_monotone_extent": an.max_monotone_extent,
        },
        "n_samples": t,
        "certificate": {"dual": sol.dual.tolist()},
    }


def record_for_lambda(core: dict[str, Any], rho: float, lam: float) -> dict[str, Any]:
    """One instance's result at ``λ`` from its λ-free core (costs scaled, see
    :func:`solve_core`)."""
    t = core["n_samples"]
    root = float(np.sqrt(lam))
    norms, unit = core["norms"], core["at_unit_lambda"]
    return {
        "theory": {
            "rho_star": core["rho_star"],
            "pair_optimal": bool(rho >= core["rho_star"]),
            "cost": cost(core["closed_form_norm"], lam, t),
        },
        "solution": {
            "inner": cost(norms["inner"], lam, t),
            "lower": cost(norms["lower"], lam, t),
            "outer": root * unit["outer"],
            "exact": cost(norms["exact"], lam, t),
            "q_space": root * unit["q_space"],
            **core["solution"],
        },
        "measured": core["measured"],
        "n_samples": t,
        "package_version": __version__,
        "certificate": core["certificate"],
    }


def solve_and_certify(x: np.ndarray, rho: float, lam: float, settings: SolverSettings,
                      numerics: dict) -> dict[str, Any]:
    """Certified optimum at one ρ and λ: inner, lower, exact, closed-form, Q-space and
    outer values, reduced costs, the canonical tunings and their analysis (JSON-able)."""
    return record_for_lambda(solve_core(x, rho, settings, numerics), rho, lam)


def threshold_and_certify(x: np.ndarray, settings: SolverSettings,
                          numerics: dict) -> dict[str, Any]:
    """Measured threshold (bisection on the certified ON/OFF index) against ρ*."""
    lo, hi = numerics["threshold_bracket"]
    try:
        th = measured_threshold(x, settings, lo=lo, hi=hi, tol=numerics["threshold_tol"],
                                cert_tol=numerics["certificate_tol"],
                                gap_tol=numerics["value_tol"])
    except SolverError as exc:
        raise CertificateError(str(exc)) from exc
    except ValueError as exc:
        raise CertificateError(f"threshold bisection: {exc}") from exc
    rho_star = predicted_threshold(x)
    return {
        "theory": {"rho_star": rho_star},
        "measured": {
            "threshold": th.measured,
            "bracket": list(th.bracket),
            "difference": th.measured - rho_star,
            "n_solves": th.n_solves,
        },
        "solution": {
            "min_reduced_cost": th.min_reduced_cost,
            "max_gap_inner_lower": th.max_gap,
            "status": "optimal",
            "solver": settings.name,
            "solver_version": solver_version(settings.name),
        },
        "n_samples": len(x),
        "package_version": __version__,
    }


#: defaults of conf/experiment/on_off_density.yaml: the generic check's tolerances
DEFAULT_NUMERICS = {"certificate_tol": 1e-6, "value_tol": 1e-6, "threshold_tol": 1e-3}

_CODE = {"atoms": "matrix", "weights": list, "signs": list, "min_reduced_cost": float,
         "gap_inner_lower": float, "gap_inner_outer": float, "complementarity": float,
         "status": str, "solver": str}
_MEASURED = {"on_off": bool, "covering_pair": bool, "monotone_share": float,
             "n_tunings": int, "centres": list, "widths": list}
CORE_SCHEMA = {"rho_star": float, "closed_form_norm": float,
               "norms": {"inner": float, "lower": float, "exact": float},
               "at_unit_lambda": {"outer": float, "q_space": float}, "solution": _CODE,
               "measured": _MEASURED, "n_samples": int, "certificate": {"dual": list}}
RESULT_SCHEMA = {"theory": {"rho_star": float, "pair_optimal": bool, "cost": float},
                 "solution": {**_CODE, "inner": float, "lower": float, "outer": float,
                              "exact": float, "q_space": float},
                 "measured": _MEASURED, "n_samples": int, "certificate": {"dual": list}}
THRESHOLD_SCHEMA = {"theory": {"rho_star": float},
                    "measured": {"threshold": float, "bracket": list, "difference": float,
                                 "n_solves": int},
                    "solution": {"min_reduced_cost": float, "max_gap_inner_lower": float,
                                 "status": str},
                    "n_samples": int}


def _rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _check_numbers(sol: dict[str, Any], numerics: dict) -> None:
    """The stored certificate numbers against the run's tolerances."""
    cert, val = numerics["certificate_tol"], numerics["value_tol"]
    if sol["min_reduced_cost"] < -cert:
        raise CertificateError(f"cached optimum: an atom with reduced cost "
                               f"{sol['min_reduced_cost']:.3g} exists (allowed ≥ −{cert:.1g})")
    for what in ("gap_inner_lower", "complementarity"):
        if not -val <= sol[what] <= val:
            raise CertificateError(f"cached optimum: {what}={sol[what]:.3g} exceeds {val:.1g}")
    if sol["gap_inner_outer"] > val:
        raise CertificateError(f"cached optimum: outer below inner by {sol['gap_inner_outer']:.3g}")
    if sol["status"] != "optimal":
        raise CertificateError(f"cached optimum: status {sol['status']!r}")


def _check_code(x: np.ndarray, rho: float, sol: dict[str, Any], inner_norm: float,
                lower_norm: float, dual: list, numerics: dict) -> None:
    """Re-certify a stored code on the rebuilt stimulus (no solve): the tunings are unit,
    nonnegative, of density ≤ ρ, reproduce ``x`` with total weight ``‖x‖_ρ`` (the inner
    value), and the stored dual ``g`` proves it optimal: exact pricing ``1 − h(±g)² ≥ −tol``
    and the lower bound ``gᵀx / max(1, h(±g))`` within ``value_tol`` of the inner value."""
    tol = numerics["value_tol"]
    y = np.asarray(sol["atoms"], dtype=float).T  # T × K
    w = np.asarray(sol["weights"], dtype=float)
    sign = np.asarray(sol["signs"], dtype=float)
    g = np.asarray(dual, dtype=float)
    t = len(x)
    if y.shape[0] != t or w.shape != (y.shape[1],) or sign.shape != w.shape or g.shape != (t,):
        raise CertificateError("cached code: atoms, weights, signs and dual differ in size")
    if np.any(w <= 0) or not np.all(np.isin(sign, (-1.0, 1.0))):
        raise CertificateError("cached code: weights must be positive and signs ±1")
    if np.any(y < -1e-12) or not np.allclose(np.linalg.norm(y, axis=0), 1.0, atol=1e-9):
        raise CertificateError("cached code: tunings are not nonnegative unit vectors")
    if np.any(lifetime_density(y) > rho * (1 + 1e-7)):
        raise CertificateError(f"cached code: a tuning is denser than ρ = {rho}")
    residual = np.linalg.norm(y @ (sign * w) - x) / np.linalg.norm(x)
    if residual > tol:
        raise CertificateError(f"cached code does not reproduce the stimulus ({residual:.2g})")
    if _rel_diff(w.sum(), inner_norm) > 1e-9:
        raise CertificateError(f"cached inner value {inner_norm:.10g} is not the code's "
                               f"total weight {w.sum():.10g}")
    h = float(np.max(support_value(np.column_stack([g, -g]), rho)))
    if 1.0 - h ** 2 < -numerics["certificate_tol"]:
        raise CertificateError(f"cached dual: exact reduced cost {1.0 - h ** 2:.3g} < 0")
    lower = float(g @ x) / max(1.0, h)
    if (inner_norm - lower) / inner_norm > tol or _rel_diff(lower, lower_norm) > 1e-7:
        raise CertificateError(f"cached optimum: the stored dual bounds the value by "
                               f"{lower:.10g}, the code costs {inner_norm:.10g}: not optimal")


def verify_core(payload: dict[str, Any], x: np.ndarray, rho: float,
                numerics: dict) -> None:
    """A cached λ-free core (see :func:`solve_core`), re-certified on ``x``."""
    check_fields(payload, CORE_SCHEMA)
    _check_numbers(payload["solution"], numerics)
    n = payload["norms"]
    _check_code(x, rho, payload["solution"], n["inner"], n["lower"],
                payload["certificate"]["dual"], numerics)
    if (_rel_diff(payload["closed_form_norm"], closed_form_norm(x, rho)) > 1e-12
            or _rel_diff(payload["rho_star"], predicted_threshold(x)) > 1e-12):
        raise CertificateError("cached closed form or ρ* differs from the stimulus'")


def verify_result(payload: dict[str, Any], x: np.ndarray, rho: float, lam: float,
                  numerics: dict) -> None:
    """A cached instance at one ρ and λ, re-certified on ``x``."""
    check_fields(payload, RESULT_SCHEMA)
    sol, th, t = payload["solution"], payload["theory"], len(x)
    _check_numbers(sol, numerics)
    unit = cost(1.0, lam, t)
    _check_code(x, rho, sol, sol["inner"] / unit, sol["lower"] / unit,
                payload["certificate"]["dual"], numerics)
    rho_star = predicted_threshold(x)
    if (_rel_diff(th["rho_star"], rho_star) > 1e-12
            or _rel_diff(th["cost"], cost(closed_form_norm(x, rho), lam, t)) > 1e-12
            or th["pair_optimal"] != bool(rho >= rho_star)):
        raise CertificateError("cached theory (ρ*, closed-form cost) differs from the stimulus'")


def verify_threshold(payload: dict[str, Any], x: np.ndarray, rho: float | None,
                     lam: float, numerics: dict) -> None:
    """A cached threshold: fields, ρ* of ``x``, the bracket holding the measured value and
    no wider than the tolerance, and the certificates of its solves within tolerance."""
    check_fields(payload, THRESHOLD_SCHEMA)
    m, sol = payload["measured"], payload["solution"]
    rho_star = predicted_threshold(x)
    b = m["bracket"]
    ok = len(b) == 2 and all(isinstance(v, int | float) and np.isfinite(v) for v in b)
    if not ok or not b[0] <= m["threshold"] <= b[1] or b[1] - b[0] > numerics["threshold_tol"]:
        raise CertificateError(f"cached threshold {m['threshold']} is not inside a bracket "
                               f"narrower than {numerics['threshold_tol']:g}")
    if (_rel_diff(payload["theory"]["rho_star"], rho_star) > 1e-12
            or abs(m["difference"] - (m["threshold"] - rho_star)) > 1e-12):
        raise CertificateError("cached ρ* or difference differs from the stimulus'")
    if sol["min_reduced_cost"] < -numerics["certificate_tol"]:
        raise CertificateError(f"cached threshold: an atom with reduced cost "
                               f"{sol['min_reduced_cost']:.3g} exists in one of its solves")
    if not 0 <= sol["max_gap_inner_lower"] <= numerics["value_tol"] or sol["status"] != "optimal":
        raise CertificateError("cached threshold: a solve's gap exceeds the tolerance")


def verify_any(payload: dict[str, Any]) -> None:
    """The experiment's generic check (fields and stored numbers; the stimulus is not
    known here): a threshold, an instance at one λ, or a λ-free core."""
    if not isinstance(payload, dict):
        raise CertificateError("cached payload is not an object")
    num = DEFAULT_NUMERICS
    if "threshold" in payload.get("measured", {}):
        check_fields(payload, THRESHOLD_SCHEMA)
        if payload["solution"]["min_reduced_cost"] < -num["certificate_tol"]:
            raise CertificateError("cached threshold: negative reduced cost")
        return
    check_fields(payload, CORE_SCHEMA if "norms" in payload else RESULT_SCHEMA)
    _check_numbers(payload["solution"], num)


def run_on_off_density(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Validate, build, look up or solve, and return the instance's record."""
    validate_on_off_density(cfg)
    settings = solver_settings(cfg)
    x = stimulus_of(cfg)
    mode = str(cfg.experiment.mode)
    rho = float(cfg.rho) if mode == "solve" else None
    lam = float(cfg.lam)
    numerics = numerics_of(cfg)
    key = problem_key(x, mode, rho, lam, settings, numerics)

    def solve() -> dict[str, Any]:
        if mode == "threshold":
            return threshold_and_certify(x, settings, numerics)
        # the λ-free core is cached on its own: one solve per (stimulus, ρ)
        core, _ = solve_cached(cache, problem_key(x, "solve_core", rho, None, settings,
                                                  numerics),
                               lambda: solve_core(x, rho, settings, numerics),
                               verify=lambda p: verify_core(p, x, rho, numerics))
        return record_for_lambda(core, rho, lam)

    check = (verify_threshold if mode == "threshold" else verify_result)
    result, hit = solve_cached(cache, key, solve,
                               verify=lambda p: check(p, x, rho, lam, numerics))
    result = {k: v for k, v in result.items() if k != "certificate"}  # the dual: cache only
    param = None if cfg.stimulus.param is None else float(cfg.stimulus.param)
    params = {
        "stimulus": stimulus_label(cfg.stimulus.kind, param),
        "kind": str(cfg.stimulus.kind),
        "param": param,
        "n_samples": int(cfg.stimulus.n_samples),
        "mode": mode,
        "rho": rho,
        "lam": lam,
    }
    if mode == "solve":
        agree = result["measured"]["on_off"] == result["theory"]["pair_optimal"]
    else:
        agree = abs(result["measured"]["difference"]) <= 0.01
    return {
        "key": key,
        "params": params,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "cache_hit": hit,
        "agree": bool(agree),
        **result,
    }



def describe(record: dict[str, Any]) -> str:
    """The threshold or the optimal code's shape, with its certificate, in one line."""
    if "threshold" in record["measured"]:
        return (f"measured threshold {record['measured']['threshold']:.4f}, predicted "
                f"ρ* = {record['theory']['rho_star']:.4f}")
    shape = "ON/OFF pair" if record["measured"]["on_off"] else "no ON/OFF pair"
    return (f"{shape} ({record['measured']['n_tunings']} tunings; theory: pair iff "
            f"ρ ≥ ρ* = {record['theory']['rho_star']:.4f}), cost "
            f"{record['solution']['inner']:.6g}, most negative reduced cost "
            f"{record['solution']['min_reduced_cost']:.1e}")


def _sweeps(inputs: Inputs) -> tuple[dict[str, Any], dict[str, Any]]:
    """stimulus → its records in sweep order, and the threshold records.  ``batches`` are
    the batch jobs' outputs (instance name → record; one job per stimulus, or packed
    jobs); ``stimuli`` names each stimulus's instances in sweep order."""
    records: dict[str, Any] = {}
    for block in inputs["batches"]:
        records.update(block)
    sweeps = {name: [records[i] for i in instances]
              for name, instances in inputs["stimuli"].items()}
    thresholds: dict[str, Any] = {}
    for block in inputs["thresholds"]:
        thresholds.update(block)
    return sweeps, thresholds


def summarise(inputs: Inputs) -> dict[str, Any]:
    from .figures import on_off_density as fig

    return fig.summarise(*_sweeps(inputs))


def render(inputs: Inputs, paths) -> None:
    from .figures import on_off_density as fig

    fig.render(*_sweeps(inputs), dict(inputs["showcase"]), paths)


#: the config check alone (no solve): run before any job by the workflow
validate = validate_on_off_density


EXPERIMENT = Experiment(
    name="on_off_density",
    title="Extension: ON/OFF channels under a per-neuron lifetime-density bound ρ",
    paper=False,
    run=run_on_off_density,
    describe=describe,
    summarise=summarise,
    render=render,
    verify=verify_any,
)
