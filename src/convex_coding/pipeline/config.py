"""Validation of run configs: every bad value is reported with its key and range."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..solvers import SUPPORTED_SOLVERS, SolverSettings, SolverUnavailableError, resolve_solver
from ..sources import DATASET_KINDS, MIXING_KINDS
from .errors import ConfigError


def _get(cfg: DictConfig, key: str) -> Any:
    value = OmegaConf.select(cfg, key, default="__missing__")
    if value == "__missing__":
        raise ConfigError(f"{key} is missing from the config")
    return value


def require(cfg: DictConfig, key: str, ok: Callable[[Any], bool], allowed: str) -> Any:
    """Return ``cfg[key]`` if ``ok(value)``; otherwise raise a :class:`ConfigError`."""
    value = _get(cfg, key)
    try:
        good = bool(ok(value))
    except (TypeError, ValueError):
        good = False
    if not good:
        raise ConfigError(f"{key}={value!r} is invalid; allowed: {allowed}")
    return value


def is_real(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def is_option_value(x: Any) -> bool:
    """A solver option: true/false, a name, or a finite number > 0 (tolerances, limits)."""
    return isinstance(x, bool | str) or (is_real(x) and x > 0)


def check_options(cfg: DictConfig, key: str) -> dict[str, Any]:
    """``cfg[key]`` as a dict of solver options (each value checked), ``{}`` for null."""
    options = require(cfg, key, lambda v: v is None or isinstance(v, DictConfig),
                      "a mapping of solver option names to values")
    out = OmegaConf.to_container(options, resolve=True) if options is not None else {}
    for name in out:
        require(cfg, f"{key}.{name}", is_option_value,
                "true, false, a name, or a finite number > 0")
    return dict(out)


def solver_settings(cfg: DictConfig) -> SolverSettings:
    """Validated :class:`SolverSettings` from the ``solver`` group."""
    names = ", ".join(["auto", *(s.lower() for s in SUPPORTED_SOLVERS)])
    name = require(cfg, "solver.name", lambda v: isinstance(v, str), names)
    options = check_options(cfg, "solver.options")
    try:
        resolved = resolve_solver(name)
    except SolverUnavailableError as exc:
        raise ConfigError(str(exc)) from exc
    return SolverSettings(name=resolved, options=options)


def unit_interval(key: str) -> tuple[str, Callable[[Any], bool], str]:
    """A tolerance: a finite number in (0, 1)."""
    return key, lambda v: is_real(v) and 0 < v < 1, "a number in (0, 1)"


def _validate_mixing(cfg: DictConfig, dim: int) -> None:
    require(cfg, "mixing.kind", lambda v: v in MIXING_KINDS, ", ".join(MIXING_KINDS))
    require(cfg, "mixing.out_dim", lambda v: is_int(v) and dim <= v <= 1000,
            f"an integer in [{dim}, 1000] (at least the number of sources)")
    require(cfg, "mixing.max_correlation", lambda v: is_real(v) and 0 <= v < 1,
            "a number in [0, 1)")
    require(cfg, "mixing.correlation", lambda v: v is None or (is_real(v) and -1 < v < 1),
            "null (random) or a number in (-1, 1)")
    require(cfg, "mixing.gain_spread", lambda v: is_real(v) and 0 <= v < 1, "a number in [0, 1)")


def _validate_generated_sources(cfg: DictConfig, dim: int) -> None:
    require(cfg, "dataset.points_per_axis", lambda v: is_int(v) and 2 <= v <= 201,
            "an integer in [2, 201]")
    require(cfg, "dataset.n_points", lambda v: is_int(v) and dim + 2 <= v <= 100000,
            f"an integer in [{dim + 2}, 100000]")
    require(cfg, "dataset.scale_spread", lambda v: is_real(v) and 0 <= v < 1, "a number in [0, 1)")
    require(cfg, "dataset.cut_depth",
            lambda v: len(v) == 2 and all(is_real(x) and 0 < x < dim for x in v) and v[0] <= v[1],
            f"[low, high] with 0 < low ≤ high < {dim}")
    require(cfg, "dataset.cut_corner",
            lambda v: v is None or (len(v) == dim and all(x in (-1, 1) for x in v)),
            f"null or a list of {dim} signs (±1)")


def validate_identifiability(cfg: DictConfig) -> None:
    """Check every setting an identifiability run reads."""
    require(cfg, "seed", lambda v: is_int(v) and v >= 0, "an integer ≥ 0")
    require(cfg, "lambda_w", lambda v: is_real(v) and v >= 0, "a finite number ≥ 0")
    require(cfg, "lambda_r", lambda v: is_real(v) and v > 0, "a finite number > 0")
    dim = require(cfg, "dataset.dim", lambda v: is_int(v) and v in (2, 3), "2 or 3")
    kinds = (*DATASET_KINDS, "file")
    kind = require(cfg, "dataset.kind", lambda v: v in kinds, ", ".join(kinds))
    if kind == "file":
        from .data_files import is_data_path

        require(cfg, "dataset.path", is_data_path,
                "the path of a .npy or .csv file (one source per column, one point per row)")
    else:
        _validate_generated_sources(cfg, dim)
    _validate_mixing(cfg, dim)
    for key in ("theory_tol", "certificate_tol", "complementarity_tol", "value_tol",
                "off_axis_tol"):
        require(cfg, *unit_interval(f"experiment.{key}"))
    require(cfg, "experiment.angle_tol_deg", lambda v: is_real(v) and 0 < v < 45,
            "a number of degrees in (0, 45)")
    job = require(cfg, "experiment.alignment.job",
                  lambda v: v in (None, "sweep", "showcase", "phase"),
                  "null, sweep, showcase or phase")
    if job is not None:
        from ..alignment import SOURCE_SETS

        require(cfg, "experiment.alignment.set", lambda v: v in SOURCE_SETS,
                ", ".join(SOURCE_SETS))
        require(cfg, "experiment.alignment.param", is_real, "a finite number")
        require(cfg, "experiment.alignment.lam", lambda v: is_real(v) and v > 0,
                "a finite number > 0")
        require(cfg, "experiment.alignment.c_range",
                lambda v: len(v) == 2 and all(is_real(x) and -1 < x < 1 for x in v)
                and v[0] < v[1], "[low, high] with -1 < low < high < 1")
        require(cfg, "experiment.alignment.n_c", lambda v: is_int(v) and 3 <= v <= 10001,
                "an integer in [3, 10001]")
        require(cfg, "experiment.alignment.showcase_c",
                lambda v: len(v) == 3 and all(is_real(x) and -1 < x < 1 for x in v),
                "three numbers in (-1, 1)")
        require(cfg, "experiment.alignment.phase_params",
                lambda v: len(v) == 3 and is_real(v[0]) and is_real(v[1]) and is_int(v[2])
                and v[0] < v[1] and 2 <= v[2] <= 1001, "[low, high, count] with low < high and "
                "count in [2, 1001]")
        require(cfg, "experiment.alignment.phase_solver_n_c",
                lambda v: is_int(v) and 2 <= v <= 1001, "an integer in [2, 1001]")
        require(cfg, "experiment.alignment.measure_boundaries",
                lambda v: isinstance(v, bool), "true or false")
    solver_settings(cfg)
