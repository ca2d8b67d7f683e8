"""The paper's Figure 3: one encoded variable → certified optimal ON/OFF code → record.

``experiment.mode=solve`` solves one variable (a slab with an atom ``Pr(I = 0) = p₀``, a
symmetric or skewed law, a natural-image statistic, or the user's samples);
``experiment.mode=threshold`` (slab variables) bisects on ``p₀`` for the sparsity at which the
certified optimum loses its OFF channel.  Every reported code passes the exact certificates
(function space and ``Q`` space) and the independent bounds (exact dual SOCP, priced
dictionary LP, DNN on a coarse twin); a failure raises :class:`CertificateError`, is recorded
as uncertified and is never drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import __version__
from .. import affine_channels as ac
from ..solvers import SolverSettings, solver_version
from .cache import ResultCache, array_digest, check_fields, code_digest, content_key, solve_cached
from .config import is_int, is_real, require, solver_settings
from .data_files import is_data_path, load_table
from .errors import CertificateError, ConfigError
from .experiment import Experiment, Inputs

KINDS = ("slab", "symmetric", "skewed", "image", "samples")
MODES = ("solve", "threshold")
CURVE_POINTS = 201  # tuning curves stored for drawing (panel a)


def validate(cfg: DictConfig) -> None:
    """One-line :class:`ConfigError` for every key this experiment reads."""
    from ..natural_images import FEATURES, IMAGES

    kind = require(cfg, "variable.kind", lambda v: v in KINDS, ", ".join(KINDS))
    require(cfg, "variable.n_cells", lambda v: is_int(v) and 10 <= v <= 5000,
            "an integer in [10, 5000]")
    modes = MODES if kind == "slab" else ("solve",)
    why = "" if kind == "slab" else f" (threshold needs variable=slab, not {kind})"
    mode = require(cfg, "experiment.mode", lambda v: v in modes, ", ".join(modes) + why)
    if kind in ("slab", "skewed"):
        law = require(cfg, "variable.law", lambda v: v in ac.SLAB_LAWS, ", ".join(ac.SLAB_LAWS))
        if law in ac.SHAPED:
            require(cfg, "variable.shape", lambda v: is_real(v) and 0.05 <= v <= 20,
                    f"the {law} shape {ac.SHAPED[law]}, a number in [0.05, 20]")
        else:
            require(cfg, "variable.shape", lambda v: v is None, f"null for variable.law={law}")
    if kind == "slab" and mode == "solve":
        require(cfg, "variable.p0", lambda v: is_real(v) and 0 <= v <= 0.99,
                "Pr(I = 0), a number in [0, 0.99]")
    if kind == "symmetric":
        require(cfg, "variable.law", lambda v: v in ac.SYMMETRIC_LAWS,
                ", ".join(ac.SYMMETRIC_LAWS))
    if kind == "image":
        require(cfg, "variable.image", lambda v: v in IMAGES, ", ".join(IMAGES))
        require(cfg, "variable.feature", lambda v: v in FEATURES, ", ".join(FEATURES))
    if kind == "samples":
        require(cfg, "variable.path", is_data_path,
                "the path of a .npy or .csv file (one column of samples)")
        require(cfg, "variable.column", lambda v: is_int(v) and v >= 0, "an integer ≥ 0")
    require(cfg, "lam", lambda v: is_real(v) and 0 < v <= 1e6, "a number in (0, 1e6]")
    exp = "experiment."
    require(cfg, exp + "certificate_tol", lambda v: is_real(v) and 0 < v <= 1e-6,
            "a number in (0, 1e-6]")
    require(cfg, exp + "bound_tol", lambda v: is_real(v) and 0 < v <= 1e-3,
            "a number in (0, 1e-3]")
    require(cfg, exp + "twin_cells", lambda v: is_int(v) and 4 <= v <= 40,
            "an integer in [4, 40] (the DNN is an SDP of this size)")
    require(cfg, exp + "threshold_tol", lambda v: is_real(v) and 1e-8 <= v <= 1e-2,
            "a number in [1e-8, 1e-2]")
    require(cfg, exp + "keep_tunings", lambda v: isinstance(v, bool), "true or false")
    solver_settings(cfg)


# ---------------------------------------------------------------- variables


def load_samples(path: str, column: int) -> np.ndarray:
    """One column of a ``.npy`` or ``.csv`` file; a :class:`ConfigError` names the key."""
    data = load_table(path, "variable.path")
    if column >= data.shape[1]:
        raise ConfigError(f"variable.column={column} is invalid; the file has "
                          f"{data.shape[1]} column(s)")
    try:
        return ac.validate_samples(data[:, column])
    except ValueError as exc:
        raise ConfigError(f"variable.path={path!r}: {exc}") from exc


def build_variable(cfg: DictConfig, p0: float | None = None) -> ac.Variable:
    """The configured variable (``p0`` overrides ``variable.p0`` for slabs)."""
    v = cfg.variable
    n = int(v.n_cells)
    if v.kind == "slab":
        return ac.sparse_variable(v.law, float(v.p0 if p0 is None else p0), n, v.shape)
    if v.kind == "symmetric":
        return ac.symmetric_variable(v.law, n)
    if v.kind == "skewed":
        return ac.skewed_variable(v.law, n, v.shape)
    if v.kind == "image":
        from ..natural_images import image_variable_samples

        return ac.samples_variable(image_variable_samples(v.image, v.feature), n)
    return ac.samples_variable(load_samples(v.path, int(v.column)), n)


def label_of(cfg: DictConfig | dict) -> str:
    v = cfg["variable"]
    if v["kind"] in ("slab", "skewed"):
        shape = "" if v.get("shape") is None else f"({v['shape']:g})"
        return f"{v['law']}{shape}"
    if v["kind"] == "image":
        return f"{v['image']} {v['feature']}"
    if v["kind"] == "samples":
        return Path(v["path"]).name
    return str(v["law"])


# ---------------------------------------------------------------- solve and certify


def certified_code(var: ac.Variable, lam: float, settings: SolverSettings,
                   exp: DictConfig | dict) -> dict[str, Any]:
    """The optimal code of ``var`` with every check recorded; raises on any failure."""
    tol, bound_tol = float(exp["certificate_tol"]), float(exp["bound_tol"])
    code = ac.optimal_code(var, lam)
    cert = ac.certify(code, tol)
    qcert = ac.q_space_certificate(code, tol)
    dual, g = ac.dual_bound(var, lam, settings)
    inner = ac.dictionary_bound(var, lam, g)
    twin = ac.compress(var.values, var.weights, int(exp["twin_cells"]))
    twin_cost = ac.optimal_code(twin, lam).cost
    dnn = ac.dnn_bound(twin, lam, settings)
    bounds = {"dual": dual, "dictionary": inner.value, "dictionary_reduced_cost":
              inner.reduced_cost, "twin_cost": twin_cost, "dnn": dnn}
    payload = {"variable": {"values": var.values.tolist(), "weights": var.weights.tolist()},
               "lam": lam, "bias": code.bias, "cost": code.cost, "bounds": bounds,
               "certificate": {"violation": cert.violation, "q_reduced_cost":
                               qcert.reduced_cost, "q_complementarity": qcert.complementarity},
               "tolerances": {"certificate": tol, "bound": bound_tol}}
    check_bounds(payload)
    return payload


def check_bounds(payload: dict[str, Any]) -> None:
    """The solver-side gaps of a payload within its bound tolerance (else CertificateError)."""
    b, cost, tol = payload["bounds"], payload["cost"], payload["tolerances"]["bound"]
    gaps = {"dual": (cost - b["dual"]) / cost, "dictionary": (b["dictionary"] - cost) / cost,
            "dnn (twin)": (b["twin_cost"] - b["dnn"]) / b["twin_cost"]}
    bad = {k: g for k, g in gaps.items() if not abs(g) <= tol}
    if bad or not b["dictionary_reduced_cost"] >= -tol:
        raise CertificateError("ON/OFF bounds disagree with the closed form: " + ", ".join(
            f"{k} gap {g:.2e}" for k, g in bad.items()) + f" (tol {tol:g}); dictionary "
            f"reduced cost {b['dictionary_reduced_cost']:.2e}")


SOLVE_SCHEMA = {"variable": {"values": list, "weights": list}, "lam": float, "bias": float,
                "cost": float, "bounds": {"dual": float, "dictionary": float,
                                          "dictionary_reduced_cost": float,
                                          "twin_cost": float, "dnn": float},
                "certificate": {"violation": float, "q_reduced_cost": float,
                                "q_complementarity": float},
                "tolerances": {"certificate": float, "bound": float}}


def _stored_code(payload: dict[str, Any]) -> ac.AffineCode:
    var = ac.Variable(np.asarray(payload["variable"]["values"], float),
                      np.asarray(payload["variable"]["weights"], float))
    return ac.ramp_code(var, float(payload["lam"]), float(payload["bias"]))


def verify_solve(payload: dict[str, Any]) -> None:
    """Re-check a cached code from its stored variable and bias: both exact certificates,
    the stored cost, and the recorded bounds (no solve)."""
    check_fields(payload, SOLVE_SCHEMA)
    code = _stored_code(payload)
    tol = float(payload["tolerances"]["certificate"])
    ac.certify(code, tol)
    ac.q_space_certificate(code, tol)
    if abs(code.cost - payload["cost"]) > tol * code.cost:
        raise CertificateError("stored ON/OFF cost differs from its code's cost")
    check_bounds(payload)


def verify_payload(payload: dict[str, Any]) -> None:
    if "bracket" in payload:
        check_fields(payload, {"bracket": {"low": dict, "high": dict}, "measured": float,
                               "width": float, "tol": float})
        for end in ("low", "high"):
            verify_solve(payload["bracket"][end])
        low, high = (_stored_code(payload["bracket"][e]) for e in ("low", "high"))
        if low.names != ("ON", "OFF") or high.names != ("ON",):
            raise CertificateError("stored threshold bracket does not straddle the switch")
        if not payload["width"] <= payload["tol"]:
            raise CertificateError("stored threshold bracket is wider than its tolerance")
        return
    verify_solve(payload)


def measure_threshold(cfg: DictConfig, settings: SolverSettings) -> dict[str, Any]:
    """Bisection on ``p₀`` ∈ [0, 0.99] for the first sparsity with a single (ON) channel;
    every step's code is certified exactly, the two ends with every bound."""
    lam, exp, tol = float(cfg.lam), cfg.experiment, float(cfg.experiment.threshold_tol)
    lo, hi = 0.0, 0.99

    def single(p0: float) -> bool:
        code = ac.optimal_code(build_variable(cfg, p0), lam)
        ac.certify(code, float(exp.certificate_tol))
        return code.names == ("ON",)

    if single(lo) or not single(hi):
        raise CertificateError(f"{label_of(cfg)}: no switch from ON/OFF to ON in p0 ∈ [0, 0.99]")
    steps = 0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if single(mid) else (mid, hi)
        steps += 1
    ends = {name: dict(certified_code(build_variable(cfg, p0), lam, settings, exp), p0=p0)
            for name, p0 in (("low", lo), ("high", hi))}
    return {"bracket": ends, "measured": 0.5 * (lo + hi), "width": hi - lo, "tol": tol,
            "steps": steps}


