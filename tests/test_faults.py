"""Killed runs never leave a result that a later run would accept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from convex_coding.pipeline import registry
from convex_coding.pipeline.cache import ResultCache

RUN = [sys.executable, "-m", "convex_coding", "dataset=uniform", "dataset.dim=3",
       "dataset.n_points=80", "mixing=general"]


def _args(tmp: Path, seed: int) -> list[str]:
    return [*RUN, f"seed={seed}", f"cache_dir={tmp / 'cache'}", f"out={tmp / 'out.json'}",
            f"hydra.run.dir={tmp / 'run'}"]


def _science(record: dict) -> dict:
    return {k: record[k] for k in ("key", "theory", "solution", "measured", "params")}


def _all_entries_valid(cache_dir: Path) -> list[dict]:
    """Every entry a kill left behind passes the checksum *and* its certificate re-check."""
    cache = ResultCache(cache_dir)
    verify = registry.get("identifiability").verify
    payloads = []
    for path in cache_dir.rglob("*.json"):
        payload = cache.get(path.stem, verify=verify)
        assert payload is not None, f"{path} is in the cache but does not verify"
        payloads.append(payload)
    return payloads


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    start = time.perf_counter()
    subprocess.run(_args(reference, 0), check=True, capture_output=True, timeout=300)
    duration = time.perf_counter() - start
    expected = _science(json.loads((reference / "out.json").read_text()))

    # kill points spread over the whole run (start-up, solve, cache and result writes)
    # and just past it, relative to the measured duration so faster code keeps them
    rng = np.random.default_rng(2026)
    delays = np.sort(rng.uniform(0.05, 1.2, size=8)) * duration
    accepted_partial = 0
    for i, delay in enumerate(delays):
        work = tmp_path / f"kill{i}"
        proc = subprocess.Popen(_args(work, 0), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        # whatever the kill left behind is either absent or complete and correct
        for payload in _all_entries_valid(work / "cache"):
            assert payload["solution"] == expected["solution"]
        out = work / "out.json"
        if out.exists():
            assert _science(json.loads(out.read_text())) == expected
        accepted_partial += 0 if out.exists() else 1
        # and the rerun completes with the identical result
        subprocess.run(_args(work, 0), check=True, capture_output=True, timeout=300)
        assert _science(json.loads(out.read_text())) == expected
    assert accepted_partial >= 1  # some kills really landed mid-run
