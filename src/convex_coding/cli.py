"""Command line: one Hydra-configured run.

    python -m convex_coding experiment=identifiability dataset=grid_cut mixing=general \\
        lambda_w=0.1 lambda_r=0.3 seed=3
    python -m convex_coding --multirun dataset=grid,grid_cut seed=0,1,2
    python -m convex_coding --help          # every experiment and key: description, range
    python -m convex_coding experiment=tuning_uniqueness --help   # one experiment's keys

A run prints a line when it starts, a heartbeat while it solves (every
:data:`HEARTBEAT_SECONDS`), and a last line with its finding, the wall time and the
absolute path of its result JSON.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .pipeline import registry
from .pipeline.cache import ResultCache, atomic_write_text
from .pipeline.errors import CertificateError, ConfigError
from .pipeline.runs import CONF_DIR, compose_run, run_config
from .solvers import SolverError

#: seconds between two "still running" lines of a single run
HEARTBEAT_SECONDS = 30.0


@contextmanager
def heartbeat(label: str, every: float | None = None) -> Iterator[None]:
    """Print ``label: still running, N s`` every ``every`` seconds until the block ends."""
    period = HEARTBEAT_SECONDS if every is None else every
    stop = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not stop.wait(period):
            print(f"  {label}: still running, {time.monotonic() - start:.0f} s", flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    """One run: validate, look up or solve, write the record, say where it went."""
    if cfg.out and HydraConfig.get().mode == RunMode.MULTIRUN:
        sys.exit(f"error: out={cfg.out} is invalid with --multirun (every run would overwrite "
                 "it); allowed: null (each run writes <sweep dir>/result.json)")
    name = cfg.experiment.name
    overrides = " ".join(HydraConfig.get().overrides.task) or "(defaults)"
    print(f"{name} {overrides}: running (cache {cfg.cache_dir})", flush=True)
    start = time.monotonic()
    try:
        with heartbeat(str(name)):
            record = run_config(cfg, ResultCache(cfg.cache_dir))
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    except (SolverError, CertificateError) as exc:
        sys.exit(f"error: solve not certified (no result cached): {exc}")
    out = Path(cfg.out) if cfg.out else Path(HydraConfig.get().runtime.output_dir) / "result.json"
    atomic_write_text(out, json.dumps(record, indent=1, sort_keys=True))
    source = "cache hit" if record["cache_hit"] else "solved"
    print(f"{record['params']}: {describe(record)}, {source} in "
          f"{time.monotonic() - start:.1f} s -> {out.resolve()}", flush=True)


def describe(record: dict[str, Any]) -> str:
    """One line on what a run found, from its experiment."""
    return registry.get(record["config"]["experiment"]["name"]).describe(record)


def unknown_group_choice(overrides: list[str]) -> str | None:
    """The error for an override ``group=option`` naming no file ``conf/group/option.yaml``
    (checked before Hydra, whose own message spans a dozen lines), else ``None``."""
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        group = CONF_DIR / key
        if not sep or key.startswith("hydra") or not group.is_dir():
            continue
        allowed = sorted(p.stem for p in group.glob("*.yaml"))
        choices = value.split(",") if "," in value else [value]  # --multirun sweeps
        for choice in choices:
            if choice not in allowed:
                return f"{key}={choice!r} is invalid; allowed: {', '.join(allowed)}"
    return None


def composition_error(overrides: list[str]) -> str | None:
    """One line for an override Hydra cannot apply (an unknown key, ``+key=`` adding one,
    a malformed value), found by composing the run's config first; ``None`` if it composes.
    Flags (``--help``, ``--multirun`` …) and ``hydra.*`` overrides are left to Hydra."""
    if any(a.startswith("-") for a in overrides):
        return None
    values = [o for o in overrides if not o.lstrip("+~").startswith("hydra")]
    for item in values:
        if item.startswith("+") and not item.startswith("++"):
            key = item.lstrip("+").partition("=")[0]
            return (f"+{key}: adding keys is not supported; allowed: the keys listed by "
                    "`python -m convex_coding --help`")
    try:
        compose_run(values)
    except Exception as exc:  # Hydra's own error spans several lines: keep the gist
        text = " ".join(str(exc).split())
        unknown = re.search(r"Could not override '([^']+)'", text)
        if unknown:
            key = unknown[1]
            value = next((o.partition("=")[2] for o in values if o.startswith(f"{key}=")), "")
            return (f"{key}={value} is invalid; allowed: a key of the config (`python -m "
                    "convex_coding --help` lists them)")
        return f"{' '.join(values)}: {text.split(' See ')[0].split('. ')[0]}"
    return None


def main() -> None:
    """The console entry point: ``--help`` here, one-line errors, then Hydra."""
    overrides = sys.argv[1:]
    if "--help" in overrides or "-h" in overrides:
        from .pipeline.help import render_help

        sys.stdout.write(render_help([o for o in overrides if not o.startswith("-")]))
        return
    error = unknown_group_choice(overrides) or composition_error(overrides)
    if error is not None:
        sys.exit(f"error: {error}")
    app()


if __name__ == "__main__":
    main()