def cache_key(cfg: DictConfig, settings: SolverSettings, var: ac.Variable | None) -> str:
    """Content key: the variable's arrays (solve) or its config (threshold), λ, numerics,
    solver and code."""
    exp = cfg.experiment
    numerics = {k: exp[k] for k in ("mode", "certificate_tol", "bound_tol", "twin_cells",
                                    "threshold_tol")}
    if exp.mode == "threshold":
        instance = {"variable": OmegaConf.to_container(cfg.variable, resolve=True)}
    else:
        instance = {"values": array_digest(var.values), "weights": array_digest(var.weights)}
    return content_key({"experiment": "on_off", **instance, "lam": float(cfg.lam),
                        "numerics": numerics, "solver": settings.as_dict(),
                        "solver_version": solver_version(settings.name),
                        "package_version": __version__, "code": code_digest()})


# ---------------------------------------------------------------- record


def _code_record(payload: dict[str, Any]) -> dict[str, Any]:
    code = _stored_code(payload)
    s = ac.summarise(code)
    var = code.variable
    b, cost = payload["bounds"], payload["cost"]
    return {
        "p_min": var.p_min, "ratio": var.ratio, "size": var.size,
        "predicted_single": ac.off_vanishes_predicted(var),
        "channels": list(code.names), "n_channels": s.n_channels, "bias": s.bias,
        "bias_fraction": (s.bias - var.values[0]) / (var.values[-1] - var.values[0]),
        "cost": s.cost, "cost_single": min(s.cost_on_only, s.cost_off_only),
        "advantage": s.advantage, "energy_share": s.energy_share,
        "range_fraction": s.range_fraction, "mass_fraction": s.mass_fraction,
        "certificate_violation": payload["certificate"]["violation"],
        "q_reduced_cost": payload["certificate"]["q_reduced_cost"],
        "gaps": {"dual": (cost - b["dual"]) / cost, "dictionary": (b["dictionary"] - cost) / cost,
                 "dnn_twin": (b["twin_cost"] - b["dnn"]) / b["twin_cost"]},
    }


