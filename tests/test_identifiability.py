"""Theorem 1: closed forms, theory against the certified convex solver, Q-space bounds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PRECISE, random_problem

from convex_coding.identifiability import (
    AutoencoderProblem,
    direction_grid,
    ellipsoid_facet_test,
    grid_minimum,
    minimise_reduced_cost,
    modular_code,
    modularity,
    population_loss,
    qspace_bounds,
    solve_population,
    theory_verdict,
)
from convex_coding.sources import grid_sources, random_orthonormal_columns


def test_modular_weights_and_lambda_closed_form() -> None:
    rng = np.random.default_rng(1)
    s = rng.uniform(-1, 1, size=(2, 40))
    a = rng.standard_normal((3, 2))
    p = AutoencoderProblem(s, a, lambda_w=0.2, lambda_r=0.5)
    code = modular_code(p)
    # μ_i minimises μ c_i + λ_R (Σ_A)_ii / μ  (H diagonal): μ_i = sqrt(λ_R (Σ_A)_ii / c_i)
    c = code.bias**2 + np.diag(p.sigma_s) + p.lambda_w * np.diag(p.sigma_a_inv)
    assert np.allclose(code.weights, np.sqrt(p.lambda_r * np.diag(p.sigma_a) / c))
    h_inv = np.diag(1 / code.weights)
    lam = p.lambda_r * h_inv @ p.sigma_a @ h_inv - p.sigma_s - p.lambda_w * p.sigma_a_inv
    assert np.allclose(code.lam, lam)
    # Λ_ii = m_i² makes φ vanish on the modular axes
    assert np.allclose(np.diag(code.lam), code.bias**2)
    # the closed-form loss equals L(μ) evaluated directly
    assert code.loss == pytest.approx(
        population_loss(p, np.diag(code.signs), code.weights), rel=1e-12
    )


@pytest.mark.parametrize("lam", [0.01, 0.1, 1.0, 7.0])
def test_orthogonal_mixing_equal_costs_gives_dont_cut_corners_ellipse(lam: float) -> None:
    rng = np.random.default_rng(3)
    s = rng.uniform(-1, 1, size=(2, 50)) * np.array([[1.0], [0.6]])
    a = random_orthonormal_columns(4, 2, rng)
    p = AutoencoderProblem(s, a, lambda_w=lam, lambda_r=lam)
    code = modular_code(p)
    assert np.allclose(np.diag(code.lam), code.bias**2)
    assert code.lam[0, 1] == pytest.approx(-p.sigma_s[0, 1], abs=1e-12)


def test_exact_reduced_cost_minimum_matches_fine_grid() -> None:
    for seed in range(5):
        p = random_problem(seed, "uniform", "general")
        lam = modular_code(p).lam
        exact = minimise_reduced_cost(p, lam)
        grid, _ = grid_minimum(p, lam, 200000)
        assert exact.value <= grid + 1e-12
        assert grid - exact.value < 5e-5  # r is Lipschitz, grid spacing 3e-5 rad


def test_facet_test_agrees_with_margin_when_lambda_psd() -> None:
    checked = 0
    for seed in range(10):
        p = random_problem(seed, "grid_cut", "orthogonal")
        v = theory_verdict(p)
        if v.lambda_psd:
            inside, _ = ellipsoid_facet_test(p, v.code.lam)
            assert inside == v.modular
            checked += 1
    assert checked >= 5


def test_full_grid_orthogonal_is_modular_and_corner_cut_is_mixed() -> None:
    s = grid_sources(2, 11, np.ones(2))
    a = np.eye(2)
    assert theory_verdict(AutoencoderProblem(s, a, 0.1, 0.1)).modular
    cut = s[:, s.sum(axis=0) <= 1.0]  # remove the corner beyond s1 + s2 = 1
    assert not theory_verdict(AutoencoderProblem(cut, a, 0.1, 0.1)).modular


CASES = [(seed, kind, mix, lw, lr)
         for seed in range(3)
         for kind in ("grid", "grid_cut", "uniform", "uniform_corners")
         for mix in ("orthogonal", "general")
         for lw, lr in ((0.1, 0.1), (0.3, 0.05))]


def test_theory_agrees_with_certified_solver_on_random_instances() -> None:
    verdicts = []
    for seed, kind, mix, lw, lr in CASES:
        p = random_problem(seed, kind, mix, lambda_w=lw, lambda_r=lr)
        theory = theory_verdict(p)
        sol = solve_population(p, PRECISE)
        assert sol.certificate_violation <= 1e-6
        assert sol.complementarity <= 1e-5
        assert abs(sol.loss - sol.solver_value) <= 1e-5 * sol.loss
        assert sol.loss <= theory.code.loss * (1 + 1e-9)  # the modular code is feasible
        measured_modular = modularity(sol.directions, sol.weights).off_axis_share <= 1e-6
        assert measured_modular == theory.modular, (seed, kind, mix, lw, lr)
        if theory.modular:
            assert sol.loss == pytest.approx(theory.code.loss, rel=1e-7)
        verdicts.append(theory.modular)
    assert len(verdicts) >= 30
    assert 0.2 < np.mean(verdicts) < 0.8  # both verdicts well represented


@pytest.mark.parametrize("seed", [0, 1])
def test_theory_agrees_with_solver_in_three_dimensions(seed: int) -> None:
    for kind in ("grid_cut", "uniform"):
        p = random_problem(seed, kind, "general", dim=3)
        theory = theory_verdict(p)
        sol = solve_population(p, PRECISE)
        assert sol.certificate_violation <= 1e-6
        measured_modular = modularity(sol.directions, sol.weights).off_axis_share <= 1e-6
        assert measured_modular == theory.modular


@pytest.mark.parametrize("seed", range(4))
def test_qspace_bounds_equal_reduced_optimum_when_dnn_is_exact(seed: int) -> None:
    """T = 4: the doubly nonnegative cone equals CP_4, so outer = reduced = inner."""
    rng = np.random.default_rng(seed)
    p = AutoencoderProblem(rng.uniform(-1, 1, size=(2, 4)), rng.standard_normal((3, 2)),
                           0.1, 0.2)
    sol = solve_population(p, PRECISE)
    bounds = qspace_bounds(p, PRECISE, np.vstack([direction_grid(2, 720), sol.directions]))
    assert bounds.outer == pytest.approx(sol.loss, rel=1e-6)
    assert bounds.inner == pytest.approx(sol.loss, rel=1e-6)


@pytest.mark.parametrize("kind", ["grid", "grid_cut", "uniform"])
def test_qspace_bounds_bracket_reduced_optimum(kind: str) -> None:
    """Small T: outer (DNN) ≤ reduced ≤ inner, inner = reduced on the same atoms, and
    the DNN bound is tight for a modular optimum (it may be loose for a mixed one)."""
    from convex_coding.solvers import SolverSettings
    from convex_coding.sources import make_mixing, make_sources

    rng = np.random.default_rng(0)
    s = make_sources(kind, 2, rng, points_per_axis=3, n_points=7, scale_spread=0.3,
                     cut_depth=(0.5, 1.0))
    p = AutoencoderProblem(s, make_mixing("general", 2, 3, rng, max_correlation=0.6,
                                          gain_spread=0.3), 0.1, 0.2)
    sol = solve_population(p, PRECISE)
    bounds = qspace_bounds(p, SolverSettings("CLARABEL"),
                           np.vstack([direction_grid(2, 720), sol.directions]))
    assert bounds.outer <= sol.loss * (1 + 1e-7)
    assert bounds.inner == pytest.approx(sol.loss, rel=1e-6)
    if theory_verdict(p).modular:
        assert bounds.outer == pytest.approx(sol.loss, rel=1e-6)


def test_invalid_problems_are_rejected_with_a_message() -> None:
    s = np.random.default_rng(0).uniform(size=(2, 10))
    with pytest.raises(ValueError, match="columns"):
        AutoencoderProblem(s, np.ones((3, 3)), 0.1, 0.1)
    with pytest.raises(ValueError, match="finite"):
        AutoencoderProblem(np.where(s > 0.5, np.nan, s), np.eye(2), 0.1, 0.1)
    with pytest.raises(ValueError, match="lambda"):
        AutoencoderProblem(s, np.eye(2), -1.0, 0.1)
    with pytest.raises(ValueError, match="span"):
        AutoencoderProblem(np.vstack([s[0], s[0]]), np.eye(2), 0.1, 0.1)


def test_fast_qspace_bounds_equal_the_menu_formulation() -> None:
    """The vertex-pair DNN bound and the O(T)-memory dictionary bound solve the same
    programs as the menu's T×T formulation."""
    import cvxpy as cp

    from convex_coding import menu
    from convex_coding.identifiability import (
        affine_atoms,
        qspace_inner_bound,
        qspace_outer_bound,
    )
    from convex_coding.solvers import solve_checked

    p = random_problem(2, "grid_cut", "general")
    data = p.mixing @ p.sources
    directions = direction_grid(2, 90)
    expected = []
    for sim in (menu.affine_similarity(p.sources),
                menu.dictionary_similarity(affine_atoms(p, directions), p.sources)):
        readout, constraints = menu.readout_energy_with_bias(sim, data)
        objective = (menu.activity_energy(sim) / p.n_samples
                     + p.lambda_w * menu.linear_weight_energy(sim, data)
                     + p.lambda_r * readout)
        constraints += menu.outer_nonnegativity(sim)
        expected.append(solve_checked(cp.Problem(cp.Minimize(objective), constraints),
                                      PRECISE).value)
    outer, m, basis = qspace_outer_bound(p, PRECISE)
    inner, c, atoms = qspace_inner_bound(p, PRECISE, directions)
    assert c.min() >= 0 and atoms.min() >= -1e-12
    assert outer == pytest.approx(expected[0], rel=1e-7)
    assert inner == pytest.approx(expected[1], rel=1e-7)
    assert (basis @ m @ basis.T).min() >= -1e-8 * np.abs(m).max()  # Q ≥ 0 at all T² pairs
    assert outer <= solve_population(p, PRECISE).loss * (1 + 1e-7) <= inner * (1 + 1e-7)
