"""(a) Nonnegative similarity matching on a ring: min ‖XᵀX − Q‖_F² over Q ∈ CP_T.

Known behaviour (nonnegative similarity matching of a ring manifold): the optimal
neurons have localised receptive fields that tile the ring.  We check that each optimal
tuning is a bump: it is zero on more than half of the ring and its support is one arc.
"""

import numpy as np

import convex_coding as cc

T = 12
theta = 2 * np.pi * np.arange(T) / T
x = np.vstack([np.cos(theta), np.sin(theta)])  # stimuli on a ring
problem = cc.Problem(size=T, objective=[cc.similarity_matching(x.T @ x)])
result = problem.solve()
print(result.status, f"lower={result.lower:.8f} upper={result.upper:.8f} gap={result.gap:.1e}")
# T > 4: the DNN cone is larger than CP_T and its bound is loose here; pricing finds no
# improving tuning, so the dictionary optimum is very likely exact, but not certified
assert result.gap <= 1e-3 and result.min_reduced_cost > -1e-8 and result.residual < 1e-9

z = result.Z[result.Z.max(axis=1) > 1e-3 * result.Z.max()]  # neurons with visible weight
active = z > 1e-6 * z.max(axis=1, keepdims=True)
fraction = active.mean(axis=1)
arcs = np.sum(active & ~np.roll(active, 1, axis=1), axis=1)  # number of active arcs
print(f"{len(z)} neurons; active fraction max {fraction.max():.2f}; arcs per neuron {set(arcs)}")
assert fraction.max() < 0.5 and np.all(arcs == 1)  # localised: one arc, < half the ring
peaks = np.sort(np.unique(np.argmax(z, axis=1)))
print("preferred positions:", peaks)
assert np.all(np.diff(np.r_[peaks, peaks[0] + T]) <= T // 4)  # the bumps tile the ring
