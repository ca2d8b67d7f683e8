r"""Theorem 3: dense codes split a variable into ON and OFF channels, sparse codes do not.

One scalar stimulus with centred samples ``x ∈ R^T`` is encoded by nonnegative neurons of
any tuning shape whose Treves–Rolls lifetime density ``a(y) = (Σ_t y_t)² / (T Σ_t y_t²)``
is at most ``ρ`` (a constraint on **each** neuron), and decoded linearly:

    minimise  f(Q) = Tr(Q)/T + λ Tr(x Q⁺ xᵀ)   over  Q ∈ K_ρ = cone{ y yᵀ : y ≥ 0, a(y) ≤ ρ }.

``K_ρ`` is a convex cone (the conic hull of a scale-invariant set), so the problem is
convex.  ``a(y) ≥ 1/T`` for every ``y ≥ 0``, so ``ρ ≥ 1/T`` is needed for feasibility.

**Smallest conic program (atomic norm).**  Write ``Q = Σ_k c_k ŷ_k ŷ_kᵀ`` with unit
tunings ``ŷ_k`` and the readout as ``x = Σ_k v_k ŷ_k``.  The scalar matrix-fractional term
is ``Tr(xQ⁺xᵀ) = min Σ_k v_k²/c_k``; minimising over ``c_k`` (``c_k = √(λT)|v_k|``) gives

    f* = 2 √(λ/T) · ‖x‖_ρ,      ‖x‖_ρ = min { Σ_k |v_k| : x = Σ_k v_k ŷ_k,  a(ŷ_k) ≤ ρ },

the atomic norm of ``x`` over unit tunings of density ≤ ρ.  ``λ`` only scales the cost;
the optimal tunings do not depend on it.  On a dictionary this is a linear program
(:func:`solve_dictionary`), an inner (upper) bound; the neurons' energies are
``‖z_k‖² = c_k ∝ |v_k|``.

**Closed form (ours; checked numerically).**  For ``ρT ≥ 1`` the convex hull of the
unit tunings and 0 is ``C = {y ≥ 0, ‖y‖ ≤ 1, 1ᵀy ≤ √(ρT)}`` (its extreme points are 0
and unit tunings), whose gauge on ``u ≥ 0`` is ``γ(u) = max(‖u‖, 1ᵀu/√(ρT))``; ``γ`` is
monotone, so the best split ``x = u − w`` (``u, w ≥ 0``) is ``x₊ − x₋`` and

    ‖x‖_ρ = γ(x₊) + γ(x₋) = Σ_± max( ‖x_±‖, 1ᵀx_± / √(ρT) ).

For symmetric ``x`` both ramps ``x_± = relu(±x)`` have density
``ρ* = (E|x|)² / (2E[x²])``, hence ``f*(ρ) = 2√λ · E|x| / √min(ρ, ρ*)``: above ``ρ*`` the
optimum is the ON/OFF pair (unique), below it every neuron of every optimum has density
exactly ``ρ`` and responds to one sign of ``x`` only, and the optimum is **not unique**
(any decomposition of ``x₊`` and ``x₋`` into such tunings is optimal).
:func:`canonical_code` picks a principled representative of that face: the most
localised optimal code (smallest energy-weighted tuning width, a second LP over the
certified face).

**Certificate.**  A dual vector ``g`` with ``|gᵀŷ| ≤ 1`` for all feasible atoms gives
the lower bound ``‖x‖_ρ ≥ gᵀx``.  At an optimum ``Q*`` (``Q* g = √(λT)·x`` by
complementary slackness) ``G = I/T − λ Q⁺xxᵀQ⁺ = (I − g gᵀ)/T`` is a gradient of ``f``,
and the **relative reduced cost** of a unit tuning is ``T·ŷᵀGŷ = 1 − (gᵀŷ)²`` (the
activity cost of a unit tuning is ``1/T``; we report the reduced cost in units of it).
:func:`price` searches for improving atoms three ways: exact water-filling (the maximiser
of ``gᵀy`` over unit tunings of density ≤ ρ is ``relu(g − ν)/‖·‖`` for the smallest
``ν ≥ 0`` giving ``a ≤ ρ``; the maximum itself is computed robustly from the 1-D dual
``min_ν ‖relu(g − ν)‖ + ν√(ρT)``), projected gradient on the Rayleigh quotient
``yᵀGy/‖y‖²`` from many starts (:func:`projected_gradient_pricing`, generic ``G``), and a
dictionary on a 4× finer grid.

**Outer bound.**  Replacing the per-neuron constraint by its population average
``1ᵀQ1 ≤ ρ T Tr Q`` and ``CP`` by doubly nonnegative ``Q`` gives a lower bound
(:func:`outer_bound`), solved exactly in the symmetry-reduced form of
:func:`outer_bound_symmetric` when ``x`` is symmetric.  Its value equals ``f*`` for every
``ρ`` (dual certificates ``μ = 1/(ρT²)``, ``g ∝ sign x`` below ``ρ*``: ``11ᵀ − ssᵀ ≥ 0``
entrywise; ``μ = 0``, ``g ∝ ŷ₊ − ŷ₋`` above), although its optimal ``Q`` need not lie in
``K_ρ``.  :func:`outer_certificate` evaluates exactly these certificates (one eigenvalue
of a ``T × T`` matrix checks ``P ⪰ 0``; ``N ≥ 0`` holds by construction): a rigorous
lower bound on the relaxation, used instead of a conic solve whenever it is within the
value tolerance of the inner value (the relaxation's value lies between the two).
"""

from __future__ import annotations

from .analysis import (
    OnOffAnalysis,
    Threshold,
    analyse,
    measured_threshold,
)
from .bounds import (
    outer_bound,
    outer_bound_symmetric,
    outer_certificate,
)
from .norm import (
    closed_form_dual,
    closed_form_norm,
    cost,
    exact_norm,
    gauge,
    on_off_pair,
)
from .pricing import (
    Pricing,
    best_atoms,
    feasible_atoms,
    price,
    projected_gradient_pricing,
    purify,
    ramps_and_tents,
    rayleigh,
    solve_dictionary,
    split_atoms,
    support_value,
)
from .solve import (
    OnOffSolution,
    canonical_code,
    density_tents,
    dictionary_readout,
    q_space_cost,
    solve_on_off,
    tuning_spread,
)
from .stimuli import (
    STIMULUS_KINDS,
    STIMULUS_PARAMS,
    is_symmetric,
    lifetime_density,
    predicted_threshold,
    quantile_samples,
    stimulus_samples,
)

__all__ = [
    "STIMULUS_KINDS",
    "STIMULUS_PARAMS",
    "OnOffAnalysis",
    "OnOffSolution",
    "Pricing",
    "Threshold",
    "analyse",
    "best_atoms",
    "canonical_code",
    "closed_form_dual",
    "closed_form_norm",
    "cost",
    "density_tents",
    "dictionary_readout",
    "exact_norm",
    "feasible_atoms",
    "gauge",
    "is_symmetric",
    "lifetime_density",
    "measured_threshold",
    "on_off_pair",
    "outer_bound",
    "outer_bound_symmetric",
    "outer_certificate",
    "predicted_threshold",
    "price",
    "projected_gradient_pricing",
    "purify",
    "q_space_cost",
    "quantile_samples",
    "ramps_and_tents",
    "rayleigh",
    "solve_dictionary",
    "solve_on_off",
    "split_atoms",
    "stimulus_samples",
    "support_value",
    "tuning_spread",
]
