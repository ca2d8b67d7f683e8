"""Dispatch of one configured run to its experiment, shared by the CLI and Snakemake."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from .cache import ResultCache
from .config import ConfigError
from .identifiability_run import run_identifiability
from .on_off_run import run_on_off
from .uniqueness_run import run_tuning_uniqueness

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"

#: experiment name (``experiment.name``) → function(cfg, cache) → record
EXPERIMENTS: dict[str, Callable[[DictConfig, ResultCache | None], dict[str, Any]]] = {
    "identifiability": run_identifiability,
    "on_off": run_on_off,
    "tuning_uniqueness": run_tuning_uniqueness,
}


def run_config(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Run the experiment named in ``cfg.experiment.name``."""
    name = cfg.experiment.name
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"experiment.name={name!r} is invalid; allowed: {', '.join(sorted(EXPERIMENTS))}"
        )
    return EXPERIMENTS[name](cfg, cache)


def compose_run(overrides: Sequence[str], conf_dir: Path | None = None) -> DictConfig:
    """Compose the Hydra config of one run from command-line style overrides."""
    with initialize_config_dir(config_dir=str(conf_dir or CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
