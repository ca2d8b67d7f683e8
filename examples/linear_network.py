"""(d) A linear network without nonnegativity against its closed form.

min_Q a·Tr Q + λ·Tr(Y Q⁺ Yᵀ) over Q ⪰ 0 (neurons may fire negatively) has the closed form
Q* = √(λ/a)·(YᵀY)^{1/2}, with optimal cost 2√(aλ)·‖Y‖_* (the nuclear norm of Y).
"""

import numpy as np

import convex_coding as cc

rng = np.random.default_rng(0)
a, lam, T = 0.5, 2.0, 10
Y = rng.standard_normal((3, T))
problem = cc.Problem(size=T, objective=[cc.activity_energy(weight=a),
                                        cc.readout_energy(Y, weight=lam)])
result = problem.solve(nonnegativity="psd")
closed = 2 * np.sqrt(a * lam) * np.linalg.svd(Y, compute_uv=False).sum()
w, v = np.linalg.eigh(Y.T @ Y)
q_closed = np.sqrt(lam / a) * (v * np.sqrt(np.clip(w, 0, None))) @ v.T
rel = abs(result.upper - closed) / closed
q_err = np.linalg.norm(result.Q - q_closed) / np.linalg.norm(q_closed)
print(result.status, f"cost {result.upper:.10f} closed form {closed:.10f} rel {rel:.1e}")
print(f"‖Q − Q*‖/‖Q*‖ = {q_err:.1e}")
assert result.certified and rel <= 1e-8 and q_err <= 1e-4
