"""(c) Semi-NMF = Theorem 1's autoencoder through the generic path, against the exact solver.

z_t = W x_t + b ≥ 0, x_t = R z_t + c, x = A s.  In Q: (1/T) Tr Q + λ_W Tr((X̃ᵀX̃)⁺Q)
+ λ_R Tr(X̃ (PQP)⁺ X̃ᵀ) with range Q ⊆ row [S; 1ᵀ], Q ∈ CP_T.
"""

import numpy as np

import convex_coding as cc
from convex_coding.identifiability import AutoencoderProblem, solve_population
from convex_coding.sources import make_mixing, make_sources

worst = 0.0
for seed in range(10):
    rng = np.random.default_rng(seed)
    kind = ("grid", "grid_cut")[seed % 2]
    s = make_sources(kind, 2, rng, points_per_axis=5, n_points=30, scale_spread=0.3,
                     cut_depth=(0.3, 1.2))
    a = make_mixing("general", 2, 4, rng, max_correlation=0.6, gain_spread=0.3)
    x, T = a @ s, s.shape[1]
    problem = cc.Problem(size=T, objective=[
        cc.activity_energy(weight=1 / T), cc.weight_energy(x, weight=0.1),
        cc.readout_energy(x, bias=True, weight=0.1)], constraints=[cc.affine_range(s)])
    result = problem.solve()
    exact = solve_population(AutoencoderProblem(s, a, 0.1, 0.1), cc.PRECISE).loss
    rel = abs(result.upper - exact) / exact
    worst = max(worst, rel)
    print(f"{kind:8s} T={T:2d} upper−exact {rel:.1e} gap {result.gap:.1e} {result.status[:40]}")
    assert rel <= 1e-7 and result.lower <= exact * (1 + 1e-8) and result.residual < 1e-9
print(f"worst relative difference from the exact solver: {worst:.1e}")
