"""Solve time against the number of samples T, per problem class, with fitted exponents.

Classes (d = 2 uniform samples, general mixing, λ_W = λ_R = 0.1 unless noted):
  reduced       solve_population: the certified reduced solve (T from 20 to 1e5)
  reduced_d3    the same for d = 3
  outer_dnn     qspace_outer_bound: the T×T doubly nonnegative bound, with the exact
                vertex-pair reduction of Q ≥ 0 (the returned Q = B M Bᵀ is not formed)
  outer_dnn_TxT the same bound with all T² entrywise constraints, as the menu writes it
                (the formulation before the reduction; capped early)
  inner_dict    qspace_inner_bound: dictionary of 360 direction tunings (+ axes)

For each class T grows geometrically until one point's median exceeds
``--max-point-seconds`` or the class has used ``--class-budget`` seconds; the largest
measured T is then the cap, and the fitted t ∝ T^k (over T ≥ ``--fit-min``) gives the
extrapolated time at T = 1e5.

``--generic`` instead measures the library's generic path (``cc.Problem.solve``, which
takes the first-order route for T ≥ 25 without a range constraint) on the example
families and the Fig. 3 model (``--families``) at T = 25, 50, 100, 200, 400: CPU
seconds, status, bounds and gap (the table of docs/library.md, "Scale").
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import extrapolate, fit_exponent, machine, median_time, write_section

from convex_coding import menu
from convex_coding.identifiability import (
    AutoencoderProblem,
    direction_grid,
    qspace_inner_bound,
    qspace_outer_bound,
    solve_population,
)
from convex_coding.solvers import SolverSettings, solve_checked
from convex_coding.sources import make_mixing, make_sources

PRECISE = SolverSettings(
    "CLARABEL", {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
)
DEFAULT = SolverSettings("CLARABEL")
SIZES = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]


def make_problem(n: int, dim: int = 2, seed: int = 0) -> AutoencoderProblem:
    rng = np.random.default_rng(seed)
    s = make_sources("uniform", dim, rng, points_per_axis=11, n_points=n, scale_spread=0.3,
                     cut_depth=(0.3, 1.2))
    a = make_mixing("general", dim, dim + 2, rng, max_correlation=0.6, gain_spread=0.3)
    return AutoencoderProblem(s, a, 0.1, 0.1)


def outer_txt(problem: AutoencoderProblem) -> float:
    """The outer bound with all T² constraints ``Q ≥ 0`` (the menu formulation)."""
    data = problem.mixing @ problem.sources
    sim = menu.affine_similarity(problem.sources)
    readout, constraints = menu.readout_energy_with_bias(sim, data)
    objective = (menu.activity_energy(sim) / problem.n_samples
                 + problem.lambda_w * menu.linear_weight_energy(sim, data)
                 + problem.lambda_r * readout)
    constraints += menu.outer_nonnegativity(sim)
    return solve_checked(cp.Problem(cp.Minimize(objective), constraints), DEFAULT).value


DIRECTIONS = direction_grid(2, 360)

CLASSES: dict[str, tuple[str, Callable[[int], Callable[[], Any]], int]] = {
    # name: (label, T ↦ timed call on a fresh problem, largest T tried)
    "reduced": ("reduced solve (d=2)",
                lambda n: lambda: solve_population(make_problem(n), PRECISE).loss, 100_000),
    "reduced_d3": ("reduced solve (d=3)",
                   lambda n: lambda: solve_population(make_problem(n, 3), PRECISE).loss,
                   100_000),
    "outer_dnn": ("DNN outer bound",
                  lambda n: lambda: qspace_outer_bound(make_problem(n), DEFAULT)[0], 100_000),
    "outer_dnn_TxT": ("DNN outer, all T² constraints",
                      lambda n: lambda: outer_txt(make_problem(n)), 100_000),
    "inner_dict": ("dictionary inner bound",
                   lambda n: lambda: qspace_inner_bound(make_problem(n), DEFAULT,
                                                        DIRECTIONS)[0], 100_000),
}


def t_within(fit: dict[str, Any], seconds: float) -> float | None:
    """Largest T whose solve fits in ``seconds`` by the fit ``a·T^k = seconds``, capped
    at 1e5 (the largest T of interest); ``None`` without a growing fit."""
    if fit.get("exponent") is None or fit["exponent"] <= 0:
        return None
    return float(min((seconds / fit["prefactor"]) ** (1.0 / fit["exponent"]), 100_000))


def run(classes: list[str], *, sizes: list[int] = SIZES, repeats: int = 3,
        max_point_seconds: float = 15.0, class_budget: float = 90.0, fit_min: int = 200,
        log=print) -> dict[str, Any]:
    out: dict[str, Any] = {}
    solve_population(make_problem(50), PRECISE)  # warm-up: imports, first compile
    for name in classes:
        label, make_call, t_max = CLASSES[name]
        points, start, capped_by = [], time.perf_counter(), None
        for n in sizes:
            if n > t_max:
                break
            med, times, value = median_time(make_call(n), repeats,
                                            max_seconds=max_point_seconds)
            points.append({"n_samples": n, "median_seconds": med, "seconds": times,
                           "value": float(value)})
            log(f"{name:14s} T={n:6d} {med:8.3f}s (value {float(value):.6g})")
            if med > max_point_seconds:
                capped_by = f"one solve took {med:.1f}s > {max_point_seconds}s"
                break
            if time.perf_counter() - start > class_budget:
                capped_by = f"class budget {class_budget}s used"
                break
        fit = fit_exponent([p["n_samples"] for p in points],
                           [p["median_seconds"] for p in points], min_size=fit_min)
        largest = points[-1]["n_samples"]
        out[name] = {
            "label": label,
            "points": points,
            "fit": fit,
            "largest_t": largest,
            "capped_by": capped_by,
            "extrapolated_seconds_at_1e5": (None if largest >= 100_000
                                            else extrapolate(fit, 100_000)),
            "t_within_10_minutes": t_within(fit, 600.0),
        }
    return {"machine": machine(), "repeats": repeats, "fit_min_t": fit_min,
            "max_point_seconds": max_point_seconds, "class_budget_seconds": class_budget,
            "classes": out}


GENERIC_SIZES = [25, 50, 100, 200, 400]


def generic_problem(family: str, t: int):
    """The example families at size ``t``: ``similarity_matching`` (ring inputs, as
    examples/similarity_matching.py), ``sparse_coding`` (examples/sparse_coding.py,
    β = 5) and ``fig3`` (the paper's Figure 3 model, docs/library.md (f): exponential
    slab with ``p₀ = 0.2``, ``λ = 1``; its optimum is known in closed form)."""
    import convex_coding as cc

    if family == "fig3":
        from convex_coding import affine_channels as ac

        var = ac.sparse_variable("exponential", 0.2, t - 1)
        return cc.Problem(size=t, objective=[
            cc.activity_energy(weights=var.weights),
            cc.readout_energy(var.values[None, :], bias=True, weight=1.0)])
    if family == "similarity_matching":
        theta = 2 * np.pi * np.arange(t) / t
        x = np.vstack([np.cos(theta), np.sin(theta)])
        return cc.Problem(size=t, objective=[cc.similarity_matching(x.T @ x)])
    if family == "sparse_coding":
        x = np.random.default_rng(1).uniform(0.2, 1.0, size=(3, t))
        return cc.Problem(size=t, objective=[cc.activity_energy(),
                                             cc.readout_energy(x, weight=0.5),
                                             cc.lifetime_density(weight=5.0)])
    raise ValueError(f"family={family!r} is invalid; allowed: similarity_matching, "
                     "sparse_coding, fig3")


def run_generic(families: list[str], sizes: list[int] = GENERIC_SIZES, *,
                time_limit: float = 60.0, log=print) -> dict[str, Any]:
    """One generic solve per (family, T): CPU seconds and the certificate's numbers."""
    out: dict[str, Any] = {}
    for family in families:
        rows = []
        for t in sizes:
            problem = generic_problem(family, t)
            start = time.process_time()
            result = problem.solve(time_limit=time_limit)
            cpu = time.process_time() - start
            numbers = {"lower": result.lower, "upper": result.upper, "gap": result.gap,
                       "min_reduced_cost": result.min_reduced_cost,
                       "dual_min_eigenvalue": result.checks.get("dual_min_eigenvalue")}
            row = {"T": t, "cpu_seconds": cpu, "status": result.status,
                   "neurons": int(result.Z.shape[0]),
                   **{k: (float(v) if v is not None and np.isfinite(v) else None)
                      for k, v in numbers.items()}}
            rows.append(row)
            log(f"{family:20s} T={t:4d} cpu {cpu:7.1f}s lower {result.lower:.8g} upper "
                f"{result.upper:.8g} gap {result.gap:.2e} λ_min "
                f"{row['dual_min_eigenvalue']} {result.status[:60]}")
        out[family] = rows
    return {"machine": machine(), "time_limit": time_limit, "families": out}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-point-seconds", type=float, default=15.0)
    ap.add_argument("--class-budget", type=float, default=90.0)
    ap.add_argument("--max-t", type=int, default=100_000)
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--generic", action="store_true",
                    help="measure the generic path (cc.Problem) instead")
    ap.add_argument("--generic-sizes", default=",".join(map(str, GENERIC_SIZES)))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--families", default="similarity_matching,sparse_coding,fig3")
    args = ap.parse_args(argv)
    if args.generic:
        out = run_generic(args.families.split(","),
                          [int(n) for n in args.generic_sizes.split(",")],
                          time_limit=args.time_limit, log=lambda m: print(m, flush=True))
        kw = {} if args.root is None else {"root": args.root}
        path = write_section(args.scale, "scaling_generic", out, figure=False, **kw)
        print(f"wrote {path}")
        return
    out = run(args.classes.split(","), sizes=[n for n in SIZES if n <= args.max_t],
              repeats=args.repeats, max_point_seconds=args.max_point_seconds,
              class_budget=args.class_budget, log=lambda m: print(m, flush=True))
    kw = {} if args.root is None else {"root": args.root}
    path = write_section(args.scale, "scaling", out, **kw)
    for name, cls in out["classes"].items():
        print(f"{name}: k = {cls['fit']['exponent']}, T ≤ {cls['largest_t']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
