"""(e) The 2×2 example: the problem is not convex in Z, but it is convex in Q = ZᵀZ.

Two stimuli, two outputs Y = I, exact readout Y = RZ, cost ‖Z‖_F² + ‖R‖_F².  Z₁ = I
(R₁ = I) and Z₂ = the swap P (R₂ = P) are both optimal (cost 4); their average
Z̄ = (I + P)/2 has rank one, so no readout exists: the average is not even feasible.
In Q both are the same point Q = I, and f(Q) = Tr Q + Tr(Q⁻¹) is convex.
"""

import numpy as np

import convex_coding as cc

Y, P = np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])
problem = cc.Problem(size=2, objective=[cc.activity_energy(), cc.readout_energy(Y)])
result = problem.solve()
print(result.status, f"optimal cost {result.upper:.10f}; Q* =", np.round(result.Q, 8).tolist())
assert result.certified and abs(result.upper - 4.0) < 1e-8
for z in (np.eye(2), P):  # both factorise Q* = I and attain the optimum with R = Y Z⁻¹
    r = Y @ np.linalg.inv(z)
    assert np.allclose(z.T @ z, result.Q, atol=1e-4)
    assert abs(np.sum(z**2) + np.sum(r**2) - 4) < 1e-12
z_bar = (np.eye(2) + P) / 2
f_bar = problem.value(z_bar.T @ z_bar)
print("rank of the average Z:", np.linalg.matrix_rank(z_bar), "; f(Z̄ᵀZ̄) =", f_bar)
assert np.linalg.matrix_rank(z_bar) == 1 and f_bar == np.inf
rng = np.random.default_rng(0)  # convexity in Q: f at a midpoint ≤ the mean of the ends
for _ in range(100):
    a, b = (m @ m.T + 1e-3 * np.eye(2) for m in rng.standard_normal((2, 2, 2)))
    assert problem.value((a + b) / 2) <= (problem.value(a) + problem.value(b)) / 2 + 1e-12
print("midpoint convexity holds on 100 random pairs")
