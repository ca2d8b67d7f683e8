"""Gradient training of the nonnegative affine autoencoder (the baseline of the benchmarks).

The network ``z_t = W x_t + b``, ``x̂_t = R z_t + c`` is trained with Adam on

    L_pen = (1/T)Σ‖z_t‖² + λ_W‖W‖² + λ_R‖R‖²
            + ρ_rec (1/T)Σ‖x_t − R z_t − c‖² + ρ_neg (1/T)Σ‖min(0, z_t)‖²,

with the penalty weights ``ρ`` raised geometrically (continuation), since exact
reconstruction and nonnegativity are constraints of the convex problem.  Progress is
measured on a *feasible* point derived from the current weights: raise each bias until
its neuron is nonnegative, then take the least-norm exact decoder (``min ‖R‖`` with
``X = RZ + c1ᵀ``).  That objective upper-bounds the certified optimum ``L*`` and is
what the benchmark compares with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .identifiability import AutoencoderProblem


@dataclass(frozen=True)
class TrainingResult:
    steps: int
    best_feasible_loss: float
    reached: bool  # best feasible loss within ``rel_tol`` of the target
    encoder: np.ndarray  # W (N × D)
    bias: np.ndarray  # b (N,), after the feasibility shift
    history: np.ndarray  # (evaluation step, feasible loss)
    stalled: bool = False  # reduce-on-plateau had decayed the rate to ``lr_min``


def feasible_loss(problem: AutoencoderProblem, w: np.ndarray, b: np.ndarray,
                  x: np.ndarray) -> tuple[float, np.ndarray]:
    """Objective of the nearest feasible network; ``inf`` if it cannot decode ``x``.

    Biases are raised so that ``Z ≥ 0``; the decoder is the least-norm exact one on the
    centred data, ``R = X̃ Z̃⁺`` (exact iff ``X̃`` lies in the row space of ``Z̃``).
    """
    z = w @ x + b[:, None]
    b_feas = b + np.maximum(0.0, -z.min(axis=1))
    z = w @ x + b_feas[:, None]
    zc = z - z.mean(axis=1, keepdims=True)
    xc = x - x.mean(axis=1, keepdims=True)
    r = xc @ np.linalg.pinv(zc)
    if np.linalg.norm(r @ zc - xc) > 1e-6 * np.linalg.norm(xc):
        return float("inf"), b_feas
    t = x.shape[1]
    loss = np.sum(z**2) / t + problem.lambda_w * np.sum(w**2) + problem.lambda_r * np.sum(r**2)
    return float(loss), b_feas


def train_autoencoder(
    problem: AutoencoderProblem,
    target: float,
    *,
    n_hidden: int | None = None,
    seed: int = 0,
    lr: float = 3e-3,
    max_steps: int = 200_000,
    max_seconds: float | None = None,
    eval_every: int = 100,
    rel_tol: float = 1e-3,
    penalty_start: float = 10.0,
    penalty_growth: float = 2.0,
    penalty_every: int = 2000,
    penalty_max: float = 1e5,
    lr_decay: float = 0.5,
    lr_patience: int = 10,
    lr_min: float = 1e-6,
) -> TrainingResult:
    """Adam on the penalised loss until the feasible loss is within ``rel_tol`` of
    ``target`` (the certified optimum), or ``max_steps`` / ``max_seconds`` is reached.

    The learning rate is multiplied by ``lr_decay`` when the best feasible loss has not
    improved (by 1e-6 relative) for ``lr_patience`` evaluations (reduce-on-plateau; a
    constant rate leaves Adam oscillating at a noise floor above 1e-3 relative).  All
    four weight arrays live in one flat vector, so an Adam step is a handful of NumPy
    calls whatever the layer sizes.
    """
    rng = np.random.default_rng(seed)
    x = problem.mixing @ problem.sources  # D × T
    d_in, t = x.shape
    n = n_hidden or 2 * problem.dim + 2
    shapes = {"w": (n, d_in), "b": (n,), "r": (d_in, n), "c": (d_in,)}
    sizes = {k: int(np.prod(v)) for k, v in shapes.items()}
    offsets = np.cumsum([0, *sizes.values()])
    theta = np.zeros(offsets[-1])
    grad = np.zeros_like(theta)

    def views(flat: np.ndarray) -> dict[str, np.ndarray]:
        return {k: flat[o:o + sizes[k]].reshape(shapes[k])
                for k, o in zip(shapes, offsets[:-1], strict=True)}

    params, grads = views(theta), views(grad)
    params["w"][...] = rng.standard_normal((n, d_in)) * 0.3
    params["b"][...] = np.abs(rng.standard_normal(n)) * 0.3 + 0.5
    params["r"][...] = rng.standard_normal((d_in, n)) * 0.3
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    beta1, beta2, eps = 0.9, 0.999, 1e-12
    rho, rate = penalty_start, lr
    best, history, step, stale = float("inf"), [], 0, 0
    best_w, best_b = params["w"].copy(), params["b"].copy()
    w, b, r, c = params["w"], params["b"], params["r"], params["c"]
    start = time.perf_counter()
    for step in range(1, max_steps + 1):
        z = w @ x + b[:, None]
        resid = x - r @ z - c[:, None]
        # ∂L_pen/∂z = (2/T)[z − ρ Rᵀ resid + ρ min(0, z)]
        g_z = (2.0 / t) * (z - rho * (r.T @ resid) + rho * np.minimum(z, 0.0))
        np.matmul(g_z, x.T, out=grads["w"])
        grads["w"] += 2 * problem.lambda_w * w
        np.sum(g_z, axis=1, out=grads["b"])
        np.matmul(resid, z.T, out=grads["r"])
        grads["r"] *= -2.0 * rho / t
        grads["r"] += 2 * problem.lambda_r * r
        np.sum(resid, axis=1, out=grads["c"])
        grads["c"] *= -2.0 * rho / t
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad**2
        step_size = rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
        theta -= step_size * m / (np.sqrt(v) + eps)
        if step % penalty_every == 0:
            rho = min(rho * penalty_growth, penalty_max)
        if step % eval_every == 0:
            loss, b_feas = feasible_loss(problem, w, b, x)
            history.append((step, loss))
            if loss < best * (1 - 1e-6):
                stale = 0
            else:
                stale += 1
            if loss < best:
                best, best_w, best_b = loss, w.copy(), b_feas
            if best <= target * (1 + rel_tol):
                break
            if stale >= lr_patience:
                rate, stale = max(rate * lr_decay, lr_min), 0
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                break
    return TrainingResult(
        steps=step,
        best_feasible_loss=best,
        reached=best <= target * (1 + rel_tol),
        encoder=best_w,
        bias=best_b,
        history=np.array(history),
        stalled=rate <= lr_min,
    )