def _curves(payload: dict[str, Any]) -> dict[str, Any]:
    code = _stored_code(payload)
    x = code.variable.values
    grid = np.linspace(x[0], x[-1], CURVE_POINTS)
    rows = {}
    for name, w in zip(code.names, code.weights, strict=True):
        sign = 1.0 if name == "ON" else -1.0
        rows[name] = (np.maximum(sign * (grid - code.bias), 0.0) / abs(w)).tolist()
    return {"stimulus": grid.tolist(), "tunings": rows,
            "values": x.tolist(), "weights": code.variable.weights.tolist()}


def run(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    validate(cfg)
    settings = solver_settings(cfg)
    exp = cfg.experiment
    var = None if exp.mode == "threshold" else build_variable(cfg)
    key = cache_key(cfg, settings, var)

    def solve() -> dict[str, Any]:
        if var is None:
            return measure_threshold(cfg, settings)
        return certified_code(var, float(cfg.lam), settings, exp)

    payload, hit = solve_cached(cache, key, solve, verify_payload)
    variable = OmegaConf.to_container(cfg.variable, resolve=True)
    record: dict[str, Any] = {"key": key, "params": {"label": label_of(cfg), **variable},
                              "config": OmegaConf.to_container(cfg, resolve=True),
                              "cache_hit": hit, "mode": str(exp.mode)}
    if exp.mode == "threshold":
        v = cfg.variable
        slab = ac.slab_samples(v.law, int(v.n_cells), v.shape)
        predicted = ac.sample_threshold(slab)
        record.update(measured=payload["measured"], predicted=predicted,
                      population=ac.population_threshold(v.law, v.shape),
                      width=payload["width"], steps=payload["steps"],
                      ends={e: _code_record(payload["bracket"][e]) for e in ("low", "high")})
        record["agree"] = bool(abs(payload["measured"] - predicted) <= payload["width"])
        return record
    record.update(_code_record(payload))
    record["agree"] = record["predicted_single"] == (record["n_channels"] == 1)
    if bool(exp.keep_tunings):
        record["curves"] = _curves(payload)
    return record


def describe(record: dict[str, Any]) -> str:
    if record["mode"] == "threshold":
        return (f"{record['params']['label']}: OFF channel vanishes at p0 = "
                f"{record['measured']:.5f} (predicted {record['predicted']:.5f}, population "
                f"{record['population']:.5f})")
    return (f"{record['params']['label']}: {'/'.join(record['channels'])}, b* = "
            f"{record['bias']:.4g}, Pr(I=min) = {record['p_min']:.3f}, ⟨v⟩²/⟨v²⟩ = "
            f"{record['ratio']:.3f}, advantage {record['advantage']:.3g}")


def summarise(inputs: Inputs) -> dict[str, Any]:
    from .figures import on_off as fig

    return fig.summarise(inputs)


def render(inputs: Inputs, paths) -> None:
    from .figures import on_off as fig

    fig.render(inputs, paths)


EXPERIMENT = Experiment(
    name="on_off",
    title="Figure 3: a dense variable is coded by ON and OFF channels, a sparse one by one",
    paper=True,
    run=run,
    describe=describe,
    summarise=summarise,
    render=render,
    verify=verify_payload,
)
