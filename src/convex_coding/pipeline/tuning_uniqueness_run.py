"""The paper's Figure 2: one population → tight-scattering verdict + rotation search."""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import __version__
from .. import populations as pops
from ..rotations import search_rotation, verify
from ..scattering import HOLDS, hull_facets, tight_scattering
from ..solvers import SolverSettings, solver_version
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

KINDS = ("place", "grid", "gaussian")


def validate(cfg: DictConfig) -> None:
    """One-line :class:`ConfigError` for every key this experiment reads."""
    kind = require(cfg, "population.kind", lambda v: v in KINDS, ", ".join(KINDS))
    exp = "experiment."
    require(cfg, exp + "restarts", lambda v: is_int(v) and 0 <= v <= 10000, "integer in [0, 10000]")
    require(cfg, exp + "search_seed", lambda v: is_int(v) and v >= 0, "integer ≥ 0")
    require(cfg, exp + "condition_tol", lambda v: is_real(v) and 0 < v < 1e-2, "real in (0, 1e-2)")
    require(cfg, exp + "min_distance", lambda v: is_real(v) and 0 < v < 1, "real in (0, 1)")
    require(cfg, exp + "keep_tunings", lambda v: isinstance(v, bool), "true or false")
    p = "population."
    require(cfg, p + "n_positions", lambda v: is_int(v) and 8 <= v <= 2000, "integer in [8, 2000]")
    if kind in ("place", "gaussian"):
        require(cfg, p + "n_cells", lambda v: is_int(v) and 2 <= v <= 8, "integer in [2, 8]")
        require(cfg, p + "overlap", lambda v: is_real(v) and 0.05 <= v <= 3, "real in [0.05, 3]")
    if kind == "place":
        require(cfg, p + "broad_every", lambda v: is_int(v) and 0 <= v <= 8, "integer in [0, 8]")
        require(cfg, p + "broad_factor", lambda v: is_real(v) and 1 <= v <= 10, "real in [1, 10]")
    if kind == "grid":
        require(cfg, p + "ratio", lambda v: is_real(v) and 1 < v <= 5, "real in (1, 5]")
        require(cfg, p + "n_phases", lambda v: is_int(v) and 1 <= v <= 4, "integer in [1, 4]")
        require(cfg, p + "half_width", lambda v: is_real(v) and 0 < v < 0.5, "real in (0, 0.5)")
        require(cfg, p + "n_periods", lambda v: is_real(v) and 1 <= v <= 40, "real in [1, 40]")


