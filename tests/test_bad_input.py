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
    (["dataset=spiral"], "dataset='spiral' is invalid; allowed: file, grid, grid_cut, uniform"),
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

OO, TC, TU = (["experiment=on_off_density"], ["experiment=tuning_criteria"],
              ["experiment=tuning_uniqueness"])
AL = ["experiment.alignment.job=sweep"]
OFF, ONOFF = [*TC, "experiment.instance=offset"], [*TC, "experiment.instance=on_off"]
GRID = [*TU, "population=grid"]


def _bad(key: str, value: str, *pre: str) -> tuple[list[str], str]:
    """``key=value`` after the overrides ``pre``: the message names the key."""
    return [*pre, f"{key}={value}"], f"{key}="


# every key of every Hydra group: types, ranges, NaN/inf, empty and short lists
CASES += [
    # conf/config.yaml
    _bad("seed", "true"), _bad("seed", "[1,2]"), _bad("seed", "nan"),
    _bad("lambda_w", "-inf"), _bad("lambda_w", "true"), _bad("lambda_r", "-0.5"),
    _bad("lambda_r", "nan"), _bad("lambda_r", "[]"), _bad("out", ""),
    # conf/dataset/*
    _bad("dataset.dim", "2.0"), _bad("dataset.dim", "three"), _bad("dataset.dim", "nan"),
    _bad("dataset.points_per_axis", "202"), _bad("dataset.points_per_axis", "5.5"),
    _bad("dataset.points_per_axis", "nan"),
    _bad("dataset.n_points", "3", "dataset=uniform"),
    _bad("dataset.n_points", "100001", "dataset=uniform_corners"),
    _bad("dataset.n_points", "inf", "dataset=uniform"),
    _bad("dataset.scale_spread", "1"), _bad("dataset.scale_spread", "nan"),
    _bad("dataset.cut_depth", "[0.5]", "dataset=grid_cut"),
    _bad("dataset.cut_depth", "[0,1]", "dataset=grid_cut"),
    _bad("dataset.cut_depth", "[0.5,nan]", "dataset=grid_cut"),
    _bad("dataset.cut_depth", "[]", "dataset=grid_cut"),
    _bad("dataset.cut_corner", "[1,2]", "dataset=grid_cut"),
    _bad("dataset.cut_corner", "[1]", "dataset=grid_cut"),
    _bad("dataset.cut_corner", "[]", "dataset=grid_cut"),
    # conf/mixing/*
    _bad("mixing.out_dim", "1001"), _bad("mixing.out_dim", "2.5"),
    _bad("mixing.max_correlation", "1", "mixing=general"),
    _bad("mixing.max_correlation", "-0.1", "mixing=general"),
    _bad("mixing.max_correlation", "nan"), _bad("mixing.correlation", "1", "mixing=general"),
    _bad("mixing.correlation", "nan", "mixing=general"), _bad("mixing.gain_spread", "-0.1"),
    _bad("mixing.gain_spread", "inf", "mixing=general"),
    # conf/solver/*
    _bad("solver.name", "123"), _bad("solver.options.tol_feas", "-1"),
    _bad("solver.options.tol_gap_abs", "nan"), _bad("solver.options.max_iters", "0", "solver=scs"),
    _bad("solver.options.eps_abs", "inf", "solver=scs"),
    # conf/experiment/identifiability.yaml
    _bad("experiment.name", "foo"), _bad("experiment.theory_tol", "-1"),
    _bad("experiment.theory_tol", "nan"), _bad("experiment.value_tol", "0"),
    _bad("experiment.value_tol", "2"), _bad("experiment.complementarity_tol", "inf"),
    _bad("experiment.off_axis_tol", "1"), _bad("experiment.angle_tol_deg", "-0.05"),
    _bad("experiment.angle_tol_deg", "90"), _bad("experiment.certificate_tol", "nan"),
    _bad("experiment.alignment.job", "fit"), _bad("experiment.alignment.set", "circle", *AL),
    _bad("experiment.alignment.param", "nan", *AL), _bad("experiment.alignment.lam", "0", *AL),
    _bad("experiment.alignment.c_range", "[0.5,-0.5]", *AL),
    _bad("experiment.alignment.c_range", "[-1,1]", *AL),
    _bad("experiment.alignment.c_range", "[0]", *AL),
    _bad("experiment.alignment.n_c", "2", *AL), _bad("experiment.alignment.n_c", "10002", *AL),
    _bad("experiment.alignment.showcase_c", "[0,1.5,0]", *AL),
    _bad("experiment.alignment.phase_params", "[1.0,0.1,5]", *AL),
    _bad("experiment.alignment.phase_params", "[0.1,1.9,1]", *AL),
    _bad("experiment.alignment.phase_solver_n_c", "1", *AL),
    _bad("experiment.alignment.measure_boundaries", "maybe", *AL),
    # conf/experiment/on_off_density.yaml and conf/stimulus/*
    _bad("stimulus.n_samples", "402", *OO), _bad("stimulus.n_samples", "20.5", *OO),
    _bad("stimulus.param", "0", *OO, "stimulus=gen_gaussian"),
    _bad("stimulus.param", "101", *OO, "stimulus=gen_gaussian"),
    _bad("stimulus.param", "1", *OO, "stimulus=laplace"),
    _bad("stimulus.param", "1.5", *OO, "stimulus=spike_and_slab"),
    _bad("stimulus.param", "nan", *OO, "stimulus=spike_and_slab"),
    _bad("rho", "0.01", *OO), _bad("rho", "-inf", *OO), _bad("lam", "0", *OO),
    _bad("lam", "1e7", *OO), _bad("lam", "nan", *OO),
    _bad("experiment.certificate_tol", "0", *OO), _bad("experiment.value_tol", "1", *OO),
    _bad("experiment.threshold_bracket", "[0.01,0.5]", *OO, "experiment.mode=threshold"),
    _bad("experiment.threshold_bracket", "[0.1]", *OO),
    _bad("experiment.threshold_bracket", "[0.1,2]", *OO),
    _bad("experiment.threshold_tol", "0", *OO), _bad("experiment.threshold_tol", "0.5", *OO),
    # conf/experiment/tuning_criteria.yaml
    _bad("experiment.restarts", "1001", *TC), _bad("experiment.restarts", "2.5", *TC),
    _bad("experiment.restart_seed", "-1", *TC), _bad("experiment.extra_neurons", "21", *TC),
    _bad("experiment.cp_tol", "0", *TC), _bad("experiment.converged_tol", "1", *TC),
    _bad("experiment.discrepancy_tol", "nan", *TC), _bad("experiment.zero_tol", "-1", *TC),
    _bad("experiment.gap_tol", "inf", *TC), _bad("experiment.scattered_max_neurons", "0", *TC),
    _bad("experiment.scattered_max_neurons", "7", *TC),
    _bad("experiment.keep_restarts", "1", *TC), _bad("experiment.offset", "101", *OFF),
    _bad("experiment.offset", "nan", *OFF), _bad("experiment.grid_points", "12", *OFF),
    _bad("experiment.aspect", "0", *OFF), _bad("experiment.aspect", "1.5", *OFF),
    _bad("experiment.readout_weight", "0", *OFF),
    _bad("experiment.stimulus_param", "1.5", *ONOFF, "experiment.stimulus=spike_and_slab"),
    _bad("experiment.stimulus_param", "0", *ONOFF, "experiment.stimulus=gen_gaussian"),
    _bad("experiment.rho", "1.5", *ONOFF), _bad("experiment.n_samples", "4", *ONOFF),
    _bad("experiment.n_samples", "202", *ONOFF),
    _bad("experiment.theorem1.certificate_tol", "-1", *TC),
    _bad("experiment.theorem1.value_tol", "nan", *TC),
    _bad("experiment.qspace_solver_options.CLARABEL.tol_feas", "-1", *TC),
    _bad("dataset.dim", "5", *TC),
    # conf/experiment/tuning_uniqueness.yaml and conf/population/*
    _bad("population.kind", "hex", *TU), _bad("experiment.restarts", "-1", *TU),
    _bad("experiment.restarts", "10001", *TU), _bad("experiment.search_seed", "-1", *TU),
    _bad("experiment.condition_tol", "0", *TU), _bad("experiment.condition_tol", "0.1", *TU),
    _bad("experiment.min_distance", "0", *TU), _bad("experiment.min_distance", "1", *TU),
    _bad("experiment.keep_tunings", "yes", *TU), _bad("population.n_positions", "7", *TU),
    _bad("population.n_positions", "2001", *TU), _bad("population.n_cells", "1", *TU),
    _bad("population.n_cells", "9", *TU), _bad("population.overlap", "0.01", *TU),
    _bad("population.overlap", "nan", *TU), _bad("population.broad_every", "-1", *TU),
    _bad("population.broad_every", "9", *TU), _bad("population.broad_factor", "0.5", *TU),
    _bad("population.ratio", "1", *GRID), _bad("population.ratio", "6", *GRID),
    _bad("population.n_phases", "0", *GRID), _bad("population.n_phases", "5", *GRID),
    _bad("population.half_width", "0.5", *GRID), _bad("population.n_periods", "0.5", *GRID),
    _bad("population.n_periods", "41", *GRID),
    _bad("population.overlap", "4", *TU, "population=gaussian"),
    # group choices, unknown and added keys
    ([*TU, "population=hex"], "population='hex' is invalid; allowed: gaussian, grid"),
    (["solver=foo"], "solver='foo' is invalid; allowed: clarabel, mosek, scs"),
    (["mixing=foo"], "mixing='foo' is invalid; allowed: general, orthogonal"),
    (["+experiment.foo=1"], "+experiment.foo: adding keys is not supported"),
    (["experiment.foo=1"], "experiment.foo=1 is invalid; allowed: a key of the config"),
    (["solver.foo=1"], "solver.foo=1 is invalid; allowed: a key of the config"),
    (["~seed"], "seed is missing from the config"),
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


# ---------------------------------------------------------------- conf/workflow.yaml

WORKFLOW_YAML = Path(__file__).resolve().parents[1] / "conf" / "workflow.yaml"
Q = "scales.quick."
DEL = object()  # delete the key


def _edit(path: str, value):
    """(``path`` set to ``value`` (or deleted), text naming the key)."""
    return path, value


# every key of conf/workflow.yaml: types, ranges, NaN/inf, empty lists, duplicates,
# unknown keys, missing keys, options that name no file in conf/
WORKFLOW_CASES = [
    _edit("scale", "huge"), _edit("scale", 3), _edit("cache_dir", ""), _edit("cache_dir", " "),
    _edit("cache_dir", None), _edit("extra_key", 1), _edit("scales", {}),
    _edit("scales.quick.unknown_experiment", {"a": [1]}), _edit("dim_overrides.4", ["a=1"]),
    _edit("dim_overrides.2", ["dataset.points_per_axis"]), _edit("showcase", DEL),
    _edit("showcase.tuning_criteria.unique", DEL), _edit("showcase.identifiability.x", "a=1"),
    _edit("showcase.identifiability.full_grid", ["dataset=grid", "dataset=grid"]),
    _edit(Q + "identifiability", DEL), _edit(Q + "identifiability.dims", []),
    _edit(Q + "identifiability.dims", [4]), _edit(Q + "identifiability.dims", [2, 2]),
    _edit(Q + "identifiability.dims", [2.5]), _edit("dim_overrides.2", "a=1"),
    _edit(Q + "identifiability.datasets", ["spiral"]),
    _edit(Q + "identifiability.datasets", ["grid", "grid"]),
    _edit(Q + "identifiability.mixings", ["rotation"]),
    _edit(Q + "identifiability.lambda_w", [-0.1]),
    _edit(Q + "identifiability.lambda_w", [float("nan")]),
    _edit(Q + "identifiability.lambda_r", [0]),
    _edit(Q + "identifiability.lambda_r", [float("inf")]),
    _edit(Q + "identifiability.lambda_r", ["0.1"]), _edit(Q + "identifiability.seeds", [-1]),
    _edit(Q + "identifiability.seeds", [0, 0]), _edit(Q + "identifiability.seeds", [1.5]),
    _edit(Q + "identifiability.seedz", [0]),
    _edit(Q + "identifiability.alignment_sets", {"x": ["circle", 1.0, True]}),
    _edit(Q + "identifiability.alignment_phase", ["phase_params"]),
    _edit(Q + "on_off_density.n_samples", 10), _edit(Q + "on_off_density.n_samples", 41.5),
    _edit(Q + "on_off_density.rho", [0]), _edit(Q + "on_off_density.rho", [1.5]),
    _edit(Q + "on_off_density.rho", [0.1, 0.1]), _edit(Q + "on_off_density.rho", []),
    _edit(Q + "on_off_density.lam", [-1]), _edit(Q + "on_off_density.lam", [2e6]),
    _edit(Q + "on_off_density.stimuli", {}), _edit(Q + "on_off_density.stimuli.bad", "x"),
    _edit(Q + "on_off_density.family.uniform", ["stimulus=uniform"]),
    _edit(Q + "on_off_density.showcase.stimulus", "cauchy"),
    _edit(Q + "on_off_density.showcase.dense", 0.33),
    _edit(Q + "on_off_density.showcase.sparse", 0), _edit(Q + "on_off_density.showcase.x", 1),
    _edit(Q + "tuning_uniqueness.restarts", -1), _edit(Q + "tuning_uniqueness.restarts", "4"),
    _edit(Q + "tuning_uniqueness.overlaps", [0.01]),
    _edit(Q + "tuning_uniqueness.overlaps", [0.3, 0.3]),
    _edit(Q + "tuning_uniqueness.ratios", [1]), _edit(Q + "tuning_uniqueness.ratios", [6]),
    _edit(Q + "tuning_criteria.restarts", 1),
    _edit(Q + "tuning_criteria.theorem1.dims", [5]),
    _edit(Q + "tuning_criteria.theorem1.datasets", ["spiral"]),
    _edit(Q + "tuning_criteria.theorem1.mixings", []),
    _edit(Q + "tuning_criteria.theorem1.lambda_w", [float("-inf")]),
    _edit(Q + "tuning_criteria.theorem1.lambda_r", [-1]),
    _edit(Q + "tuning_criteria.theorem1.seeds", [0, 0]),
    _edit(Q + "tuning_criteria.theorem1.overrides.2", "dataset.n_points=40"),
    _edit(Q + "tuning_criteria.offset.grid_points", [2]),
    _edit(Q + "tuning_criteria.offset.offsets", [-1.0]),
    _edit(Q + "tuning_criteria.offset.offsets", [1.0, 1]),
    _edit(Q + "tuning_criteria.on_off.stimuli", ["cauchy"]),
    _edit(Q + "tuning_criteria.on_off.rho", [0]),
    _edit(Q + "tuning_criteria.on_off.n_samples", 4),
    _edit(Q + "tuning_criteria.contrast.grid_points", 12),
    _edit(Q + "tuning_criteria.contrast.offsets", []),
    _edit(Q + "tuning_criteria.contrast.theorem1_datasets", ["spiral"]),
    _edit(Q + "tuning_criteria.contrast.theorem1_seeds", [-2]),
    _edit(Q + "tuning_criteria.contrast.extra", 1),
]


def _apply(cfg: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[int(p) if p.isdigit() and int(p) in node else p]
    last_key = int(last) if last.isdigit() else last
    if value is DEL:
        del node[last_key]
    else:
        node[last_key] = value


@pytest.mark.parametrize("path,value", WORKFLOW_CASES,
                         ids=[f"{p}={v!r}" for p, v in WORKFLOW_CASES])
def test_bad_workflow_config_gives_one_line_naming_the_key(path, value) -> None:
    import copy

    import yaml

    from convex_coding.pipeline.workflow_config import check_workflow_config

    cfg = copy.deepcopy(yaml.safe_load(WORKFLOW_YAML.read_text()))
    _apply(cfg, path, value)
    error = check_workflow_config(cfg)
    assert error is not None and "\n" not in error
    assert error.startswith("conf/workflow.yaml: ")
    named = error[len("conf/workflow.yaml: "):].split(": ")[0]
    # the message names the key itself, or (a missing key) the block that lacks it
    assert path.startswith(named) or named.startswith(path.rsplit(".", 1)[0]) or \
        named == "(top level)", error


def test_the_shipped_workflow_config_passes() -> None:
    import yaml

    from convex_coding.pipeline.workflow_config import check_workflow_config

    assert check_workflow_config(yaml.safe_load(WORKFLOW_YAML.read_text())) is None


def test_at_least_120_bad_input_cases() -> None:
    assert len(CASES) + len(WORKFLOW_CASES) >= 120
