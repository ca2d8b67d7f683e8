"""End to end: the real Snakemake workflow at quick scale in temporary copies."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_workflow

from convex_coding.pipeline.cache import ResultCache
from convex_coding.pipeline.regression import compare, load_rules, reference_path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
QUICK = ["--config", "scale=quick"]
pytestmark = pytest.mark.slow


def _snakemake(work: Path, *args: str, cores: int = 2, timeout: int = 1200):
    return subprocess.run([*SNAKEMAKE, "--cores", str(cores), *args, *QUICK], cwd=work,
                          check=True, capture_output=True, text=True, timeout=timeout)


def _solve_counts(work: Path) -> tuple[int, int]:
    """(from cache, solved) summed over the identifiability batch logs."""
    hits = solved = 0
    logs = work / "results/quick/logs/identifiability"
    for batch in (work / "results/quick/identifiability/batches").glob("*.json"):
        log = logs / f"{batch.stem}.log"
        for m in re.finditer(r"(\d+) from cache, (\d+) solved", log.read_text()):
            hits, solved = hits + int(m[1]), solved + int(m[2])
    return hits, solved


def _summary(work: Path) -> dict:
    return json.loads((work / "results/quick/summary.json").read_text())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("quick") / "repo")
    _snakemake(work, cores=8)  # more job slots than cores: order of completion varies
    return work


def test_quick_run_produces_certified_figures_and_summary(quick_run: Path) -> None:
    for fig in (quick_run / "results/quick/figures").glob("*.png"):
        assert fig.stat().st_size > 10_000
    assert (quick_run / "results/quick/figures/fig1_identifiability.pdf").exists()
    ident = _summary(quick_run)["identifiability"]
    assert ident["n_instances"] >= 50
    assert ident["agreement"] == 1.0
    assert ident["max_certificate_violation"] <= 1e-6
    assert min(ident["n_modular"], ident["n_mixed"]) >= 0.3 * ident["n_instances"]
    assert _solve_counts(quick_run) == (0, ident["n_instances"])


def test_quick_run_reproduces_the_papers_figures_1_and_2(quick_run: Path) -> None:
    for name in ("fig1_identifiability", "fig2_tuning_uniqueness"):
        for ext in (".pdf", ".png"):
            assert (quick_run / f"results/quick/figures/{name}{ext}").stat().st_size > 10_000
    alignment = _summary(quick_run)["identifiability"]["alignment"]
    assert alignment["rescues"] >= 1 and alignment["destroys"] >= 1
    assert alignment["agreement"] == 1.0
    assert alignment["max_boundary_error"] <= 1e-3
    rows = _summary(quick_run)["tuning_uniqueness"]["paper_rows"]
    expected = {"separated_place_cells": (True, False), "overlapping_place_cells": (False, True),
                "grid_non_integer": (True, False), "grid_integer": (False, True)}
    assert {k: (r["condition_holds"], r["rotation_found"]) for k, r in rows.items()} == expected
    assert _summary(quick_run)["tuning_uniqueness"]["condition_vs_rotation"]["violations"] == 0


def test_quick_run_reproduces_the_papers_figure_3(quick_run: Path) -> None:
    for ext in (".pdf", ".png"):
        assert (quick_run / f"results/quick/figures/fig3_on_off{ext}").stat().st_size > 10_000
    on_off = _summary(quick_run)["on_off"]
    assert on_off["n_laws"] >= 6 and on_off["max_threshold_error"] <= 1e-3
    assert on_off["agreement"]["agree"] == on_off["agreement"]["compared"]
    assert on_off["symmetric_on_off"]
    cert = on_off["certification"]
    assert cert["max_certificate_violation"] <= 1e-9 and cert["max_bound_gap"] <= 1e-6
    images = on_off["images"]
    assert all(r["n_channels"] == 2 for n, r in images.items() if n.endswith("contrast"))
    assert all(r["n_channels"] == 1 for n, r in images.items() if n.endswith("edges"))


def test_quick_run_reproduces_the_extensions(quick_run: Path) -> None:
    for name in ("ext_tuning_criteria", "ext_on_off_density"):
        for ext in (".pdf", ".png"):
            assert (quick_run / f"results/quick/figures/{name}{ext}").stat().st_size > 10_000
    on_off = _summary(quick_run)["on_off_density"]
    assert on_off["agreement"] == 1.0
    assert on_off["max_threshold_difference"] <= 0.01  # every distribution, |measured − ρ*|
    assert on_off["most_negative_reduced_cost"] >= -1e-6
    assert len(on_off["thresholds"]) == on_off["n_thresholds"] >= 5
    unique = _summary(quick_run)["tuning_criteria"]
    assert unique["agreement"]["optimality"]["rate"] == 1.0
    assert unique["optimality_disagreements"] == []
    assert len(unique["uncertified"]) == unique["n_uncertified"]  # listed, not hidden
    assert unique["counts"]["unique"] > 0 and unique["counts"]["non-unique"] > 0


def test_quick_summary_matches_committed_reference(quick_run: Path) -> None:
    reference = json.loads(reference_path("quick").read_text())
    problems = compare(reference, _summary(quick_run), load_rules())
    assert not problems, "\n".join(map(str, problems))
    _snakemake(quick_run, "regress")  # the Snakemake target agrees
    assert "0 regressions" in (quick_run / "results/quick/regression.txt").read_text()


def test_second_run_has_nothing_to_do(quick_run: Path) -> None:
    dry = _snakemake(quick_run, "--dry-run")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_warm_run_reads_every_result_and_restores_every_figure(quick_run: Path,
                                                                tmp_path: Path) -> None:
    """Results deleted, cache kept (issue #20's warm run): no instance is solved again
    (each is read and re-verified), every figure comes back byte-identical from the figure
    cache without drawing, and the summary is the same."""
    work = tmp_path / "repo"
    shutil.copytree(quick_run, work, symlinks=True)
    shutil.rmtree(work / "results/quick")
    shutil.rmtree(work / ".snakemake", ignore_errors=True)
    _snakemake(work)
    assert _summary(work) == _summary(quick_run)
    counts = [tuple(map(int, m)) for log in (work / "results/quick/logs").rglob("*.log")
              for m in re.findall(r"(\d+) from cache, (\d+) solved", log.read_text())]
    assert counts and sum(hit for hit, _ in counts) > 100
    assert sum(solved for _, solved in counts) == 0
    drawn = sorted((quick_run / "results/quick/figures").iterdir())
    assert len(drawn) == 12  # six figures, PDF and PNG
    for path in drawn:
        assert (work / "results/quick/figures" / path.name).read_bytes() == path.read_bytes()
    figure_logs = [p for p in (work / "results/quick/logs").rglob("*figure.log")]
    assert len(figure_logs) == 6
    assert all("restored from the figure cache" in p.read_text() for p in figure_logs)


def _planned_jobs(work: Path) -> set[str]:
    """The (rule, output) pairs a dry run would execute."""
    dry = _snakemake(work, "--dry-run")
    text = dry.stdout + dry.stderr
    return set(re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+output: (\S+)", text, re.M))


def test_editing_one_group_file_reruns_exactly_the_jobs_that_read_it(quick_run: Path,
                                                                     tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(quick_run, work, symlinks=True)
    group_file = work / "conf/stimulus/laplace.yaml"
    group_file.write_text(group_file.read_text() + "# edited\n")
    planned = _planned_jobs(work)
    solving = {rule for rule, _ in planned
               if not rule.endswith(("_figure", "summary", "report", "all"))}
    outputs = {out for _, out in planned}
    assert solving == {"on_off_density_batch", "on_off_density_threshold"}
    # exactly the jobs composing conf/stimulus/laplace.yaml: the ON/OFF density batch and
    # the threshold job holding the Laplace instances (quick packs the stimuli into `jobs`
    # and the bisections into `thresholds_jobs` processes), and no identifiability job
    # (it never reads it)
    for kind in ("batches", "thresholds"):
        jobs = [out for out in outputs if f"/on_off_density/{kind}/" in out]
        assert len(jobs) == 1, (kind, jobs)
        assert any(name.startswith("laplace")
                   for name in json.loads((quick_run / jobs[0]).read_text()))
    assert not any("identifiability/batches" in out for out in outputs)


def test_changing_one_lambda_resolves_only_its_instances(quick_run: Path,
                                                         tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(quick_run, work)
    cfg = work / "conf/workflow.yaml"
    text = cfg.read_text()
    assert "lambda_w: [0.1, 0.3]" in text
    cfg.write_text(text.replace("lambda_w: [0.1, 0.3]", "lambda_w: [0.1, 0.2]", 1))
    _snakemake(work)
    n = _summary(quick_run)["identifiability"]["n_instances"]
    assert _solve_counts(work) == (n // 2, n // 2)


def test_killed_workflow_resumes_to_the_identical_summary(quick_run: Path,
                                                          tmp_path: Path) -> None:
    work = copy_workflow(tmp_path / "repo")
    rng = np.random.default_rng(7)
    for delay in rng.uniform(2.0, 12.0, size=3):
        proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *QUICK], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the scheduler and every job it runs
        proc.wait(timeout=60)
        cache_dir = work / "results/cache"
        cache = ResultCache(cache_dir)
        for path in cache_dir.rglob("*.json"):  # no partial file is ever left behind
            if path == cache.path(path.stem):
                assert cache.get(path.stem) is not None  # a result entry, whole and valid
            else:  # the config-check memo, composed-config memos, figure manifests
                json.loads(path.read_text(encoding="utf-8"))
    _snakemake(work)
    assert _summary(work) == _summary(quick_run)


def test_summary_independent_of_core_count(quick_run: Path, tmp_path: Path) -> None:
    work = copy_workflow(tmp_path / "repo")
    _snakemake(work, cores=1)
    assert _summary(work) == _summary(quick_run)


def test_html_report_is_self_contained_and_opens_in_chromium(quick_run: Path) -> None:
    report = quick_run / "results/report.html"
    subprocess.run([*SNAKEMAKE, "--report", str(report), *QUICK], cwd=quick_run, check=True,
                   capture_output=True, timeout=300)
    html = report.read_text()
    figures = sorted(p.name for p in (quick_run / "results/quick/figures").glob("*.png"))
    assert {"fig1_identifiability.png", "fig2_tuning_uniqueness.png", "ext_tuning_criteria.png",
            "ext_on_off_density.png", "ext_identifiability_cuts.png"} <= set(figures)
    for name in figures:  # every figure is embedded, not linked
        assert f"data:image/png;charset=utf8;filename={name};base64," in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", html)  # no remote
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless check needs Debian's chromium package (installed by .ci/run)")
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={quick_run / 'chromium-profile'}",
         "--enable-logging=stderr", "--virtual-time-budget=5000", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0
    assert '<div id="app"><' in proc.stdout  # the report's app rendered
    console_errors = [ln for ln in proc.stderr.splitlines()
                      if "CONSOLE" in ln and ("Uncaught" in ln or "Error" in ln)]
    assert not console_errors, console_errors
