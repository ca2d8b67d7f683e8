"""Theorem 2 (tuning uniqueness): factorisation, alignment and the four criteria."""

from __future__ import annotations

import ctypes
import glob
import itertools
import os

import numpy as np
import pytest
from conftest import PRECISE, random_problem

from convex_coding import uniqueness as uq
from convex_coding.identifiability import solve_population
from convex_coding.solvers import SolverSettings


def _openblas_thread_setters() -> list:
    """``set_num_threads`` / ``get_num_threads`` of the OpenBLAS copies numpy/scipy load."""
    import scipy

    found = []
    for pkg in (np, scipy):
        pattern = os.path.join(os.path.dirname(pkg.__file__), "..", f"{pkg.__name__}.libs",
                               "*openblas*")
        for path in glob.glob(pattern):
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        found.append((setter, getter))
    return found


@pytest.fixture(autouse=True, scope="module")
def single_threaded_blas():
    """The factorisations multiply tiny matrices: threaded BLAS only adds synchronisation
    (30× slower on a loaded 2-core machine).  Snakemake jobs get OPENBLAS_NUM_THREADS from
    their ``threads``; pytest does not, so limit it here and restore it afterwards."""
    setters = _openblas_thread_setters()
    before = [getter() for _, getter in setters]
    for setter, _ in setters:
        setter(1)
    yield
    for (setter, _), n in zip(setters, before, strict=True):
        setter(n)


QSPACE = SolverSettings("CLARABEL", {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8,
                                     "tol_feas": 1e-8})


def _supports(t: int) -> list[tuple[int, ...]]:
    return [s for k in range(1, t + 1) for s in itertools.combinations(range(t), k)]


def _two_neuron_cases(t: int = 3):
    rng = np.random.default_rng(0)
    for s1, s2 in itertools.product(_supports(t), repeat=2):
        if s1 == s2 and len(s1) == 1:
            continue  # parallel tunings: one neuron split in two
        z = np.zeros((2, t))
        z[0, list(s1)] = rng.uniform(0.5, 1.5, len(s1))
        z[1, list(s2)] = rng.uniform(0.5, 1.5, len(s2))
        private = not set(s1) <= set(s2) and not set(s2) <= set(s1)
        yield z, private


def test_two_neurons_unique_iff_each_has_a_private_active_stimulus() -> None:
    """Exhaustive over all support pairs on three stimuli (46 cases)."""
    rng = np.random.default_rng(1)
    n = 0
    for z, private in _two_neuron_cases():
        expected = uq.UNIQUE if private else uq.NON_UNIQUE
        assert uq.non_nesting(z)[0] == private
        assert (uq.UNIQUE if uq.rigidity_lp(z, PRECISE).rigid else uq.NON_UNIQUE) == expected
        emp = uq.empirical_test(z.T @ z, restarts=6, rng=rng)
        assert emp.best_residual < 1e-10
        assert emp.verdict == expected, (z, emp.max_discrepancy)
        n += 1
    assert n == 46


def test_rotated_psd_solution_is_detected_non_unique() -> None:
    """PSD-only optimum (c = 3): restarts land on different rotations; every criterion agrees."""
    inst = uq.offset_psd_instance(4, 3.0, QSPACE)
    assert inst.certified and inst.certificate["closed_form_error"] < 1e-4
    an = uq.analyse(inst, QSPACE, np.random.default_rng(0), restarts=6)
    assert an.empirical.verdict == uq.NON_UNIQUE
    assert an.empirical.max_discrepancy > 0.1
    assert all(an.predictions[c] == uq.NON_UNIQUE for c in ("optimality", "non_nesting",
                                                             "rigidity"))


def test_strictly_positive_tunings_rotate() -> None:
    """No zeros: a small rotation keeps Z ≥ 0, so the factorisation is not unique."""
    rng = np.random.default_rng(2)
    z = rng.uniform(1.0, 2.0, (2, 6))
    assert not uq.non_nesting(z)[0]
    assert not uq.rigidity_lp(z, PRECISE).rigid
    assert uq.empirical_test(z.T @ z, restarts=8, rng=rng).verdict == uq.NON_UNIQUE


