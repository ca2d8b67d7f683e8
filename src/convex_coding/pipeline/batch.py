"""Run many configured instances in one process (one Snakemake job = one batch).

Heavy imports and Hydra's config search happen once per batch instead of once per
instance; each instance is still cached on its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir

from .cache import ResultCache, atomic_write_text
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
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        for name, ov in items:
            cfg = compose(config_name="config", overrides=[*ov, f"cache_dir={cache_dir}"])
            record = run_config(cfg, cache)
            hits += record.pop("cache_hit")
            record.pop("config")  # the overrides below say the same, without run paths
            record["overrides"] = list(ov)
            log.info("%s %s agree=%s", name, record["params"], record["agree"])
            out[name] = record
    log.info("%d instances: %d from cache, %d solved", len(items), hits, len(items) - hits)
    return out if named else [out[i] for i in range(len(items))]


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(Path(path), json.dumps(obj, indent=1, sort_keys=True))
