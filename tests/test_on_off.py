"""Theorem 3 library: ρ*, the ON/OFF pair, the exact dual, pricing, dense vs sparse."""

from __future__ import annotations

import numpy as np
import pytest

from convex_coding.on_off import (
    analyse,
    best_atom,
    dual_value,
    lifetime_density,
    measured_threshold,
    outer_bound,
    predicted_threshold,
    solve_on_off,
    stimulus_samples,
)
from convex_coding.solvers import SolverSettings

DEFAULT = SolverSettings("CLARABEL")


@pytest.mark.parametrize("kind,closed_form", [("uniform", 0.375), ("gaussian", 1 / np.pi),
                                              ("laplace", 0.25)])
def test_threshold_closed_forms_for_large_t(kind: str, closed_form: float) -> None:
    x = stimulus_samples(kind, 200_001)
    assert predicted_threshold(x) == pytest.approx(closed_form, abs=2e-4)
    ramp = np.maximum(x, 0.0)[:, None]
    assert lifetime_density(ramp)[0] == pytest.approx(predicted_threshold(x), rel=1e-9)


def test_spike_and_slab_threshold_is_p_over_pi() -> None:
    for p in (0.2, 0.5, 1.0):
        x = stimulus_samples("spike_and_slab", 200_000, p)
        assert predicted_threshold(x) == pytest.approx(p / np.pi, abs=5e-4)


@pytest.mark.parametrize("kind", ["uniform", "gaussian", "laplace"])
def test_unconstrained_optimum_is_the_on_off_pair(kind: str) -> None:
    x = stimulus_samples(kind, 41)
    pair = np.linalg.norm(np.maximum(x, 0)) + np.linalg.norm(np.maximum(-x, 0))
    exact, _ = dual_value(x, 1.0, DEFAULT)  # ρ = 1: no density constraint
    assert exact == pytest.approx(pair, rel=1e-6)
    # the dual certificate is (up to solver accuracy) relu(x)/‖·‖ − relu(−x)/‖·‖
    g_pair = (np.maximum(x, 0) / np.linalg.norm(np.maximum(x, 0))
              - np.maximum(-x, 0) / np.linalg.norm(np.maximum(-x, 0)))
    assert x @ g_pair == pytest.approx(pair, rel=1e-12)
    sol = solve_on_off(x, 1.0, DEFAULT)
    assert analyse(x, sol).on_off
    assert sol.min_reduced_cost >= -1e-6


@pytest.mark.parametrize("kind", ["uniform", "laplace"])
def test_dense_regime_is_the_pair_and_sparse_regime_tiles(kind: str) -> None:
    x = stimulus_samples(kind, 41)
    dense = analyse(x, solve_on_off(x, 0.45, DEFAULT))
    assert dense.on_off and dense.monotone_share == pytest.approx(1.0, abs=1e-6)
    sol = solve_on_off(x, 0.1, DEFAULT)
    sparse = analyse(x, sol)
    assert not sparse.on_off
    assert sparse.max_monotone_extent <= 0.5  # no tuning monotone over half the range
    assert sparse.n_tunings >= 5
    assert sol.min_reduced_cost >= -1e-6
    exact, _ = dual_value(x, 0.1, DEFAULT)
    assert sol.atomic_norm == pytest.approx(exact, rel=1e-5)


def test_outer_relaxation_never_exceeds_inner_bound() -> None:
    x = stimulus_samples("uniform", 11)
    for rho in (0.1, 0.3, 0.5):
        sol = solve_on_off(x, rho, DEFAULT)
        inner = 2 * np.sqrt(1.0 / len(x)) * sol.atomic_norm
        assert outer_bound(x, rho, 1.0, DEFAULT) <= inner * (1 + 1e-6)


def test_pricing_finds_a_removed_atom() -> None:
    x = stimulus_samples("gaussian", 41)
    on = np.maximum(x, 0) / np.linalg.norm(np.maximum(x, 0))
    g_pair = on - np.maximum(-x, 0) / np.linalg.norm(np.maximum(-x, 0))
    y, score = best_atom(g_pair, 0.45)
    assert score == pytest.approx(1.0, abs=1e-12) and np.allclose(y, on)
    sol = solve_on_off(x, 0.45, DEFAULT, drop=on[:, None])  # ON ramp removed on purpose
    assert np.max(sol.atoms.T @ on) >= 1 - 1e-8  # pricing put the ON ramp back
    assert sol.min_reduced_cost >= -1e-6


@pytest.mark.parametrize("kind,param", [("uniform", None), ("gaussian", None),
                                        ("laplace", None), ("spike_and_slab", 0.5)])
def test_measured_threshold_matches_prediction(kind: str, param) -> None:
    x = stimulus_samples(kind, 61, param)
    measured, _ = measured_threshold(x, DEFAULT)
    assert abs(measured - predicted_threshold(x)) <= 1e-3
