"""Nonnegative rotation search (convex_coding.rotations)."""

from __future__ import annotations

import numpy as np

from convex_coding import populations as P
from convex_coding.rotations import (
    _objective,
    cayley,
    nearest_permutation,
    rigidity_directions,
    search_rotation,
    verify,
)


def test_cayley_is_orthogonal_and_permutation_is_nearest():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    o = cayley(a - a.T)
    assert np.linalg.norm(o.T @ o - np.eye(5)) < 1e-13
    p = np.eye(4)[[2, 0, 3, 1]]
    assert np.array_equal(nearest_permutation(p + 0.1 * rng.standard_normal((4, 4))), p)


def test_objective_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    z = np.abs(rng.standard_normal((4, 30)))
    o0 = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    fun = _objective(z, o0, 1e-2, 0.5)
    x = 0.1 * rng.standard_normal(6)
    _, g = fun(x)
    h = 1e-6
    num = np.array([(fun(x + h * e)[0] - fun(x - h * e)[0]) / (2 * h) for e in np.eye(6)])
    assert np.allclose(g, num, rtol=1e-5, atol=1e-8)


def test_nested_pair_rotates():
    # supp z_2 ⊂ supp z_1: rotating by θ with tan θ ≤ min z_1/z_2 on supp z_2 keeps OZ ≥ 0
    z = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 0.0]])
    r = search_rotation(z, np.random.default_rng(0), restarts=5)
    assert r.found and r.min_oz >= -1e-10 and r.orthogonality < 1e-12 and r.gram_error < 1e-10
    assert r.distance >= 1e-3
    assert rigidity_directions(z)  # first-order flexible


def test_private_positions_are_rigid():
    _, z = P.place_population(5, 0.3, 100)
    assert rigidity_directions(z) == []
    r = search_rotation(z, np.random.default_rng(0), restarts=6)
    assert not r.found and r.distance < 1e-6


def test_gaussian_fields_admit_a_small_rotation():
    _, z = P.place_population(4, 1.0, 60, shape="gaussian")
    r = search_rotation(z, np.random.default_rng(0), restarts=4)
    _, min_oz, gram, dist = verify(z, r.o)
    assert r.found and min_oz >= -1e-10 and gram < 1e-10 and dist >= 1e-3


def test_integer_grid_ratio_rotates_and_non_integer_does_not():
    _, z = P.grid_population(2.0, n_periods=6, n_phases=3, half_width=0.12, n_positions=240)
    assert search_rotation(z, np.random.default_rng(0), restarts=4).found
    _, z = P.grid_population(2.5, n_periods=6, n_phases=3, half_width=0.12, n_positions=240)
    assert not search_rotation(z, np.random.default_rng(0), restarts=6).found