def test_separable_z_is_detected_unique() -> None:
    """Every neuron has a private stimulus (Z contains a scaled identity)."""
    rng = np.random.default_rng(3)
    z = np.hstack([np.diag(rng.uniform(0.5, 1.5, 3)), rng.uniform(0.0, 1.0, (3, 7))])
    assert uq.non_nesting(z)[0]
    assert uq.rigidity_lp(z, PRECISE).rigid
    assert uq.sufficiently_scattered(z) == uq.UNIQUE
    emp = uq.empirical_test(z.T @ z, restarts=8, rng=rng)
    assert emp.verdict == uq.UNIQUE
    assert uq.align(z, emp.reference).discrepancy < 1e-6


@pytest.mark.parametrize("z,rigid,lineality", [
    (np.eye(2), True, 0),  # K_01 ≥ 0 and −K_01 ≥ 0
    (np.eye(3), True, 0),
    (np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), False, 0),  # nested: K_01 ≤ 0 survives
    (np.array([[1.0, 2.0], [3.0, 1.0]]), False, 1),  # no zeros at all
    # cyclic pattern: (KZ) on the zeros is (a+b, c−a, −b−c), summing to 0, so K = (a,−a,a)
    # keeps every zero at zero: not rigid at first order
    (np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]), False, 1),
])
def test_rigidity_lp_on_hand_made_zero_patterns(z, rigid, lineality) -> None:
    res = uq.rigidity_lp(z, PRECISE)
    assert res.rigid == rigid
    assert res.lineality == lineality


def test_factorisation_recovers_a_planted_z() -> None:
    rng = np.random.default_rng(4)
    z = rng.uniform(0.2, 1.0, (4, 20)) * (rng.random((4, 20)) > 0.45)
    z[:, :4] = np.diag(rng.uniform(0.5, 1.0, 4))  # private stimuli: unique
    emp = uq.empirical_test(z.T @ z, restarts=6, rng=rng)
    assert emp.best_residual < 1e-8
    assert uq.align(z, emp.reference).discrepancy < 1e-6
    assert emp.verdict == uq.UNIQUE


def _dense_lm_refit(q: np.ndarray, z: np.ndarray, max_iter: int) -> np.ndarray:
    """The refit as it was before the structured solve (dense formula, scipy Cholesky):
    the reference the structured one must reproduce."""
    from scipy.linalg import cho_factor, cho_solve

    damping = 1e-6
    for _ in range(max_iter):
        r = z.T @ z - q
        f0 = float(np.sum(r * r))
        if np.sqrt(f0) <= 1e-15 * np.linalg.norm(q):
            break
        g = z @ r
        bound = (z <= 1e-6 * z.max()) & (g >= 0)
        if bound.any() and np.any(z[bound] > 0):
            z = np.where(bound, 0.0, z)
            r = z.T @ z - q
            f0, g = float(np.sum(r * r)), z @ r
        ii, tt = np.nonzero(~bound)
        zz = z @ z.T
        jtj = 2.0 * ((tt[:, None] == tt[None, :]) * zz[ii[:, None], ii[None, :]]
                     + z[ii[:, None], tt[None, :]] * z[ii[None, :], tt[:, None]])
        scale, diag = float(np.trace(jtj)) / ii.size, np.diag(jtj).copy()
        while damping < 1e8:
            np.fill_diagonal(jtj, diag + damping * scale)
            step = cho_solve(cho_factor(jtj), -2.0 * g[ii, tt])
            cand = z.copy()
            cand[ii, tt] += step
            cand = np.maximum(cand, 0.0)
            if float(np.sum((cand.T @ cand - q) ** 2)) < f0:
                damping = max(damping / 10.0, 1e-15)
                break
            damping *= 10.0
        else:
            break
        z = cand
    return z


