"""Shared fixtures: solver settings and small seeded instances."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from convex_coding.identifiability import AutoencoderProblem
from convex_coding.solvers import SolverSettings
from convex_coding.sources import make_mixing, make_sources

REPO = Path(__file__).resolve().parents[1]

#: the tolerances of conf/solver/clarabel.yaml
PRECISE = SolverSettings(
    "CLARABEL", {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
)


@pytest.fixture
def precise() -> SolverSettings:
    return PRECISE


def random_problem(seed: int, kind: str, mixing: str, dim: int = 2,
                   lambda_w: float = 0.1, lambda_r: float = 0.1) -> AutoencoderProblem:
    rng = np.random.default_rng(seed)
    sources = make_sources(kind, dim, rng, points_per_axis=11 if dim == 2 else 5,
                           n_points=60 if dim == 2 else 80, scale_spread=0.3,
                           cut_depth=(0.3, 1.2))
    a = make_mixing(mixing, dim, dim + 2, rng, max_correlation=0.6, gain_spread=0.3)
    return AutoencoderProblem(sources, a, lambda_w, lambda_r)


def copy_workflow(dest: Path) -> Path:
    """A runnable copy of the workflow (Snakefile, configs, rules, profiles, references)."""
    dest.mkdir(parents=True)
    for item in ("Snakefile", "conf", "workflow", "profiles", "environment.yml"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / item)
    shutil.copytree(REPO / "results" / "reference", dest / "results" / "reference")
    return dest
