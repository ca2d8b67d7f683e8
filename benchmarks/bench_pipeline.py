"""Whole-pipeline wall time: ``snakemake --cores N --config scale=S`` (rule ``all``).

Each scale runs in a temporary copy of Snakefile, conf/, workflow/, profiles/ and
results/reference/ (as tests/test_workflow.py does), so the repository's results/ and
solver cache are never touched.  Per scale and core count:

  cold   a fresh copy: empty cache, no outputs, every instance solved
  warm   outputs deleted, the cache of the cold run kept: every instance read back

Runs are sequential (never two at once) and import a frozen copy of src/ taken at the
start, so concurrent edits of the checkout do not change the code (or the cache keys,
which hash the library source) between the cold and the warm run.  The 8-core figure
in the README is an extrapolation from these measurements (see ``extrapolate_cores``),
not a measurement.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_results, machine, results_path, write_section

ITEMS = ("Snakefile", "conf", "workflow", "profiles", "environment.yml")


def copy_workflow(dest: Path, repo: Path = REPO) -> Path:
    dest.mkdir(parents=True)
    for item in ITEMS:
        src = repo / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / item)
    ref = repo / "results" / "reference"
    if ref.exists():
        shutil.copytree(ref, dest / "results" / "reference")
    return dest


def snakemake(work: Path, scale: str, cores: int, src: Path | None = None,
              timeout: int = 3600) -> float:
    """Wall time of one run; with ``src`` the jobs import that frozen copy of the
    package (PYTHONPATH), so edits to the checkout during a run cannot change it."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src),
                                                          env.get("PYTHONPATH")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores),
                           "--config", f"scale={scale}"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RuntimeError(f"snakemake --cores {cores} scale={scale} failed:\n{tail}")
    return seconds


def job_seconds(work: Path, scale: str) -> dict[str, Any]:
    """Sum and max of the per-job Snakemake benchmark wall times (``s`` column), and the
    summed wall and CPU seconds per experiment (the benchmark folder's name)."""
    times = []
    per_experiment: dict[str, dict[str, float]] = {}
    root = work / "results" / scale / "benchmarks"
    for tsv in root.rglob("*.tsv"):
        lines = tsv.read_text().splitlines()
        if len(lines) >= 2:
            fields = dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=False))
            times.append(float(fields["s"]))
            row = per_experiment.setdefault(tsv.relative_to(root).parts[0],
                                            {"jobs": 0, "seconds": 0.0, "cpu_seconds": 0.0})
            row["jobs"] += 1
            row["seconds"] += float(fields["s"])
            row["cpu_seconds"] += float(fields.get("cpu_time") or 0.0)
    return {"batch_jobs": len(times), "batch_seconds_sum": sum(times),
            "batch_seconds_max": max(times, default=0.0),
            "per_experiment": dict(sorted(per_experiment.items()))}


def solve_counts(work: Path, scale: str) -> tuple[int, int]:
    hits = solved = 0
    for log in (work / "results" / scale / "logs").rglob("*.log"):
        for m in re.finditer(r"(\d+) from cache, (\d+) solved", log.read_text()):
            hits, solved = hits + int(m[1]), solved + int(m[2])
    return hits, solved


def measure(scale: str, cores: int, tmp: Path, log=print,
            keep_summary: Path | None = None) -> list[dict[str, Any]]:
    work = copy_workflow(tmp / f"{scale}-c{cores}")
    src = tmp / "frozen" / "src"
    if not src.exists():  # one frozen copy of the package (and the conf/ it finds)
        shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("*.egg-info",
                                                                          "__pycache__"))
        shutil.copytree(REPO / "conf", tmp / "frozen" / "conf")
    rows = []
    for cache in ("cold", "warm"):
        if cache == "warm":
            shutil.rmtree(work / "results" / scale)
            shutil.rmtree(work / ".snakemake", ignore_errors=True)
        seconds = snakemake(work, scale, cores, src=src)
        if cache == "cold" and keep_summary is not None:  # e.g. to update the reference
            keep_summary.mkdir(parents=True, exist_ok=True)
            shutil.copy(work / "results" / scale / "summary.json",
                        keep_summary / f"{scale}-c{cores}-summary.json")
        hits, solved = solve_counts(work, scale)
        row = {"scale": scale, "cores": cores, "cache": cache, "seconds": seconds,
               "instances_from_cache": hits, "instances_solved": solved,
               **job_seconds(work, scale)}
        log(f"{scale:6s} cores={cores} {cache}: {seconds:.1f}s "
            f"({solved} solved, {hits} from cache, {row['batch_jobs']} batch jobs, "
            f"Σ batch {row['batch_seconds_sum']:.1f}s, max {row['batch_seconds_max']:.1f}s)")
        if cache == "warm":
            row["warm_over_cold"] = seconds / rows[0]["seconds"]
            log(f"{scale:6s} cores={cores} warm/cold = {row['warm_over_cold']:.1%}")
        rows.append(row)
    return rows


