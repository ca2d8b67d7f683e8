"""Tight-scattering test (convex_coding.scattering) and the populations it is run on."""

from __future__ import annotations

import numpy as np
import pytest

from convex_coding import populations as P
from convex_coding.scattering import (
    FAILS,
    HOLDS,
    cone_extreme_rays,
    hull_facets,
    tight_scattering,
)


def test_raised_cosine_closed_form():
    u = np.array([-1.0, -0.25, 0.0, 0.25, 0.5, 0.6])
    assert np.allclose(P.raised_cosine(u, 0.5), [0.0, 0.5, 1.0, 0.5, 0.0, 0.0])


def test_separated_supports_are_disjoint_and_overlap_is_not():
    _, z = P.place_population(6, 0.45, 140)
    assert (z > 0).sum(axis=0).max() == 1
    _, z = P.place_population(6, 0.8, 140)
    assert (z > 0).sum(axis=0).max() == 2


def test_integer_ratio_nests_coarse_fields_in_fine_ones():
    _, z = P.grid_population(2.0, n_periods=6, n_phases=3, half_width=0.12, n_positions=300)
    fine, coarse = z[:3] > 0, z[3:] > 0
    # coarse phases 0, 2/3, 4/3 are fine phases 0, 2/3, 1/3 modulo P1 = 1
    for k, j in [(0, 0), (1, 2), (2, 1)]:
        assert np.all(fine[j][coarse[k]])
    _, z = P.grid_population(2.5, n_periods=6, n_phases=3, half_width=0.12, n_positions=300)
    fine, coarse = z[:3] > 0, z[3:] > 0
    assert not any(np.all(fine[j][coarse[k]]) for j in range(3) for k in range(3))


def test_cone_extreme_rays_of_a_triangle_cone():
    z = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    rays = cone_extreme_rays(z)
    expected = np.array([[1, 1, -1], [1, -1, 1], [-1, 1, 1]]) / np.sqrt(3)
    assert rays is not None and len(rays) == 3
    assert np.allclose(np.sort(rays, axis=0), np.sort(expected, axis=0), atol=1e-9)
    assert np.all(rays @ z >= -1e-12)


def test_lower_dimensional_hull_fails_with_reason():
    # r = 3: the three coarse phases are all fine phase 0 modulo P1, so Σ coarse = fine_0
    _, z = P.grid_population(3.0, n_periods=4, n_phases=3, half_width=0.12, n_positions=240)
    assert np.allclose(z[3:].sum(axis=0), z[0])
    s = tight_scattering(z)
    assert s.verdict == FAILS and "dimension 5 < N = 6" in s.reason


def test_separated_place_cells_hold_with_a_certified_ellipsoid():
    _, z = P.place_population(6, 0.3, 140)
    facets = hull_facets(z)
    assert len(facets.offsets) == 7  # y_j ≥ 0 and one face opposite the origin
    mu = z.mean(axis=1)
    # the diagonal F = μ² (a ball in D⁻¹ coordinates) fits iff Σμ + ‖μ‖ ≤ h√N
    peak = z.max(axis=1)
    assert np.allclose(peak, peak[0])
    assert mu.sum() + np.linalg.norm(mu) < peak[0]
    s = tight_scattering(z)
    assert s.verdict == HOLDS and s.scaling > 1.0 and s.roundness > 0.5
    assert np.allclose(np.diag(s.f), mu**2, rtol=1e-12)
    assert np.linalg.eigvalsh(s.f)[0] > 0


def test_nested_broad_fields_fail_on_the_broad_cells():
    # cells 1 and 4 are broad (half-width 2.5) and cover their neighbours' fields: where a
    # broad cell is silent only far-away cells fire, so {y_j = 0} is not a facet for it
    _, z = P.place_population(6, 1.0, 120, broad_every=3)
    assert np.allclose(z.max(axis=1), 1.0, atol=2e-3)
    s = tight_scattering(z)
    assert s.verdict == FAILS and "y_j = 0 for j = [1, 4]" in s.reason


def test_gaussian_fields_never_touch_the_coordinate_planes():
    _, z = P.place_population(4, 1.0, 60, shape="gaussian")
    assert z.min() > 1e-4  # σ = spacing: far tails stay well above the zero tolerance
    s = tight_scattering(z)
    assert s.verdict == FAILS and s.coordinate_facets == 0


@pytest.mark.parametrize("ratio", [np.sqrt(2), 2.5])
def test_non_integer_grid_ratio_holds(ratio):
    _, z = P.grid_population(ratio, n_periods=8, n_phases=3, half_width=0.12, n_positions=300)
    s = tight_scattering(z)
    assert s.verdict == HOLDS and s.scaling > 1.5


def test_negative_input_is_rejected():
    with pytest.raises(ValueError, match="Z >= 0"):
        tight_scattering(-np.eye(3))
