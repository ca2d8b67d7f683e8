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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where available
    schema = yaml.load(Path(schema_path or SCHEMA).read_text(encoding="utf-8"), Loader=loader)
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


def _memo_digest(conf_dir: Path) -> str:
    """What a config check depends on: every Hydra file and the package's code."""
    from .cache import code_digest, tree_digest

    return tree_digest(conf_dir, seed=code_digest())


def check_instances(runs: Iterable[tuple[str, Sequence[str]]],
                    conf_dir: Path | None = None,
                    memo: Path | None = None) -> list[tuple[str, str]]:
    """``(instance, cause)`` for every configured instance whose Hydra config is invalid
    (no solve; :func:`error_lines` turns them into a few console lines).

    ``runs`` are ``(name, overrides)`` pairs, e.g. every instance of the jobs a workflow
    run is about to start.  Each is composed (:class:`~.batch.BatchComposer`) and checked
    by its experiment's ``validate(cfg)`` (the run module's config check), so a bad value
    in a Hydra group file stops the workflow before any job runs, naming the instance.
    Experiments without a ``validate`` are left to their jobs.  ``memo`` (a JSON file)
    remembers the override lists found valid, with the digest of the Hydra files and the
    code they were checked with, so a rerun checks only new instances.
    """
    import hashlib
    import json

    conf_dir = Path(conf_dir) if conf_dir is not None else SCHEMA.parents[2] / "conf"
    conf_dir = conf_dir.resolve()
    errors: list[tuple[str, str]] = []
    checks: dict[str, Any] = {}
    digest = _memo_digest(conf_dir)
    known: set[str] = set()
    if memo is not None:
        try:
            stored = json.loads(Path(memo).read_text())
            if stored.get("digest") == digest:
                known = set(stored.get("valid", []))
        except (OSError, ValueError, AttributeError):
            pass
    todo = [(n, ov, hashlib.sha256("\0".join(ov).encode()).hexdigest()) for n, ov in runs]
    todo = [t for t in todo if t[2] not in known]
    if not todo:
        return errors  # all checked before: no solver stack imported
    import importlib

    from hydra import initialize_config_dir

    from . import registry
    from .batch import BatchComposer, instance_name
    from .errors import ConfigError

    failed: set[str] = set()
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        composer = BatchComposer(conf_dir)
        for name, overrides, h in todo:
            failed.add(h)
            try:
                cfg = composer([*overrides, "cache_dir=unused"])
                experiment = str(cfg.experiment.name)
                if experiment not in checks:
                    module = registry.RUN_MODULES.get(experiment)
                    checks[experiment] = (getattr(importlib.import_module(module), "validate",
                                                  None) if module else None)
                if checks[experiment] is not None:
                    checks[experiment](cfg)
                failed.discard(h)
            except ConfigError as exc:
                errors.append((instance_name(name, overrides), str(exc)))
            except Exception as exc:  # Hydra's own errors: one line, the gist
                text = " ".join(str(exc).split()) or type(exc).__name__
                errors.append((instance_name(name, overrides), text))
    if memo is not None and todo:
        from .cache import atomic_write_text

        valid = known | {h for _, _, h in todo if h not in failed}
        atomic_write_text(Path(memo), json.dumps({"digest": digest, "valid": sorted(valid)}))
    return errors


def job_instances(jobs: Iterable[Any]) -> list[tuple[str, Sequence[str]]]:
    """``(name, overrides)`` of every instance of Snakemake jobs whose ``params`` carry
    ``overrides`` (a list of override lists, or a dict name → overrides)."""
    out: list[tuple[str, Sequence[str]]] = []
    for job in jobs:
        overrides = getattr(getattr(job, "params", None), "overrides", None)
        if isinstance(overrides, Mapping):
            items = list(overrides.items())
        elif isinstance(overrides, list | tuple):
            items = list(enumerate(overrides))
        else:
            continue
        label = f"{job.rule.name}[{', '.join(str(o) for o in job.output)}]"
        out += [(f"{label} {name}", list(ov)) for name, ov in items
                if isinstance(ov, list | tuple)]
    return out


def error_lines(errors: Sequence[tuple[str, str]], limit: int = 5) -> list[str]:
    """One line per distinct cause (the first ``limit``): the cause, how many instances
    it affects and the first of them by name and overrides."""
    by_cause: dict[str, list[str]] = {}
    for instance, cause in errors:
        by_cause.setdefault(cause, []).append(instance)
    lines = [f"{cause} ({len(insts)} instance{'s' if len(insts) > 1 else ''}, first: "
             f"{insts[0]})" for cause, insts in list(by_cause.items())[:limit]]
    if len(by_cause) > limit:
        lines.append(f"… and {len(by_cause) - limit} more distinct errors")
    return lines
