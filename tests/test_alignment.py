"""Alignment of the mixing (the paper's Figure 1): closed forms, rescue, destroy, boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from convex_coding.alignment import (
    _bisect,
    aligned_mixing,
    alignment_problem,
    alignment_sign,
    certified_verdict,
    correlation_matrix,
    f_offdiagonal,
    measured_boundary,
    named_sources,
    signed_margin,
    theory_boundaries,
    theory_modular,
)
from convex_coding.identifiability import modular_code
from convex_coding.solvers import SolverSettings

LAM = 0.1
SETTINGS = SolverSettings()


def _build(kind: str, param: float):
    src = named_sources(kind, param)
    return lambda c: alignment_problem(src, c, LAM)


def test_mixing_gram_is_g_c_g() -> None:
    g = np.array([0.8, 1.3])
    a = aligned_mixing(0.4, 2, g)
    np.testing.assert_allclose(a.T @ a, [[0.64, 0.4 * 0.8 * 1.3], [0.4 * 0.8 * 1.3, 1.69]],
                               atol=1e-14)
    c3 = correlation_matrix([0.2, -0.3, 0.5], 3)
    assert c3[0, 2] == -0.3 and c3[2, 1] == 0.5
    for bad in (1.0, -1.2):
        with pytest.raises(ValueError):
            correlation_matrix(bad)


def test_f_offdiagonal_closed_form_matches_lambda_matrix() -> None:
    for c in (-0.6, 0.0, 0.35):
        problem = _build("corner_cut", 1.5)(c)
        code = modular_code(problem)
        expected = f_offdiagonal(LAM, c, 1.0 / code.weights, problem.sigma_s[0, 1])
        assert code.lam[0, 1] == pytest.approx(expected, rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(np.diag(code.lam), code.bias**2, rtol=1e-12)  # F_ii = m_i²


def test_alignment_sign_is_relative_to_the_sources() -> None:
    cut = _build("corner_cut", 1.5)(0.0).sigma_s
    assert cut[0, 1] < 0  # cutting the (+,+) corner anti-correlates the sources
    assert alignment_sign(cut, -0.5) == 1 and alignment_sign(cut, 0.5) == -1
    assert alignment_sign(_build("box", 0.7)(0.0).sigma_s, 0.5) == 0


def test_bisect_reaches_its_tolerance() -> None:
    root = _bisect(lambda c: c > 0.3141, -1.0, 1.0, 1e-10)
    assert abs(root - 0.3141) < 1e-10


def test_theory_boundaries_of_the_rescued_cut() -> None:
    roots = theory_boundaries(_build("corner_cut", 1.5), np.linspace(-0.9, 0.9, 41))
    np.testing.assert_allclose(roots, [-0.767227, -0.324761], atol=2e-6)
    build = _build("corner_cut", 1.5)
    assert not theory_modular(build(roots[1] + 1e-8))
    assert theory_modular(build(roots[1] - 1e-8))


def test_certified_rescue_and_overshoot() -> None:
    build = _build("corner_cut", 1.5)
    assert not certified_verdict(build(0.0), SETTINGS).modular  # orthogonal: mixed
    assert certified_verdict(build(-0.5), SETTINGS).modular  # aligned: rescued
    assert not certified_verdict(build(-0.85), SETTINGS).modular  # overshoot


def test_certified_destroy() -> None:
    build = _build("corner_cut", 0.3)
    assert certified_verdict(build(0.0), SETTINGS).modular
    assert alignment_sign(build(0.0).sigma_s, 0.5) == -1
    assert not certified_verdict(build(0.5), SETTINGS).modular  # anti-aligned: destroyed


def test_signed_margin_agrees_with_the_exact_verdict() -> None:
    build = _build("triangle", 0.0)
    for c in np.linspace(-0.8, 0.8, 17):
        problem = build(c)
        assert (signed_margin(problem) > 0) == theory_modular(problem), c


def test_measured_boundary_within_1e3_of_theory() -> None:
    build = _build("corner_cut", 1.5)
    root = -0.3247613455
    b, width = measured_boundary(build, root - 1e-3, root + 1e-3, SETTINGS, 2.5e-4)
    assert width <= 2.5e-4 and abs(b - root) + width / 2 <= 1e-3
    with pytest.raises(ValueError):
        measured_boundary(build, -0.6, -0.5, SETTINGS)


def test_alignment_job_through_the_run_module(tmp_path) -> None:
    from convex_coding.pipeline.cache import ResultCache
    from convex_coding.pipeline.errors import ConfigError
    from convex_coding.pipeline.identifiability_run import run_identifiability
    from convex_coding.pipeline.runs import compose_run

    base = ["experiment=identifiability", "dataset=grid", "mixing=orthogonal",
            "experiment.alignment.set=corner_cut", "experiment.alignment.param=1.5"]
    with pytest.raises(ConfigError, match=r"experiment\.alignment\.job='bogus' is invalid"):
        run_identifiability(compose_run([*base, "experiment.alignment.job=bogus"]), None)
    with pytest.raises(ConfigError, match=r"experiment\.alignment\.set"):
        run_identifiability(compose_run(["experiment=identifiability",
                                         "experiment.alignment.job=sweep",
                                         "experiment.alignment.set=moon"]), None)
    cfg = compose_run([*base, "experiment.alignment.job=sweep", "experiment.alignment.n_c=41",
                       "experiment.alignment.measure_boundaries=false"])
    cache = ResultCache(tmp_path)
    rec = run_identifiability(cfg, cache)
    sweep = rec["alignment"]
    assert rec["agree"] and not rec["cache_hit"] and len(sweep["c"]) == 41
    assert not sweep["modular_at_zero"] and any(sweep["solver_modular"])  # a rescue
    np.testing.assert_allclose(sweep["theory_roots"], [-0.767227, -0.324761], atol=2e-6)
    assert run_identifiability(cfg, cache)["cache_hit"]