@pytest.mark.parametrize("n, t", [(4, 9), (12, 5), (30, 8), (6, 40)])
def test_gauss_newton_system_matches_the_dense_solve(n, t) -> None:
    """Every form solves ``(J_FᵀJ_F + λI) x = −J_Fᵀr`` to rounding, against the dense
    matrix, which is ``Δ ↦ 2(ZZᵀΔ + ZΔᵀZ)`` restricted to the free entries."""
    rng = np.random.default_rng(n + t)
    z = rng.uniform(0.0, 1.0, (n, t))
    free = rng.random((n, t)) > 0.2
    q0 = rng.uniform(0.0, 1.0, (n, t))
    r = z.T @ z - q0.T @ q0
    ii, tt = np.nonzero(free)
    dense = uq.gauss_newton_matrix(z, free)
    delta = np.where(free, rng.standard_normal((n, t)), 0.0)
    operator = 2.0 * (z @ z.T @ delta + z @ delta.T @ z)
    np.testing.assert_allclose(dense @ delta[ii, tt], operator[ii, tt], rtol=1e-12,
                               atol=1e-12 * np.abs(operator).max())
    for lam in (1e-4, 1.0):
        want = np.linalg.solve(dense + lam * np.eye(ii.size), -2.0 * (z @ r)[ii, tt])
        for form in ("primal", "dual", "bordered"):
            system = uq.GaussNewtonSystem(z, free, form)
            assert system.trace == pytest.approx(np.trace(dense), rel=1e-13)
            got = system.solve(r, lam)
            assert np.abs(got - want).max() <= 1e-9 * np.abs(want).max(), (form, lam)
            assert system.fallbacks == 0
    # all entries free: the bordered form is the closed-form inverse, refined
    full = np.ones_like(free)
    want = np.linalg.solve(uq.gauss_newton_matrix(z, full) + 1e-3 * np.eye(z.size),
                           -2.0 * (z @ r).ravel())
    got = uq.GaussNewtonSystem(z, full, "bordered").solve(r, 1e-3)
    assert np.abs(got - want).max() <= 1e-9 * np.abs(want).max()


@pytest.mark.parametrize("form", ["primal", "dual", "bordered", None])
@pytest.mark.parametrize("n, t", [(5, 12), (14, 6)])
def test_refit_reproduces_the_dense_refit(n, t, form) -> None:
    """The primal form is the old computation (same numbers to the last bit); the others
    follow the same iterates to rounding."""
    rng = np.random.default_rng(3 * n + t)
    z0 = rng.uniform(0.0, 1.0, (n, t)) * (rng.random((n, t)) > 0.3)
    q = z0.T @ z0
    start = np.maximum(z0 + 0.05 * rng.standard_normal((n, t)), 0.0)
    want = _dense_lm_refit(q, start, max_iter=6)
    got = uq.gauss_newton_refit(q, start, max_iter=6, form=form)
    if form == "primal":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8 * np.abs(want).max())


@pytest.mark.parametrize("form", ["primal", "dual", "bordered"])
def test_refit_converges_quadratically_to_a_planted_factorisation(form) -> None:
    """From 1e-2 off a planted unique ``Z ≥ 0`` (private stimuli, zeros kept), the refit
    recovers it: the first steps square the residual (Gauss–Newton at zero residual; the
    damping ``μ``, ÷10 per step, slows the later ones a little) and it is at rounding
    level within five steps."""
    rng = np.random.default_rng(11)
    t = 6
    z = np.hstack([np.diag(rng.uniform(0.5, 1.5, 4)), rng.uniform(0.2, 1.0, (4, t - 4))])
    q = z.T @ z
    start = np.where(z > 0, z + 1e-2 * rng.standard_normal(z.shape), 0.0)
    residuals = [uq.relative_residual(q, start)]
    for k in range(1, 9):
        residuals.append(uq.relative_residual(q, uq.gauss_newton_refit(q, start, max_iter=k,
                                                                        form=form)))
    assert max(residuals[5:]) <= 1e-14, residuals
    assert residuals[1] <= 10.0 * residuals[0] ** 2, residuals  # quadratic
    assert residuals[2] <= 10.0 * residuals[1] ** 2, residuals
    recovered = uq.gauss_newton_refit(q, start, form=form)
    assert uq.align(z, recovered).discrepancy < 1e-12
    assert np.all(recovered >= 0) and np.all(recovered[z == 0] <= 1e-12)


def test_many_extra_neurons_still_give_the_unique_planted_z() -> None:
    """Restarts with N ≫ cp-rank split neurons into near-parallel copies; the reference
    restart's copies are merged, so a unique Z is not reported non-unique."""
    rng = np.random.default_rng(6)
    z = np.hstack([np.diag(rng.uniform(0.5, 1.5, 3)), rng.uniform(0.0, 1.0, (3, 9))])
    emp = uq.empirical_test(z.T @ z, restarts=6, rng=rng, min_neurons=9)
    assert emp.best_residual < 1e-7
    assert emp.verdict == uq.UNIQUE, emp.max_discrepancy
    assert uq.align(z, emp.reference).discrepancy < 1e-3