def extrapolate_cores(rows: list[dict[str, Any]], cores: int) -> dict[str, dict[str, float]]:
    """Estimate for ``--cores N`` from the run with the fewest cores of each scale/cache.

    A run on ``c`` cores with summed job time ``J`` and longest job ``j`` spent about
    ``max(J/c, j)`` running jobs; the rest of its wall time is the serial part ``S``
    (scheduler start-up, DAG, figure and summary jobs).  Then
    ``t(N) ≈ S + max(J/N, j)``: perfect packing of the jobs, no faster than the
    longest one.  For ``c = 1`` this is ``wall − J + J/N``.
    """
    out = {}
    fewest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["scale"], r["cache"])
        if key not in fewest or r["cores"] < fewest[key]["cores"]:
            fewest[key] = r
    for (scale, cache), r in sorted(fewest.items()):
        busy = max(r["batch_seconds_sum"] / r["cores"], r["batch_seconds_max"])
        serial = max(r["seconds"] - busy, 0.0)
        est = serial + max(r["batch_seconds_sum"] / cores, r["batch_seconds_max"])
        out[f"{scale}_{cache}"] = {"estimated_seconds": est, "from_cores": r["cores"],
                                   "serial_seconds": serial,
                                   "parallel_seconds": r["batch_seconds_sum"],
                                   "longest_job_seconds": r["batch_seconds_max"]}
    return {f"cores_{cores}": out}


def merge_runs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of earlier invocations, replaced where this one measured the same
    (scale, cores, cache), so quick and paper can be measured by separate calls."""
    key = lambda r: (r["scale"], r["cores"], r["cache"])  # noqa: E731
    fresh = {key(r) for r in new}
    merged = [r for r in old if key(r) not in fresh] + new
    order = {"quick": 0, "paper": 1}
    return sorted(merged, key=lambda r: (order.get(r["scale"], 2), r["scale"], r["cores"],
                                         r["cache"] != "cold"))


def parse_runs(spec: str) -> list[tuple[str, int]]:
    """``"quick:1,quick:2,paper:2"`` → ``[("quick", 1), ("quick", 2), ("paper", 2)]``."""
    runs = []
    for item in spec.split(","):
        scale, _, cores = item.partition(":")
        if scale not in ("quick", "paper") or not cores.isdigit() or int(cores) < 1:
            raise SystemExit(f"--runs item {item!r} is invalid; allowed: quick:N or paper:N "
                             "with N ≥ 1 cores")
        runs.append((scale, int(cores)))
    return runs


def run(runs: list[tuple[str, int]], log=print,
        keep_summary: Path | None = None) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cc-bench-pipeline-") as tmp:
        for scale, n in runs:
            rows.extend(measure(scale, n, Path(tmp), log, keep_summary))
    return {"machine": machine(), "runs": rows, "extrapolated": extrapolate_cores(rows, 8)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick", help="where benchmarks.json is written")
    n = os.cpu_count() or 1
    ap.add_argument("--runs", default=f"quick:1,quick:{n},paper:{n}",
                    help="scale:cores pairs, each measured cold and warm (paper on one "
                         "core takes about twice the 2-core time; add paper:1 to measure)")
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--keep-summary", type=Path, default=None, metavar="DIR",
                    help="copy each cold run's summary.json to DIR/<scale>-c<cores>-summary.json")
    ap.add_argument("--replace", action="store_true",
                    help="drop runs of earlier invocations instead of merging with them")
    args = ap.parse_args(argv)
    out = run(parse_runs(args.runs), log=lambda m: print(m, flush=True),
              keep_summary=args.keep_summary)
    kw = {} if args.root is None else {"root": args.root}
    if not args.replace:
        previous = load_results(results_path(args.scale, **kw)).get("pipeline", {})
        out["runs"] = merge_runs(previous.get("runs", []), out["runs"])
        out["extrapolated"] = extrapolate_cores(out["runs"], 8)
    print(f"wrote {write_section(args.scale, 'pipeline', out, **kw)}")
    print(out["extrapolated"])


if __name__ == "__main__":
    main()
