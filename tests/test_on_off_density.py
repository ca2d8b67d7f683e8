"""Theorem 3 library: ρ*, the ON/OFF pair, the closed form, pricing, dense vs sparse."""

from __future__ import annotations

import numpy as np
import pytest

from convex_coding.on_off_density import (
    analyse,
    best_atoms,
    canonical_code,
    closed_form_dual,
    closed_form_norm,
    cost,
    exact_norm,
    lifetime_density,
    measured_threshold,
    on_off_pair,
    outer_bound,
    outer_bound_symmetric,
    outer_certificate,
    predicted_threshold,
    solve_on_off,
    stimulus_samples,
    support_value,
)
from convex_coding.pipeline.on_off_density_run import record_for_lambda, solve_core
from convex_coding.solvers import SolverSettings

#: the tolerances of conf/solver/clarabel.yaml (the certificates need them)
TIGHT = SolverSettings("CLARABEL", {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10,
                                    "tol_feas": 1e-10})
NUMERICS = {"certificate_tol": 1e-6, "value_tol": 1e-6}


def _ramps(x: np.ndarray) -> np.ndarray:
    """Unit ON and OFF ramps relu(±x)/‖·‖ as columns."""
    r = np.column_stack([np.maximum(x, 0.0), np.maximum(-x, 0.0)])
    return r / np.linalg.norm(r, axis=0)


@pytest.mark.parametrize("kind,closed_form", [("uniform", 0.375), ("gaussian", 1 / np.pi),
                                              ("laplace", 0.25)])
def test_threshold_closed_forms_for_large_t(kind: str, closed_form: float) -> None:
    x = stimulus_samples(kind, 200_001)
    assert predicted_threshold(x) == pytest.approx(closed_form, abs=2e-4)
    # ρ* is the density of each ramp
    assert lifetime_density(_ramps(x)) == pytest.approx([predicted_threshold(x)] * 2,
                                                        rel=1e-9)


@pytest.mark.parametrize("p", [0.2, 0.5, 1.0])
def test_spike_and_slab_threshold_is_p_over_pi(p: float) -> None:
    x = stimulus_samples("spike_and_slab", 200_000, p)
    assert predicted_threshold(x) == pytest.approx(p / np.pi, abs=5e-4)


@pytest.mark.parametrize("kind", ["uniform", "gaussian", "laplace"])
def test_unconstrained_optimum_is_the_on_off_pair(kind: str) -> None:
    x = stimulus_samples(kind, 41)
    t, lam = len(x), 2.0
    sol = solve_on_off(x, 1.0, TIGHT, canonical=True)  # ρ = 1: no density constraint
    assert analyse(x, sol).on_off and sol.min_reduced_cost >= -1e-6
    # tunings: exactly the two ramps, with energies ∝ ‖x_±‖
    ramps = _ramps(x)
    assert sol.atoms.shape[1] == 2
    assert np.max(np.abs(np.sort(sol.atoms.T @ ramps, axis=0)[-1] - 1)) < 1e-9
    norms = np.linalg.norm(np.column_stack([np.maximum(x, 0), np.maximum(-x, 0)]), axis=0)
    assert np.sort(sol.weights) == pytest.approx(np.sort(norms), rel=1e-8)
    # cost against the closed form of the pair, 2√(2λE[x²]) for symmetric x
    rows, pair_cost = on_off_pair(x, lam)
    assert pair_cost == pytest.approx(2 * np.sqrt(2 * lam * np.mean(x**2)), rel=1e-12)
    assert cost(sol.atomic_norm, lam, t) == pytest.approx(pair_cost, rel=1e-9)
    q = rows.T @ rows  # the pair's Q reaches the same cost in f(Q) = Tr Q/T + λ Tr(xQ⁺xᵀ)
    assert np.trace(q) / t + lam * x @ np.linalg.pinv(q) @ x == pytest.approx(pair_cost,
                                                                               rel=1e-9)
    # certificate: g = ŷ₊ − ŷ₋ has h(±g) ≤ 1 and gᵀx = ‖x₊‖ + ‖x₋‖
    g = ramps[:, 0] - ramps[:, 1]
    assert np.max(support_value(np.column_stack([g, -g]), 1.0)) <= 1 + 1e-9
    assert g @ x == pytest.approx(norms.sum(), rel=1e-12)


