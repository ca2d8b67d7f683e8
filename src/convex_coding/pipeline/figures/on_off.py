"""Figure 3 (the paper's): ON and OFF channels set by the sparsity of the encoded variable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import COLORS, STYLE, panel_label, save

Record = Mapping[str, Any]
LEVELS = ("dense", "near the threshold", "sparse")


def _split(codes: Mapping[str, Record]) -> tuple[list[Record], dict, dict]:
    sweep = sorted((r for n, r in codes.items() if n.startswith("sweep_")),
                   key=lambda r: r["params"]["p0"])
    controls = {n.removeprefix("control_"): r for n, r in codes.items()
                if n.startswith("control_")}
    images = {n.removeprefix("image_"): r for n, r in codes.items() if n.startswith("image_")}
    return sweep, controls, images


def _all_codes(inputs: Mapping[str, Any]) -> list[Record]:
    ends = [e for r in inputs["thresholds"].values() for e in r["ends"].values()]
    return [*inputs["codes"].values(), *ends]


def summarise(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Thresholds (measured by bisection vs ``r̂/(1+r̂)`` of the discretised slab and
    ``r/(1+r)`` of the law), the sweep's and the images' verdicts, the dense controls and the
    certification of every code (exact certificates and the three solver bounds)."""
    sweep, controls, images = _split(inputs["codes"])
    thresholds = {name: {"predicted": r["predicted"], "population": r["population"],
                         "measured": r["measured"],
                         "error": abs(r["measured"] - r["predicted"]),
                         "population_error": abs(r["measured"] - r["population"])}
                  for name, r in inputs["thresholds"].items()}
    codes = _all_codes(inputs)
    decided = [r for r in [*inputs["codes"].values(), *inputs["thresholds"].values()]]
    symmetric = [r for r in controls.values() if r["params"]["kind"] == "symmetric"]
    return {
        "thresholds": thresholds,
        "max_threshold_error": max(t["error"] for t in thresholds.values()),
        "max_population_error": max(t["population_error"] for t in thresholds.values()),
        "n_laws": len(thresholds),
        "agreement": {"agree": sum(bool(r["agree"]) for r in decided),
                      "compared": len(decided)},
        "sweep": {"law": sweep[0]["params"]["law"],
                  "p0": [r["params"]["p0"] for r in sweep],
                  "n_channels": [r["n_channels"] for r in sweep],
                  "first_single_p0": next((r["params"]["p0"] for r in sweep
                                           if r["n_channels"] == 1), None),
                  "max_advantage": max(r["advantage"] for r in sweep)},
        "controls": {n: {"n_channels": r["n_channels"], "bias": r["bias"],
                         "bias_fraction": r["bias_fraction"]} for n, r in controls.items()},
        "symmetric_on_off": all(r["n_channels"] == 2 and abs(r["bias"]) <= 1e-9
                                for r in symmetric),
        "images": {n: {"p_min": r["p_min"], "ratio": r["ratio"],
                       "predicted_single": r["predicted_single"],
                       "n_channels": r["n_channels"], "agree": r["agree"]}
                   for n, r in images.items()},
        "certification": {
            "n_codes": len(codes),
            "max_certificate_violation": max(r["certificate_violation"] for r in codes),
            "min_q_reduced_cost": min(r["q_reduced_cost"] for r in codes),
            "max_bound_gap": max(abs(g) for r in codes for g in r["gaps"].values()),
        },
    }


def _tunings(ax: plt.Axes, rec: Record, level: str) -> None:
    c = rec["curves"]
    x = np.asarray(c["stimulus"])
    for name, key in (("ON", "on"), ("OFF", "off")):
        if name in c["tunings"]:
            ax.plot(x, c["tunings"][name], color=COLORS[key], lw=2, label=f"{name} channel")
    ax.axvline(rec["bias"], color=COLORS["neutral"], ls=":", lw=1, label="bias $b^*$")
    p0 = rec["params"]["p0"]
    ax.set_title(f"{level}: Pr$(I=0)={p0:g}$")
    values, weights = np.asarray(c["values"]), np.asarray(c["weights"])
    top = values[np.searchsorted(np.cumsum(weights), 0.99)]  # the upper 1 % tail is cut
    ax.set_xlim(values[0] - 0.02 * (top - values[0]), top)
    shown = x <= top
    peak = max(max(np.asarray(t)[shown].max() for t in c["tunings"].values()), 1e-12)
    ax.set_ylim(0, 1.05 * peak)
    ax.set_xlabel("stimulus $I$ (to its 99th percentile)")
    ax.set_ylabel("firing rate $z(I)$")


def _threshold_line(ax: plt.Axes, p_star: float) -> None:
    ax.axvline(p_star, color=COLORS["error"], ls="--", lw=1,
               label=r"threshold $\langle I\rangle^2/\langle I^2\rangle$")


