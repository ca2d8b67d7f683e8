"""Run many configured instances in one process (one Snakemake job = one batch).

Heavy imports and Hydra's config search happen once per batch instead of once per
instance; each instance is still cached on its own.  An instance that fails ends the
batch with an :class:`~.errors.InstanceError` naming the experiment, the instance and its
overrides (logged first, so the job log says which one).  A batch whose every config is
in the composed-config memo never imports Hydra (see :class:`BatchComposer`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .cache import ResultCache, atomic_write_text, tree_digest
from .errors import InstanceError
from .runs import CONF_DIR, run_config

log = logging.getLogger("convex_coding.batch")

Overrides = Sequence[str]


def run_batch(
    overrides: Sequence[Overrides] | Mapping[str, Overrides],
    cache_dir: str | Path,
    conf_dir: Path = CONF_DIR,
) -> list[dict[str, Any]] | dict[str, dict[str, Any]]:
    """Compose and run each override list; a list in gives a list out, a dict a dict."""
    cache = ResultCache(cache_dir)
    named = isinstance(overrides, Mapping)
    items = list(overrides.items()) if named else list(enumerate(overrides))
    out: dict[Any, dict[str, Any]] = {}
    hits = 0
    with BatchComposer(conf_dir, memo_dir=Path(cache_dir) / "composed") as composer:
        for name, ov in items:
            started = time.perf_counter()
            try:
                cfg = composer([*ov, f"cache_dir={cache_dir}"])
                record = run_config(cfg, cache)
            except Exception as exc:
                raise _instance_error(name, ov, exc) from exc
            record_hit = bool(record.pop("cache_hit"))
            hits += record_hit
            record.pop("config")  # the overrides below say the same, without run paths
            record["overrides"] = list(ov)
            # the job log only (records carry no timings: they are reproducible)
            log.info("%s %s agree=%s (%.1f s%s)", name, record["params"], record["agree"],
                     time.perf_counter() - started, ", cached" if record_hit else "")
            out[name] = record
    log.info("%d instances: %d from cache, %d solved", len(items), hits, len(items) - hits)
    return out if named else [out[i] for i in range(len(items))]


def instance_name(name: Any, overrides: Overrides) -> str:
    """``<experiment> instance <name> (<overrides>)``: which run of a batch this is."""
    experiment = next((o.partition("=")[2] for o in overrides
                       if o.startswith("experiment=")), "identifiability")
    return f"{experiment} instance {name!r} ({' '.join(overrides)})"


def _instance_error(name: Any, overrides: Overrides, exc: BaseException) -> InstanceError:
    """The one-line error of a failed instance; logged (with the traceback of an
    unexpected error, which is a bug) before the batch stops."""
    from .errors import CertificateError, ConfigError, InputDataError

    expected = isinstance(exc, ConfigError | CertificateError | InputDataError) or (
        type(exc).__name__ in ("SolverError", "SolverUnavailableError"))
    cause = " ".join(str(exc).split()) or type(exc).__name__
    kind = "" if expected else f"{type(exc).__name__}: "
    message = f"{instance_name(name, overrides)} failed: {kind}{cause}"
    log.error(message, exc_info=None if expected else exc)
    return InstanceError(message)


def compose(**kwargs: Any) -> DictConfig:
    """Hydra's ``compose`` (imported on first use: a memo hit never needs it)."""
    from hydra import compose as hydra_compose

    return hydra_compose(**kwargs)