@pytest.mark.parametrize("kind,param", [("uniform", None), ("laplace", None),
                                        ("spike_and_slab", 0.5)])
def test_dense_regime_is_the_pair(kind: str, param) -> None:
    x = stimulus_samples(kind, 41, param)
    rho = predicted_threshold(x) + 0.05
    sol = solve_on_off(x, rho, TIGHT, canonical=True)
    an = analyse(x, sol)
    assert an.on_off and an.n_tunings == 2
    assert an.monotone_share == pytest.approx(1.0, abs=1e-12)
    assert sol.min_reduced_cost >= -1e-6 and sol.gap <= 1e-8


@pytest.mark.parametrize("kind", ["uniform", "gaussian", "laplace"])
def test_sparse_regime_tiles_with_bumps(kind: str) -> None:
    x = stimulus_samples(kind, 41)
    sol = solve_on_off(x, 0.1, TIGHT, canonical=True)
    assert sol.representative == "canonical"
    assert sol.min_reduced_cost >= -1e-6 and sol.gap <= 1e-8
    assert sol.atomic_norm == pytest.approx(closed_form_norm(x, 0.1), rel=1e-8)
    # the canonical code reproduces x and lies on the optimal face
    assert np.linalg.norm(sol.atoms @ (sol.signs * sol.weights) - x) < 1e-8 * np.linalg.norm(x)
    assert lifetime_density(sol.atoms) == pytest.approx([0.1] * sol.atoms.shape[1], rel=1e-9)
    an = analyse(x, sol)
    assert not an.on_off and not an.covering_pair
    assert an.max_monotone_extent <= 0.5  # no tuning monotone over half the range
    assert an.n_two_sided == 0  # every neuron responds to one sign of x only
    assert an.n_tunings >= 10
    assert 0 < an.monotone_share < 0.6  # monotone tunings only at the extremes


def test_optimum_is_not_unique_below_the_threshold() -> None:
    """The basic and the canonical optimum differ but cost the same (a face, not a point)."""
    x = stimulus_samples("uniform", 41)
    basic = solve_on_off(x, 0.2, TIGHT)
    canon = canonical_code(x, basic)
    assert basic.representative == "basic" and canon.representative == "canonical"
    assert canon.atomic_norm == pytest.approx(basic.atomic_norm, rel=1e-8)
    assert canon.atoms.shape[1] != basic.atoms.shape[1]
    assert canon.complementarity < 1e-9


def test_outer_relaxation_never_exceeds_inner_bound() -> None:
    x = stimulus_samples("uniform", 11)
    for rho in (0.1, 0.3, 0.5):
        inner = cost(solve_on_off(x, rho, TIGHT).atomic_norm, 1.0, len(x))
        full = outer_bound(x, rho, 1.0, TIGHT)
        assert full <= inner * (1 + 1e-6)
        assert outer_bound_symmetric(x, rho, 1.0, TIGHT) == pytest.approx(full, rel=1e-5)
    # λ only scales the cost: the outer bound at λ = 4 is twice the one at λ = 1
    x = stimulus_samples("laplace", 21)
    assert outer_bound_symmetric(x, 0.2, 4.0, TIGHT) == pytest.approx(
        2 * outer_bound_symmetric(x, 0.2, 1.0, TIGHT), rel=1e-6)