def test_reference_with_a_slightly_split_neuron_is_merged_before_alignment() -> None:
    """A best restart holding one neuron as two copies 1e-4 apart in angle would leave a
    copy unmatched (discrepancy ≈ its norm); merged at 1e-3 it matches to O(1e-4)."""
    rng = np.random.default_rng(7)
    z = rng.uniform(0.0, 1.0, (3, 8))
    tilt = z[0] + 1e-4 * np.linalg.norm(z[0]) * rng.standard_normal(8) / np.sqrt(8)
    split = np.vstack([0.6 * z[0], 0.8 * tilt, z[1], z[2]])
    assert uq.align(split, z).discrepancy > 0.1
    merged = uq.merge_parallel_rows(split, prune_tol=0.0, angle_tol=1e-3)
    assert len(merged) == 3
    assert uq.align(merged, z).discrepancy < 1e-3


def test_alignment_is_invariant_to_permutation_and_splitting() -> None:
    rng = np.random.default_rng(5)
    z = rng.uniform(0.0, 1.0, (3, 8))
    split = np.vstack([z[2], 0.6 * z[0], 0.8 * z[0], z[1]])  # z_0 split into 0.6² + 0.8² = 1
    assert uq.align(z, split).discrepancy < 1e-12
    assert uq.align(z, z[::-1] + 0.01).discrepancy > 1e-3


def test_theorem1_optimum_is_unique_by_every_route() -> None:
    problem = random_problem(1, "grid_cut", "general")
    sol = solve_population(problem, PRECISE)
    inst = uq.theorem1_instance(problem, sol.directions, sol.weights)
    an = uq.analyse(inst, PRECISE, np.random.default_rng(0), restarts=6)
    assert an.optimality is not None and an.optimality.support_in_zero_set < 1e-6
    assert an.empirical.verdict == uq.UNIQUE
    assert an.predictions["optimality"] == uq.UNIQUE


def test_readout_arcs_exact_maximum_matches_a_fine_grid() -> None:
    rng = np.random.default_rng(6)
    w = rng.standard_normal((15, 2))
    theta = np.linspace(0, 2 * np.pi, 200001)
    grid = np.sum(np.maximum(w @ np.vstack([np.cos(theta), np.sin(theta)]), 0) ** 2, axis=0)
    exact = uq.readout_arcs(w).maximum
    assert grid.max() <= exact * (1 + 1e-12)
    assert exact - grid.max() < 1e-8 * exact


def test_centred_symmetric_sources_make_every_relu_zero_cost() -> None:
    """At c = 0 the zero set of the reduced cost is the whole circle of ReLUs (all arcs flat)."""
    _, y = uq.offset_decoding_data(5, 0.0, aspect=0.75)
    s = y - y.mean(axis=1, keepdims=True)
    w = s.T @ np.linalg.inv(np.linalg.cholesky(0.5 * s @ s.T)).T  # ‖relu(Wθ)‖² = 1 for all θ
    zero = uq.readout_zero_set(w, 1.0)
    assert zero.continuum and len(zero.families) == len(uq.readout_arcs(w).start)


@pytest.mark.slow
def test_offset_decoding_certified_and_large_offset_rotates() -> None:
    inst = uq.offset_instance(4, 3.0, QSPACE, aspect=0.75)
    assert inst.certified, inst.certificate
    assert inst.certificate["gap"] < 1e-6
    an = uq.analyse(inst, QSPACE, np.random.default_rng(0), restarts=6)
    assert an.empirical.verdict == uq.NON_UNIQUE
    assert an.predictions["optimality"] == uq.NON_UNIQUE


def test_an_uncertified_instance_keeps_its_reason_and_runs_no_restarts() -> None:
    """An optimum that is not certified (here: the snap to the zero set moved a tuning by
    0.364 > 1e-3) is recorded with the numbers that decide, and nothing else."""
    from convex_coding.pipeline.tuning_criteria_run import uncertified_record, verify_record

    inst = uq.Instance(name="offset", family="offset", q=np.eye(2), tunings=np.eye(2),
                       zero_set=None, certified=False,
                       certificate={"gap": -2.43e-08, "representation_error": 1.25e-09,
                                    "snap_distance": 0.364, "polished": False})
    rec = uncertified_record(inst)
    assert rec["uncertified_reason"] == ("optimum not certified: gap=-2.43e-08, "
                                         "representation_error=1.25e-09, snap_distance=0.364")
    assert rec["empirical"] == {"verdict": uq.UNCERTIFIED} and rec["certified"] is False
    verify_record(rec)


