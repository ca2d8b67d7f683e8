"""End to end: the real Snakemake workflow at quick scale in a temporary copy."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _solve_counts(workdir: Path, scale: str = "quick") -> tuple[int, int]:
    """(from cache, solved) summed over the identifiability batch logs."""
    hits = solved = 0
    for log in (workdir / "results" / scale / "logs" / "identifiability").glob("d*.log"):
        for m in re.finditer(r"(\d+) from cache, (\d+) solved", log.read_text()):
            hits, solved = hits + int(m[1]), solved + int(m[2])
    return hits, solved


@pytest.mark.slow
def test_quick_workflow_end_to_end(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    for item in ("Snakefile", "conf", "workflow"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    run = [*SNAKEMAKE, "--cores", "2", "--config", "scale=quick"]
    subprocess.run(run, cwd=work, check=True, capture_output=True, timeout=900)

    fig = work / "results/quick/figures"
    assert (fig / "fig1_identifiability.pdf").stat().st_size > 10_000
    assert (fig / "fig1_identifiability.png").stat().st_size > 10_000
    summary = json.loads((work / "results/quick/summary.json").read_text())["identifiability"]
    assert summary["n_instances"] >= 50
    assert summary["agreement"] == 1.0
    assert summary["max_certificate_violation"] <= 1e-6
    assert min(summary["n_modular"], summary["n_mixed"]) >= 0.3 * summary["n_instances"]
    assert _solve_counts(work) == (0, summary["n_instances"])

    # a second run has nothing to do
    dry = subprocess.run([*run, "--dry-run"], cwd=work, check=True, capture_output=True,
                         text=True, timeout=300)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # changing one λ_W value re-solves exactly the instances that use it
    cfg = work / "conf/workflow.yaml"
    text = cfg.read_text()
    assert "lambda_w: [0.1, 0.3]" in text
    cfg.write_text(text.replace("lambda_w: [0.1, 0.3]", "lambda_w: [0.1, 0.2]", 1))
    subprocess.run(run, cwd=work, check=True, capture_output=True, timeout=900)
    hits, solved = _solve_counts(work)
    assert solved == summary["n_instances"] // 2
    assert hits == summary["n_instances"] - solved
