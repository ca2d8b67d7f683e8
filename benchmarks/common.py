"""Shared helpers of the benchmarks: timing, exponent fits, the JSON writer, the figure.

Every benchmark script merges its section into ``results/<scale>/benchmarks.json``
(atomically) and redraws ``results/<scale>/figures/benchmarks.{pdf,png}`` from whatever
sections exist, so the scripts can run alone or together (``run_all.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def median_time(fn: Callable[[], Any], repeats: int, max_seconds: float = np.inf
                ) -> tuple[float, list[float], Any]:
    """Median wall time over ``repeats`` calls (fewer once ``max_seconds`` is spent)."""
    times, out, spent = [], None, 0.0
    for _ in range(repeats):
        dt, out = timed(fn)
        times.append(dt)
        spent += dt
        if spent > max_seconds:
            break
    return statistics.median(times), times, out


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float],
                 min_size: float = 0.0) -> dict[str, float | int | None]:
    """Least-squares fit ``t = a·T^k`` on log-log axes over the points with ``T ≥ min_size``
    (all points if fewer than 3 remain).  Returns ``exponent``, ``prefactor``, the fitted
    range and the number of points; ``None`` values with fewer than 2 points."""
    t = np.asarray(sizes, dtype=float)
    y = np.asarray(seconds, dtype=float)
    keep = (t >= min_size) & (y > 0)
    if keep.sum() < 3:
        keep = y > 0
    if keep.sum() < 2:
        return {"exponent": None, "prefactor": None, "t_min": None, "t_max": None,
                "n_points": int(keep.sum())}
    k, log_a = np.polyfit(np.log(t[keep]), np.log(y[keep]), 1)
    return {"exponent": float(k), "prefactor": float(np.exp(log_a)),
            "t_min": float(t[keep].min()), "t_max": float(t[keep].max()),
            "n_points": int(keep.sum())}


def extrapolate(fit: dict[str, Any], size: float) -> float | None:
    if fit.get("exponent") is None:
        return None
    return float(fit["prefactor"] * size ** fit["exponent"])


def machine() -> dict[str, Any]:
    """Where and under what load a measurement was taken."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15min": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "note": "wall times on a shared machine (other CPU-heavy work may run); medians "
                "over repeats where stated",
    }


def results_path(scale: str, root: Path = REPO) -> Path:
    return root / "results" / scale / "benchmarks.json"


def figure_paths(scale: str, root: Path = REPO) -> list[Path]:
    stem = root / "results" / scale / "figures" / "benchmarks"
    return [stem.with_suffix(".pdf"), stem.with_suffix(".png")]


def load_results(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_section(scale: str, section: str, payload: dict[str, Any],
                  root: Path = REPO, figure: bool = True) -> Path:
    """Merge ``payload`` as ``section`` into ``benchmarks.json`` and redraw the figure."""
    from convex_coding.pipeline.cache import atomic_write_text, jsonable

    path = results_path(scale, root)
    data = load_results(path)
    data[section] = payload
    atomic_write_text(path, json.dumps(jsonable(data), indent=1, sort_keys=True,
                                       allow_nan=False))
    if figure:
        plot(data, figure_paths(scale, root))
    return path



# ------------------------------------------------------------------------- figure


def plot(data: dict[str, Any], paths: Sequence[Path]) -> None:
    """(a) solve time against T with fitted exponents; (b) convex vs trained per
    instance with the 100× and 1000× lines; (c) pipeline wall times."""
    import matplotlib.pyplot as plt

    from convex_coding.pipeline.figures import COLORS, STYLE, panel_label, save

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.4),
                                 gridspec_kw={"width_ratios": [1.2, 1.0, 1.0]})
        _plot_scaling(axes[0], data.get("scaling"))
        _plot_training(axes[1], data.get("training"), COLORS)
        _plot_pipeline(axes[2], data.get("pipeline"), COLORS)
        for ax, label in zip(axes, "abc", strict=True):
            panel_label(ax, label)
        fig.tight_layout()
        save(fig, paths)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _plot_scaling(ax: Any, scaling: dict[str, Any] | None) -> None:
    if not scaling:
        return _empty(ax, "scaling: not run")
    markers = "osD^v<>"
    for i, cls in enumerate(scaling["classes"].values()):
        pts = cls["points"]
        t = [p["n_samples"] for p in pts]
        y = [p["median_seconds"] for p in pts]
        k = cls["fit"]["exponent"]
        label = f"{cls['label']} (k = {k:.2f})" if k is not None else cls["label"]
        (line,) = ax.loglog(t, y, marker=markers[i % len(markers)], ms=3.5, lw=1,
                            label=label)
        if k is not None:
            lo, hi = cls["fit"]["t_min"], cls["fit"]["t_max"]
            grid = np.geomspace(lo, hi, 20)
            ax.loglog(grid, cls["fit"]["prefactor"] * grid**k, ls=":", lw=1,
                      color=line.get_color())
    ax.set_xlabel("samples T")
    ax.set_ylabel("wall time per solve (s)")
    ax.set_title("solve time against T (dotted: fit t ∝ T^k)")
    ax.legend(frameon=False, fontsize=6.5, ncol=2, loc="upper center",
              bbox_to_anchor=(0.5, -0.2))