def build_population(cfg: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(x, Z)`` of the configured population (deterministic)."""
    p = cfg.population
    if p.kind == "grid":
        return pops.grid_population(float(p.ratio), float(p.n_periods), int(p.n_phases),
                                    float(p.half_width), int(p.n_positions))
    if p.kind == "gaussian":
        return pops.place_population(int(p.n_cells), float(p.overlap), int(p.n_positions),
                                     shape="gaussian")
    return pops.place_population(int(p.n_cells), float(p.overlap), int(p.n_positions),
                                 int(p.broad_every), float(p.broad_factor))


def params_of(cfg: DictConfig) -> dict[str, Any]:
    p = OmegaConf.to_container(cfg.population, resolve=True)
    return {k: p[k] for k in sorted(p)}


def solve_and_certify(z: np.ndarray, settings: SolverSettings, cfg: DictConfig) -> dict:
    """Condition verdict, rotation search (verified exactly), JSON-able."""
    exp = cfg.experiment
    s = tight_scattering(z, settings, tol=float(exp.condition_tol))
    r = search_rotation(z, np.random.default_rng(int(exp.search_seed)),
                        restarts=int(exp.restarts), min_distance=float(exp.min_distance))
    payload = {
        "z": z.tolist(),
        "condition": {"verdict": s.verdict, "reason": s.reason, "n_facets": s.n_facets,
                      "hull_dimension": s.hull_dimension,
                      "coordinate_facets": s.coordinate_facets, "scaling": s.scaling,
                      "roundness": s.roundness,
                      "margin2": None if not np.isfinite(s.margin2) else s.margin2,
                      "n_extreme_rays": s.n_extreme_rays,
                      "f": None if s.f is None else s.f.tolist()},
        "rotation": {"found": r.found, "o": r.o.tolist(), "distance": r.distance,
                     "min_oz": r.min_oz, "orthogonality": r.orthogonality,
                     "gram_error": r.gram_error, "n_restarts": r.n_restarts,
                     "n_lp_starts": r.n_lp_starts},
        "solver": settings.name,
        "solver_version": solver_version(settings.name),
        "package_version": __version__,
    }
    verify_payload(payload)
    return payload


#: fields of a cached payload (checked before any number is trusted)
PAYLOAD_SCHEMA = {
    "z": "matrix",
    "condition": {"verdict": str, "reason": str, "n_facets": int, "hull_dimension": int,
                  "f": "matrix?"},
    "rotation": {"found": bool, "o": "matrix", "distance": float, "min_oz": float,
                 "orthogonality": float, "gram_error": float, "n_restarts": int},
    "solver": str,
}


def verify_payload(payload: dict) -> None:
    """Re-check from stored numbers: every field present; a found rotation verifies
    exactly; a *holds* verdict has ``diag F = μ²``, ``F ≻ 0`` and every hull facet at
    scaling ``≥ 1``; and the theorem's consequence (holds ⇒ no rotation)."""
    check_fields(payload, PAYLOAD_SCHEMA)
    z = np.asarray(payload["z"], dtype=float)
    rot, cond = payload["rotation"], payload["condition"]
    if cond["verdict"] not in ("holds", "fails", "inconclusive"):
        raise CertificateError(f"cached condition verdict {cond['verdict']!r} is unknown")
    if rot["found"]:
        orth, min_oz, gram, dist = verify(z, np.asarray(rot["o"], dtype=float))
        if orth > 1e-12 or min_oz < -1e-10 or gram > 1e-10 or dist < 1e-3:
            raise CertificateError(f"stored rotation fails: ‖OᵀO−I‖={orth:.2g}, min OZ="
                                   f"{min_oz:.2g}, Gram error {gram:.2g}, distance {dist:.2g}")
    if cond["verdict"] == HOLDS:
        f, mu = np.asarray(cond["f"], dtype=float), z.mean(axis=1)
        if not np.allclose(np.diag(f), mu**2, rtol=1e-9, atol=0.0):
            raise CertificateError("stored F does not have diag F = μ²")
        if np.linalg.eigvalsh(f / np.outer(mu, mu))[0] <= 0:
            raise CertificateError("stored F is not positive definite")
        facets = hull_facets(z)
        a, h = facets.normals, facets.offsets
        quad = np.einsum("ki,ij,kj->k", a, f, a)
        if np.any(h - a @ mu < np.sqrt(np.maximum(quad, 0.0)) * (1 - 1e-7) - 1e-12):
            raise CertificateError("stored F: the ellipsoid E_F leaves the hull")
        if rot["found"]:
            raise CertificateError("condition holds but a verified rotation exists: the "
                                   "theorem (our reconstruction) or the test is wrong")


def run(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    validate(cfg)
    settings = solver_settings(cfg)
    x, z = build_population(cfg)
    exp = cfg.experiment
    key = content_key({
        "experiment": "tuning_uniqueness", "z": array_digest(z),
        "numerics": {k: exp[k] for k in ("restarts", "search_seed", "condition_tol",
                                         "min_distance")},
        "solver": settings.as_dict(), "solver_version": solver_version(settings.name),
        "package_version": __version__, "code": code_digest(),
    })
    result, hit = solve_cached(cache, key, lambda: solve_and_certify(z, settings, cfg),
                               verify=verify_payload)
    cond, rot = result["condition"], result["rotation"]
    decided = cond["verdict"] in ("holds", "fails")
    record = {
        "key": key, "params": params_of(cfg),
        "config": OmegaConf.to_container(cfg, resolve=True), "cache_hit": hit,
        "agree": (cond["verdict"] == HOLDS) != rot["found"] if decided else None,
        "condition": {k: v for k, v in cond.items() if k != "f"},
        "rotation": {k: v for k, v in rot.items() if k != "o"},
    }
    if bool(exp.keep_tunings):
        o = np.asarray(rot["o"])
        record["x"] = x.tolist()
        record["z"] = result["z"]
        record["oz"] = (o @ np.asarray(result["z"])).tolist() if rot["found"] else None
    return record


def describe(record: dict[str, Any]) -> str:
    c, r = record["condition"], record["rotation"]
    found = (f"rotation found (distance {r['distance']:.3g}, min OZ {r['min_oz']:.1e})"
             if r["found"] else f"no rotation in {r['n_restarts']} starts")
    return f"condition {c['verdict']} ({c['reason']}); {found}"


def summarise(inputs: Inputs) -> dict[str, Any]:
    from .figures import tuning_uniqueness as fig

    return fig.summarise([r for b in inputs["batches"] for r in b], inputs["showcase"])


def render(inputs: Inputs, paths) -> None:
    from .figures import tuning_uniqueness as fig

    fig.render([r for b in inputs["batches"] for r in b], inputs["showcase"], paths)


EXPERIMENT = Experiment(
    name="tuning_uniqueness",
    title="Theorem 2: are place-cell and grid-cell tunings fixed by their similarity matrix?",
    paper=True,
    run=run,
    describe=describe,
    summarise=summarise,
    render=render,
    verify=verify_payload,
)
