"""Dispatch of one configured run to its experiment, shared by the CLI and Snakemake."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from . import registry
from .cache import ResultCache
from .config import require


def find_conf_dir() -> Path:
    """The Hydra config folder, found through the package: ``convex_coding/conf``.

    An installed wheel carries the configs there as package data; in a checkout
    ``src/convex_coding/conf`` is a symlink to the top-level ``conf/`` (resolved, so paths
    name the real files).  A checkout whose symlink was lost (e.g. an archive without
    symlinks) falls back to ``<checkout>/conf``.
    """
    packaged = Path(str(resources.files("convex_coding") / "conf"))
    if (packaged / "config.yaml").is_file():
        return packaged.resolve()
    return Path(__file__).resolve().parents[3] / "conf"


CONF_DIR = find_conf_dir()


def run_config(cfg: DictConfig, cache: ResultCache | None) -> dict[str, Any]:
    """Run the experiment named in ``cfg.experiment.name`` (see :mod:`.registry`)."""
    require(cfg, "cache_dir", lambda v: isinstance(v, str) and v.strip() != "",
            "a folder path (non-empty)")
    require(cfg, "out", lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
            "null or a file path (non-empty)")
    return registry.get(str(cfg.experiment.name)).run(cfg, cache)


def compose_run(overrides: Sequence[str], conf_dir: Path | None = None) -> DictConfig:
    """Compose the Hydra config of one run from command-line style overrides."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(conf_dir or CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
