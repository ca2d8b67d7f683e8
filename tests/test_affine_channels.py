"""The paper's Fig. 3 model: ON/OFF channels under an affine readout (affine_channels)."""

from __future__ import annotations

import numpy as np
import pytest

from convex_coding import affine_channels as ac
from convex_coding.menu import least_norm_readout
from convex_coding.pipeline.errors import CertificateError

LAM = 0.5
SLABS = [("half_normal", None), ("exponential", None), ("uniform", None),
         ("gamma", 2.0), ("gamma", 0.5), ("lognormal", 0.5)]


# ---------------------------------------------------------------- thresholds


@pytest.mark.parametrize(("law", "expected"), [
    ("uniform", 3 / 7), ("exponential", 1 / 3), ("half_normal", 2 / (np.pi + 2))])
def test_population_threshold_closed_forms(law: str, expected: float) -> None:
    assert ac.population_threshold(law) == pytest.approx(expected, abs=1e-15)


def test_population_threshold_shaped_laws() -> None:
    # gamma(k): r = k/(k+1) → p0* = k/(2k+1); lognormal(σ): r = e^{−σ²} → 1/(1+e^{σ²})
    assert ac.population_threshold("gamma", 2.0) == pytest.approx(2 / 5, abs=1e-15)
    assert ac.population_threshold("lognormal", 0.5) == pytest.approx(
        1 / (1 + np.exp(0.25)), abs=1e-15)


@pytest.mark.parametrize(("law", "shape"), SLABS)
def test_finite_sample_threshold_near_population(law: str, shape: float | None) -> None:
    slab = ac.slab_samples(law, 400, shape)
    assert np.all(np.diff(slab) > 0) and slab[0] > 0
    m1, _ = ac.slab_moments(law, shape)
    assert slab.mean() == pytest.approx(m1, rel=1e-10)  # cell means keep the mean exactly
    assert abs(ac.sample_threshold(slab) - ac.population_threshold(law, shape)) <= 1e-3


def test_sample_threshold_is_root_of_right_derivative() -> None:
    slab = ac.slab_samples("exponential", 50)
    p = ac.sample_threshold(slab)
    deriv = np.sqrt(p) - np.sqrt(1 - p) * slab.mean() / np.sqrt(np.mean(slab**2))
    assert abs(deriv) < 1e-14
    var = ac.sparse_variable("exponential", p, 50)
    assert abs(ac.one_sided_derivative(var, 0.0, +1)) < 1e-12


@pytest.mark.parametrize(("law", "shape"), SLABS)
def test_solver_switches_exactly_at_the_predicted_threshold(law: str,
                                                            shape: float | None) -> None:
    """The atom's mass is continuous: the solved channel count flips within 1e-9 of
    r̂/(1+r̂) of the discretised slab."""
    p_star = ac.sample_threshold(ac.slab_samples(law, 200, shape))
    below = ac.optimal_code(ac.sparse_variable(law, p_star - 1e-9, 200, shape), LAM)
    above = ac.optimal_code(ac.sparse_variable(law, p_star + 1e-9, 200, shape), LAM)
    assert below.names == ("ON", "OFF") and above.names == ("ON",)
    for p0 in np.linspace(0, 0.9, 19):
        var = ac.sparse_variable(law, float(p0), 200, shape)
        assert (ac.optimal_code(var, LAM).names == ("ON",)) == ac.off_vanishes_predicted(var)


# ---------------------------------------------------------------- optimum


@pytest.mark.parametrize("law", ac.SYMMETRIC_LAWS)
@pytest.mark.parametrize("t", [400, 401])
def test_symmetric_variable_gives_on_off_at_zero(law: str, t: int) -> None:
    code = ac.optimal_code(ac.symmetric_variable(law, t), LAM)
    assert abs(code.bias) <= 1e-10
    assert code.names == ("ON", "OFF")
    assert ac.summarise(code).energy_share["ON"] == pytest.approx(0.5, abs=1e-10)


