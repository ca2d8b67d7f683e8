"""Hydra configs compose; invalid values are rejected with the key and allowed range."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convex_coding.pipeline.cache import ResultCache
from convex_coding.pipeline.config import ConfigError
from convex_coding.pipeline.runs import CONF_DIR, compose_run, run_config

GROUPS = {p.name: sorted(f.stem for f in p.glob("*.yaml")) for p in CONF_DIR.iterdir()
          if p.is_dir()}


# groups only the named experiment's defaults list pulls in
GROUP_EXPERIMENT = {"stimulus": "on_off_density", "population": "tuning_uniqueness",
                    "variable": "on_off"}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_config_option_composes(group: str, option: str) -> None:
    base = [f"experiment={GROUP_EXPERIMENT[group]}"] if group in GROUP_EXPERIMENT else []
    cfg = compose_run([*base, f"{group}={option}"])
    assert cfg[group] is not None


BAD = [
    (["lambda_w=-0.1"], "lambda_w"),
    (["lambda_r=0"], "lambda_r"),
    (["lambda_r=nan"], "lambda_r"),
    (["seed=-1"], "seed"),
    (["dataset.dim=4"], "dataset.dim"),
    (["dataset.kind=spiral"], "dataset.kind"),
    (["dataset.points_per_axis=1"], "dataset.points_per_axis"),
    (["dataset=uniform", "dataset.n_points=2"], "dataset.n_points"),
    (["dataset.scale_spread=1.5"], "dataset.scale_spread"),
    (["dataset.cut_depth=[0.5,3.0]"], "dataset.cut_depth"),
    (["dataset.cut_corner=[1,0]"], "dataset.cut_corner"),
    (["mixing.kind=rotation"], "mixing.kind"),
    (["mixing.out_dim=1"], "mixing.out_dim"),
    (["mixing.correlation=1.5"], "mixing.correlation"),
    (["solver.name=gurobi"], "solver.name"),
    (["solver=mosek"], "solver.name"),
    (["experiment.certificate_tol=0"], "experiment.certificate_tol"),
]


@pytest.mark.parametrize("overrides,key", BAD)
def test_invalid_values_name_the_key_and_write_nothing(tmp_path: Path, overrides, key) -> None:
    cfg = compose_run(overrides)
    cache_dir = tmp_path / "cache"
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as err:
        run_config(cfg, ResultCache(cache_dir))
    assert "allowed" in str(err.value) or "mosek" in str(err.value).lower()
    assert not cache_dir.exists()


def test_cli_reports_bad_value_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "convex_coding", "lambda_w=-1", f"cache_dir={tmp_path}/c",
         f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("error: lambda_w=-1 is invalid")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "c").exists()


def test_cli_runs_one_instance_and_reuses_the_cache(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "convex_coding", "dataset=grid_cut", "mixing=general",
            "seed=2", f"cache_dir={tmp_path}/c", f"out={tmp_path}/r.json",
            f"hydra.run.dir={tmp_path}/run"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert "solved" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert "cache hit" in second.stdout
    assert (tmp_path / "r.json").exists()
