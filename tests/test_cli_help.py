"""What the command line shows: ``--help`` (every experiment, every key with a description
and its allowed range) and the progress lines of a single run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from convex_coding import cli
from convex_coding.pipeline import help as clihelp
from convex_coding.pipeline import registry
from convex_coding.pipeline.config import is_int, require
from convex_coding.pipeline.experiment import Experiment
from convex_coding.pipeline.runs import CONF_DIR

EXPERIMENTS = sorted(registry.RUN_MODULES)


@pytest.fixture(scope="module")
def helps() -> dict[str, clihelp.ExperimentHelp]:
    return {name: clihelp.experiment_help(name) for name in EXPERIMENTS}


@pytest.fixture(scope="module")
def text() -> str:
    return clihelp.render_help()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_help_lists_every_experiment_with_its_keys(name: str, text: str,
                                                   helps: dict[str, Any]) -> None:
    assert f"  {name} " in text.split("config groups")[0]
    assert f"experiment={name}  (" in text
    info = helps[name]
    assert info.error is None, info.error
    assert info.keys, f"{name}: no keys listed"
    for item in info.keys:
        assert f"  {item.key}=" in text or f"] {item.key}=" in text


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_key_has_a_description(name: str, helps: dict[str, Any]) -> None:
    """Every key shown has a description (a YAML comment, or FALLBACK); add a comment to
    the YAML file that defines the key if this fails."""
    missing = [k.key for k in helps[name].keys if not k.description.strip()]
    assert not missing, f"experiment={name}: keys without a description: {missing}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_key_of_the_composed_config_is_accounted_for(name: str,
                                                           helps: dict[str, Any]) -> None:
    cfg, choices = clihelp._compose([f"experiment={name}"], CONF_DIR)
    chosen = [CONF_DIR / g / f"{o}.yaml" for g, o in choices.items()]
    leaves = clihelp.leaves(cfg, clihelp.descriptions(CONF_DIR, chosen))
    shown = {k.key for k in helps[name].keys} | set(helps[name].unchecked)
    assert set(leaves) <= shown


@pytest.mark.parametrize(("name", "key", "allowed"), [
    ("identifiability", "seed", "an integer ≥ 0"),
    ("identifiability", "lambda_r", "a finite number > 0"),
    ("identifiability", "dataset.kind", "grid, grid_cut, uniform, uniform_corners"),
    ("identifiability", "experiment.alignment.n_c",
     "with experiment.alignment.job=sweep|showcase|phase: an integer in [3, 10001]"),
    ("identifiability", "cache_dir", "a folder path (non-empty)"),
    ("on_off_density", "stimulus.n_samples", "an integer in [5, 401]"),
    ("on_off_density", "stimulus.param", "with stimulus=spike_and_slab: the slab probability"),
    ("on_off_density", "experiment.mode", "solve, threshold"),
    ("tuning_uniqueness", "population.ratio", "with population=grid: real in (1, 5]"),
    ("tuning_uniqueness", "experiment.condition_tol", "real in (0, 1e-2)"),
    ("tuning_criteria", "experiment.grid_points",
     "with experiment.instance=offset: an integer in [3, 11]"),
])
def test_ranges_are_the_validators_own(name: str, key: str, allowed: str,
                                       helps: dict[str, Any]) -> None:
    """Spot checks against the ranges written in the validators (config.py, *_run.py)."""
    (item,) = [k for k in helps[name].keys if k.key == key]
    assert allowed in item.allowed_text()


def _checking_toy_run(cfg, cache) -> dict[str, Any]:
    require(cfg, "experiment.checked", lambda v: is_int(v) and v > 0, "an integer > 0")
    if cfg.experiment.mode == "strict":
        require(cfg, "experiment.free", lambda v: v == 2, "2 (with mode=strict)")
    cache.get("key")
    raise AssertionError("help must stop the run at its first cache lookup")


CHECKING = Experiment(name="checking_toy", title="checks one key", paper=False,
                      run=_checking_toy_run, describe=str)


def test_ranges_and_unchecked_keys_of_a_toy_experiment(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A toy config and experiment: the range its check states, the range a check under
    an enumerated setting states, a key no check reads, and a key of another group."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "config.yaml").write_text(
        "defaults:\n  - experiment: checking_toy\n  - other: one\n  - _self_\n\n"
        "cache_dir: c   # the cache\nout: null      # the result\nseed: 0       # a seed\n")
    (tmp_path / "experiment" / "checking_toy.yaml").write_text(
        "# A toy that checks one key.\nname: checking_toy\n"
        "checked: 1     # a checked key\nfree: 2        # checked only in strict mode\n"
        "mode: loose    # loose | strict\n")
    (tmp_path / "other" / "one.yaml").write_text("size: 3   # not read by the toy\n")
    monkeypatch.setitem(registry._extra, CHECKING.name, CHECKING)  # unregistered after
    info = clihelp.experiment_help("checking_toy", conf_dir=tmp_path)
    by_key = {k.key: k for k in info.keys}
    assert by_key["experiment.checked"].allowed_text() == "an integer > 0"
    assert by_key["experiment.checked"].description == "a checked key"
    assert by_key["experiment.name"].description == "A toy that checks one key."
    assert by_key["experiment.free"].allowed_text() == "not checked with these settings"
    assert by_key["cache_dir"].allowed_text() == "a folder path (non-empty)"
    assert by_key["seed"].allowed_text() == "not checked with these settings"
    assert info.unchecked == ["other.size"]
    # mode's range is not checked either, so no variant turns on the strict check
    assert by_key["experiment.mode"].allowed_text() == "not checked with these settings"


def _enum_toy_run(cfg, cache) -> dict[str, Any]:
    mode = require(cfg, "experiment.mode", lambda v: v in ("loose", "strict"), "loose or strict")
    if mode == "strict":
        require(cfg, "experiment.free", lambda v: v == 2, "2 (with mode=strict)")
    cache.get("key")
    raise AssertionError("help must stop the run at its first cache lookup")


def test_a_check_under_an_enumerated_setting_is_found(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "experiment").mkdir()
    (tmp_path / "config.yaml").write_text(
        "defaults:\n  - experiment: enum_toy\n  - _self_\n\n"
        "cache_dir: c   # the cache\nout: null      # the result\n")
    (tmp_path / "experiment" / "enum_toy.yaml").write_text(
        "name: enum_toy  # the toy\nfree: 2        # checked only in strict mode\n"
        "mode: loose    # loose | strict\n")
    toy = Experiment(name="enum_toy", title="t", paper=False, run=_enum_toy_run, describe=str)
    monkeypatch.setitem(registry._extra, toy.name, toy)
    by_key = {k.key: k for k in clihelp.experiment_help("enum_toy", conf_dir=tmp_path).keys}
    assert by_key["experiment.mode"].allowed_text() == "loose or strict"
    assert by_key["experiment.free"].allowed_text() == \
        "with experiment.mode=strict: 2 (with mode=strict)"


def test_descriptions_come_from_the_yaml_comments(tmp_path: Path) -> None:
    conf = tmp_path / "group"
    conf.mkdir()
    path = conf / "option.yaml"
    path.write_text(
        "# The option itself.  More on it.\n"
        "name: option\n"
        "size: 3        # how many\n"
        "               # (continued)\n"
        "\n"
        "# the block above a key\n"
        "nested:\n"
        "  inner: 1     # an inner key\n"
        "  bare: 2\n"
        "defaults_like: [1, 2]\n")
    parsed = clihelp.parse_comments(path, "group")
    assert parsed["group.name"] == ("The option itself.", False)
    assert parsed["group.size"] == ("how many (continued)", True)
    assert parsed["group.nested"] == ("the block above a key", False)
    assert parsed["group.nested.inner"] == ("an inner key", True)
    assert parsed["group.nested.bare"] == ("", False)
    assert parsed["group.defaults_like"] == ("", False)


def test_fallback_descriptions_never_repeat_a_yaml_comment() -> None:
    """FALLBACK only fills keys whose files say nothing: one source per description."""
    for rel, entries in clihelp.FALLBACK.items():
        path = CONF_DIR / rel
        assert path.is_file(), rel
        parsed = clihelp.parse_comments(path)
        for key, text in entries.items():
            assert key in parsed, f"{rel}: FALLBACK names {key}, which the file lacks"
            assert parsed[key][0] == "", f"{rel}: {key} has a YAML comment; drop FALLBACK"
            assert text.strip()


def test_help_from_the_command_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "convex_coding", "experiment=tuning_uniqueness",
                           "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "experiment=tuning_uniqueness  (paper" in proc.stdout
    assert "population.n_cells=6" in proc.stdout
    assert "experiment=identifiability  (" not in proc.stdout  # only the chosen one
    for name in EXPERIMENTS:
        assert f"  {name} " in proc.stdout


def _slow_run(cfg, cache) -> dict[str, Any]:
    time.sleep(0.35)
    return {"key": "k", "params": {"lambda_w": float(cfg.lambda_w)},
            "config": {"experiment": {"name": "slow_toy"}}, "cache_hit": False, "agree": True}


SLOW = Experiment(name="slow_toy", title="a slow toy", paper=False, run=_slow_run,
                  describe=lambda r: "slept")


def test_a_single_run_prints_progress_and_where_its_result_went(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(registry._extra, SLOW.name, SLOW)
    monkeypatch.setattr(cli, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["convex_coding", "experiment.name=slow_toy",
                                      "lambda_w=0.5", f"cache_dir={tmp_path / 'cache'}",
                                      "out=result.json"])
    cli.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("slow_toy experiment.name=slow_toy lambda_w=0.5")
    assert "running" in lines[0]
    assert any("slow_toy: still running" in ln for ln in lines[1:-1])
    last = lines[-1]
    assert "slept, solved in " in last
    assert last.endswith(f"-> {(tmp_path / 'result.json').resolve()}")
    assert (tmp_path / "result.json").is_file()


def test_the_heartbeat_stops_with_its_block(capsys: pytest.CaptureFixture) -> None:
    with cli.heartbeat("job", every=0.05):
        time.sleep(0.18)
    printed = capsys.readouterr().out
    time.sleep(0.15)
    assert 2 <= printed.count("job: still running") <= 4
    assert capsys.readouterr().out == ""


def test_settings_passed_with_help_turn_on_their_checks() -> None:
    """Two steps from the defaults (instance=on_off and a stimulus with a parameter):
    found once the settings are given, as ``experiment.instance=on_off … --help`` does."""
    key = "experiment.stimulus_param"
    default = clihelp.experiment_help("tuning_criteria")
    given = clihelp.experiment_help("tuning_criteria", ["experiment.instance=on_off",
                                                        "experiment.stimulus=spike_and_slab"])
    (before,) = [k for k in default.keys if k.key == key]
    (after,) = [k for k in given.keys if k.key == key]
    assert before.allowed_text() == "not checked with these settings"
    assert after.allowed_text() != "not checked with these settings"
