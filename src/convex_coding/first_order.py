r"""The first-order route for problems without a range constraint (large ``T``).

The conic path solves a ``T × T`` SDP twice (DNN bound and dictionary master); the DNN
bound alone took 1.0 s at ``T = 24`` and 6.6 s at ``T = 32`` (``~T^6.6`` between them).
This route never forms a conic program:

* **upper bound** (Burer–Monteiro with ``Z ≥ 0``): minimise ``F(Z) = f(ZᵀZ)`` over
  nonnegative ``Z`` (``rank × T``) by L-BFGS-B, with each term's value and gradient in
  factor form (``∇F = 2ZG``; the readout energy is ``‖ỸZ̃⁺‖²`` by a thin SVD, ``O(r²T)``).
  ``Q̂ = ZᵀZ`` factors exactly, so ``f(Q̂) ≥ p*``.  After each descent, pricing searches
  ``min yᵀGy`` over unit ``y ≥ 0`` (``G = ∇f(Q̂)``); a negative price adds ``y`` as a new
  neuron and the descent resumes.
* **lower bound** (a dual certificate, valid for any ``Q̂``): every term is convex with
  ``G`` a subgradient (the readout energy through its affine minorant
  ``2⟨W, Y⟩ − Tr(WQWᵀ)`` at ``W = YQ̂⁺``), so ``f(Q) ≥ f(Q̂) + ⟨G, Q − Q̂⟩``.  For any
  ``N ≥ 0`` and ``Q`` doubly nonnegative, ``⟨G, Q⟩ ≥ ⟨G − N, Q⟩ ≥ λ_min(G − N) Tr Q``,
  and on the sublevel set ``{f ≤ f(Q̂)}`` (which holds the DNN minimiser)
  ``Tr Q ≤ τ`` (:func:`trace_bound`).  Hence

      p* ≥ p_DNN ≥ f(Q̂) − ⟨G, Q̂⟩ + τ · min(0, λ_min(G − N)).

  ``N`` is found by alternating projections between ``{S ⪰ 0}`` and ``{S ≤ G}``
  (:func:`dual_split`; one eigendecomposition per step, ``N = G − S``).  When
  ``λ_min(G − N) ≥ −ε`` the matrix ``G + εI`` is copositive: no tuning has reduced cost
  below ``−ε``, a *proved* pricing bound (``Result.pricing_exact``).

This linearised bound is at best the DNN relaxation's, and only when ``Q̂`` is (near)
its optimum.  When every term has a conjugate form (all terms of the menu do) the route
uses instead the dual bound of :mod:`convex_coding.dual_bound`, which needs no primal
point and meets ``p_DNN`` where its solver converges; the solver's multiplier (an
approximate DNN optimum) is then factored into ``Z ≥ 0`` (:func:`factor_primal`) for
the upper bound.  Measured limits: docs/library.md, "Scale".
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .pricing import PricingResult, price_nonnegative
from .result import Result, certify

if TYPE_CHECKING:
    from .problem import Problem

__all__ = ["dual_split", "factor_objective", "lower_bound", "solve_first_order",
           "trace_bound"]


def factor_objective(problem: Problem, z: np.ndarray) -> tuple[float, np.ndarray]:
    """``F(Z) = f(ZᵀZ)`` and ``∇F`` (``rank × T``): each term's factor form when it has
    one, else ``f(ZᵀZ)`` and ``2 Z ∇f(ZᵀZ)``."""
    total, grad = 0.0, np.zeros_like(z)
    for term in problem.objective:
        if term.factor is not None:
            v, g = term.factor(z)
        else:
            q = z.T @ z
            v, g = term.value(q), 2.0 * z @ term.gradient(q)
        if not np.isfinite(v):
            return float("inf"), grad
        total += term.weight * v
        grad += term.weight * g
    return float(total), grad


def trace_bound(problem: Problem, level: float) -> float:
    """A bound ``τ ≥ Tr Q`` over doubly nonnegative ``Q`` with ``f(Q) ≤ level``.

    Every term is ``≥ 0`` there, so ``w_k f_k(Q) ≤ level`` for each ``k``; a term that
    bounds the trace by its own value (activity energy, lifetime density, similarity
    matching) gives ``τ``; ``inf`` when none does (e.g. a readout alone)."""
    bounds = [t.trace_bound(level / t.weight) for t in problem.objective
              if t.trace_bound is not None and t.weight > 0]
    return float(min(bounds, default=float("inf")))


def spg(fun, x: np.ndarray, *, max_iter: int, tol: float, time_limit: float = np.inf,
        memory: int = 10, target: float = -np.inf) -> np.ndarray:
    """Spectral projected gradient on ``x ≥ 0`` (Barzilai–Borwein steps, nonmonotone
    Armijo search over the last ``memory`` values); ``fun(x) -> (value, gradient)``.
    Stops when ``‖Π(x − ∇) − x‖_∞ ≤ tol``, the value is ``≤ target``, after ``max_iter``
    steps or ``time_limit`` CPU seconds.  Returns the best point found."""
    start = time.process_time()
    f, g = fun(x)
    history, alpha = [f], 1.0 / max(float(np.abs(g).max()), 1e-300)
    for _ in range(max_iter):
        if (float(np.abs(np.maximum(x - g, 0.0) - x).max()) <= tol or f <= target
                or time.process_time() - start > time_limit):
            break
        d = np.maximum(x - alpha * g, 0.0) - x
        slope, step, ref = float(np.sum(g * d)), 1.0, max(history[-memory:])
        while True:
            xn = x + step * d
            fn, gn = fun(xn)
            if fn <= ref + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        if not fn <= f + 1e-4 * step * slope and fn > ref:
            break  # no progress left at machine precision
        s_, y_ = xn - x, gn - g
        sy = float(np.sum(s_ * y_))
        alpha = float(np.sum(s_ * s_)) / sy if sy > 0 else 1e3 * alpha
        alpha = min(max(alpha, 1e-12), 1e12)
        x, f, g = xn, fn, gn
        history.append(f)
    return x


def dual_split(g: np.ndarray, *, tol: float = 0.0, max_iter: int = 2000,
               time_limit: float = 30.0) -> tuple[np.ndarray, float]:
    """``(N, λ)`` with ``N ≥ 0`` entrywise and ``λ = λ_min(G − N)``: spectral projected
    gradient on ``½‖(G − N)₋‖_F²`` over ``N ≥ 0`` (``(·)₋`` the negative spectral part;
    the function is ``C¹`` with gradient ``−(G − N)₋``, one eigendecomposition per
    evaluation), stopped when ``λ ≥ −tol``."""
    g = 0.5 * (g + g.T)
    if float(np.linalg.eigvalsh(g)[0]) >= -tol:
        return np.zeros_like(g), float(np.linalg.eigvalsh(g)[0])
    shape = g.shape

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        n = v.reshape(shape)
        w, u = np.linalg.eigh(g - 0.5 * (n + n.T))
        neg = np.minimum(w, 0.0)
        return 0.5 * float(np.sum(neg**2)), -((u * neg) @ u.T).ravel()

    v = spg(fun, np.maximum(g - np.diag(np.diag(g)), 0.0).ravel() * 0.0, max_iter=max_iter,
            tol=1e-3 * tol if tol > 0 else 1e-14, time_limit=time_limit)
    n = v.reshape(shape)
    n = 0.5 * (n + n.T)
    return n, float(np.linalg.eigvalsh(g - n)[0])


def lower_bound(problem: Problem, q: np.ndarray, *, tol: float = 0.0,
                time_limit: float = 30.0) -> tuple[float, float, float]:
    """``(bound, λ, τ)``: the certified lower bound of the module doc at ``Q̂ = q``."""
    f = problem.value(q)
    g = problem.gradient(q)
    tau = trace_bound(problem, f)
    scale = tol / tau if np.isfinite(tau) and tau > 0 else 0.0
    _, lam = dual_split(g, tol=scale, time_limit=time_limit)
    slack = 0.0 if lam >= 0 else (tau * lam if np.isfinite(tau) else -np.inf)
    return float(f - np.sum(g * q) + slack), lam, tau


def _descend(problem: Problem, z: np.ndarray, max_iter: int,
             time_limit: float = np.inf, target: float = -np.inf) -> np.ndarray:
    shape = z.shape

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        val, grad = factor_objective(problem, v.reshape(shape))
        return (val, grad.ravel()) if np.isfinite(val) else (np.inf, np.zeros(v.size))

    scale = max(float(np.abs(fun(z.ravel())[1]).max()), 1e-300)
    return spg(fun, z.ravel(), max_iter=max_iter, tol=1e-12 * scale,
               time_limit=time_limit, target=target).reshape(shape)


def _start(problem: Problem, rank: int, seed: int) -> np.ndarray:
    """Random nonnegative ``Z`` rescaled to the best of a few scales."""
    z = np.random.default_rng(seed).uniform(size=(rank, problem.size))
    scales = np.geomspace(1e-3, 1e3, 25) / np.sqrt(problem.size)
    values = [factor_objective(problem, s * z)[0] for s in scales]
    return scales[int(np.argmin(values))] * z


def _rotate_nonnegative(b: np.ndarray, rng: np.random.Generator, iters: int = 2000,
                        deadline: float = np.inf) -> np.ndarray:
    """``max(O B, 0)`` for an orthogonal ``O`` that makes ``O B`` as nonnegative as it
    gets (``B = Λ^{1/2}Vᵀ`` of ``q``, so ``(OB)ᵀ(OB) = q``): alternate the clip at 0 with
    the orthogonal Procrustes step ``O = polar(max(OB, 0) Bᵀ)``."""
    r = b.shape[0]
    o = np.linalg.qr(rng.standard_normal((r, r)))[0]
    for _ in range(iters):
        x = o @ b
        if x.min() >= -1e-15 * np.abs(x).max() or time.process_time() > deadline:
            break
        u, _, vt = np.linalg.svd(np.maximum(x, 0.0) @ b.T)
        o = u @ vt
    return np.maximum(o @ b, 0.0)


def factor_primal(problem: Problem, q: np.ndarray, *, time_limit: float = 10.0,
                  seed: int = 0, starts: int = 20, target: float = -np.inf
                  ) -> np.ndarray | None:
    """A nonnegative ``Z`` with ``ZᵀZ ≈ q`` (an approximate DNN optimum, e.g. the dual
    solver's multiplier), polished by descent on ``f``: an upper-bound candidate.

    At the numerical rank ``r`` of ``q = VΛVᵀ`` every factor is ``O Λ^{1/2} Vᵀ`` with
    ``O`` orthogonal; :func:`_rotate_nonnegative` searches ``O`` from ``starts`` random
    rotations (where ``q`` is completely positive of CP rank ``r`` this can recover it).
    The best factor (least ``‖ZᵀZ − q‖``) is descended on ``f`` with ``T`` tiny unit
    rows added (so a readout stays finite); ``f(ZᵀZ)`` is an upper bound whatever
    happens; the descent stops once ``f ≤ target``.  Returns None when ``f`` is not
    finite."""
    clock, t = time.process_time(), problem.size
    e, v = np.linalg.eigh(0.5 * (q + q.T))
    keep = e > 1e-6 * max(float(e[-1]), 1e-300)
    b = np.sqrt(e[keep])[:, None] * v[:, keep].T
    rng = np.random.default_rng(seed)
    best, best_res = None, np.inf
    for _ in range(starts):
        if time.process_time() - clock > 0.3 * time_limit:
            break
        z = _rotate_nonnegative(b, rng, deadline=clock + 0.3 * time_limit)
        res = float(np.linalg.norm(z.T @ z - q))
        if res < best_res:
            best, best_res = z, res
    if best is None:
        return None
    size = 1e-4 * max(float(np.linalg.norm(best, axis=1).max(initial=0.0)), 1e-300)
    left = max(time_limit - (time.process_time() - clock), 0.1)
    z = _descend(problem, np.vstack([best, size * np.eye(t)]), 20000, left, target)
    return z if np.isfinite(factor_objective(problem, z)[0]) else None


def _descent_rounds(problem: Problem, z: np.ndarray, *, budget: float, max_rounds: int,
                    max_iter: int, atoms_per_round: int, seed: int
                    ) -> tuple[np.ndarray, PricingResult, int]:
    """Descent on ``F`` and pricing rounds (module doc) within ``budget`` CPU seconds."""
    t, clock = problem.size, time.process_time()
    pricing = PricingResult(np.zeros((t, 0)), np.zeros(0))
    for rounds in range(1, max_rounds + 1):
        z = _descend(problem, z, max_iter, budget - (time.process_time() - clock))
        z = z[np.linalg.norm(z, axis=1) > 1e-12 * max(np.abs(z).max(), 1e-300)]
        pricing = _price(problem, z, seed + rounds)
        g = problem.gradient(z.T @ z)
        scale = max(float(np.abs(g).max()), 1e-300)
        new = pricing.atoms[:, pricing.costs < -1e-9 * scale][:, :atoms_per_round]
        if new.shape[1] == 0 or time.process_time() - clock > budget:
            break
        size = 1e-3 * np.sqrt(max(float(np.sum(z**2)), 1e-300) / max(len(z), 1))
        z = np.vstack([z, size * new.T])
    else:  # the last round added atoms: descend once more
        z = _descend(problem, z, max_iter, budget - (time.process_time() - clock))
        z = z[np.linalg.norm(z, axis=1) > 1e-12 * max(np.abs(z).max(), 1e-300)]
    return z, pricing, rounds


def _price(problem: Problem, z: np.ndarray, seed: int) -> PricingResult:
    g = problem.gradient(z.T @ z)
    starts = (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-300)).T
    return price_nonnegative(g, starts=starts, n_random=32, iters=150, seed=seed,
                             unit_starts=problem.size <= 64)


def solve_first_order(problem: Problem, *, rank: int | None = None, gap_tol: float = 1e-6,
                      value_tol: float = 1e-6, max_rounds: int = 6, max_iter: int = 3000,
                      atoms_per_round: int = 8, time_limit: float = 60.0,
                      seed: int = 0) -> Result:
    """The first-order route (see :func:`_solve_first_order`) on one BLAS thread.

    Its budget ``time_limit`` is CPU seconds, which a multi-threaded BLAS spends about
    twice as fast on these ``T × T`` eigendecompositions without finishing sooner
    (measured at ``T`` = 25–100 on 2 cores: 21.7 s of CPU against 11.7 s, the same wall
    time); one thread makes what the budget buys, and so the answer, independent of the
    machine's thread settings."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _solve_first_order(problem, rank=rank, gap_tol=gap_tol, value_tol=value_tol,
                                  max_rounds=max_rounds, max_iter=max_iter,
                                  atoms_per_round=atoms_per_round, time_limit=time_limit,
                                  seed=seed)


