r"""Theorem 1: identifiability of an energy-efficient semi-NMF.

The nonnegative affine autoencoder ``z_t = W x_t + b ≥ 0``, ``x_t = R z_t + c`` with
data ``x_t = A s_t`` and cost ``L = (1/T)Σ‖z_t‖² + λ_W‖W‖² + λ_R‖R‖²`` reduces to a
convex problem over a nonnegative measure ``μ`` on unit directions ``ω`` of source
space (one neuron per atom, ``u_i = √μ_i ω_i`` its source-space weight):

    L(μ) = Σ_i μ_i c(ω_i) + λ_R Tr(Σ_A H⁻¹),   H = Σ_i μ_i ω_i ω_iᵀ,
    c(ω) = ωᵀ(Σ_s + λ_W Σ_A⁻¹)ω + m(ω)²,       m(ω) = max(0, −min_t ω·s̃_t).

Its first-order condition is the reduced cost ``r(ω) = m(ω)² − ωᵀΛ(H)ω ≥ 0`` with
``Λ(H) = λ_R H⁻¹Σ_A H⁻¹ − Σ_s − λ_W Σ_A⁻¹`` and equality on the support.  The modular
code is optimal iff ``φ(ω) = m(ω)² − ωᵀΛω ≥ 0`` at its own ``Λ`` (the theorem), and the
unique optimum iff equality holds only on its axes.

Everything here is pure: arrays in, dataclasses out.
"""

from __future__ import annotations

from .polish import (
    Modularity,
    modularity,
    polish_population,
    refine_interior_neurons,
)
from .problem import (
    AutoencoderProblem,
    LinearPieces,
    bias_requirement,
    lambda_matrix,
    linear_pieces,
    neuron_costs,
    population_loss,
    population_matrix,
    reduced_cost,
    unique_directions,
)
from .qspace import (
    QSpaceBounds,
    affine_atoms,
    qspace_bounds,
    qspace_inner_bound,
    qspace_outer_bound,
)
from .solve import (
    PopulationSolution,
    solve_population,
)
from .theory import (
    DirectionalMinimum,
    ModularCode,
    TheoryVerdict,
    circle_directions,
    direction_grid,
    ellipsoid_facet_test,
    fibonacci_sphere,
    grid_minimum,
    minimise_reduced_cost,
    modular_code,
    theory_verdict,
)
from .weights import (
    conic_weights,
    optimal_weights,
)

__all__ = [
    "AutoencoderProblem",
    "DirectionalMinimum",
    "LinearPieces",
    "ModularCode",
    "Modularity",
    "PopulationSolution",
    "QSpaceBounds",
    "TheoryVerdict",
    "affine_atoms",
    "bias_requirement",
    "circle_directions",
    "conic_weights",
    "direction_grid",
    "ellipsoid_facet_test",
    "fibonacci_sphere",
    "grid_minimum",
    "lambda_matrix",
    "linear_pieces",
    "minimise_reduced_cost",
    "modular_code",
    "modularity",
    "neuron_costs",
    "optimal_weights",
    "polish_population",
    "population_loss",
    "population_matrix",
    "qspace_bounds",
    "qspace_inner_bound",
    "qspace_outer_bound",
    "reduced_cost",
    "refine_interior_neurons",
    "solve_population",
    "theory_verdict",
    "unique_directions",
]
