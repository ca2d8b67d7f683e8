"""A forged cache entry (checksum recomputed, so only the certificate re-check can catch
it) is detected, moved aside and recomputed, for every experiment; and a deterministically
uncertified instance is recorded, not solved again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from convex_coding.pipeline.cache import ResultCache
from convex_coding.pipeline.errors import CertificateError, UncertifiedError
from convex_coding.pipeline.runs import compose_run, run_config


def _scale(factor: float, *keys: str) -> Callable[[dict], None]:
    def forge(p: dict) -> None:
        for key in keys:
            *path, last = key.split(".")
            d = p
            for k in path:
                d = d[k]
            d[last] = (np.asarray(d[last]) * factor).tolist()
    return forge


def _set(key: str, value) -> Callable[[dict], None]:
    def forge(p: dict) -> None:
        *path, last = key.split(".")
        d = p
        for k in path:
            d = d[k]
        d[last] = value
    return forge


# (overrides of a small instance, how its stored optimum is forged)
FORGERIES = {
    # fewer neurons' weight than optimal: the reduced cost turns negative
    "identifiability": (["dataset=grid", "dataset.points_per_axis=5", "mixing=general"],
                        _scale(0.9, "solution.weights")),
    # the code pays 10 % more than the optimum its own dual certifies
    "on_off_density": (["experiment=on_off_density", "stimulus.n_samples=21", "rho=0.3"],
                       _scale(1.1, "solution.weights", "solution.inner")),
    "on_off_density threshold": (
        ["experiment=on_off_density", "stimulus.n_samples=21", "experiment.mode=threshold",
         "experiment.threshold_tol=0.01"],
        lambda p: p["measured"].update(threshold=p["measured"]["threshold"] + 0.05,
                                       difference=p["measured"]["difference"] + 0.05)),
    # F no longer has diag F = μ² (the tight-scattering certificate)
    "tuning_uniqueness": (["experiment=tuning_uniqueness", "population.n_positions=40",
                           "population.n_cells=4", "experiment.restarts=2"],
                          _scale(1.5, "condition.f")),
    # the example: an improving atom at the "optimum"
    "tuning_criteria": (["experiment=tuning_criteria", "experiment.instance=on_off",
                         "experiment.n_samples=11", "experiment.restarts=2"],
                        _set("certificate.min_reduced_cost", -0.5)),
}


def _science(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "cache_hit"}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_optimum_is_detected_moved_aside_and_recomputed(tmp_path: Path, name) -> None:
    overrides, forge = FORGERIES[name]
    cfg = compose_run([*overrides, f"cache_dir={tmp_path}"])
    cache = ResultCache(tmp_path)
    clean = run_config(cfg, cache)
    assert run_config(cfg, cache)["cache_hit"]  # a valid entry verifies
    path = cache.path(clean["key"])
    payload = json.loads(path.read_text())["payload"]
    forge(payload)
    cache.put(clean["key"], payload)  # checksum recomputed: only the re-check can tell
    assert cache.get(clean["key"]) == payload  # the checksum alone accepts it
    again = run_config(cfg, cache)
    assert not again["cache_hit"]  # detected and recomputed
    assert path.with_suffix(".rejected").exists()  # moved aside, kept for inspection
    assert _science(again) == _science(clean)
    assert run_config(cfg, cache)["cache_hit"]  # the recomputed entry is trusted again


def test_missing_field_is_moved_aside(tmp_path: Path) -> None:
    cfg = compose_run([*FORGERIES["identifiability"][0], f"cache_dir={tmp_path}"])
    cache = ResultCache(tmp_path)
    clean = run_config(cfg, cache)
    payload = json.loads(cache.path(clean["key"]).read_text())["payload"]
    del payload["solution"]["complementarity"]
    cache.put(clean["key"], payload)
    again = run_config(cfg, cache)
    assert not again["cache_hit"] and _science(again) == _science(clean)


def test_uncertified_instance_is_recorded_and_not_solved_again(tmp_path: Path,
                                                              monkeypatch) -> None:
    from convex_coding.pipeline import theorem1 as ir

    cfg = compose_run([*FORGERIES["identifiability"][0], f"cache_dir={tmp_path}"])
    cache = ResultCache(tmp_path)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise CertificateError("reduced cost is negative by 0.1 (relative)")

    monkeypatch.setattr(ir, "solve_and_certify", failing)
    with pytest.raises(CertificateError, match=r"negative by 0\.1"):
        run_config(cfg, cache)
    with pytest.raises(UncertifiedError, match=r"negative by 0\.1.*recorded as uncertified"):
        run_config(cfg, cache)  # the recorded verdict, without a solve
    assert len(calls) == 1
    key = next(tmp_path.rglob("*.json")).stem
    with pytest.raises(UncertifiedError):
        cache.get(key)  # never returned as a result
    # another instance (other inputs: another key) is solved as usual
    monkeypatch.undo()
    other = compose_run([*FORGERIES["identifiability"][0], "seed=1", f"cache_dir={tmp_path}"])
    assert run_config(other, cache)["agree"] in (True, False)


def test_uncertified_theorem1_optimum_makes_an_uncertified_criteria_record(
        tmp_path: Path, monkeypatch) -> None:
    """Tuning criteria reuse the identifiability entry: an uncertified one there gives an
    uncertified (listed, never counted) criteria record, not a crash."""
    from convex_coding.pipeline import theorem1 as ir

    monkeypatch.setattr(ir, "solve_and_certify", lambda *a, **k: (_ for _ in ()).throw(
        CertificateError("complementary slackness violated")))
    cfg = compose_run(["experiment=tuning_criteria", "dataset.points_per_axis=5",
                       "experiment.restarts=2", f"cache_dir={tmp_path}"])
    record = run_config(cfg, ResultCache(tmp_path))
    assert record["verdict"] == "uncertified"
    assert "complementary slackness" in record["uncertified_reason"]