def test_outer_dual_certificate_matches_the_relaxation() -> None:
    """The explicit dual point of the outer relaxation: below ρ* (sign plateau, μ = 1/(ρT))
    and above it (ramps, μ = 0) it certifies f* = 2√(λ/T)·‖x‖_ρ, i.e. the relaxation's
    value, which the SDP reproduces; a perturbed dual gives a strictly smaller bound."""
    x = stimulus_samples("gaussian", 15)  # ρ* ≈ 0.32
    for rho, mu, sdp in ((0.1, 1 / (0.1 * 15), 4.927916751), (0.6, 0.0, 2.711090640)):
        bound, detail = outer_certificate(x, rho, 1.0)
        assert detail["mu"] == pytest.approx(mu, rel=1e-12)
        assert detail["c"] == pytest.approx(1.0, abs=1e-12)
        assert bound == pytest.approx(cost(closed_form_norm(x, rho), 1.0, 15), rel=1e-12)
        assert bound == pytest.approx(outer_bound_symmetric(x, rho, 1.0, TIGHT), rel=1e-7)
        assert bound == pytest.approx(sdp, rel=1e-8)
        assert outer_certificate(x, rho, 4.0)[0] == pytest.approx(2 * bound, rel=1e-12)
    g = closed_form_dual(x, 0.1) + 0.05 * np.sin(np.arange(15))
    assert outer_certificate(x, 0.1, 1.0, g)[0] < 0.999 * outer_certificate(x, 0.1)[0]


def test_pricing_finds_a_removed_atom() -> None:
    x = stimulus_samples("gaussian", 41)
    on, off = _ramps(x).T
    y, score = best_atoms(on - off, 0.45)  # exact pricing at the pair's dual
    assert score[0] == pytest.approx(1.0, abs=1e-12) and np.allclose(y[:, 0], on)
    sol = solve_on_off(x, 0.45, TIGHT, drop=on[:, None])  # ON ramp removed on purpose
    assert sol.rounds >= 2  # the first LP lacked the ramp
    assert np.max(sol.atoms.T @ on) >= 1 - 1e-8  # pricing put the ON ramp back
    assert sol.min_reduced_cost >= -1e-6
    # stopping after one round still returns a consistent (uncertified) solution
    short = solve_on_off(x, 0.45, TIGHT, drop=on[:, None], max_rounds=1)
    assert short.atoms.shape[1] == short.weights.shape[0]


@pytest.mark.parametrize("kind,param", [("uniform", None), ("gaussian", None),
                                        ("laplace", None), ("spike_and_slab", 0.5)])
def test_measured_threshold_matches_prediction(kind: str, param) -> None:
    x = stimulus_samples(kind, 61, param)
    th = measured_threshold(x, TIGHT)
    assert abs(th.measured - predicted_threshold(x)) <= 1e-3
    assert th.min_reduced_cost >= -1e-6 and th.max_gap <= 1e-6


@pytest.mark.parametrize("kind,param", [("uniform", None), ("gaussian", None),
                                        ("spike_and_slab", 0.5)])
def test_closed_form_cost_matches_the_solver(kind: str, param) -> None:
    x = stimulus_samples(kind, 41, param)
    lam, rho_star = 0.5, predicted_threshold(x)
    for rho in (0.08, 0.2, 0.3, 0.45):
        sol = solve_on_off(x, rho, TIGHT)
        closed = 2 * np.sqrt(lam) * np.mean(np.abs(x)) / np.sqrt(min(rho, rho_star))
        assert cost(sol.atomic_norm, lam, len(x)) == pytest.approx(closed, rel=1e-8)
        assert exact_norm(x, rho, TIGHT) == pytest.approx(sol.atomic_norm, rel=1e-6)


def test_lambda_free_core_gives_each_lambda_its_cost() -> None:
    x = stimulus_samples("laplace", 21)
    core = solve_core(x, 0.15, TIGHT, NUMERICS)
    assert core["solution"]["outer_source"] == "dual_certificate"
    assert abs(core["solution"]["gap_inner_outer"]) < 1e-12
    for lam in (0.25, 4.0):
        rec = record_for_lambda(core, 0.15, lam)
        assert rec["solution"]["inner"] == pytest.approx(rec["theory"]["cost"], rel=1e-8)
        assert rec["solution"]["outer"] == pytest.approx(
            outer_bound_symmetric(x, 0.15, lam, TIGHT), rel=1e-6)
        assert rec["solution"]["outer"] <= rec["solution"]["inner"] * (1 + 1e-6)
