r"""Compose a problem over ``Q = ZᵀZ``, solve it, and say how certain the answer is.

A :class:`Problem` is ``min_Q Σ_k w_k f_k(Q)`` subject to its :class:`Constraint` s and
``Q ∈ CP_T`` (``Q = ZᵀZ`` with ``Z ≥ 0``).  ``CP_T`` is intractable, so
:meth:`Problem.solve` brackets the optimum ``p*``:

* **outer (lower) bound**: replace ``CP_T`` by the doubly nonnegative cone
  ``{Q ⪰ 0, Q ≥ 0} ⊇ CP_T``: ``p_DNN ≤ p*``;
* **inner (upper) bound**: ``Q = Σ_k c_k y_k y_kᵀ`` over a dictionary of tunings
  ``y_k ≥ 0`` with ``c ≥ 0`` (column generation: after each solve, *pricing* searches
  for ``y ≥ 0`` with reduced cost ``yᵀGy < 0``, ``G`` the Lagrangian gradient, and adds
  it).  Its ``Q_in`` factors exactly as ``Z = diag(√c) Yᵀ ≥ 0``, so ``p_in ≥ p*``.

``status == "certified"`` iff every check passes: both solves optimal, the relative gap
``(p_in − p_DNN)/|p_in| ≤ gap_tol``, the factorisation residual
``‖ZᵀZ − Q_in‖/‖Q_in‖ ≤ 1e-9`` and the objective re-evaluated in NumPy at ``Q_in``
equal to the solver's value (relative ``value_tol``).  Otherwise ``status`` names the
first failed check with its number.  ``nonnegativity="psd"`` drops ``Z ≥ 0``
(``Q ⪰ 0`` only; ``Z`` is the symmetric square root); ``"dnn"`` and ``"dictionary"``
compute one bound only and are therefore never certified.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .pricing import PricingResult, price_affine, price_nonnegative
from .problem_terms import Constraint, Term
from .result import Result, certify, failed, psd_result
from .solvers import PRECISE, SolverError, SolverSettings

__all__ = ["PRECISE", "Problem", "Result"]

#: Retry tolerances of a conic solve that ends ``optimal_inaccurate``
#: (:func:`~convex_coding.solvers.solve_retrying`); the status still requires the gap
#: ``≤ gap_tol``.
RETRY_TOLERANCES = (1e-9, 1e-8, 1e-7)


Mode = Literal["certify", "psd", "dnn", "dictionary"]
Method = Literal["auto", "conic", "first_order"]

#: ``method="auto"`` takes the first-order route from this ``T`` on (no range constraint)
FIRST_ORDER_FROM = 25


@dataclass(frozen=True)
class Problem:
    """``min Σ_k w_k f_k(Q)`` over ``Q ∈ CP_T`` under ``constraints`` (``size = T``)."""

    size: int
    objective: tuple[Term, ...]
    constraints: tuple[Constraint, ...] = ()

    def __init__(self, *, size: int, objective: list[Term] | tuple[Term, ...],
                 constraints: list[Constraint] | tuple[Constraint, ...] = ()) -> None:
        if not (isinstance(size, int | np.integer) and size >= 1):
            raise ValueError(f"size={size} is invalid; allowed: integer ≥ 1")
        if not objective or not all(isinstance(t, Term) for t in objective):
            raise ValueError("objective must be a non-empty list of Term")
        if not all(isinstance(c, Constraint) for c in constraints):
            raise ValueError("constraints must be Constraint objects")
        ranges = [c for c in constraints if c.inputs is not None]
        if len(ranges) > 1:
            raise ValueError("at most one affine_range constraint")
        if ranges and ranges[0].inputs.shape[1] != size:
            raise ValueError(f"affine_range inputs have {ranges[0].inputs.shape[1]} columns, "
                             f"size={size}")
        object.__setattr__(self, "size", int(size))
        object.__setattr__(self, "objective", tuple(objective))
        object.__setattr__(self, "constraints", tuple(constraints))

    # ------------------------------------------------------------------ pieces
    @property
    def _inputs(self) -> np.ndarray | None:
        return next((c.inputs for c in self.constraints if c.inputs is not None), None)

    def value(self, q: np.ndarray) -> float:
        """``Σ_k w_k f_k(Q)`` in NumPy (``inf`` when an inequality is violated by > 1e-7)."""
        total = float(sum(t.weight * t.value(q) for t in self.objective))
        for c in self.constraints:
            if c.term is not None and c.term.value(q) > c.bound * (1 + 1e-7):
                return float("inf")
        return total

    def _solve(self, sim, settings: SolverSettings, dnn: bool
               ) -> tuple[float, list[float], list[np.ndarray | None]]:
        """Optimal value, the inequality multipliers and, per objective term, its
        weighted gradient read from the solver's multipliers (None: use the formula)."""
        import cvxpy as cp

        from . import menu
        from .solvers import solve_retrying

        exprs, cons, parts = [], list(sim.constraints), []
        for t in self.objective:
            e, extra = t.build(sim)
            exprs.append(t.weight * e)
            cons += extra
            parts.append(extra)
        ineqs = []
        for c in self.constraints:
            if c.term is not None:
                e, extra = c.term.build(sim)
                cons += extra
                ineqs.append(e <= c.bound)
        cons += ineqs
        if dnn:
            cons += menu.outer_nonnegativity(sim)
        problem = cp.Problem(cp.Minimize(cp.sum(exprs)), cons)
        report = solve_retrying(problem, settings, tolerances=RETRY_TOLERANCES)
        duals = [t.dual_gradient(sim, extra) if t.dual_gradient and t.weight > 0 and extra
                 else None for t, extra in zip(self.objective, parts, strict=True)]
        return report.value, [float(np.asarray(i.dual_value).sum()) for i in ineqs], duals

    def gradient(self, q: np.ndarray, multipliers: list[float] | None = None, *,
                 duals: list[np.ndarray | None] | None = None) -> np.ndarray:
        """Lagrangian gradient ``G = Σ w_k ∇f_k(Q) + Σ ν_j ∇g_j(Q)``; a term whose entry
        of ``duals`` is a matrix contributes that (its gradient from the solver's
        multipliers: unique where ``f_k`` is differentiable, the master's own choice from
        the subdifferential where ``Q`` is singular)."""
        duals = duals or [None] * len(self.objective)
        g = sum(t.weight * t.gradient(q) if d is None else d
                for t, d in zip(self.objective, duals, strict=True))
        ineq = [c for c in self.constraints if c.term is not None]
        for nu, c in zip(multipliers or [], ineq, strict=False):
            g = g + nu * c.term.gradient(q)
        return 0.5 * (g + g.T)

    def _similarity(self, atoms: np.ndarray | None = None):
        from . import menu

        x = self._inputs
        if atoms is not None:
            return menu.dictionary_similarity(atoms, inputs=x)
        return menu.psd_similarity(self.size) if x is None else menu.affine_similarity(x)

    def _price(self, g: np.ndarray, atoms: np.ndarray, seed: int) -> PricingResult:
        x = self._inputs
        if x is None:
            return price_nonnegative(g, starts=atoms, seed=seed)
        from .menu import affine_code_basis

        basis, rank = affine_code_basis(x)
        return price_affine(g, basis[:, :rank], starts=basis[:, :rank].T @ atoms, seed=seed)

    def initial_atoms(self, outer_q: np.ndarray | None, seed: int = 0) -> np.ndarray:
        """Starting dictionary: for an affine code, affine tunings along random
        directions; otherwise unit vectors, ``1`` and the (nonnegative) columns of the
        DNN optimum."""
        g0 = self.gradient(np.eye(self.size) if outer_q is None else outer_q)
        if self._inputs is not None:
            return self._price(g0, np.ones((self.size, 1)), seed).atoms[:, :64]
        cols = [np.eye(self.size), np.ones((self.size, 1))]
        if outer_q is not None:
            cols.append(np.clip(outer_q, 0.0, None))
        y = np.hstack(cols)
        return y[:, np.linalg.norm(y, axis=0) > 1e-12]

    # ------------------------------------------------------------------ solve
    def solve(self, *, nonnegativity: Mode = "certify", settings: SolverSettings = PRECISE,
              atoms: np.ndarray | None = None, gap_tol: float = 1e-6,
              value_tol: float = 1e-6, max_rounds: int = 40, atoms_per_round: int = 12,
              method: Method = "auto", time_limit: float = 60.0, seed: int = 0) -> Result:
        """Solve with the chosen treatment of ``Z ≥ 0`` and return one :class:`Result`.

        ``atoms`` (T × K, nonnegative) seed the dictionary; ``max_rounds`` bounds the
        pricing rounds.  ``method``: ``"conic"`` (DNN SDP + dictionary master),
        ``"first_order"`` (:mod:`convex_coding.first_order`: Burer–Monteiro upper bound,
        dual-certificate lower bound, within ``time_limit`` CPU seconds; no range or
        inequality constraints) or ``"auto"`` (first order for ``T ≥``
        :data:`FIRST_ORDER_FROM` without constraints, else conic).  Solver failures do
        not raise: they become the ``status``.
        """
        if nonnegativity not in ("certify", "psd", "dnn", "dictionary"):
            raise ValueError(f"nonnegativity={nonnegativity!r} is invalid; allowed: certify, "
                             "psd, dnn, dictionary")
        if method not in ("auto", "conic", "first_order"):
            raise ValueError(f"method={method!r} is invalid; allowed: auto, conic, first_order")
        if method == "first_order" and (self.constraints or nonnegativity != "certify"):
            raise ValueError("method='first_order' needs nonnegativity='certify' and no "
                             "constraints; use method='conic'")
        if method == "first_order" or (method == "auto" and not self.constraints
                                       and nonnegativity == "certify"
                                       and self.size >= FIRST_ORDER_FROM):
            from .first_order import solve_first_order

            return solve_first_order(self, gap_tol=gap_tol, value_tol=value_tol,
                                     time_limit=time_limit, seed=seed)
        nan = float("nan")
        lower, outer_q = nan, None
        if nonnegativity in ("certify", "dnn", "psd"):
            sim = self._similarity()
            try:
                lower, _, _ = self._solve(sim, settings, dnn=nonnegativity != "psd")
            except SolverError as exc:
                return failed(f"outer solve failed: {exc}", self.size)
            outer_q = sim.value()
        if nonnegativity == "psd":
            return psd_result(self.value, outer_q, lower)
        if nonnegativity == "dnn":
            return Result("uncertified: outer bound only", outer_q, np.zeros((0, self.size)),
                          lower, nan, nan, nan, nan, nan, outer_Q=outer_q)
        dictionary = self.initial_atoms(outer_q, seed)
        if atoms is not None:
            dictionary = np.hstack([np.asarray(atoms, dtype=float), dictionary])
        return self._column_generation(dictionary, lower, outer_q, settings, gap_tol=gap_tol,
                                       value_tol=value_tol, max_rounds=max_rounds,
                                       per_round=atoms_per_round, seed=seed)

    def _column_generation(self, dictionary: np.ndarray, lower: float,
                           outer_q: np.ndarray | None, settings: SolverSettings, *,
                           gap_tol: float, value_tol: float, max_rounds: int, per_round: int,
                           seed: int) -> Result:
        dictionary, note = _distinct(dictionary), ""
        for rounds in range(1, max_rounds + 1):
            sim = self._similarity(dictionary)
            try:
                upper_k, nus, duals = self._solve(sim, settings, dnn=False)
            except SolverError as exc:
                if rounds == 1:
                    return failed(f"inner solve failed: {exc}", self.size, lower=lower)
                note = f"; round {rounds} inner solve failed, kept round {rounds - 1}: {exc}"
                rounds -= 1
                break
            upper = upper_k
            c = np.maximum(np.asarray(sim.core.value, dtype=float), 0.0)
            c[c < 1e-9 * max(c.max(initial=0.0), 1e-300)] = 0.0  # interior-point dust
            atoms, q_in = dictionary, (dictionary * c) @ dictionary.T
            g = self.gradient(q_in, nus, duals=duals)
            pricing = self._price(g, dictionary, seed + rounds)
            gap = (upper - lower) / max(abs(upper), 1e-300)
            scale = max(float(np.abs(g).max()), 1e-300)
            new = pricing.atoms[:, pricing.costs < -1e-9 * scale][:, :per_round]
            if gap <= gap_tol or new.shape[1] == 0:
                break
            used = c > 0
            polished = self._polish(np.sqrt(c[used])[:, None] * dictionary[:, used].T)
            # polished atoms first: _distinct keeps the first of near-parallel columns
            dictionary = np.hstack([polished.T, dictionary[:, used], new])
            dictionary = _distinct(dictionary)
        z = np.sqrt(c[c > 0])[:, None] * atoms[:, c > 0].T
        result = certify(self.value, q_in, z, lower, upper, pricing, outer_q, rounds,
                         gap_tol=gap_tol, value_tol=value_tol)
        return replace(result, status=result.status + note) if note else result

    def _polish(self, z: np.ndarray, iters: int = 300) -> np.ndarray:
        """Descend ``F(Z) = f(ZᵀZ)`` over ``Z ≥ 0`` (:func:`~convex_coding.first_order.spg`)
        from the master's factor plus ``T`` tiny unit rows: moves the atoms themselves
        (the master only reweights them).  The tiny rows keep ``Z`` of full column rank,
        so a readout stays finite while the atoms move (at a singular ``Q`` nearly every
        perturbation of the master's few rows leaves ``Ỹ`` undecodable).  Only proposes
        atoms for the next master solve; certifies nothing.  Affine-range problems are
        not polished (the range would be left)."""
        from .first_order import _descend

        if self._inputs is not None or self.constraints:
            return np.zeros((0, self.size))
        size = 1e-5 * max(float(np.linalg.norm(z, axis=1).max(initial=0.0)), 1e-300)
        z = _descend(self, np.vstack([z, size * np.eye(self.size)]), iters)
        return z[np.linalg.norm(z, axis=1) > 1e-12]


def _distinct(atoms: np.ndarray, cos_tol: float = 1e-9) -> np.ndarray:
    """Unit columns of ``atoms`` with (near-)parallel duplicates removed (cosine
    ``> 1 − cos_tol``): duplicates make the master program degenerate."""
    a = atoms[:, np.linalg.norm(atoms, axis=0) > 1e-12]
    a = a / np.linalg.norm(a, axis=0)
    close = np.triu(a.T @ a > 1.0 - cos_tol, k=1)
    return a[:, ~close.any(axis=0)]