def test_skewed_two_signed_variable_is_on_off_off_centre() -> None:
    code = ac.optimal_code(ac.skewed_variable("exponential", 400), LAM)
    assert code.names == ("ON", "OFF") and code.bias < -0.05  # below the mean (0)


def test_dense_two_channels_sparse_one() -> None:
    dense = ac.optimal_code(ac.sparse_variable("exponential", 0.1, 400), LAM)
    sparse = ac.optimal_code(ac.sparse_variable("exponential", 0.5, 400), LAM)
    assert dense.names == ("ON", "OFF") and dense.bias > 0
    assert sparse.names == ("ON",) and sparse.bias == 0.0
    sd, ss = ac.summarise(dense), ac.summarise(sparse)
    assert sd.advantage > 0.01 and ss.advantage == pytest.approx(0.0, abs=1e-15)
    assert sum(sd.energy_share.values()) == pytest.approx(1.0, abs=1e-14)
    assert ss.range_fraction == {"ON": 1.0, "OFF": 0.0}
    assert ss.mass_fraction["ON"] == pytest.approx(0.5, abs=1e-12)


def test_on_range_grows_with_sparsity() -> None:
    ranges = [ac.summarise(ac.optimal_code(ac.sparse_variable("half_normal", p, 200), LAM))
              .range_fraction["ON"] for p in (0.0, 0.1, 0.2, 0.3)]
    assert np.all(np.diff(ranges) > 0)


def test_bias_minimises_the_bracket_exactly() -> None:
    var = ac.sparse_variable("lognormal", 0.15, 300, 0.8)
    b = ac.optimal_bias(var)
    assert abs(ac.one_sided_derivative(var, b, +1)) < 1e-12  # smooth stationary point
    grid = np.linspace(var.values[0], var.values[-1], 2001)
    assert ac.bracket(var, b)[0] <= ac.bracket(var, grid).min() + 1e-15
    assert np.all(ac.bracket(var, [b - 1e-7, b + 1e-7]) >= ac.bracket(var, b)[0])


def test_cost_formula_and_channel_balance() -> None:
    var = ac.sparse_variable("gamma", 0.2, 200, 2.0)
    code = ac.optimal_code(var, LAM)
    assert code.cost == pytest.approx(2 * np.sqrt(LAM) * ac.bracket(var, code.bias)[0],
                                      rel=1e-14)
    assert np.allclose(np.sqrt(code.energy), np.sqrt(LAM) * np.abs(code.weights), rtol=1e-14)


def test_no_random_nonnegative_code_beats_the_optimum() -> None:
    """Any Z ≥ 0 with the best affine readout, optimally scaled, costs 2√(λ⟨‖z‖²⟩‖w‖²)."""
    rng = np.random.default_rng(3)
    var = ac.sparse_variable("half_normal", 0.2, 60)
    x, p = var.values, var.weights
    best = ac.optimal_code(var, LAM).cost
    for _ in range(200):
        n = rng.integers(2, 6)
        z = np.abs(rng.normal(size=(n, x.size))) * rng.random((n, 1))
        b = rng.uniform(x[0], x[-1])  # a ramp pair at a random bias: exact readout
        z[0], z[1] = np.maximum(x - b, 0), np.maximum(b - x, 0) * rng.uniform(0.5, 2)
        energy = float(np.sum(z**2 @ p))
        cost = 2 * np.sqrt(LAM * energy * least_norm_readout(z, x[None], bias=True))
        assert cost >= best * (1 - 1e-12)


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize("p0", [0.0, 0.2, 0.6])
def test_certificates_accept_the_optimum(p0: float) -> None:
    code = ac.optimal_code(ac.sparse_variable("uniform", p0, 300), LAM)
    cert = ac.certify(code, tol=1e-12)
    assert abs(cert.gap) < 1e-12 and cert.norm_violation == 0.0
    q = ac.q_space_certificate(code, tol=1e-12)
    assert q.reduced_cost >= -1e-12 and abs(q.complementarity) < 1e-12


