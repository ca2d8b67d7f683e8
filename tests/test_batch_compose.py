"""The batch composer gives exactly Hydra's config, and Hydra's errors, at a fraction of
the cost."""

from __future__ import annotations

import time

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from convex_coding.pipeline.batch import BatchComposer
from convex_coding.pipeline.runs import CONF_DIR

# what the workflow's rules pass, per experiment (plus the figure showcases)
RUNS = [
    ["experiment=identifiability", "dataset=grid_cut", "dataset.dim=3", "mixing=general",
     "dataset.points_per_axis=4", "dataset.n_points=50", "lambda_w=0.3", "lambda_r=0.05",
     "seed=2", "cache_dir=/tmp/c"],
    ["experiment=identifiability", "dataset=grid_cut", "dataset.scale_spread=0.0",
     "dataset.cut_depth=[1.0,1.0]", "dataset.cut_corner=[1,1]", "mixing=orthogonal",
     "lambda_w=0.1", "lambda_r=0.1"],
    ["experiment=identifiability", "dataset=grid", "mixing=general", "mixing.correlation=0.7",
     "mixing.gain_spread=0.0"],
    ["experiment=on_off_density", "stimulus=gen_gaussian", "stimulus.param=0.7", "rho=0.2",
     "lam=3.0",
     "stimulus.n_samples=41"],
    ["experiment=on_off_density", "stimulus=laplace", "experiment.mode=threshold"],
    ["experiment=tuning_criteria", "experiment.restarts=12", "dataset=uniform_corners",
     "dataset.dim=2", "mixing=orthogonal", "seed=1"],
    ["experiment=tuning_criteria", "experiment.instance=offset", "experiment.grid_points=5",
     "experiment.offset=0.5", "experiment.nonnegative=false"],
    ["experiment=tuning_criteria", "experiment.instance=on_off",
     "experiment.stimulus=uniform", "experiment.rho=0.45", "experiment.n_samples=21"],
    ["solver=scs", "solver.options.max_iters=1000"],
    [],
]


def _plain(cfg):
    return OmegaConf.to_container(cfg, resolve=False)


def test_batch_composer_equals_hydra_compose_for_every_workflow_run() -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composer = BatchComposer(CONF_DIR)
        for overrides in RUNS + RUNS:  # the second pass reuses the cached bases
            fast = composer(overrides)
            slow = compose(config_name="config", overrides=overrides)
            assert _plain(fast) == _plain(slow), overrides
            assert OmegaConf.is_struct(fast)


def test_composed_configs_are_independent_copies() -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composer = BatchComposer(CONF_DIR)
        a = composer(["lambda_w=0.3"])
        b = composer(["lambda_w=0.05"])
        a.dataset.dim = 3
        assert (a.lambda_w, b.lambda_w, b.dataset.dim) == (0.3, 0.05, 2)


@pytest.mark.parametrize("overrides", [["no_such_key=1"], ["dataset.no_such=1"],
                                       ["dataset=spiral"], ["lambda_w=[0.1"]])
def test_bad_overrides_fail_as_in_hydra(overrides: list[str]) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composer = BatchComposer(CONF_DIR)
        with pytest.raises(Exception) as hydra_err:
            compose(config_name="config", overrides=overrides)
        with pytest.raises(type(hydra_err.value)) as ours:
            composer(overrides)
        assert str(ours.value) == str(hydra_err.value)
    assert isinstance(hydra_err.value, ConfigCompositionException) or overrides[0].endswith(
        "[0.1")


def test_batch_composer_is_much_faster_than_composing_each_run() -> None:
    runs = [["experiment=identifiability", "dataset=uniform", f"lambda_w={lw}", f"seed={s}"]
            for lw in (0.05, 0.1, 0.3) for s in range(10)]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composer = BatchComposer(CONF_DIR)
        start = time.perf_counter()
        for ov in runs:
            composer(ov)
        fast = time.perf_counter() - start
        start = time.perf_counter()
        for ov in runs[:10]:
            compose(config_name="config", overrides=ov)
        slow = (time.perf_counter() - start) * len(runs) / 10
    assert fast < slow / 5, (fast, slow)


def test_the_disk_memo_gives_hydras_config_in_a_new_process_without_composing(
        tmp_path, monkeypatch) -> None:
    """A second composer (a later job) reads every base from the memo: the same config,
    struct mode included, and Hydra's ``compose`` is never called."""
    import convex_coding.pipeline.batch as batch

    memo = tmp_path / "composed"
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        first = BatchComposer(CONF_DIR, memo_dir=memo)
        expected = [_plain(first(ov)) for ov in RUNS]
        assert len(list(memo.glob("*.json"))) >= 5  # one per group combination
        monkeypatch.setattr(batch, "compose", lambda **kw: pytest.fail(f"composed {kw}"))
        second = BatchComposer(CONF_DIR, memo_dir=memo)
        for overrides, want in zip(RUNS, expected, strict=True):
            cfg = second(overrides)
            assert _plain(cfg) == want, overrides
            assert OmegaConf.is_struct(cfg)
        with pytest.raises(Exception, match="lambda_q"):  # struct mode: unknown keys fail
            OmegaConf.update(second([]), "lambda_q", 1.0, merge=True)


def test_the_memo_key_follows_the_content_of_the_config_files(tmp_path) -> None:
    import shutil

    from convex_coding.pipeline.batch import _conf_digest

    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    before = _conf_digest(conf)
    group = conf / "dataset" / "grid.yaml"
    group.write_text(group.read_text() + "# edited\n")
    assert _conf_digest(conf) != before


def test_the_composer_initialises_hydra_itself_and_releases_it() -> None:
    """Without a caller's ``initialize_config_dir`` (a batch job), the composer starts
    Hydra's config search on first need and clears it on exit."""
    from hydra.core.global_hydra import GlobalHydra

    assert not GlobalHydra.instance().is_initialized()
    with BatchComposer(CONF_DIR) as composer:
        cfg = composer(RUNS[0])
        assert GlobalHydra.instance().is_initialized()
    assert not GlobalHydra.instance().is_initialized()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        assert _plain(cfg) == _plain(compose(config_name="config", overrides=RUNS[0]))


def test_memoised_runs_compose_in_a_new_process_without_importing_hydra(tmp_path) -> None:
    """A warm job (every run's config in the memo) neither parses an override nor imports
    Hydra, and gets exactly the config Hydra composed (struct mode included)."""
    import json
    import subprocess
    import sys

    memo = tmp_path / "composed"
    with BatchComposer(CONF_DIR, memo_dir=memo) as first:
        expected = [_plain(first(ov)) for ov in RUNS]
    (tmp_path / "runs.json").write_text(json.dumps(RUNS))
    script = f"""
import json, sys
from pathlib import Path
from omegaconf import OmegaConf
from convex_coding.pipeline.batch import BatchComposer
runs = json.loads(Path({str(tmp_path / "runs.json")!r}).read_text())
with BatchComposer(Path({str(CONF_DIR)!r}), memo_dir=Path({str(memo)!r})) as c:
    cfgs = [c(ov) for ov in runs]
assert all(OmegaConf.is_struct(cfg) for cfg in cfgs)
print(json.dumps({{"hydra": "hydra" in sys.modules,
                  "configs": [OmegaConf.to_container(cfg, resolve=False) for cfg in cfgs]}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout)
    assert result["hydra"] is False
    assert result["configs"] == expected
