"""Table-driven bad input through the real CLI: one clear message, exit ≠ 0, no cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# (overrides, text the one-line message must contain)
CASES = [
    (["lambda_w=-1"], "lambda_w=-1 is invalid; allowed: a finite number ≥ 0"),
    (["lambda_r=0"], "lambda_r=0 is invalid; allowed: a finite number > 0"),
    (["lambda_w=nan"], "lambda_w=nan is invalid"),
    (["lambda_r=inf"], "lambda_r=inf is invalid"),
    (["lambda_w=abc"], "lambda_w='abc' is invalid"),
    (["seed=-3"], "seed=-3 is invalid; allowed: an integer ≥ 0"),
    (["seed=1.5"], "seed=1.5 is invalid"),
    (["dataset.dim=0"], "dataset.dim=0 is invalid; allowed: 2 or 3"),
    (["dataset.dim=4"], "dataset.dim=4 is invalid; allowed: 2 or 3"),
    (["dataset.kind=spiral"], "dataset.kind='spiral' is invalid; allowed: grid, grid_cut"),
    (["dataset=uniform", "dataset.n_points=0"], "dataset.n_points=0 is invalid"),
    (["dataset.points_per_axis=1"], "dataset.points_per_axis=1 is invalid"),
    (["dataset.scale_spread=-0.1"], "dataset.scale_spread=-0.1 is invalid"),
    (["dataset.cut_depth=[1.5,0.5]"], "dataset.cut_depth=[1.5, 0.5] is invalid"),
    (["dataset.cut_corner=[1,1,1]"], "dataset.cut_corner=[1, 1, 1] is invalid"),
    (["mixing.kind=rotation"], "mixing.kind='rotation' is invalid; allowed: orthogonal, general"),
    (["mixing.out_dim=1"], "mixing.out_dim=1 is invalid"),
    (["mixing=general", "mixing.correlation=-1.0"], "mixing.correlation=-1.0 is invalid"),
    (["mixing.gain_spread=2"], "mixing.gain_spread=2 is invalid"),
    (["solver.name=gurobi"],
     "solver.name='gurobi' is not supported; allowed: auto, clarabel, scs, mosek"),
    (["solver=mosek"], "no MOSEK licence was found"),
    (["experiment.certificate_tol=-1"], "experiment.certificate_tol=-1 is invalid"),
    (["dataset=spiral"], "dataset='spiral' is invalid; allowed: grid, grid_cut, uniform"),
    (["experiment=sparse_coding"],
     "experiment='sparse_coding' is invalid; allowed: identifiability, "),
    # Theorem 3 (ON/OFF)
    (["experiment=on_off_density", "rho=0"], "rho=0 is invalid; allowed: a number in [1/T, 1]"),
    (["experiment=on_off_density", "rho=1.5"], "rho=1.5 is invalid; allowed: a number in [1/T, 1]"),
    (["experiment=on_off_density", "rho=nan"], "rho=nan is invalid"),
    (["experiment=on_off_density", "lam=-1"], "lam=-1 is invalid; allowed: a number in (0, 1e6]"),
    (["experiment=on_off_density", "stimulus=cauchy"],
     "stimulus='cauchy' is invalid; allowed: gaussian, gen_gaussian, laplace, spike_and_slab"),
    (["experiment=on_off_density", "stimulus.kind=cauchy"], "stimulus.kind='cauchy' is invalid"),
    (["experiment=on_off_density", "stimulus.n_samples=3"],
     "stimulus.n_samples=3 is invalid; allowed: an integer in [5, 401]"),
    (["experiment=on_off_density", "stimulus=spike_and_slab", "stimulus.param=0"],
     "stimulus.param=0 is invalid; allowed: the slab probability p, a number in (0, 1]"),
    (["experiment=on_off_density", "experiment.mode=fit"],
     "experiment.mode='fit' is invalid; allowed: solve, threshold"),
    (["experiment=on_off_density", "experiment.threshold_bracket=[0.5,0.1]"],
     "experiment.threshold_bracket=[0.5, 0.1] is invalid"),
    # Theorem 2 (tuning uniqueness)
    (["experiment=tuning_criteria", "experiment.restarts=0"],
     "experiment.restarts=0 is invalid"),
    (["experiment=tuning_criteria", "experiment.instance=foo"],
     "experiment.instance='foo' is invalid"),
    (["experiment=tuning_criteria", "experiment.instance=offset", "experiment.offset=-1"],
     "experiment.offset=-1 is invalid"),
    (["experiment=tuning_criteria", "experiment.instance=offset",
      "experiment.grid_points=1"], "experiment.grid_points=1 is invalid"),
    (["experiment=tuning_criteria", "experiment.nonnegative=maybe"],
     "experiment.nonnegative='maybe' is invalid; allowed: true or false"),
    (["experiment=tuning_criteria", "experiment.instance=on_off", "experiment.rho=0"],
     "experiment.rho=0 is invalid; allowed: a number in (0, 1]"),
    (["experiment=tuning_criteria", "experiment.instance=on_off",
      "experiment.stimulus=cauchy"],
     "experiment.stimulus='cauchy' is invalid; allowed: uniform, gaussian, laplace"),
    (["experiment=tuning_criteria", "experiment.instance=on_off",
      "experiment.nonnegative=false"],
     "experiment.nonnegative=false is not available for experiment.instance=on_off"),
    # keys that do not exist, keys added, malformed values, generic settings
    (["foo=1"], "foo=1 is invalid; allowed: a key of the config"),
    (["dataset.foo=2"], "dataset.foo=2 is invalid; allowed: a key of the config"),
    (["+foo=1"], "+foo: adding keys is not supported"),
    (["lambda_w=[1"], "no viable alternative at input '[1'"),
    (["cache_dir="], "cache_dir='' is invalid; allowed: a folder path (non-empty)"),
]


def _cli_in_process(argv: list[str], capsys) -> tuple[int, str]:
    """Run ``python -m convex_coding *argv`` in this process: (exit code, stderr).

    The same entry point as the command line (``cli.main``), without a new interpreter
    per case; a Python exception escaping it fails the test, as a traceback would.
    """
    from convex_coding import cli

    old = sys.argv
    sys.argv = ["convex_coding", *argv]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


@pytest.mark.parametrize("overrides,message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_gives_one_clear_message(tmp_path: Path, overrides, message, capsys) -> None:
    cache = tmp_path / "cache"
    code, stderr = _cli_in_process(
        [f"cache_dir={cache}", f"out={tmp_path / 'out.json'}",
         f"hydra.run.dir={tmp_path / 'run'}", *overrides], capsys)
    assert code != 0
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert message in lines[0]
    assert not cache.exists()
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("overrides,message", [CASES[0], CASES[-2]], ids=["value", "key"])
def test_bad_input_from_a_real_command_line(tmp_path: Path, overrides, message) -> None:
    """The same, through a real interpreter: one line on stderr, no traceback."""
    cache = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "convex_coding", f"cache_dir={cache}",
         f"out={tmp_path / 'out.json'}", f"hydra.run.dir={tmp_path / 'run'}", *overrides],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert message in lines[0]
    assert not cache.exists()
