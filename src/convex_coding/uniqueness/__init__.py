r"""Theorem 2: when does the optimal similarity matrix ``Q*`` fix the tuning curves?

Given ``Q* = ZᵀZ`` with ``Z ≥ 0`` (rows are tuning curves), the question is whether every
nonnegative factorisation of ``Q*`` equals ``Z`` up to permuting neurons and splitting a
neuron into scaled copies.  Without nonnegativity any ``OZ`` (``O`` orthogonal) works.

This module is pure (arrays in, dataclasses out).  It provides

* the **empirical test**: random-restart nonnegative symmetric factorisations
  ``min_{Z ≥ 0} ¼‖ZᵀZ − Q‖²_F`` (projected quasi-Newton, then pruning of tiny neurons,
  merging of parallel copies and a Gauss–Newton refit), aligned across restarts by
  cosine similarity and Hungarian matching, with a discrepancy score;
* the **criteria**: the optimality route (exact: every tuning of every optimal
  factorisation is a zero of the reduced cost *and* lies in ``range Q*``; the
  decomposition over those atoms is unique iff an LP says so), pairwise non-nesting
  (necessary; sufficient for two neurons), first-order rigidity (one LP), and the
  sufficiently-scattered test (sufficient, small ``N``);
* the **instances**: Theorem 1 optima, linear decoding of two sources with an offset
  ``c`` (solved in ``Q``-space with a DNN outer bound and a dictionary inner bound,
  certified by an exact copositive dual bound), the Theorem 3 (ON/OFF) optima, and the
  PSD-only contrasts.

Zero sets are stored as *isolated atoms* and *linear families*
``{B α : C α ≥ 0}`` (all zero sets met here are unions of such pieces: on a linear
piece of the bias ``m`` for Theorem 1, on an arc of fixed sign pattern for the
linear readout).
"""

from __future__ import annotations

from .analysis import (
    CRITERIA,
    Analysis,
    agreement,
    analyse,
)
from .criteria import (
    OptimalityRoute,
    Rigidity,
    decomposition_unique,
    non_nesting,
    optimality_route,
    rigidity_lp,
    rotation_constraints,
    sufficiently_scattered,
    zero_pattern,
)
from .decoding import (
    DecodingSolution,
    copositive_dual_bound,
    offset_decoding_data,
    polish_decoding,
    solve_linear_decoding,
    span_dictionary,
)
from .factorisation import (
    INCONCLUSIVE,
    NON_UNIQUE,
    UNCERTIFIED,
    UNIQUE,
    Alignment,
    EmpiricalTest,
    Factorisation,
    align,
    empirical_test,
    factorise,
    max_neurons,
    merge_parallel_rows,
    numerical_rank,
    random_restarts,
    relative_residual,
)
from .gauss_newton import GaussNewtonSystem, gauss_newton_matrix, gauss_newton_refit
from .instances import (
    Instance,
    offset_instance,
    offset_psd_instance,
    on_off_instance,
    snap_to_zero_set,
    theorem1_instance,
    theorem1_psd_instance,
)
from .zero_sets import (
    LinearFamily,
    ReadoutArcs,
    ZeroSet,
    readout_arcs,
    readout_zero_set,
    restrict_to_range,
    sample_family,
    theorem1_zero_set,
)

__all__ = [
    "CRITERIA",
    "INCONCLUSIVE",
    "NON_UNIQUE",
    "UNCERTIFIED",
    "UNIQUE",
    "Alignment",
    "Analysis",
    "DecodingSolution",
    "EmpiricalTest",
    "Factorisation",
    "GaussNewtonSystem",
    "Instance",
    "LinearFamily",
    "OptimalityRoute",
    "ReadoutArcs",
    "Rigidity",
    "ZeroSet",
    "agreement",
    "align",
    "analyse",
    "copositive_dual_bound",
    "decomposition_unique",
    "empirical_test",
    "factorise",
    "gauss_newton_matrix",
    "gauss_newton_refit",
    "max_neurons",
    "merge_parallel_rows",
    "non_nesting",
    "numerical_rank",
    "offset_decoding_data",
    "offset_instance",
    "offset_psd_instance",
    "on_off_instance",
    "optimality_route",
    "polish_decoding",
    "random_restarts",
    "readout_arcs",
    "readout_zero_set",
    "relative_residual",
    "restrict_to_range",
    "rigidity_lp",
    "rotation_constraints",
    "sample_family",
    "snap_to_zero_set",
    "solve_linear_decoding",
    "span_dictionary",
    "sufficiently_scattered",
    "theorem1_instance",
    "theorem1_psd_instance",
    "theorem1_zero_set",
    "zero_pattern",
]
