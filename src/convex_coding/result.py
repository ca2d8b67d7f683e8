"""The answer of :meth:`convex_coding.Problem.solve`, and the checks that certify it.

:func:`certify` turns two bounds and a factorisation into a :class:`Result` whose
``status`` is ``"certified"`` only when every check passes (the module docstring of
:mod:`convex_coding.problem` states them); the conic route (:mod:`convex_coding.problem`)
and the first-order route (:mod:`convex_coding.first_order`) both end here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .pricing import PricingResult

__all__ = ["Result", "certify", "failed", "psd_result"]


@dataclass(frozen=True)
class Result:
    """One answer with its certificate.

    ``Q`` is the attained similarity (the dictionary's ``Q_in``; ``psd``: the PSD
    optimum), ``Z`` its factor (neurons × T; nonnegative except for ``psd``),
    ``lower``/``upper`` the DNN and dictionary values (NaN when not computed), ``gap``
    their relative difference, ``min_reduced_cost`` the most negative ``yᵀGy`` pricing
    found at the final ``Q`` (unit ``y``; a heuristic search, see
    :mod:`convex_coding.pricing`), ``residual`` ``‖ZᵀZ − Q‖/‖Q‖``, ``value_error`` the
    relative difference between the NumPy objective at ``Q`` and the solver's value.
    """

    status: str
    Q: np.ndarray
    Z: np.ndarray
    lower: float
    upper: float
    gap: float
    min_reduced_cost: float
    residual: float
    value_error: float
    outer_Q: np.ndarray | None = None
    rounds: int = 0
    pricing_exact: bool = False
    checks: dict[str, float] = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        return self.status == "certified"


def failed(reason: str, size: int, lower: float = float("nan")) -> Result:
    nan = float("nan")
    return Result(reason, np.full((size, size), nan), np.zeros((0, size)), lower, nan, nan,
                  nan, nan, nan)


def psd_result(objective: Callable[[np.ndarray], float], q: np.ndarray,
               value: float) -> Result:
    """The PSD-only answer: ``Z = Q^{1/2}``; ``objective`` is the problem's ``value``."""
    w, v = np.linalg.eigh(q)
    z = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # Q^{1/2}: one of many factors
    residual = float(np.linalg.norm(z.T @ z - q) / max(np.linalg.norm(q), 1e-300))
    err = abs(objective(q) - value) / max(abs(value), 1e-300)
    status = "certified"
    if err > 1e-6:
        status = f"uncertified: objective at Q differs from the solver's by {err:.2e}"
    elif residual > 1e-9:
        status = f"uncertified: factorisation residual {residual:.2e} > 1e-9"
    return Result(status, q, z, value, value, 0.0, float("nan"), residual, err, outer_Q=q,
                  checks={"value_error": err, "residual": residual})


def certify(objective: Callable[[np.ndarray], float], q: np.ndarray, z: np.ndarray,
            lower: float, upper: float, pricing: PricingResult, outer_q: np.ndarray | None,
            rounds: int, *, gap_tol: float, value_tol: float) -> Result:
    """The bounds and the factorisation ``Z`` of ``Q`` as a :class:`Result`: certified
    iff the gap, the residual and ``objective(Q)`` against ``upper`` all pass."""
    residual = float(np.linalg.norm(z.T @ z - q) / max(np.linalg.norm(q), 1e-300))
    err = abs(objective(q) - upper) / max(abs(upper), 1e-300)
    gap = (upper - lower) / max(abs(upper), 1e-300) if np.isfinite(lower) else float("nan")
    checks = {"gap": gap, "residual": residual, "value_error": err,
              "min_reduced_cost": pricing.minimum, "negative_entries": float(-min(z.min(
                  initial=0.0), 0.0))}
    if not np.isfinite(lower):
        status = "uncertified: inner bound only (no DNN bound computed)"
    elif not gap <= gap_tol:
        status = (f"uncertified: gap {gap:.2e} > {gap_tol:.0e} (pricing's most negative "
                  f"reduced cost {pricing.minimum:.2e}; the DNN bound may be loose)")
    elif residual > 1e-9:
        status = f"uncertified: factorisation residual {residual:.2e} > 1e-9"
    elif not err <= value_tol:
        status = f"uncertified: objective at Z differs from the solver's by {err:.2e}"
    else:
        status = "certified"
    return Result(status, q, z, lower, upper, gap, pricing.minimum, residual, err,
                  outer_Q=outer_q, rounds=rounds, pricing_exact=pricing.exact, checks=checks)
