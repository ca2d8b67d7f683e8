r"""A dual (conjugate) lower bound on the DNN relaxation that needs no primal point.

Every term of the menu is a supremum of functions affine in ``Q``:

* linear terms (activity, lifetime density, weight energy): ``⟨L_k, Q⟩``;
* readout energy ``λ Tr(Ỹ(PQP)⁺Ỹᵀ) = sup_W 2λ⟨W, Ỹ⟩ − λ Tr(W PQP Wᵀ)`` (``Q ⪰ 0``; the
  supremum is ``+∞`` when ``Ỹ`` is not decodable);
* similarity matching ``w‖Q − C‖² = sup_M w(⟨M, Q − C⟩ − ‖M‖²/4)``.

So for every dual point ``(W_j, M_m, N ≥ 0)`` and every doubly nonnegative ``Q``

    f(Q) ≥ b + ⟨A, Q⟩ ≥ b + ⟨A − N, Q⟩ ≥ b + λ_min(A − N) · Tr Q,

with ``A = Σ L_k + Σ_m w_m M_m − Σ_j λ_j P W_jᵀW_j P`` and
``b = Σ_j 2λ_j⟨W_j, Ỹ_j⟩ − Σ_m w_m(⟨M_m, C_m⟩ + ‖M_m‖²/4)``.  On the sublevel set
``{f ≤ U}`` (``U`` an upper bound, so it holds the DNN minimiser) ``Tr Q ≤ τ``
(:func:`~convex_coding.first_order.trace_bound`), hence

    p* ≥ p_DNN ≥ b − μ_b + τ · min(0, λ_min(A − N) − μ).

``λ_min`` is computed in float64 by LAPACK (backward stable) on the matrix ``A − N``
formed in float64; the safety margin ``μ = 10³ T ε (‖L‖_F + Σ w_m‖M_m‖_F +
Σ λ_j‖W_j‖_F² + ‖N‖_F)`` (``ε`` the unit roundoff) exceeds the rounding error of both
the product and the eigensolver, and ``μ_b = 10 T² ε · Σ|summands of b|`` that of
``b``.  :func:`certified_bound` is the only function that turns a dual point into a
number; nothing here needs the dual point to be optimal, or even feasible.

A good dual point comes from :func:`solve_dual`, the method of multipliers on the dual
problem ``max b s.t. A − N ⪰ 0`` (its multiplier is the primal DNN ``Q``): each round
maximises the augmented Lagrangian
``b − (‖Π₊(Q − ρ(A − N))‖² − ‖Q‖²)/(2ρ)`` over ``(W, M, N ≥ 0)`` by L-BFGS-B (smooth
and concave; one ``T × T`` eigendecomposition per evaluation), then sets
``Q ← Π₊(Q − ρ(A − N))`` and raises ``ρ`` when ``A − N`` is not becoming PSD fast
enough.  At an exact saddle point
``W_j = Ỹ_j(PQP)⁺``, ``M = 2(Q − C)``, ``N ∘ Q = 0``, ``(A − N)Q = 0``: the bound
equals ``p_DNN``, whatever the DNN/CP gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

if TYPE_CHECKING:
    from .problem import Problem

__all__ = ["DualBound", "DualModel", "DualPoint", "certified_bound", "dual_model",
           "solve_dual"]

EPS = float(np.finfo(float).eps)
RHO_DECREASE, RHO_FACTOR, RHO_START = 0.5, 3.0, 1.0


def _sym(a: np.ndarray) -> np.ndarray:
    return 0.5 * (a + a.T)


@dataclass(frozen=True)
class DualModel:
    """The conjugate data of a problem: ``L`` (sum of the weighted linear terms'
    matrices), readouts ``(λ, Ỹ, bias)`` and quadratics ``(w, C)``."""

    size: int
    linear: np.ndarray
    readouts: tuple[tuple[float, np.ndarray, bool], ...]
    quadratics: tuple[tuple[float, np.ndarray], ...]


@dataclass(frozen=True)
class DualPoint:
    """``W_j`` per readout (outputs × T), ``M_m`` per quadratic (symmetric), ``N ≥ 0``."""

    readouts: tuple[np.ndarray, ...]
    quadratics: tuple[np.ndarray, ...]
    nonneg: np.ndarray


@dataclass(frozen=True)
class DualBound:
    """A certified lower bound and its pieces: ``bound = value − μ_b + τ·min(0,
    min_eigenvalue − margin)``; ``primal`` is the method of multipliers' ``Q`` (an
    approximate DNN optimum; proves nothing)."""

    bound: float
    value: float
    min_eigenvalue: float
    margin: float
    trace_bound: float
    point: DualPoint
    primal: np.ndarray | None = None
    rounds: int = 0


def dual_model(problem: Problem) -> DualModel | None:
    """The :class:`DualModel` of ``problem``, or None when a term has no conjugate form."""
    t = problem.size
    linear, readouts, quadratics = np.zeros((t, t)), [], []
    for term in problem.objective:
        form = term.conjugate
        if form is None:
            return None
        if term.weight == 0:
            continue
        if form[0] == "linear":
            linear += term.weight * term.gradient(np.zeros((t, t)))
        elif form[0] == "readout":
            readouts.append((term.weight, np.asarray(form[1], dtype=float), bool(form[2])))
        elif form[0] == "quadratic":
            quadratics.append((term.weight, np.asarray(form[1], dtype=float)))
        else:
            return None
    return DualModel(t, _sym(linear), tuple(readouts), tuple(quadratics))


def _centre(w: np.ndarray, bias: bool) -> np.ndarray:
    return w - w.mean(axis=1, keepdims=True) if bias else w


def dual_matrix(model: DualModel, point: DualPoint) -> np.ndarray:
    """``A − N`` in float64 (symmetrised)."""
    a = model.linear.copy()
    for (lam, _, bias), w in zip(model.readouts, point.readouts, strict=True):
        wp = _centre(w, bias)  # W P
        a -= lam * (wp.T @ wp)
    for (weight, _), m in zip(model.quadratics, point.quadratics, strict=True):
        a += weight * _sym(m)
    return _sym(a - point.nonneg)


def dual_value(model: DualModel, point: DualPoint) -> tuple[float, float]:
    """``(b, μ_b)``: the dual constant and its rounding margin."""
    value, size = 0.0, 0.0
    for (lam, y, _), w in zip(model.readouts, point.readouts, strict=True):
        value += 2 * lam * float(np.sum(w * y))
        size += 2 * lam * float(np.sum(np.abs(w * y)))
    for (weight, c), m in zip(model.quadratics, point.quadratics, strict=True):
        m = _sym(m)
        value -= weight * (float(np.sum(m * c)) + 0.25 * float(np.sum(m * m)))
        size += weight * (float(np.sum(np.abs(m * c))) + 0.25 * float(np.sum(m * m)))
    return value, 10.0 * model.size**2 * EPS * size


def certified_bound(model: DualModel, point: DualPoint, tau: float
                    ) -> tuple[float, float, float, float]:
    """``(bound, b, λ_min(A − N), μ)`` of the module doc at ``point`` (``N`` is clipped
    at 0 and symmetrised first, so any point gives a valid bound)."""
    n = np.maximum(_sym(point.nonneg), 0.0)
    point = DualPoint(point.readouts, tuple(_sym(m) for m in point.quadratics), n)
    x = dual_matrix(model, point)
    lam_min = float(np.linalg.eigvalsh(x)[0])
    scale = (np.linalg.norm(model.linear)
             + sum(w * np.linalg.norm(m) for (w, _), m in zip(model.quadratics,
                                                               point.quadratics, strict=True))
             + sum(lam * float(np.sum(w**2)) for (lam, _, _), w in zip(model.readouts,
                                                                         point.readouts,
                                                                         strict=True))
             + np.linalg.norm(n))
    margin = 1e3 * model.size * EPS * float(scale)
    value, value_margin = dual_value(model, point)
    shifted = lam_min - margin
    if shifted >= 0:
        slack = 0.0
    else:
        slack = tau * (1 + 1e-12) * shifted if np.isfinite(tau) else -np.inf
    return value - value_margin + slack, value, lam_min, margin


def start_point(model: DualModel, q: np.ndarray, rtol: float = 1e-8) -> DualPoint:
    """The gradient dual point at ``Q``: ``W_j = Ỹ_j(PQP)⁺`` (pseudo-inverse cut at
    ``rtol``), ``M_m = 2(Q − C_m)``, ``N = 0``."""
    ws = []
    for _, y, bias in model.readouts:
        qc = q - q.mean(0)[None] - q.mean(1)[:, None] + q.mean() if bias else q
        e, v = np.linalg.eigh(_sym(qc))
        keep = e > rtol * max(e.max(initial=0.0), 1e-300)
        ws.append(y @ ((v[:, keep] / e[keep]) @ v[:, keep].T))
    ms = [2.0 * (q - c) for _, c in model.quadratics]
    return DualPoint(tuple(ws), tuple(ms), np.zeros_like(q))


class _Packing:
    def __init__(self, model: DualModel) -> None:
        t = model.size
        self.model = model
        self.shapes = ([y.shape for _, y, _ in model.readouts]
                       + [(t, t)] * len(model.quadratics) + [(t, t)])
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.n_free = sum(self.sizes[:-1])

    def pack(self, point: DualPoint) -> np.ndarray:
        return np.concatenate([a.ravel() for a in (*point.readouts, *point.quadratics,
                                                   point.nonneg)])

    def unpack(self, x: np.ndarray) -> DualPoint:
        parts, k = [], 0
        for shape, size in zip(self.shapes, self.sizes, strict=True):
            parts.append(x[k:k + size].reshape(shape))
            k += size
        r = len(self.model.readouts)
        return DualPoint(tuple(parts[:r]), tuple(parts[r:-1]), parts[-1])


def _augmented(model: DualModel, pack: _Packing, q: np.ndarray, rho: float,
               x0: np.ndarray):
    """``x ↦ (L_ρ(x0) − L_ρ(x), −∇L_ρ(x))`` of the module doc (for a minimiser; measured
    from ``x0`` because L-BFGS-B's ``ftol`` is relative to ``max(|f|, 1)``)."""
    q_norm2, offset = float(np.sum(q * q)), 0.0

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        point = pack.unpack(x)
        point = DualPoint(point.readouts, tuple(_sym(m) for m in point.quadratics),
                          _sym(point.nonneg))
        a = dual_matrix(model, point)
        e, v = np.linalg.eigh(q - rho * a)
        pos = np.maximum(e, 0.0)
        gx = (v * pos) @ v.T  # Π₊(Q − ρX) = ∂L/∂X
        value = dual_value(model, point)[0] - (float(np.sum(pos**2)) - q_norm2) / (2 * rho)
        grads = []
        for (lam, y, bias), w in zip(model.readouts, point.readouts, strict=True):
            wp = _centre(w, bias)
            g = 2 * lam * y - 2 * lam * (wp @ gx)
            grads.append(_centre(g, bias))
        for (weight, c), m in zip(model.quadratics, point.quadratics, strict=True):
            grads.append(weight * (gx - c - 0.5 * m))
        grads.append(-gx)
        return offset - value, -np.concatenate([g.ravel() for g in grads])

    offset = -fun(x0)[0]
    return fun


def solve_dual(problem: Problem, q: np.ndarray, *, upper: float, tau: float,
               target: float = 0.0, time_limit: float = 30.0, max_rounds: int = 40,
               inner_iter: int = 500, start: DualPoint | None = None, log=None) -> DualBound | None:
    """Method of multipliers (module doc) started at the gradient dual point of ``q``
    (e.g. the upper bound's ``ZᵀZ``; :func:`start_point`) and the multiplier
    ``(Tr q / T) I``; stops when ``upper − bound ≤ target``, after ``max_rounds``
    or ``time_limit`` CPU seconds.  Returns the best certified bound seen (None when a
    term has no conjugate form)."""
    model = dual_model(problem)
    if model is None:
        return None
    clock = time.process_time()
    pack = _Packing(model)
    point = start if start is not None else start_point(model, q)
    # the multiplier starts at a multiple of I with q's trace: measured, a CP point from a
    # short descent is a poor start for it (Fig. 3 model, T = 200: stalled at 60 % of
    # p_DNN from q itself, converged from the multiple of I)
    q = np.eye(model.size) * max(float(np.trace(q)), 1e-300) / model.size
    bounds = [(None, None)] * pack.n_free + [(0.0, None)] * pack.sizes[-1]
    x = pack.pack(point)
    x[pack.n_free:] = np.maximum(x[pack.n_free:], 0.0)
    best = _evaluate(model, pack.unpack(x), tau, q, 0)
    a = dual_matrix(model, pack.unpack(x))
    # ρ relates the scale of Q to that of A − N; the linear part L sets the latter when
    # there is one (A at a poor start point can be far larger: W = Ỹ(PQP)⁺ blows up)
    scale = float(np.linalg.norm(model.linear)) or float(np.linalg.norm(a))
    rho = RHO_START * float(np.linalg.norm(q)) / max(scale, 1e-300)
    violation, history = np.inf, [best.bound]
    for rounds in range(1, max_rounds + 1):
        left = time_limit - (time.process_time() - clock)
        # stalled: A − N (nearly) PSD and no candidate of the last 4 rounds improved
        stalled = (len(history) > 6 and violation * tau <= 1e-8 * abs(best.bound)
                   and max(history[-4:]) - max(history[:-4]) <= 1e-11 * abs(best.bound))
        if upper - best.bound <= target or left <= 0 or stalled:
            break
        fun = _augmented(model, pack, q, rho, x)
        tick = time.process_time()
        fun(x)  # one evaluation, timed: L-BFGS-B cannot be stopped, so cap its steps
        steps = int(min(inner_iter, max(left / max(time.process_time() - tick, 1e-6) / 1.3, 1)))
        res = minimize(fun, x, jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": steps, "maxcor": 20, "ftol": 1e-14,
                                "gtol": 1e-12})
        x = res.x
        point = pack.unpack(x)
        a = dual_matrix(model, DualPoint(point.readouts, point.quadratics,
                                         _sym(point.nonneg)))
        e, v = np.linalg.eigh(q - rho * a)
        q = (v * np.maximum(e, 0.0)) @ v.T
        candidate = _evaluate(model, point, tau, q, rounds)
        if candidate.bound > best.bound:
            best = candidate
        history.append(candidate.bound)
        new_violation = float(np.linalg.norm(np.minimum(np.linalg.eigvalsh(a), 0.0)))
        if log is not None:
            log(f"round {rounds}: rho {rho:.2e} inner {res.nit} {res.message} Qmin {q.min():.2e}"
                f" bound {candidate.bound:.12g} "
                f"b {candidate.value:.12g} lam {candidate.min_eigenvalue:.2e} "
                f"violation {new_violation:.2e}")
        if new_violation > RHO_DECREASE * violation:
            rho *= RHO_FACTOR
        violation = new_violation
    return best


def _evaluate(model: DualModel, point: DualPoint, tau: float, q: np.ndarray,
              rounds: int) -> DualBound:
    bound, value, lam, margin = certified_bound(model, point, tau)
    return DualBound(bound, value, lam, margin, tau, point, q, rounds)
