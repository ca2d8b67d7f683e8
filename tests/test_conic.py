"""Standard-form cone programs: svec algebra, closed-form optima, every backend, failures."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import PRECISE, random_problem

from convex_coding.conic import ConeProgram, psd_block, smat, solve_cone_program, svec
from convex_coding.identifiability import population_loss, solve_population
from convex_coding.solvers import SolverError, SolverSettings

SCS = SolverSettings("SCS", {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000})


def _random_symmetric(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, n))
    return x + x.T


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_svec_is_an_isometry_and_smat_inverts_it(n: int) -> None:
    rng = np.random.default_rng(n)
    x, y = _random_symmetric(rng, n), _random_symmetric(rng, n)
    assert svec(x) @ svec(y) == pytest.approx(np.trace(x @ y), rel=1e-12)
    assert np.allclose(smat(svec(x)), x, rtol=0, atol=1e-14)
    # Clarabel's order: upper triangle column by column
    if n == 3:
        s2 = np.sqrt(2)
        assert np.allclose(svec(x), [x[0, 0], s2 * x[0, 1], x[1, 1], s2 * x[0, 2],
                                     s2 * x[1, 2], x[2, 2]])


def _min_eigenvalue_program(c_mat: np.ndarray) -> ConeProgram:
    """min Tr(CX) s.t. Tr X = 1, X ⪰ 0, over x = svec X: the optimum is λ_min(C)."""
    n = c_mat.shape[0]
    m = n * (n + 1) // 2
    eye_row = svec(np.eye(n))[None]
    a_psd, b_psd = psd_block(np.stack([smat(e) for e in np.eye(m)], axis=2))
    a = sp.vstack([sp.csc_matrix(eye_row), a_psd]).tocsc()
    return ConeProgram(c=svec(c_mat), a=a, b=np.concatenate([[1.0], b_psd]), n_zero=1,
                       psd_dims=(n,))


@pytest.mark.parametrize("settings", [PRECISE, SCS], ids=["clarabel-direct", "scs-via-cvxpy"])
def test_min_eigenvalue_sdp_closed_form(settings: SolverSettings) -> None:
    rng = np.random.default_rng(0)
    c_mat = _random_symmetric(rng, 4)
    sol = solve_cone_program(_min_eigenvalue_program(c_mat), settings)
    lam, vec = np.linalg.eigh(c_mat)
    assert sol.status == "optimal"
    assert sol.value == pytest.approx(lam[0], abs=1e-6)
    assert np.allclose(smat(sol.x), np.outer(vec[:, 0], vec[:, 0]), atol=1e-4)
    # the dual: c + Aᵀz = 0, −bᵀz = value, and the PSD part of z is PSD
    prog = _min_eigenvalue_program(c_mat)
    assert np.allclose(prog.c + prog.a.T @ sol.z, 0.0, atol=1e-6)
    assert -prog.b @ sol.z == pytest.approx(sol.value, abs=1e-6)
    assert np.linalg.eigvalsh(smat(sol.z[1:]))[0] >= -1e-6


def test_fan_program_gives_the_same_optimum_with_every_backend() -> None:
    """The reduced Theorem 1 program solved by Clarabel directly and by SCS through cvxpy
    (the same cone program rebuilt as a cvxpy problem) certifies the same optimum."""
    p = random_problem(2, "uniform", "general")
    direct = solve_population(p, PRECISE)
    other = solve_population(p, SCS)
    assert direct.loss == pytest.approx(other.loss, rel=1e-7)
    assert direct.certificate_violation <= 1e-6 and other.certificate_violation <= 1e-6
    assert direct.loss == pytest.approx(population_loss(p, direct.directions, direct.weights))


@pytest.mark.parametrize("settings", [PRECISE, SCS], ids=["clarabel-direct", "scs-via-cvxpy"])
def test_lp_duals_follow_one_convention(settings: SolverSettings) -> None:
    """min x₁ + 2x₂ s.t. x₁ + x₂ = 1, x ≥ 0: x = (1, 0), value 1, z = (−1; 0, 1)."""
    prog = ConeProgram(c=np.array([1.0, 2.0]),
                       a=sp.csc_matrix(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])),
                       b=np.array([1.0, 0.0, 0.0]), n_zero=1, n_nonneg=2)
    sol = solve_cone_program(prog, settings)
    assert np.allclose(sol.x, [1.0, 0.0], atol=1e-6)
    assert np.allclose(sol.z, [-1.0, 0.0, 1.0], atol=1e-6)


def test_infeasible_program_is_an_error_not_a_result() -> None:
    # x ≥ 1 and x ≤ 0
    prog = ConeProgram(c=np.array([1.0]), a=sp.csc_matrix(np.array([[-1.0], [1.0]])),
                       b=np.array([-1.0, 0.0]), n_nonneg=2)
    with pytest.raises(SolverError, match="Infeasible"):
        solve_cone_program(prog, PRECISE)


def test_unknown_clarabel_option_names_the_key() -> None:
    prog = ConeProgram(c=np.array([1.0]), a=sp.csc_matrix(np.array([[-1.0]])),
                       b=np.zeros(1), n_nonneg=1)
    with pytest.raises(SolverError, match="tol_gap_absolute"):
        solve_cone_program(prog, SolverSettings("CLARABEL", {"tol_gap_absolute": 1e-9}))


def test_inconsistent_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="cones need 3 rows"):
        ConeProgram(c=np.ones(2), a=sp.csc_matrix((2, 2)), b=np.zeros(2), psd_dims=(2,))
