"""The convex menu: each Q-space term equals its definition in Z."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from convex_coding import menu
from convex_coding.solvers import SolverSettings, solve_checked


def _fixed_q(z: np.ndarray) -> menu.Similarity:
    q = z.T @ z
    var = cp.Variable(q.shape, PSD=True)
    return menu.Similarity(Q=var, core=var, constraints=(var == q,))


def _value(sim: menu.Similarity, expr_and_constraints) -> float:
    expr, cons = expr_and_constraints
    prob = cp.Problem(cp.Minimize(expr), [*sim.constraints, *cons])
    return solve_checked(prob, SolverSettings("CLARABEL")).value


@pytest.mark.parametrize("seed", range(5))
def test_matrix_fractional_readout_equals_least_norm_lstsq(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = np.abs(rng.standard_normal((4, 7)))  # N = 4 neurons, T = 7 stimuli
    r = rng.standard_normal((2, 4))
    y = r @ z  # an exact readout exists
    sim = _fixed_q(z)
    expected = menu.least_norm_readout(z, y)
    assert _value(sim, menu.readout_energy(sim, y)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_readout_with_bias_is_centred_matrix_fractional(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = np.abs(rng.standard_normal((4, 7)))
    y = rng.standard_normal((2, 4)) @ z + rng.standard_normal((2, 1))  # Y = RZ + c1ᵀ
    sim = _fixed_q(z)
    expected = menu.least_norm_readout(z, y, bias=True)
    assert _value(sim, menu.readout_energy_with_bias(sim, y)) == pytest.approx(expected, rel=1e-6)
    # centring Y alone would be wrong: Tr(Ỹ Q⁺ Ỹᵀ) differs from the bias readout cost
    y_c = y - y.mean(axis=1, keepdims=True)
    naive = float(np.trace(y_c @ np.linalg.pinv(z.T @ z) @ y_c.T))
    assert abs(naive - expected) > 1e-3 * expected


def test_activity_density_and_weight_energy_closed_forms() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9))
    w, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 1))
    z = w @ x + b  # affine code
    q = z.T @ z
    sim = menu.affine_similarity(x)
    m_val = sim.basis.T @ q @ sim.basis
    assert np.allclose(sim.basis @ m_val @ sim.basis.T, q)  # range(Q) ⊆ row [X; 1ᵀ]
    sim.core.value = m_val
    assert menu.activity_energy(sim).value == pytest.approx(np.sum(z**2))
    assert menu.lifetime_density(sim).value == pytest.approx(np.sum(z.sum(axis=1) ** 2))
    # least ‖W‖² with Z P = W X P equals ‖W‖² when X has full row rank (W is unique)
    assert menu.linear_weight_energy(sim, x).value == pytest.approx(np.sum(w**2))


def test_dictionary_rejects_negative_atoms() -> None:
    with pytest.raises(ValueError, match="nonnegative"):
        menu.dictionary_similarity(-np.ones((3, 2)))


def test_readout_gradient_vanishes_on_optimal_pair() -> None:
    """For Q = ZᵀZ with the ON/OFF pair of a symmetric x, ⟨G, Q⟩ = 0 at the optimum."""
    x = np.linspace(-1, 1, 21)
    t = len(x)
    z = np.vstack([np.maximum(x, 0), np.maximum(-x, 0)])
    # optimal scale: energy a‖z‖² s² + λ/s² Tr(...) is minimised at s⁴ = λ·c/(a·e)
    lam = 0.5
    e = np.sum(z**2) / t
    c = float(x @ np.linalg.pinv(z.T @ z) @ x)
    s2 = np.sqrt(lam * c / e)
    q = s2 * z.T @ z
    g = menu.readout_gradient(q, x[None, :], 1.0 / t, lam)
    assert np.sum(g * q) == pytest.approx(0.0, abs=1e-10)
