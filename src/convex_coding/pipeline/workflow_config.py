"""The check of ``conf/workflow.yaml`` (Snakemake's config) before any job runs.

:func:`check_workflow_config` returns one line naming the key and what is allowed, or
``None``: NaN/inf anywhere, then the schema ``workflow/schemas/workflow.schema.yaml``
(types, ranges, unknown keys, empty sweeps, repeated values), then what a schema cannot
say (the chosen scale exists, group options name files in ``conf/``, every swept dimension
has its dataset sizes, the ON/OFF showcase is on the grid).  Light imports only: it runs
when Snakemake parses the workflow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "workflow.schema.yaml"

#: sweep key → Hydra group whose option files its values must name
GROUP_KEYS = {"datasets": "dataset", "theorem1_datasets": "dataset", "mixings": "mixing"}


def _walk(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, obj
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, (*path, k))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, i))


def _key(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _options(conf_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


def schema_error(cfg: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """The schema's most relevant complaint, as ``key: message``."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if error is None:
        return None
    message = error.message
    if len(message) > 160:  # an object or list quoted whole: say what was wrong with it
        message = f"{error.validator} {error.validator_value!r} not satisfied"
    return f"{_key(tuple(error.absolute_path))}: {message}"


def check_workflow_config(cfg: Mapping[str, Any], schema_path: Path | None = None,
                          conf_dir: Path | None = None) -> str | None:
    """``conf/workflow.yaml: <key>: <what is wrong>`` for the first problem, else ``None``."""
    import yaml

    root = (schema_path or SCHEMA).resolve().parents[2]
    conf_dir = conf_dir or root / "conf"
    for path, value in _walk(cfg):
        if isinstance(value, float) and not math.isfinite(value):
            return f"conf/workflow.yaml: {_key(path)}: {value} is not a finite number"
    schema = yaml.safe_load(Path(schema_path or SCHEMA).read_text(encoding="utf-8"))
    error = schema_error(cfg, schema)
    if error is None:
        error = _semantic_error(cfg, conf_dir)
    return None if error is None else f"conf/workflow.yaml: {error}"


def _semantic_error(cfg: Mapping[str, Any], conf_dir: Path) -> str | None:
    scales = cfg["scales"]
    if cfg["scale"] not in scales:
        return f"scale: {cfg['scale']!r} is not one of {sorted(scales)} (the keys of scales)"
    for key, extra in (("dim_overrides", cfg["dim_overrides"]),):
        for dim in extra:
            if dim not in (2, 3):
                return f"{key}.{dim}: allowed dimensions: 2, 3"
    stimuli = _options(conf_dir, "stimulus")
    for name, scale in scales.items():
        for path, value in _walk(scale, ("scales", name)):
            group = GROUP_KEYS.get(path[-1]) if path and isinstance(path[-1], str) else None
            if group is not None:
                allowed = _options(conf_dir, group)
                bad = [v for v in value if v not in allowed]
                if bad:
                    return f"{_key(path)}: {bad[0]!r} is not one of {allowed}"
        tc = scale["tuning_criteria"]
        bad = [s for s in tc["on_off"]["stimuli"] if s not in stimuli]
        if bad:
            return (f"scales.{name}.tuning_criteria.on_off.stimuli: {bad[0]!r} is not one of "
                    f"{stimuli}")
        for dims, where in ((scale["identifiability"]["dims"], "identifiability.dims"),
                            (tc["theorem1"]["dims"], "tuning_criteria.theorem1.dims")):
            missing = [d for d in dims if d not in cfg["dim_overrides"]]
            if missing:
                return (f"scales.{name}.{where}: dimension {missing[0]} has no entry in "
                        "dim_overrides")
        oo = scale["on_off_density"]
        show = oo["showcase"]
        if show["stimulus"] not in oo["stimuli"]:
            return (f"scales.{name}.on_off_density.showcase.stimulus: {show['stimulus']!r} "
                    f"is not one of {sorted(oo['stimuli'])} (the keys of stimuli)")
        for side in ("dense", "sparse"):
            if show[side] not in oo["rho"]:
                return (f"scales.{name}.on_off_density.showcase.{side}: {show[side]} is not "
                        "one of the values of rho")
        clash = sorted(set(oo["stimuli"]) & set(oo["family"]))
        if clash:
            return (f"scales.{name}.on_off_density.family.{clash[0]}: also a key of stimuli "
                    "(names must differ)")
    return None
