"""Theorem 2 refit: the dense Gauss–Newton solve against the structured ones, as ratios.

``gauss_newton_refit(form="primal")`` is the dense ``|F| × |F|`` Cholesky solve of the
Levenberg–Marquardt system (the computation the refit used before the structured solves,
to the last bit); ``form=None`` picks the cheapest of the primal, dual (``m × m``,
``m = T(T+1)/2``) and bordered (closed-form inverse + ``|B| × |B|`` Schur complement)
solves.  Both run on the same synthetic instances in the same process, interleaved, so
the ratio is meaningful on a loaded machine.  Instances mimic the paper-scale
``tuning_criteria`` regimes:

  theorem1_d3   n = 6 neurons, T = 64 stimuli, rank Q = 4 (d = 3 Theorem 1 optima)
  theorem1_d2   n = 5, T = 49, rank Q = 3
  offset        n = 26, T = 25, rank Q = 25 (offset decoding)
  sparse        n = 16, T = 31, 80 % zeros (ON/OFF optima)

Usage: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_refit.py [--repeats 3]
[--json out.json]`` (single-threaded BLAS, as Snakemake jobs run).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from convex_coding.uniqueness import GaussNewtonSystem, gauss_newton_refit, relative_residual

REGIMES = {  # name: (n, T, rank, fraction of zeros in Z)
    "theorem1_d3": (6, 64, 4, 0.1),
    "theorem1_d2": (5, 49, 3, 0.05),
    "offset": (26, 25, 25, 0.15),
    "sparse": (16, 31, 16, 0.8),
}


def instance(n: int, t: int, rank: int, zeros: float,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``Q = YᵀY`` (``Y ≥ 0``: ``rank`` neurons) and a start ``Z ≥ 0`` with ``n`` rows near a
    split of ``Y``: the refit's input after the quasi-Newton stage."""
    y = rng.uniform(0.0, 1.0, (rank, t)) * (rng.random((rank, t)) > zeros)
    q = y.T @ y
    rows = np.vstack([y, y[rng.integers(0, rank, n - rank)]])[:n]
    weights = np.ones(n)
    for i in range(rank, n):  # a split copy shares its neuron's energy
        weights[i] = weights[rng.integers(0, rank)] = np.sqrt(0.5)
    z = rows * weights[:, None]
    z = np.maximum(z + 1e-3 * rng.standard_normal(z.shape) * (z > 0), 0.0)
    return q / np.linalg.norm(q), z / np.sqrt(np.linalg.norm(q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the rows to this file")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'regime':12s} {'n×T':>7s} {'form':>8s} {'dense s':>9s} {'new s':>9s} "
          f"{'ratio':>6s} {'res dense':>10s} {'res new':>10s}")
    for name, (n, t, rank, zeros) in REGIMES.items():
        q, z = instance(n, t, rank, zeros, rng)
        form = GaussNewtonSystem(z, z > 0).form
        dense, new = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            zd = gauss_newton_refit(q, z, form="primal")
            dense.append(time.perf_counter() - start)
            start = time.perf_counter()
            zn = gauss_newton_refit(q, z)
            new.append(time.perf_counter() - start)
        row = {"regime": name, "n": n, "T": t, "form": form,
               "dense_seconds": float(np.median(dense)), "new_seconds": float(np.median(new)),
               "residual_dense": relative_residual(q, zd),
               "residual_new": relative_residual(q, zn)}
        row["ratio"] = row["dense_seconds"] / row["new_seconds"]
        rows.append(row)
        print(f"{name:12s} {n:>3d}×{t:<3d} {form:>8s} {row['dense_seconds']:9.4f} "
              f"{row['new_seconds']:9.4f} {row['ratio']:6.2f} {row['residual_dense']:10.2e} "
              f"{row['residual_new']:10.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
