"""The generic path on the paper's Figure 3 model, and the first-order route."""

import numpy as np
import pytest

import convex_coding as cc
from convex_coding import affine_channels as ac
from convex_coding.first_order import dual_split, lower_bound, solve_first_order


def _fig3_problem(var: ac.Variable, lam: float) -> cc.Problem:
    # mean firing energy ⟨diag p, Q⟩ plus λ × least readout energy with a free bias
    return cc.Problem(size=var.size, objective=[
        cc.activity_energy(weights=var.weights),
        cc.readout_energy(var.values[None, :], bias=True, weight=lam)])


@pytest.mark.parametrize("lam", [1.0, 0.25])
def test_generic_path_certifies_fig3_model_and_meets_closed_form(lam):
    var = ac.sparse_variable("exponential", 0.2, 11)  # T = 12 (atom at 0 + 11 cells)
    code = ac.optimal_code(var, lam)
    result = _fig3_problem(var, lam).solve()
    assert result.certified, result.status
    assert abs(result.upper - code.cost) <= 1e-6 * code.cost
    # the bias of the least-norm readout of the returned Z: b = I − R z (exact readout)
    z = result.Z
    zc = z - z.mean(axis=1, keepdims=True)
    r = (var.values - var.values.mean()) @ np.linalg.pinv(zc)
    bias = float(np.mean(var.values - r @ z))
    # the cost is flat in b (second order): a cost within 1e-7 fixes b* to ~1e-4 only
    assert abs(bias - code.bias) <= 1e-4 * max(1.0, abs(code.bias))
    assert np.max(np.abs(var.values - r @ z - bias)) < 1e-6


def test_weighted_activity_energy_value_gradient_and_factor():
    p = np.array([0.5, 0.3, 0.2])
    term = cc.activity_energy(weights=p)
    z = np.array([[1.0, 2.0, 0.0], [0.5, 0.0, 3.0]])
    q = z.T @ z
    assert term.value(q) == pytest.approx(0.5 * 1.25 + 0.3 * 4 + 0.2 * 9)
    assert np.allclose(term.gradient(q), np.diag(p))
    value, grad = term.factor(z)
    assert value == pytest.approx(term.value(q))
    assert np.allclose(grad, 2 * z @ np.diag(p))
    with pytest.raises(ValueError, match="weights"):
        cc.activity_energy(weights=[-1.0, 1.0])


def test_readout_factor_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((2, 6))
    z = rng.uniform(size=(6, 6))
    for bias in (False, True):
        term = cc.readout_energy(y, bias=bias)
        value, grad = term.factor(z)
        assert value == pytest.approx(term.value(z.T @ z), rel=1e-9)
        d = rng.standard_normal(z.shape)
        h = 1e-6
        numeric = (term.factor(z + h * d)[0] - term.factor(z - h * d)[0]) / (2 * h)
        assert numeric == pytest.approx(np.sum(grad * d), rel=1e-5)


def test_dual_split_finds_nonnegative_part_of_a_dnn_dual_matrix():
    # G = S + N with S ⪰ 0 (rank one) and N ≥ 0 supported off the diagonal: G itself is
    # indefinite, the split recovers λ_min(G − N) ≥ 0 up to the solver tolerance
    s = np.outer([1.0, -1.0, 0.5], [1.0, -1.0, 0.5])
    n = np.array([[0, 3.0, 0], [3.0, 0, 0], [0, 0, 0]])
    g = s + n
    assert np.linalg.eigvalsh(g)[0] < -1
    found, lam = dual_split(g, tol=1e-10)
    assert found.min() >= 0 and lam >= -1e-8


def test_first_order_lower_bound_is_exact_for_linear_network_closed_form():
    # min Tr Q + Tr(YQ⁺Yᵀ) over PSD has Q* = (YᵀY)^{1/2}; with Y ≥ 0 of rank one Q* =
    # yyᵀ/‖y‖ is nonnegative, so p* = 2‖y‖ and the certificate at Q* must give it
    y = np.array([[1.0, 2.0, 0.5, 0.0, 1.5]])
    problem = cc.Problem(size=5, objective=[cc.activity_energy(), cc.readout_energy(y)])
    q = y.T @ y / np.linalg.norm(y)
    bound, lam, tau = lower_bound(problem, q, tol=1e-12)
    assert bound == pytest.approx(2 * np.linalg.norm(y), rel=1e-9)
    assert lam >= -1e-10 and tau == pytest.approx(2 * np.linalg.norm(y))
    result = solve_first_order(problem, seed=1)
    assert result.certified, result.status
    assert result.upper == pytest.approx(2 * np.linalg.norm(y), rel=1e-6)


def test_one_retry_mechanism_with_a_start_tolerance():
    from convex_coding import solvers

    assert cc.PRECISE is solvers.PRECISE and cc.SolverSettings.precise() == cc.PRECISE
    full = solvers.relaxed_settings(cc.PRECISE, (1e-9, 1e-8, 1e-7))
    assert [a.options["tol_gap_abs"] for a in full] == [1e-10, 1e-10, 1e-9, 1e-8, 1e-7]
    started = solvers.relaxed_settings(cc.PRECISE, (1e-9, 1e-8, 1e-7), start=1e-9)
    assert [a.options["tol_gap_abs"] for a in started] == [1e-9, 1e-8, 1e-7]
    assert solvers.relaxed_settings(cc.PRECISE, (), start=1e-3) == full[:2]  # none left


def test_method_choice_is_validated():
    problem = cc.Problem(size=3, objective=[cc.activity_energy()],
                         constraints=[cc.decodable(np.ones((1, 3)), max_energy=1.0)])
    with pytest.raises(ValueError, match="method"):
        problem.solve(method="newton")
    with pytest.raises(ValueError, match="no constraints"):
        problem.solve(method="first_order")