class BatchComposer:
    """Hydra's ``compose`` for many runs that differ mostly in values, without its cost.

    One ``compose`` rebuilds the defaults tree and re-reads every YAML file (~0.1 s, 20
    times a certified Theorem 1 solve).  Runs that choose the same config groups
    (``experiment=…``, ``dataset=…``, …) share one composed base; their value overrides
    (``lambda_w=0.3``, ``dataset.dim=3``) are then applied to a copy exactly as Hydra
    applies them (``OmegaConf.update(cfg, key, value, merge=True)`` in struct mode).
    Anything else (``+key``, ``~key``, sweeps, packages) and any override that fails is
    handed to ``compose`` itself, so errors read as Hydra's.

    With ``memo_dir``, every composed config is also kept on disk (its unresolved
    container as JSON) under the SHA-256 of the content of every file under
    ``conf_dir``, Hydra's and OmegaConf's versions and the override list (or, for a
    group base, the group choices), and read back in struct mode by later processes.  A
    rerun of cached instances (a warm pipeline run) then neither parses an override nor
    imports Hydra: ~5 ms per instance instead of ~10 ms, plus ~0.2 s per job.

    Use it as a context manager (or call :meth:`close`): Hydra's global config search is
    initialised on ``conf_dir`` at the first config the memo does not hold, unless the
    caller has initialised it already, and released on exit.
    """

    def __init__(self, conf_dir: Path = CONF_DIR, memo_dir: Path | None = None) -> None:
        self._conf_dir = Path(conf_dir)
        self._groups = {str(p.relative_to(conf_dir)) for p in Path(conf_dir).rglob("*")
                        if p.is_dir()}
        self._parser: Any = None
        self._hydra = contextlib.ExitStack()
        self._bases: dict[tuple[str, ...], DictConfig] = {}
        self._memo_dir = None if memo_dir is None else Path(memo_dir)
        self._conf_digest = _conf_digest(Path(conf_dir)) if memo_dir is not None else ""

    def __enter__(self) -> BatchComposer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release Hydra's global state if this composer initialised it."""
        self._hydra.close()

    def _ensure_hydra(self) -> None:
        """Initialise Hydra's config search on ``conf_dir`` once, unless already done."""
        from hydra import initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra

        if not GlobalHydra.instance().is_initialized():
            self._hydra.enter_context(initialize_config_dir(
                config_dir=str(self._conf_dir.resolve()), version_base="1.3"))

    def _memo_path(self, kind: str, items: Sequence[str]) -> Path | None:
        if self._memo_dir is None:
            return None
        key = hashlib.sha256(json.dumps([self._conf_digest, kind, list(items)]).encode())
        return self._memo_dir / f"{key.hexdigest()}.json"

    @staticmethod
    def _read_memo(path: Path | None) -> DictConfig | None:
        if path is None:
            return None
        try:
            cfg = OmegaConf.create(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None  # a miss (or a damaged memo: composed again and rewritten)
        OmegaConf.set_struct(cfg, True)
        return cfg

    @staticmethod
    def _write_memo(path: Path | None, cfg: DictConfig) -> None:
        if path is not None:
            atomic_write_text(path, json.dumps(OmegaConf.to_container(cfg, resolve=False)))

    def _base(self, groups: tuple[str, ...]) -> DictConfig:
        """The composed config of these group choices (memory, disk memo, or Hydra)."""
        if groups in self._bases:
            return self._bases[groups]
        path = self._memo_path("groups", groups)
        base = self._read_memo(path)
        if base is None:
            self._ensure_hydra()
            base = compose(config_name="config", overrides=list(groups))
            self._write_memo(path, base)
        self._bases[groups] = base
        return base

    def __call__(self, overrides: Sequence[str]) -> DictConfig:
        path = self._memo_path("run", overrides)
        cfg = self._read_memo(path)
        if cfg is None:
            cfg = self._compose(overrides)
            self._write_memo(path, cfg)
        return cfg

    def _compose(self, overrides: Sequence[str]) -> DictConfig:
        """Compose one run: a copy of its group base with its value overrides applied."""
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.core.override_parser.types import OverrideType, ValueType

        self._ensure_hydra()
        if self._parser is None:
            self._parser = OverridesParser.create()
        try:
            parsed = self._parser.parse_overrides(list(overrides))
        except Exception:  # let Hydra report the syntax error
            return compose(config_name="config", overrides=list(overrides))
        groups, values = [], []
        for text, o in zip(overrides, parsed, strict=True):
            if (o.type is not OverrideType.CHANGE or o.package is not None
                    or o.value_type is not ValueType.ELEMENT):
                return compose(config_name="config", overrides=list(overrides))
            if o.key_or_group in self._groups:
                groups.append(text)
            else:
                values.append(o)
        cfg = copy.deepcopy(self._base(tuple(groups)))
        try:
            for o in values:
                OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
        except Exception:
            return compose(config_name="config", overrides=list(overrides))
        return cfg


def _conf_digest(conf_dir: Path) -> str:
    """SHA-256 of every file under ``conf_dir`` and of the composing libraries' versions."""
    from importlib.metadata import version

    return tree_digest(conf_dir, seed=f"hydra-core {version('hydra-core')} omegaconf "
                                      f"{version('omegaconf')}")


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(Path(path), json.dumps(obj, indent=1, sort_keys=True))