def _plot_training(ax: Any, training: dict[str, Any] | None, colors: dict) -> None:
    if not training:
        return _empty(ax, "training: not run")
    rows = training["instances"]
    fams = sorted({r["family"] for r in rows})
    for fam, color in zip(fams, [colors["modular"], colors["mixed"], colors["neutral"]],
                          strict=False):
        for reached in (True, False):
            sel = [r for r in rows if r["family"] == fam and r["reached"] == reached]
            if not sel:
                continue
            ax.loglog([r["convex_seconds"] for r in sel], [r["train_seconds"] for r in sel],
                      ls="none", marker="o" if reached else "^", ms=4,
                      mfc=color if reached else "none", mec=color,
                      label=f"{fam}: {'reached 1e-3' if reached else 'stalled (lower bound)'}")
    xs = np.array([r["convex_seconds"] for r in rows])
    grid = np.geomspace(xs.min() / 2, xs.max() * 2, 10)
    for factor, ls in ((1, "-"), (100, "--"), (1000, ":")):
        ax.loglog(grid, factor * grid, color=colors["error"], lw=0.7, ls=ls)
        ax.text(grid[-1], factor * grid[-1], f" {factor}×", fontsize=7, va="center")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(10 ** np.floor(np.log10(xs.min())), 10 ** np.ceil(np.log10(xs.max())))
    ax.set_xlabel("certified convex solve (s)")
    ax.set_ylabel("Adam to 1e-3 of optimum (s)")
    summ = training["summary"]
    meds = ", ".join(
        f"{k} {'≥' if v['median_ratio_is_lower_bound'] else ''}{v['median_ratio']:.0f}×"
        for k, v in summ.items() if k != "overall")
    ax.set_title(f"convex vs trained\nmedian ratio: {meds}")
    ax.legend(frameon=False, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=2)


def _plot_pipeline(ax: Any, pipeline: dict[str, Any] | None, colors: dict) -> None:
    if not pipeline:
        return _empty(ax, "pipeline: not run")
    runs = [dict(r, estimated=False) for r in pipeline["runs"]]
    for key, est in pipeline.get("extrapolated", {}).get("cores_8", {}).items():
        scale, cache = key.split("_")
        runs.append({"scale": scale, "cache": cache, "cores": 8, "estimated": True,
                     "seconds": est["estimated_seconds"]})
    order = {"quick": 0, "paper": 1}
    runs.sort(key=lambda r: (order.get(r["scale"], 2), r["cache"] != "cold", r["cores"]))
    color = [colors["mixed"] if r["cache"] == "cold" else colors["modular"] for r in runs]
    # bars grouped by (scale, cache) with a gap between groups; ticks give the cores
    groups = [(r["scale"], r["cache"]) for r in runs]
    xs = np.cumsum([0.0] + [1.0 + 0.6 * (g != h) for g, h in itertools.pairwise(groups)])
    bars = ax.bar(xs, [r["seconds"] for r in runs], color=color, width=0.85)
    for bar, r, c in zip(bars, runs, color, strict=True):
        if r["estimated"]:
            bar.set_hatch("///")
            bar.set_facecolor("white")
            bar.set_edgecolor(c)
        text = f"{r['seconds'] / 60:.1f} min" if r["seconds"] >= 120 else f"{r['seconds']:.0f} s"
        # measured: inside the bar near its top (clear of the 10-minute line);
        # estimated (hatched): just above the bar
        inside = not r["estimated"]
        ax.text(bar.get_x() + bar.get_width() / 2,
                r["seconds"] / 1.12 if inside else r["seconds"] * 1.12, text, ha="center",
                va="top" if inside else "bottom", fontsize=5.5, rotation=90,
                color="white" if inside else c)
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_yscale("log")
    ax.set_ylim(3, max(r["seconds"] for r in runs) * 4)
    ax.yaxis.set_major_locator(FixedLocator([3, 10, 30, 100, 300, 1000, 3000]))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.axhline(600, color=colors["error"], lw=0.7, ls="--")
    ax.text(xs[-1] + 0.45, 600 * 1.1, "10 min", fontsize=6, color=colors["error"], ha="right")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['cores']}{'*' if r['estimated'] else ''}" for r in runs],
                       fontsize=6)
    for g in dict.fromkeys(groups):
        centre = float(np.mean([x for x, h in zip(xs, groups, strict=True) if h == g]))
        ax.text(centre, -0.13, f"{g[0]}\n{g[1]}", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=6)
    ax.set_xlabel("cores (* = 8-core estimate), scale, cache", labelpad=22)
    ax.set_ylabel("snakemake wall time (s)")
    ax.set_title("whole pipeline (red: cold cache, blue: warm;\nhatched: extrapolated)")
