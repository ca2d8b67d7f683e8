"""The dual (conjugate) lower bound of the first-order route, against the conic DNN
solve and a closed form."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

import convex_coding as cc
from convex_coding import affine_channels as ac
from convex_coding.dual_bound import (
    DualPoint,
    certified_bound,
    dual_model,
    solve_dual,
)
from convex_coding.first_order import _start, factor_objective, trace_bound

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_scaling import generic_problem


def _cp_point(problem: cc.Problem) -> tuple[np.ndarray, float]:
    """A completely positive point (random Z ≥ 0 at its best scale) and its value: a
    valid upper bound for the trace bound τ."""
    z = _start(problem, problem.size, 0)
    return z.T @ z, factor_objective(problem, z)[0]


@pytest.mark.parametrize("family", ["sparse_coding", "similarity_matching"])
@pytest.mark.parametrize("t", [6, 8, 12])
def test_dual_bound_is_below_and_meets_the_conic_dnn_value(family, t):
    problem = generic_problem(family, t)
    conic = problem.solve(method="conic", nonnegativity="dnn").lower
    q, upper = _cp_point(problem)
    dual = solve_dual(problem, q, upper=upper, tau=trace_bound(problem, upper),
                      time_limit=15.0)
    # a lower bound on p_DNN: not above the conic value beyond the solver's accuracy
    assert dual.bound <= conic + 1e-8 * abs(conic)
    # and the method of multipliers converges to it (measured: within 1e-9 relative)
    assert dual.bound >= conic - 1e-7 * abs(conic)
    assert dual.margin < 1e-9 and dual.min_eigenvalue - dual.margin > -1e-7


def test_any_dual_point_gives_a_valid_bound():
    # perturbations of the converged dual point (relative size 1e-6 … 1) are worse dual
    # points, and every one still gives a bound ≤ p_DNN: the trace-bound term pays for
    # their PSD violation
    problem = generic_problem("sparse_coding", 8)
    conic = problem.solve(method="conic", nonnegativity="dnn").lower
    model = dual_model(problem)
    q, upper = _cp_point(problem)
    tau = trace_bound(problem, upper)
    point = solve_dual(problem, q, upper=upper, tau=tau).point
    rng = np.random.default_rng(0)
    bounds = []
    for scale in np.geomspace(1e-6, 1.0, 100):
        w = point.readouts[0] * (1 + scale * rng.standard_normal(point.readouts[0].shape))
        n = point.nonneg + scale * rng.uniform(-1, 1, size=(8, 8))  # clipped at 0 inside
        bound, *_ = certified_bound(model, DualPoint((w,), (), n), tau)
        bounds.append(bound)
    assert max(bounds) <= conic + 1e-9 * abs(conic)
    assert max(bounds) >= conic - 1e-4 * abs(conic)  # the small ones stay close
    assert min(bounds) < conic - 1e-2 * abs(conic)  # the large ones are much worse


def test_a_term_without_conjugate_form_falls_back():
    term = cc.activity_energy()
    bare = type(term)(term.name, term.build, term.value, term.gradient)
    problem = cc.Problem(size=4, objective=[bare])
    assert dual_model(problem) is None
    assert solve_dual(problem, np.eye(4), upper=4.0, tau=4.0) is None


@pytest.mark.parametrize("t", [25, 50, 100])
def test_first_order_route_certifies_fig3_model_at_large_t(t):
    # the Fig. 3 model (mean firing energy + readout with bias, DNN tight): the dual
    # bound meets the closed form and the factor of the dual's primal point meets it too
    var = ac.sparse_variable("exponential", 0.2, t - 1)
    code = ac.optimal_code(var, 1.0)
    problem = cc.Problem(size=t, objective=[
        cc.activity_energy(weights=var.weights),
        cc.readout_energy(var.values[None, :], bias=True, weight=1.0)])
    start = time.process_time()
    result = problem.solve(time_limit=18.0)
    assert time.process_time() - start < 20.0
    assert result.certified, result.status
    assert result.lower <= code.cost * (1 + 1e-9)
    assert abs(result.upper - code.cost) <= 1e-6 * code.cost
    assert result.Z.min() >= 0
