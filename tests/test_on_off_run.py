"""The paper's Figure 3 through the experiment interface: runs, thresholds, cache trust,
user samples and bad input (experiment=on_off)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convex_coding import affine_channels as ac
from convex_coding.pipeline.cache import ResultCache
from convex_coding.pipeline.errors import ConfigError
from convex_coding.pipeline.runs import compose_run, run_config

SMALL = ["experiment=on_off", "variable.n_cells=100"]


def _run(tmp_path: Path, *overrides: str, cache: ResultCache | None = None) -> dict:
    cfg = compose_run([*SMALL, *overrides, f"cache_dir={tmp_path}"])
    return run_config(cfg, cache if cache is not None else ResultCache(tmp_path))


def _science(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "cache_hit"}


def test_dense_slab_is_on_off_and_certified(tmp_path: Path) -> None:
    rec = _run(tmp_path, "variable.p0=0.1")
    assert rec["channels"] == ["ON", "OFF"] and rec["agree"] and rec["bias"] > 0
    assert rec["p_min"] == pytest.approx(0.1, abs=1e-15)
    assert rec["certificate_violation"] <= 1e-9 and rec["q_reduced_cost"] >= -1e-9
    assert max(abs(g) for g in rec["gaps"].values()) <= 1e-6
    assert rec["advantage"] > 0 and sum(rec["energy_share"].values()) == pytest.approx(1)
    assert _run(tmp_path, "variable.p0=0.1")["cache_hit"]


def test_sparse_slab_is_one_channel(tmp_path: Path) -> None:
    rec = _run(tmp_path, "variable.p0=0.5", "variable.law=uniform")
    assert rec["channels"] == ["ON"] and rec["bias"] == 0.0 and rec["advantage"] == 0.0


@pytest.mark.parametrize("law", ac.SYMMETRIC_LAWS)
def test_symmetric_controls_are_on_off_at_the_centre(tmp_path: Path, law: str) -> None:
    rec = _run(tmp_path, "variable=symmetric", f"variable.law={law}")
    assert rec["n_channels"] == 2 and abs(rec["bias"]) <= 1e-10
    assert rec["bias_fraction"] == pytest.approx(0.5, abs=1e-10)


@pytest.mark.parametrize(("law", "expected"), [("uniform", 3 / 7), ("exponential", 1 / 3),
                                               ("half_normal", 2 / (np.pi + 2))])
def test_threshold_measured_by_bisection_matches_the_prediction(tmp_path: Path, law: str,
                                                                 expected: float) -> None:
    rec = _run(tmp_path, "experiment.mode=threshold", f"variable.law={law}",
               "variable.n_cells=400")
    assert abs(rec["measured"] - rec["predicted"]) <= 1e-4
    assert rec["population"] == pytest.approx(expected, abs=1e-15)
    assert abs(rec["measured"] - expected) <= 1e-3
    assert rec["ends"]["low"]["n_channels"] == 2 and rec["ends"]["high"]["n_channels"] == 1


def test_natural_image_variables_land_on_their_sides(tmp_path: Path) -> None:
    contrast = _run(tmp_path, "variable=image", "variable.image=camera")
    edges = _run(tmp_path, "variable=image", "variable.image=camera",
                 "variable.feature=edges")
    assert contrast["n_channels"] == 2 and contrast["p_min"] < contrast["ratio"]
    assert edges["n_channels"] == 1 and edges["p_min"] > 0.4 > edges["ratio"]
    assert contrast["agree"] and edges["agree"]


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_user_samples_from_a_file(tmp_path: Path, suffix: str) -> None:
    data = np.maximum(np.random.default_rng(1).normal(size=3000), 0.0)  # half zeros
    path = tmp_path / f"samples{suffix}"
    if suffix == ".npy":
        np.save(path, data)
    else:
        np.savetxt(path, np.c_[np.zeros_like(data), data], delimiter=",")
    rec = _run(tmp_path, "variable=samples", f"variable.path={path}",
               f"variable.column={0 if suffix == '.npy' else 1}")
    assert rec["p_min"] == pytest.approx(np.mean(data == 0), abs=1e-15)
    assert rec["n_channels"] == 1  # Pr(I=0) ≈ 1/2 ≥ 2/(π+2) ≈ 0.39 (half-normal slab)


@pytest.mark.parametrize(("forge", "mode"), [
    (lambda p: p.update(bias=p["bias"] + 0.05), "solve"),  # not the optimal bias
    (lambda p: p["bounds"].update(dnn=0.9 * p["bounds"]["dnn"]), "solve"),  # bounds disagree
    (lambda p: p.update(measured=p["measured"] + 0.05, width=0.2), "threshold"),
])
def test_forged_entry_is_moved_aside_and_recomputed(tmp_path: Path, forge, mode) -> None:
    cache = ResultCache(tmp_path)
    overrides = ["variable.p0=0.2", f"experiment.mode={mode}", "experiment.threshold_tol=0.01"]
    clean = _run(tmp_path, *overrides, cache=cache)
    assert _run(tmp_path, *overrides, cache=cache)["cache_hit"]  # a clean entry verifies
    path = cache.path(clean["key"])
    payload = json.loads(path.read_text())["payload"]
    forge(payload)
    cache.put(clean["key"], payload)  # checksum recomputed: only the re-check can tell
    again = _run(tmp_path, *overrides, cache=cache)
    assert not again["cache_hit"] and path.with_suffix(".rejected").exists()
    assert _science(again) == _science(clean)


@pytest.mark.parametrize(("overrides", "message"), [
    (["variable.p0=1.5"], "variable.p0=1.5 is invalid; allowed: Pr(I = 0), a number in [0, 0.99]"),
    (["variable.p0=nan"], "variable.p0=nan is invalid"),
    (["variable.law=cauchy"], "variable.law='cauchy' is invalid; allowed: half_normal"),
    (["variable.law=gamma"], "variable.shape=None is invalid; allowed: the gamma shape k"),
    (["variable.shape=2"], "variable.shape=2 is invalid; allowed: null for variable.law=exp"),
    (["variable.n_cells=5"], "variable.n_cells=5 is invalid; allowed: an integer in [10, 5000]"),
    (["variable=symmetric", "variable.law=cauchy"], "variable.law='cauchy' is invalid"),
    (["variable=symmetric", "experiment.mode=threshold"], "experiment.mode='threshold' is "
     "invalid; allowed: solve (threshold needs variable=slab"),
    (["variable=image", "variable.image=lena"], "variable.image='lena' is invalid"),
    (["variable=image", "variable.feature=colour"], "variable.feature='colour' is invalid"),
    (["variable=samples", "variable.path=missing.npy"], "variable.path='missing.npy': no such"),
    (["variable=samples", "variable.path=data.txt"], "variable.path='data.txt' is invalid"),
    (["lam=0"], "lam=0 is invalid; allowed: a number in (0, 1e6]"),
    (["experiment.mode=bisect"], "experiment.mode='bisect' is invalid; allowed: solve, thr"),
    (["experiment.certificate_tol=0.1"], "experiment.certificate_tol=0.1 is invalid"),
    (["experiment.bound_tol=-1"], "experiment.bound_tol=-1 is invalid"),
    (["experiment.twin_cells=100"], "experiment.twin_cells=100 is invalid; allowed: an inte"),
    (["experiment.threshold_tol=0.5"], "experiment.threshold_tol=0.5 is invalid"),
    (["experiment.keep_tunings=1"], "experiment.keep_tunings=1 is invalid; allowed: true or"),
])
def test_bad_values_give_one_line_and_cache_nothing(tmp_path: Path, overrides: list[str],
                                                    message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _run(tmp_path, *overrides)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(("content", "message"), [
    ("1\n2\n", "samples have 2 values; need at least 10"),
    ("1\n" * 20, "samples are constant"),
    ("a,b\n1,2\n", "unreadable"),
])
def test_bad_sample_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        _run(tmp_path, "variable=samples", f"variable.path={path}")