def test_certificates_reject_wrong_codes() -> None:
    var = ac.sparse_variable("uniform", 0.2, 300)
    good = ac.optimal_code(var, LAM)
    for wrong in (ac.ramp_code(var, LAM, good.bias + 0.05),  # wrong bias
                  ac.ramp_code(var, LAM, 0.0)):  # ON only, below the threshold
        with pytest.raises(CertificateError, match="not certified"):
            ac.certify(wrong)
        with pytest.raises(CertificateError, match="Q-space"):
            ac.q_space_certificate(wrong)
    wrong_scale = ac.AffineCode(var, LAM, good.bias, 2 * good.tunings, good.weights / 2,
                                good.names)  # feasible, not balanced
    with pytest.raises(CertificateError, match="gap"):
        ac.certify(wrong_scale)
    broken = ac.AffineCode(var, LAM, good.bias, good.tunings, 1.01 * good.weights, good.names)
    with pytest.raises(CertificateError, match="readout"):
        ac.certify(broken)


def test_one_channel_dual_norm_is_the_threshold_ratio() -> None:
    var = ac.sparse_variable("exponential", 0.5, 200)
    g = ac.dual_vector(var, 0.0)
    expected = var.mean(var.values) / (var.norm(var.values) * np.sqrt(var.p_min))
    assert var.norm(np.minimum(g, 0)) == pytest.approx(expected, rel=1e-13)
    assert abs(var.mean(g)) < 1e-15 and expected < 1


# ---------------------------------------------------------------- independent bounds


@pytest.mark.parametrize(("law", "p0"), [("exponential", 0.1), ("exponential", 0.5),
                                         ("uniform", 0.3), ("lognormal", 0.2)])
def test_dual_dictionary_and_dnn_bounds_meet_the_closed_form(law: str, p0: float) -> None:
    var = ac.sparse_variable(law, p0, 400, 1.0 if law == "lognormal" else None)
    closed = ac.optimal_code(var, LAM).cost
    dual, g = ac.dual_bound(var, LAM)
    inner = ac.dictionary_bound(var, LAM, g)
    assert dual <= closed * (1 + 1e-9) and dual == pytest.approx(closed, rel=1e-6)
    assert inner.value >= closed * (1 - 1e-9) and inner.value == pytest.approx(closed, rel=1e-6)
    assert inner.reduced_cost >= -1e-6
    twin = ac.compress(var.values, var.weights, 12)
    assert ac.dnn_bound(twin, LAM) == pytest.approx(ac.optimal_code(twin, LAM).cost, rel=1e-6)


def test_compress_keeps_the_mean_and_the_atom() -> None:
    rng = np.random.default_rng(0)
    data = np.maximum(rng.laplace(size=5000), 0.0)
    var = ac.compress(data, None, 50)
    assert var.p_min == pytest.approx(np.mean(data == 0), abs=1e-15)
    assert var.mean(var.values) == pytest.approx(data.mean(), rel=1e-12)
    assert var.size == 51 and var.ratio >= np.mean(data) ** 2 / np.mean(data**2) - 1e-12


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(("values", "message"), [
    (np.r_[np.arange(11.0), np.nan], "non-finite"),
    (np.arange(5.0), "at least 10"),
    (np.ones(20), "constant"),
])
def test_bad_samples_are_rejected(values: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ac.samples_variable(values, 50)


def test_bad_law_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ac.slab_samples("cauchy", 20)
    with pytest.raises(ValueError, match="gamma shape"):
        ac.slab_samples("gamma", 20)
    with pytest.raises(ValueError, match="p0"):
        ac.sparse_variable("uniform", 1.0, 20)
    with pytest.raises(ValueError, match="sample count"):
        ac.symmetric_variable("gaussian", 4)