def _solve_first_order(problem: Problem, *, rank: int | None, gap_tol: float,
                       value_tol: float, max_rounds: int, max_iter: int,
                       atoms_per_round: int, time_limit: float, seed: int) -> Result:
    """The first-order route (module doc) as one :class:`~convex_coding.result.Result`.

    ``rank`` rows of ``Z`` (default ``T``: a readout needs ``Z`` of full column rank to
    stay finite under every perturbation); ``time_limit`` CPU seconds in all.  When
    every term has a conjugate form: a short descent (5 % of the time) for a first
    upper bound, the dual bound (:mod:`convex_coding.dual_bound`, up to 50 %), the
    factorisation of its primal point (:func:`factor_primal`, up to 25 %), then, while
    the gap is open, descent and pricing rounds for the rest.  Otherwise: descent and
    pricing rounds (half the time), then the linearised bound of :func:`lower_bound`."""
    from .dual_bound import certified_bound, dual_model, solve_dual

    clock = time.process_time()
    z = _start(problem, rank or problem.size, seed)
    model = dual_model(problem)
    kw = {"max_rounds": max_rounds, "max_iter": max_iter, "atoms_per_round": atoms_per_round,
          "seed": seed}
    left = lambda: max(time_limit - (time.process_time() - clock), 0.0)  # noqa: E731
    if model is None:
        z, pricing, rounds = _descent_rounds(problem, z, budget=0.5 * time_limit, **kw)
        q, upper = z.T @ z, factor_objective(problem, z)[0]
        lower, lam, tau = lower_bound(problem, q, tol=0.25 * gap_tol * abs(upper),
                                      time_limit=max(left(), 1.0))
    else:
        z = _descend(problem, z, max_iter, 0.05 * time_limit)
        z = z[np.linalg.norm(z, axis=1) > 1e-12 * max(np.abs(z).max(), 1e-300)]
        upper = factor_objective(problem, z)[0]
        tau = trace_bound(problem, upper)
        dual = solve_dual(problem, z.T @ z, upper=upper, tau=tau,
                          target=0.25 * gap_tol * abs(upper), time_limit=0.5 * time_limit)
        lower, lam, pricing, rounds = dual.bound, dual.min_eigenvalue, None, 0

        def open_gap() -> bool:
            return upper - lower > gap_tol * abs(upper)

        if open_gap() and dual.primal is not None:
            found = factor_primal(problem, dual.primal, time_limit=min(0.25 * time_limit,
                                                                        left()),
                                  seed=seed, target=lower + 0.5 * gap_tol * abs(lower))
            if found is not None and factor_objective(problem, found)[0] < upper:
                z, upper = found, factor_objective(problem, found)[0]
        if open_gap() and left() > 0.05 * time_limit:
            found, pricing, rounds = _descent_rounds(problem, z, budget=left(), **kw)
            if factor_objective(problem, found)[0] < upper:
                z, upper = found, factor_objective(problem, found)[0]
        # a better upper bound tightens τ, hence the bound
        tau = trace_bound(problem, upper)
        lower = max(lower, certified_bound(model, dual.point, tau)[0])
        pricing = pricing or _price(problem, z, seed)
        q = z.T @ z
    result = certify(problem.value, q, z, lower, upper, pricing, None, rounds, gap_tol=gap_tol,
                     value_tol=value_tol)
    checks = {**result.checks, "dual_min_eigenvalue": lam, "trace_bound": tau}
    # λ ≥ −ε proves G + εI copositive: no tuning prices below −ε (the linearised bound's
    # G only; the dual bound's A − N is another matrix)
    scale = max(float(np.abs(problem.gradient(q)).max()), 1e-300)
    exact = model is None and bool(lam >= -1e-9 * scale)
    return replace(result, checks=checks, pricing_exact=exact)