def test_one_converged_restart_against_the_certified_factorisation() -> None:
    """The certified tunings count as one exact factorisation: a single converged restart
    that differs from them shows non-uniqueness; one that matches is too few for unique."""
    rng = np.random.default_rng(2)
    z = rng.uniform(1.0, 2.0, (2, 6))  # no zeros: small rotations keep OZ ≥ 0
    q = z.T @ z
    emp = uq.empirical_test(q, restarts=1, rng=np.random.default_rng(0), certified=z)
    assert emp.n_converged == 1 and emp.best_residual <= 1e-7
    assert emp.max_discrepancy > 1e-2
    assert emp.verdict == uq.NON_UNIQUE
    # without the certified factorisation one restart decides nothing
    alone = uq.empirical_test(q, restarts=1, rng=np.random.default_rng(0))
    assert alone.verdict == uq.INCONCLUSIVE
    # a separable Z (unique): one converged restart matches it, which is not enough
    sep = np.hstack([np.eye(3), rng.uniform(0.0, 1.0, (3, 5))])
    one = uq.empirical_test(sep.T @ sep, restarts=1, rng=np.random.default_rng(0),
                            certified=sep)
    assert one.n_converged == 1 and one.max_discrepancy < 1e-6
    assert one.verdict == uq.INCONCLUSIVE


def test_rotation_constraints_match_the_definition_and_the_rank_decides_first() -> None:
    """Row (i, t) of A holds ∂(KZ)_it/∂k_pq for K = Σ k_pq (e_pe_qᵀ − e_qe_pᵀ); a null
    space (fewer zeros than pairs) decides *not rigid* without solving the LP."""
    import itertools

    rng = np.random.default_rng(5)
    for _ in range(20):
        n, t = int(rng.integers(2, 7)), int(rng.integers(3, 10))
        z = rng.uniform(0.1, 1.0, (n, t)) * (rng.uniform(size=(n, t)) < 0.6)
        zi, zt = np.nonzero(uq.zero_pattern(z))
        zs = z / np.abs(z).max()
        pairs = list(itertools.combinations(range(n), 2))
        want = np.array([[(zs[q, s] if i == p else 0.0) - (zs[p, s] if i == q else 0.0)
                          for p, q in pairs] for i, s in zip(zi, zt, strict=True)])
        assert np.array_equal(uq.rotation_constraints(z), want.reshape(len(zi), len(pairs)))
    z = np.array([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    res = uq.rigidity_lp(z, PRECISE)  # 2 zeros, 3 pairs: a rotation keeps both at zero
    assert not res.rigid and res.lineality >= 1 and res.lp_value is None


def test_showcase_tunings_are_drawn_over_1d_and_2d_stimuli(tmp_path) -> None:
    """Panels a-b draw tunings against the stimulus (maps in 2-D, curves in 1-D); a
    stimulus of higher dimension is refused with a message naming the setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from convex_coding.pipeline.figures.tuning_criteria import _tuning_maps

    rng = np.random.default_rng(0)
    for d in (1, 2, 3):
        z = rng.uniform(0.0, 1.0, (3, 9))
        record = {"tunings": z, "restarts": [z, z + 0.1], "stimuli": rng.normal(size=(d, 9)),
                  "empirical": {"n_converged": 2}}
        fig = plt.figure()
        if d == 3:
            with pytest.raises(ValueError, match=r"showcase\.tuning_criteria"):
                _tuning_maps(fig, fig.add_gridspec(1, 1)[0, 0], record, "x", "a")
        else:
            _tuning_maps(fig, fig.add_gridspec(1, 1)[0, 0], record, "x", "a")
            axes = [ax for ax in fig.axes if ax.get_xlabel()]
            assert {ax.get_xlabel() for ax in axes} == ({"stimulus $s$"} if d == 1
                                                         else {"$s_1$"})
            fig.savefig(tmp_path / f"d{d}.png")
        plt.close(fig)