def render(inputs: Mapping[str, Any], paths: Sequence[str | Path]) -> None:
    sweep, controls, images = _split(inputs["codes"])
    law = sweep[0]["params"]["law"]
    threshold = next((r for r in inputs["thresholds"].values()
                      if r["params"]["law"] == law and r["params"].get("shape") is None), None)
    p_star = threshold["predicted"] if threshold else None
    by_p0 = {r["params"]["p0"]: r for r in sweep}
    levels = [by_p0[p] for p in inputs["showcase_p0"] if p in by_p0]
    p0 = np.array([r["params"]["p0"] for r in sweep])
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(11, 12.5), constrained_layout=True)
        grid = fig.add_gridspec(3, 6, height_ratios=[0.8, 1, 1])
        top = [fig.add_subplot(grid[0, 2 * i:2 * i + 2]) for i in range(3)]
        for ax, rec, level in zip(top, levels, LEVELS, strict=False):
            _tunings(ax, rec, level)
        top[0].legend(loc="upper center")
        panel_label(top[0], "a")
        ax_b, ax_c = fig.add_subplot(grid[1, 0:3]), fig.add_subplot(grid[1, 3:6])
        ax_d, ax_e = fig.add_subplot(grid[2, 0:3]), fig.add_subplot(grid[2, 3:6])
        for name, key in (("ON", "on"), ("OFF", "off")):
            ax_b.plot(p0, [r["mass_fraction"][name] for r in sweep], "o-", ms=3,
                      color=COLORS[key], label=f"{name}: probability mass")
            ax_b.plot(p0, [r["range_fraction"][name] for r in sweep], "s--", ms=3,
                      color=COLORS[key], alpha=0.6, label=f"{name}: range of $I$")
        ax_d.plot(p0, [r["advantage"] for r in sweep], "o-", ms=3, color=COLORS["on"],
                  label="1 − cost / best single-channel cost")
        for ax in (ax_b, ax_d):
            if p_star is not None:
                _threshold_line(ax, p_star)
            ax.set_xlabel("sparsity Pr$(I=0)$")
        ax_b.set_ylabel("fraction where the channel is active")
        ax_b.set_title(f"encoding ranges ({law} slab)")
        ax_b.legend(loc="upper left", bbox_to_anchor=(0.0, 0.9), fontsize="x-small")
        ax_d.set_ylabel("cost advantage of ON + OFF")
        ax_d.set_title(f"two channels vs one ({law} slab)")
        ax_d.set_ylim(bottom=0)
        ax_d.legend(loc="upper right", fontsize="x-small")
        _thresholds(ax_c, inputs["thresholds"])
        _plane(ax_e, sweep, controls, images)
        for ax, label in ((ax_b, "b"), (ax_c, "c"), (ax_d, "d"), (ax_e, "e")):
            panel_label(ax, label)
        save(fig, paths)


def _thresholds(ax: plt.Axes, thresholds: Mapping[str, Record]) -> None:
    pred = np.array([r["predicted"] for r in thresholds.values()])
    meas = np.array([r["measured"] for r in thresholds.values()])
    pop = np.array([r["population"] for r in thresholds.values()])
    lo, hi = min(pred.min(), pop.min()) - 0.02, max(pred.max(), pop.max()) + 0.02
    ax.plot([lo, hi], [lo, hi], color=COLORS["neutral"], lw=1, label="identity")
    ax.plot(pred, meas, "o", color=COLORS["on"], label=r"vs $\hat r/(1+\hat r)$ (samples)")
    ax.plot(pop, meas, "x", color=COLORS["off"], label="vs $r/(1+r)$ (law)")
    for name, x, y in zip(thresholds, pred, meas, strict=True):
        ax.annotate(name.replace("_", " "), (x, y), textcoords="offset points",
                    xytext=(5, -9), fontsize="x-small")
    err = np.abs(meas - pred).max()
    ax.set_title(f"threshold over slab laws (max error {err:.1e})")
    ax.set_xlabel(r"predicted threshold $\langle I\rangle^2/\langle I^2\rangle$ at the switch")
    ax.set_ylabel("measured Pr$(I=0)$ where OFF vanishes")
    ax.legend(loc="upper left", fontsize="small")


def _plane(ax: plt.Axes, sweep: list[Record], controls: dict, images: dict) -> None:
    points = [r["p_min"] for r in (*sweep, *controls.values(), *images.values())]
    low = 10.0 ** np.floor(np.log10(max(min(points), 1e-12)))
    edge = np.geomspace(low, 1, 200)
    ax.plot(edge, edge, color=COLORS["error"], lw=1, label="boundary: Pr $=$ ratio")
    ax.fill_between(edge, edge, 1, color=COLORS["on"], alpha=0.07, lw=0)
    ax.fill_between(edge, 0, edge, color=COLORS["off"], alpha=0.07, lw=0)
    ax.text(1.3 * low, 0.04, "ON + OFF", fontsize="small")
    ax.text(0.95, 0.015, "ON only", fontsize="x-small", ha="right")
    groups = (("slab sweep", sweep, "o"), ("dense controls", list(controls.values()), "s"),
              ("image contrast (retina-like)",
               [r for n, r in images.items() if n.endswith("contrast")], "^"),
              ("image edges (cortex-like)",
               [r for n, r in images.items() if n.endswith("edges")], "D"))
    handles, labels = ax.get_legend_handles_labels()
    for label, recs, marker in groups:
        if not recs:
            continue
        colour = [COLORS["on"] if r["n_channels"] == 2 else COLORS["off"] for r in recs]
        ax.scatter([r["p_min"] for r in recs], [r["ratio"] for r in recs], c=colour,
                   marker=marker, s=30, edgecolors="k", linewidths=0.4, zorder=3)
        handles.append(Line2D([], [], ls="", marker=marker, color="0.75", mec="k", mew=0.4))
        labels.append(label)
    handles += [Line2D([], [], ls="", marker="o", color=COLORS[k]) for k in ("on", "off")]
    labels += ["solved: ON + OFF", "solved: ON only"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="x-small")
    ax.set_xscale("log")
    ax.set_xlim(low, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Pr$(I=\\min I)$")
    ax.set_ylabel(r"$\langle v\rangle^2/\langle v^2\rangle$,  $v = I-\min I$")
    ax.set_title("every variable on the phase plane")
