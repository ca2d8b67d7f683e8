"""The closed-form quantile functions equal scipy.stats' (same formulas, bit for bit)."""

import numpy as np
import pytest
from scipy import stats

from convex_coding import quantiles

U = np.concatenate([np.arange(1, 400) / 400, [1e-12, 1e-6, 0.5, 1 - 1e-6, 1 - 1e-12]])


@pytest.mark.parametrize("ours,theirs", [
    (quantiles.norm_ppf, stats.norm.ppf),
    (quantiles.laplace_ppf, stats.laplace.ppf),
    (quantiles.halfnorm_ppf, stats.halfnorm.ppf),
    (quantiles.expon_ppf, stats.expon.ppf),
    (lambda u: quantiles.gamma_ppf(u, 0.5), stats.gamma(0.5).ppf),
    (lambda u: quantiles.gamma_ppf(u, 2.0), stats.gamma(2.0).ppf),
    (lambda u: quantiles.lognorm_ppf(u, 0.5), stats.lognorm(0.5).ppf),
    (lambda u: quantiles.gennorm_ppf(u, 0.6), lambda u: stats.gennorm.ppf(u, 0.6)),
    (lambda u: quantiles.gennorm_ppf(u, 8.0), lambda u: stats.gennorm.ppf(u, 8.0)),
])
def test_quantiles_equal_scipy_stats(ours, theirs) -> None:
    np.testing.assert_array_equal(ours(U), theirs(U))


def test_normal_density_and_a_closed_form_quantile() -> None:
    x = np.linspace(-8, 8, 161)
    np.testing.assert_array_equal(quantiles.norm_pdf(x), stats.norm.pdf(x))
    # Laplace: F(x) = ½e^x below 0, so F⁻¹(e^{-3}/2) = −3 (to rounding)
    assert quantiles.laplace_ppf(np.array([0.5 * np.exp(-3.0)]))[0] == pytest.approx(-3.0,
                                                                                       abs=1e-14)
