"""The benchmark code (benchmarks/*.py): fits, summaries, a tiny run of each part."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_pipeline  # noqa: E402
import bench_scaling  # noqa: E402
import bench_training  # noqa: E402
import common  # noqa: E402


def test_fit_exponent_recovers_power_law() -> None:
    t = np.array([20, 50, 100, 1000, 1e4, 1e5])
    fit = common.fit_exponent(t, 3e-4 * t**1.5)
    assert fit["exponent"] == pytest.approx(1.5, abs=1e-9)
    assert fit["prefactor"] == pytest.approx(3e-4, rel=1e-9)
    assert common.extrapolate(fit, 1e6) == pytest.approx(3e-4 * 1e9, rel=1e-9)
    # a constant overhead below min_size is excluded from the asymptotic fit
    y = np.where(t < 100, 0.05, 1e-5 * t)
    fit = common.fit_exponent(t, y, min_size=100)
    assert fit["exponent"] == pytest.approx(1.0, abs=1e-9)
    assert (fit["t_min"], fit["n_points"]) == (100, 4)
    assert common.fit_exponent([10], [1.0])["exponent"] is None


def test_largest_t_within_a_time_budget_follows_the_fit() -> None:
    fit = {"exponent": 2.0, "prefactor": 6e-4}  # 600 s at T = 1000
    assert bench_scaling.t_within(fit, 600.0) == pytest.approx(1000.0)
    assert bench_scaling.t_within({"exponent": 0.1, "prefactor": 1e-3}, 600.0) == 100_000
    assert bench_scaling.t_within({"exponent": None, "prefactor": None}, 600.0) is None


def test_summary_marks_a_median_that_is_only_a_lower_bound() -> None:
    def row(ratio: float, lower: bool) -> dict:
        return {"family": "f", "ratio": ratio, "ratio_is_lower_bound": lower,
                "reached": not lower, "convex_seconds": 0.1, "train_seconds": ratio / 10,
                "train_rel_gap": 1e-3, "verdict_agree": True, "convex_modular": True,
                "trained_modular": True}

    s = bench_training.summarise([row(10, False), row(20, True), row(300, False)])
    assert s["overall"]["median_ratio"] == 20
    assert s["overall"]["median_ratio_reached"] == 155  # exact ratios only
    assert s["overall"]["median_ratio_is_lower_bound"]
    assert not s["overall"]["at_least_100x"]
    s = bench_training.summarise([row(10, False), row(200, False), row(300, True)])
    assert not s["overall"]["median_ratio_is_lower_bound"]  # raising 300 cannot move it
    assert s["f"]["at_least_100x"]


def test_tiny_convex_vs_training_writes_wellformed_json_and_figure(tmp_path: Path) -> None:
    out = bench_training.run(["pipeline"], repeats=1, max_steps=300, max_seconds=5,
                             limit=2, log=lambda m: None)
    assert len(out["instances"]) == 2
    for r in out["instances"]:
        assert r["convex_seconds"] > 0 and r["train_seconds"] > 0
        assert r["ratio"] == pytest.approx(r["train_seconds"] / r["convex_seconds"])
        assert r["ratio_is_lower_bound"] == (not r["reached"])
        assert r["train_rel_gap"] >= -1e-6  # a feasible network never beats L*
        assert r["certificate_violation"] <= 1e-6
        assert isinstance(r["verdict_agree"], bool)
    path = common.write_section("quick", "training", out, root=tmp_path)
    data = json.loads(path.read_text())
    assert data["training"]["summary"]["overall"]["n_instances"] == 2
    assert "load_average_1_5_15min" in data["training"]["machine"]
    for fig in common.figure_paths("quick", tmp_path):
        assert fig.stat().st_size > 5_000


def test_tiny_scaling_run_and_reduced_dnn_bound_matches_all_t2_constraints(
    tmp_path: Path,
) -> None:
    out = bench_scaling.run(["outer_dnn", "outer_dnn_TxT", "reduced"], sizes=[20, 40],
                            repeats=1, log=lambda m: None)
    cls = out["classes"]
    for name in ("outer_dnn", "outer_dnn_TxT", "reduced"):
        assert [p["n_samples"] for p in cls[name]["points"]] == [20, 40]
        assert cls[name]["fit"]["exponent"] is not None
    for a, b in zip(cls["outer_dnn"]["points"], cls["outer_dnn_TxT"]["points"], strict=True):
        assert a["value"] == pytest.approx(b["value"], rel=1e-6)
    common.write_section("quick", "scaling", out, root=tmp_path)
    data = json.loads(common.results_path("quick", tmp_path).read_text())
    assert set(data) == {"scaling"}


def test_pipeline_core_extrapolation_and_workflow_copy(tmp_path: Path) -> None:
    rows = [{"scale": "paper", "cache": "cold", "cores": 1, "seconds": 100.0,
             "batch_seconds_sum": 90.0, "batch_seconds_max": 8.0},
            {"scale": "paper", "cache": "cold", "cores": 2, "seconds": 55.0,
             "batch_seconds_sum": 92.0, "batch_seconds_max": 8.0}]
    est = bench_pipeline.extrapolate_cores(rows, 8)["cores_8"]["paper_cold"]
    assert est["serial_seconds"] == pytest.approx(10.0)
    assert est["estimated_seconds"] == pytest.approx(10.0 + 90.0 / 8)
    assert est["from_cores"] == 1
    # from a 2-core run alone: serial = 55 − 92/2 = 9, and never faster than the longest job
    est = bench_pipeline.extrapolate_cores(rows[1:], 8)["cores_8"]["paper_cold"]
    assert est["estimated_seconds"] == pytest.approx(9.0 + 92.0 / 8)
    est = bench_pipeline.extrapolate_cores([{**rows[1], "batch_seconds_max": 40.0}],
                                           8)["cores_8"]["paper_cold"]
    assert est["estimated_seconds"] == pytest.approx(9.0 + 40.0)
    # separate invocations (quick, then paper) accumulate; a re-measurement replaces
    quick = {**rows[0], "scale": "quick"}
    merged = bench_pipeline.merge_runs([quick, rows[0]], [{**rows[0], "seconds": 99.0}])
    assert [(r["scale"], r["seconds"]) for r in merged] == [("quick", 100.0), ("paper", 99.0)]
    work = bench_pipeline.copy_workflow(tmp_path / "w")
    assert (work / "Snakefile").exists()
    assert (work / "workflow" / "rules" / "benchmarks.smk").exists()
    assert not (work / "results" / "quick").exists()


def test_pipeline_runs_spec_is_parsed_and_bad_items_are_named() -> None:
    assert bench_pipeline.parse_runs("quick:1,paper:2") == [("quick", 1), ("paper", 2)]
    for bad in ("quick", "huge:2", "paper:0", "quick:x"):
        with pytest.raises(SystemExit, match="allowed: quick:N or paper:N"):
            bench_pipeline.parse_runs(bad)
