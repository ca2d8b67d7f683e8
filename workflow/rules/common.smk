# Shared helpers: the chosen scale and the sweep expansion into Hydra overrides.
import itertools
import sys
from pathlib import Path

SCALES = list(config["scales"])
SCALE = str(config.get("scale", "paper"))
if SCALE not in SCALES:
    raise ValueError(f"scale={SCALE!r} is invalid; allowed: {', '.join(SCALES)}")
CACHE_DIR = config["cache_dir"]
CONF_DIR = str(Path(workflow.basedir) / "conf")  # Hydra configs of this checkout


wildcard_constraints:
    scale="|".join(SCALES),
    dim="[23]",
    dataset="[a-z_]+",
    mixing="[a-z_]+",


def sweep(scale, experiment):
    return config["scales"][scale][experiment]


def dim_overrides(dim):
    return list(config["dim_overrides"][int(dim)])
