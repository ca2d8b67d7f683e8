"""Extension figure (the project's own density-bound model, not the paper's Figure 3):
ON/OFF splitting against the density bound ρ, and its summary block."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ...on_off_density import closed_form_norm, cost, stimulus_samples
from . import COLORS, STYLE, save

Record = Mapping[str, Any]

#: tuning shapes in panel (a): increasing = ON, decreasing = OFF, other = localised
SHAPE_COLORS = {"on": COLORS["modular"], "off": COLORS["mixed"], "bump": COLORS["neutral"]}
#: at most this many localised tunings are drawn in panel (a) (evenly by centre)
MAX_BUMPS_DRAWN = 10


def _x(record: Record) -> np.ndarray:
    p = record["params"]
    return stimulus_samples(p["kind"], p["n_samples"], p["param"])


def summarise(sweeps: Mapping[str, Sequence[Record]],
              thresholds: Mapping[str, Record]) -> dict[str, Any]:
    """Per stimulus the predicted and measured threshold, and the worst certificates over
    every instance of the ρ sweep and every solve of the bisections."""
    records = [r for recs in sweeps.values() for r in recs]
    solutions = [r["solution"] for r in records]
    per = {
        name: {
            "predicted": th["theory"]["rho_star"],
            "measured": th["measured"]["threshold"],
            "difference": th["measured"]["difference"],
        }
        for name, th in sorted(thresholds.items())
    }
    worst_rc = min([s["min_reduced_cost"] for s in solutions]
                   + [th["solution"]["min_reduced_cost"] for th in thresholds.values()])
    solvers = sorted({s["solver"] for s in solutions})
    versions = sorted({s["solver_version"] for s in solutions})
    return {
        "n_instances": len(records),
        "n_thresholds": len(thresholds),
        "agreement": sum(r["agree"] for r in records) / len(records) if records else 0.0,
        "thresholds": per,
        "max_threshold_difference": max(abs(v["difference"]) for v in per.values()),
        "max_inner_outer_gap": max(abs(s["gap_inner_outer"]) for s in solutions),
        "max_inner_lower_gap": max([s["gap_inner_lower"] for s in solutions]
                                   + [th["solution"]["max_gap_inner_lower"]
                                      for th in thresholds.values()]),
        "max_closed_form_gap": max(abs(s["inner"] - r["theory"]["cost"]) / s["inner"]
                                   for r, s in zip(records, solutions, strict=True)),
        "most_negative_reduced_cost": worst_rc,
        "max_complementarity": max(s["complementarity"] for s in solutions),
        "canonical_share": (sum(s.get("representative") == "canonical" for s in solutions)
                            / len(solutions) if solutions else 0.0),
        "acceptance": {
            "thresholds_within_0.01": all(abs(v["difference"]) <= 0.01 for v in per.values()),
            "no_improving_atom_below_-1e-6": worst_rc >= -1e-6,
        },
        "disagreements": [r["params"] for r in records if not r["agree"]],
        "solver": ", ".join(solvers),
        "solver_version": ", ".join(versions),
    }


def _shape(y: np.ndarray) -> str:
    d = np.diff(y)
    tol = 1e-9 * y.max()
    if np.all(d >= -tol):
        return "on"
    if np.all(d <= tol):
        return "off"
    return "bump"


def _tunings(ax: plt.Axes, record: Record, title: str) -> None:
    """Optimal tunings z_k(x) = √c_k ŷ_k (c_k = √(λT)|v_k|), coloured by shape."""
    x = _x(record)
    order = np.argsort(x, kind="stable")
    sol = record["solution"]
    lam, t = record["params"]["lam"], len(x)
    atoms = np.asarray(sol["atoms"]).T
    c = np.sqrt(lam * t) * np.asarray(sol["weights"])
    z = atoms * np.sqrt(c)
    many = z.shape[1] > 8
    by_centre = np.argsort(-np.asarray(record["measured"]["centres"]))
    bumps = [k for k in by_centre if _shape(z[order, k]) == "bump"]
    step = max(1, int(np.ceil(len(bumps) / MAX_BUMPS_DRAWN)))
    shown = set(bumps[::step])  # a tiling of bumps: every step-th by centre, not a tangle
    for k in by_centre:
        y = z[order, k]
        if _shape(y) == "bump" and k not in shown:
            continue
        ax.plot(x[order], y, color=SHAPE_COLORS[_shape(y)], lw=0.8 if many else 1.4,
                alpha=0.85 if many else 1.0, marker="none" if many else "o", ms=1.8)
    if len(shown) < len(bumps):
        ax.text(0.5, 0.80, f"{len(shown)} of {len(bumps)} localised tunings drawn",
                transform=ax.transAxes, ha="center", va="top", fontsize=6, color="0.4")
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel("stimulus $x$")
    ax.set_ylabel("firing rate $z_k(x)$")
    ax.set_title(title)
    m = record["measured"]
    ax.text(0.5, 0.97, f"{m['n_tunings']} neurons\nmonotone share {m['monotone_share']:.2f}",
            transform=ax.transAxes, ha="center", va="top", fontsize=7)
    ax.set_ylim(bottom=0, top=1.3 * z.max())


def _palette(names: Sequence[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("viridis")
    return {n: cmap(0.9 * i / max(1, len(names) - 1)) for i, n in enumerate(names)}


def _by_rho(records: Sequence[Record], lam: float) -> list[Record]:
    sel = [r for r in records if r["params"]["lam"] == lam]
    return sorted(sel, key=lambda r: r["params"]["rho"])


def _letter(fig: plt.Figure, ax: plt.Axes, label: str) -> None:
    """Panel letter at the top left of ``ax``, left of its y label, clear of the title."""
    pos = ax.get_position()
    fig.text(pos.x0 - 0.065, pos.y1 + 0.025, label, fontsize=12, fontweight="bold",
             ha="left", va="bottom")


def render(sweeps: Mapping[str, Sequence[Record]], thresholds: Mapping[str, Record],
           showcase: Mapping[str, Any], paths: Sequence[str | Path]) -> None:
    """Four panels: (a) dense vs sparse optimal tunings, (b) ON/OFF index and monotone
    share against ρ with ρ* lines, (c) predicted vs measured threshold, (d) cost vs ρ."""
    names = list(sweeps)
    colors = _palette(names)
    lam0 = min(r["params"]["lam"] for recs in sweeps.values() for r in recs)
    stim = sweeps[showcase["stimulus"]]

    def nearest(rho: float) -> Record:
        return min(_by_rho(stim, lam0), key=lambda r: abs(r["params"]["rho"] - rho))

    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(11, 8.2))
        grid = fig.add_gridspec(2, 4, hspace=0.75, wspace=0.6, left=0.07, right=0.98,
                                top=0.93, bottom=0.1)
        ax_a1, ax_a2 = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_b = fig.add_subplot(grid[0, 2:4])
        ax_c = fig.add_subplot(grid[1, 0:2])
        ax_d = fig.add_subplot(grid[1, 2:4])

        rho_star = stim[0]["theory"]["rho_star"]
        dense, sparse = nearest(showcase["dense"]), nearest(showcase["sparse"])
        _tunings(ax_a1, dense, f"dense: $\\rho$ = {dense['params']['rho']:g} ≥ $\\rho^*$")
        _tunings(ax_a2, sparse, f"sparse: $\\rho$ = {sparse['params']['rho']:g} < $\\rho^*$")
        handles = [plt.Line2D([], [], color=SHAPE_COLORS[k], lw=1.4, label=lab)
                   for k, lab in (("on", "increasing (ON)"), ("off", "decreasing (OFF)"),
                                  ("bump", "localised"))]
        ax_a1.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.28),
                     ncol=3, frameon=False, fontsize=7, columnspacing=1.0,
                     title=f"{showcase['stimulus']} stimulus, $\\rho^*$ = {rho_star:.3f}; "
                           "sparse: canonical (most localised) optimum",
                     title_fontsize=7, alignment="left")
        _panel_b(ax_b, sweeps, colors, lam0)
        _panel_c(ax_c, thresholds, names)
        _panel_d(ax_d, sweeps, colors, lam0)
        for ax, letter in ((ax_a1, "a"), (ax_b, "b"), (ax_c, "c"), (ax_d, "d")):
            _letter(fig, ax, letter)
        save(fig, paths)


def _panel_b(ax: plt.Axes, sweeps: Mapping[str, Sequence[Record]], colors: Mapping,
             lam: float) -> None:
    for i, (name, recs) in enumerate(sweeps.items()):
        rs = _by_rho(recs, lam)
        rho = np.array([r["params"]["rho"] for r in rs])
        index = np.array([float(r["measured"]["on_off"]) for r in rs])
        share = np.array([r["measured"]["monotone_share"] for r in rs])
        offset = 0.012 * (i - (len(sweeps) - 1) / 2)  # keep coincident steps visible
        ax.step(rho, index + offset, where="post", color=colors[name], lw=1.6)
        ax.plot(rho, share, color=colors[name], lw=1.0, ls="--", marker="o", ms=2.5)
        ax.axvline(rs[0]["theory"]["rho_star"], color=colors[name], lw=0.8, ls=":")
    handles = [plt.Line2D([], [], color=colors[n], lw=3, label=n.replace("_", "-"))
               for n in sweeps]
    handles += [plt.Line2D([], [], color="0.3", lw=1.6, label="ON/OFF index"),
                plt.Line2D([], [], color="0.3", lw=1.0, ls="--", marker="o", ms=2.5,
                           label="monotone energy share"),
                plt.Line2D([], [], color="0.3", lw=0.8, ls=":", label="predicted $\\rho^*$")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4,
              fontsize=7, frameon=False, columnspacing=1.2)
    ax.set_xlabel("per-neuron density bound $\\rho$")
    ax.set_ylabel("ON/OFF index, monotone share")
    ax.set_ylim(-0.05, 1.08)
    ax.set_title("the optimum is the ON/OFF pair iff $\\rho \\geq \\rho^*$")


def _panel_c(ax: plt.Axes, thresholds: Mapping[str, Record], main: Sequence[str]) -> None:
    pred = {n: th["theory"]["rho_star"] for n, th in thresholds.items()}
    meas = {n: th["measured"]["threshold"] for n, th in thresholds.items()}
    kinds = {"spike_and_slab": ("s", "spike-and-slab (slab prob. $p$)"),
             "gen_gaussian": ("^", "generalised Gaussian (shape $\\beta$)")}
    for kind, (marker, label) in kinds.items():
        sel = [n for n in thresholds if thresholds[n]["params"]["kind"] == kind
               and n not in main]
        if sel:
            ax.scatter([pred[n] for n in sel], [meas[n] for n in sel], marker=marker, s=28,
                       color=COLORS["neutral"], label=label, zorder=3)
    for n in main:
        if n in thresholds:
            ax.scatter(pred[n], meas[n], s=36, color=COLORS["modular"], zorder=4,
                       edgecolor="white", lw=0.5)
            ax.annotate(n.replace("_", "-"), (pred[n], meas[n]), xytext=(6, -9),
                        textcoords="offset points", fontsize=7)
    ax.scatter([], [], s=36, color=COLORS["modular"], label="stimuli of panels b, d")
    lo = 0.8 * min(min(pred.values()), min(meas.values()))
    hi = 1.08 * max(max(pred.values()), max(meas.values()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="identity")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    diff = max(abs(th["measured"]["difference"]) for th in thresholds.values())
    ax.set_xlabel("predicted $\\rho^* = (E|x|)^2 / (2E[x^2])$")
    ax.set_ylabel("measured threshold $\\hat\\rho$ (bisection)")
    ax.set_title(f"threshold, {len(thresholds)} stimuli: max |measured − predicted| = "
                 f"{diff:.1e}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)


def _panel_d(ax: plt.Axes, sweeps: Mapping[str, Sequence[Record]], colors: Mapping,
             lam: float) -> None:
    for name, recs in sweeps.items():
        rs = _by_rho(recs, lam)
        rho = np.array([r["params"]["rho"] for r in rs])
        x = _x(rs[0])
        fine = np.linspace(max(rho.min(), 1.0 / len(x)), rho.max(), 300)
        closed = [cost(closed_form_norm(x, r), lam, len(x)) for r in fine]
        ax.plot(fine, closed, color=colors[name], lw=1.2)
        ax.plot(rho, [r["solution"]["inner"] for r in rs], ls="none", marker="o", ms=4,
                mfc="none", color=colors[name])
        ax.plot(rho, [r["solution"]["outer"] for r in rs], ls="none", marker="+", ms=5,
                color=colors[name])
        ax.axvline(rs[0]["theory"]["rho_star"], color=colors[name], lw=0.8, ls=":")
    ax.plot([], [], color="0.4", lw=1.2, label="closed form $2\\sqrt{\\lambda}\\,E|x|/"
            "\\sqrt{\\min(\\rho, \\rho^*)}$")
    ax.plot([], [], ls="none", marker="o", mfc="none", color="0.4",
            label="inner (dictionary + pricing)")
    ax.plot([], [], ls="none", marker="+", color="0.4", label="outer (population avg. + DNN)")

    ax.set_xlabel("per-neuron density bound $\\rho$")
    ax.set_ylabel(f"optimal cost $f^*$ ($\\lambda$ = {lam:g})")
    ax.set_title("cost falls as $\\rho^{-1/2}$ until the pair is feasible")
    ax.legend(loc="upper right", fontsize=7, frameon=False, title="colours as in b",
              title_fontsize=7)
