"""convex_coding.Problem: closed forms, the certificate logic and the pricing searches."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import convex_coding as cc
from convex_coding.pricing import price_affine, price_nonnegative


def test_import_is_light_and_lists_the_api() -> None:
    code = "import sys, convex_coding as cc; print('cvxpy' in sys.modules, len(cc.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.split()[0] == "False" and int(out.split()[1]) >= 15
    assert {"Problem", "Result", "PRECISE", "activity_energy", "affine_range"} <= set(cc.__all__)


def test_precise_matches_the_pipeline_tolerances() -> None:
    assert cc.PRECISE.name == "CLARABEL"
    assert cc.PRECISE.options == {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def test_terms_are_one_kind_and_scale() -> None:
    y = np.arange(6.0).reshape(2, 3)
    terms = [cc.activity_energy(), cc.readout_energy(y), cc.lifetime_density(),
             cc.weight_energy(y), cc.similarity_matching(np.eye(3))]
    assert all(isinstance(t, cc.Term) for t in terms)
    assert (3.0 * cc.activity_energy(weight=0.5)).weight == 1.5
    with pytest.raises(ValueError, match="weight=-1"):
        cc.activity_energy(weight=-1)
    assert isinstance(cc.decodable(y, max_energy=2.0), cc.Constraint)


def test_term_values_and_gradients_match_closed_forms() -> None:
    rng = np.random.default_rng(0)
    z = rng.uniform(size=(5, 4))
    y = rng.standard_normal((2, 5)) @ z  # decodable from z
    q = z.T @ z
    r = y @ np.linalg.pinv(z)
    assert cc.readout_energy(y).value(q) == pytest.approx(np.sum(r**2), rel=1e-9)
    assert cc.lifetime_density().value(q) == pytest.approx(np.sum(z.sum(axis=1) ** 2))
    term, e = cc.readout_energy(y), rng.standard_normal((4, 4))
    e = e @ e.T * 1e-6  # directional derivative: ⟨∇f, E⟩ = (f(Q + E) − f(Q − E))/2
    fd = (term.value(q + e) - term.value(q - e)) / 2
    assert np.sum(term.gradient(q) * e) == pytest.approx(fd, rel=1e-5)


def test_linear_network_closed_form() -> None:
    y = np.random.default_rng(3).standard_normal((2, 6))
    p = cc.Problem(size=6, objective=[cc.activity_energy(weight=2.0), cc.readout_energy(y)])
    res = p.solve(nonnegativity="psd")
    closed = 2 * np.sqrt(2.0) * np.linalg.svd(y, compute_uv=False).sum()
    assert res.certified and res.upper == pytest.approx(closed, rel=1e-8)


def test_small_nonnegative_problem_is_certified_with_nonnegative_factor() -> None:
    y = np.array([[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]])
    res = cc.Problem(size=3, objective=[cc.activity_energy(), cc.readout_energy(y)]).solve()
    assert res.certified and res.gap <= 1e-6 and res.residual <= 1e-9
    assert res.Z.min() >= 0.0
    assert np.allclose(res.Z.T @ res.Z, res.Q, atol=1e-12)
    psd = cc.Problem(size=3, objective=[cc.activity_energy(), cc.readout_energy(y)]).solve(
        nonnegativity="psd")
    assert psd.upper <= res.lower * (1 + 1e-8)  # dropping Z ≥ 0 can only lower the cost


def test_one_bound_modes_are_never_certified() -> None:
    p = cc.Problem(size=3, objective=[cc.activity_energy(), cc.readout_energy(np.eye(3))])
    assert p.solve(nonnegativity="dnn").status == "uncertified: outer bound only"
    assert p.solve(nonnegativity="dictionary").status.startswith("uncertified: inner bound")
    with pytest.raises(ValueError, match="nonnegativity='x' is invalid"):
        p.solve(nonnegativity="x")


def test_loose_dnn_bound_is_reported_not_hidden() -> None:
    """Ring similarity matching, T = 12: the DNN bound is loose (T > 4), so the status
    names the gap and the pricing value instead of claiming a certificate."""
    theta = 2 * np.pi * np.arange(12) / 12
    x = np.vstack([np.cos(theta), np.sin(theta)])
    res = cc.Problem(size=12, objective=[cc.similarity_matching(x.T @ x)]).solve()
    assert not res.certified and res.status.startswith("uncertified: gap")
    assert 1e-5 < res.gap < 1e-3 and res.lower < res.upper


def test_decodable_constraint_binds() -> None:
    y = np.array([[1.0, 0.0, 1.0]])
    free = cc.Problem(size=3, objective=[cc.activity_energy(), cc.readout_energy(y)]).solve()
    budget = 0.5 * cc.readout_energy(y).value(free.Q)
    p = cc.Problem(size=3, objective=[cc.activity_energy()],
                   constraints=[cc.decodable(y, max_energy=budget)])
    res = p.solve()
    assert res.certified
    assert cc.readout_energy(y).value(res.Q) == pytest.approx(budget, rel=1e-6)
    # closed form: one target row y ≥ 0; Q = s·yyᵀ/‖y‖² has Tr Q = s and readout energy
    # ‖y‖²/s, and Tr Q ≥ ‖y‖⁴/(yᵀQ⁺y… ) is attained there, so Tr Q* = ‖y‖²/budget
    assert res.upper == pytest.approx(np.sum(y**2) / budget, rel=1e-6)


def test_pricing_finds_the_known_negative_direction() -> None:
    """G = I − 3 vvᵀ, v = (1, 1, 0)/√2 ≥ 0: min over unit y ≥ 0 of yᵀGy is −2 at y = v."""
    v = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    res = price_nonnegative(np.eye(3) - 3 * np.outer(v, v))
    assert res.minimum == pytest.approx(-2.0, abs=1e-9)
    assert np.allclose(res.atoms[:, 0], v, atol=1e-6)
    assert not res.exact


def test_affine_pricing_bias_is_optimal() -> None:
    """One centred direction u on T = 3 points; G = I − 11ᵀ (so yᵀGy = ‖y‖² − (Σy)²):
    the best unit tuning of the form u + b1 is the constant one, reduced cost 1 − 3 = −2."""
    u = np.array([[1.0], [0.0], [-1.0]]) / np.sqrt(2)
    res = price_affine(np.eye(3) - np.ones((3, 3)), u, n_directions=16)
    assert res.minimum == pytest.approx(-2.0, abs=1e-9)
    assert np.all(res.atoms >= 0)
