"""The user's own data through the CLI and the run interface: sources for Theorem 1
(``dataset=file``) and samples of the Figure 3 variable (``variable=samples``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convex_coding.pipeline.cache import ResultCache
from convex_coding.pipeline.errors import ConfigError
from convex_coding.pipeline.runs import compose_run, run_config


def _grid(points: int) -> np.ndarray:
    axis = np.linspace(-1.0, 1.0, points)
    return np.array(np.meshgrid(axis, axis, indexing="ij")).reshape(2, -1).T  # rows = points


def test_a_file_of_grid_points_gives_the_generated_grid(tmp_path: Path) -> None:
    """The file's rows are the points (columns the sources), the mixing still comes from
    its group; a full square grid under an orthogonal mixing is modular, as Theorem 1 says."""
    from convex_coding.pipeline.theorem1 import build_problem

    path = tmp_path / "grid.csv"
    np.savetxt(path, _grid(5), delimiter=",")
    generated = build_problem(compose_run(["dataset=grid", "dataset.points_per_axis=5",
                                           "dataset.scale_spread=0.0"]))
    own_cfg = compose_run(["dataset=file", f"dataset.path={path}"])
    assert np.allclose(build_problem(own_cfg).sources, generated.sources, atol=1e-15)
    cache = ResultCache(tmp_path / "cache")
    own = run_config(own_cfg, cache)
    assert own["measured"]["modular"] and own["theory"]["modular"] and own["agree"]
    assert run_config(own_cfg, cache)["cache_hit"]  # keyed by the file's content


def test_npy_sources_in_three_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "s.npy"
    np.save(path, np.random.default_rng(0).uniform(-1, 1, size=(40, 3)))
    rec = run_config(compose_run(["dataset=file", f"dataset.path={path}", "dataset.dim=3"]),
                     ResultCache(tmp_path / "cache"))
    assert rec["params"]["dim"] == 3 and rec["agree"] in (True, False)
    assert rec["solution"]["certificate_violation"] <= 1e-6


@pytest.mark.parametrize(("table", "overrides", "message"), [
    (np.ones((20, 3)), [], "dataset.dim=2 is invalid; '{p}' has 3 column(s)"),
    (np.ones((3, 2)), [], "dataset.path='{p}': 3 points; need at least 4"),
    (np.c_[np.arange(10.0), 2 * np.arange(10.0)], [], "lower-dimensional plane"),
    (np.r_[_grid(3), [[np.nan, 0.0]]], [], "1 values are not finite"),
])
def test_unusable_source_files_give_one_line(tmp_path: Path, table, overrides, message) -> None:
    path = tmp_path / "bad.csv"
    np.savetxt(path, table, delimiter=",")
    with pytest.raises(ConfigError) as err:
        run_config(compose_run(["dataset=file", f"dataset.path={path}", *overrides]),
                   ResultCache(tmp_path / "cache"))
    assert message.format(p=path) in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_the_command_line_reads_own_data(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "grid.csv", _grid(4), delimiter=",")
    (tmp_path / "text.csv").write_text("a,b\n1,2\n")
    ok = subprocess.run([sys.executable, "-m", "convex_coding", "dataset=file",
                         "dataset.path=grid.csv", f"cache_dir={tmp_path / 'c'}"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "convex_coding", "dataset=file",
                          "dataset.path=text.csv", f"cache_dir={tmp_path / 'c'}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("error: dataset.path='text.csv': "
                                                          "unreadable")
