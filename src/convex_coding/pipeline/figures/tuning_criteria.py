"""Extension figure (our own criteria for unique tunings, not the paper's Figure 2) and
its summary block."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ...uniqueness import CRITERIA, INCONCLUSIVE, NON_UNIQUE, UNCERTIFIED, UNIQUE
from . import COLORS, STYLE, panel_label, save

Record = Mapping[str, Any]

#: verdict → colour (the palette of figures.COLORS: blue / red / grey / black)
VERDICT_COLORS = {
    UNIQUE: COLORS["modular"],
    NON_UNIQUE: COLORS["mixed"],
    INCONCLUSIVE: COLORS["neutral"],
    UNCERTIFIED: COLORS["error"],
}
CRITERION_LABELS = {
    "optimality": "optimality route",
    "non_nesting": "non-nesting",
    "rigidity": "rigidity LP",
    "scattered": "suff. scattered",
}
VERDICTS = (UNIQUE, NON_UNIQUE, INCONCLUSIVE, UNCERTIFIED)


def _family(r: Record) -> str:
    p = r["params"]
    return p["instance"] if p["nonnegative"] else f"{p['instance']}_psd"


def summarise(records: Sequence[Record]) -> dict[str, Any]:
    """Counts per verdict, agreement of each criterion with the empirical test.

    Lists of instances come in the canonical order of their params, so the summary does
    not depend on how the workflow packed the instances into jobs."""
    records = sorted(records, key=lambda r: json.dumps(r["params"], sort_keys=True))
    verdicts = [r["verdict"] for r in records]
    agreement = {}
    for crit in CRITERIA:
        pairs = [(r["predictions"].get(crit), r["verdict"]) for r in records
                 if r["verdict"] in (UNIQUE, NON_UNIQUE)
                 and r["predictions"].get(crit) in (UNIQUE, NON_UNIQUE)]
        agree = sum(p == o for p, o in pairs)
        agreement[crit] = {
            "agree": agree,
            "compared": len(pairs),
            "rate": agree / len(pairs) if pairs else None,
            "inconclusive": sum(r["verdict"] in (UNIQUE, NON_UNIQUE)
                                and r["predictions"].get(crit) not in (UNIQUE, NON_UNIQUE)
                                for r in records),
        }
    families = sorted({_family(r) for r in records})
    certified = [r for r in records if r["verdict"] in (UNIQUE, NON_UNIQUE)]
    return {
        "n_instances": len(records),
        "counts": {v: verdicts.count(v) for v in VERDICTS},
        "by_family": {f: {v: sum(_family(r) == f and r["verdict"] == v for r in records)
                          for v in VERDICTS} for f in families},
        "agreement": agreement,
        "optimality_disagreements": [r["params"] for r in certified
                                     if r["predictions"].get("optimality") in (UNIQUE, NON_UNIQUE)
                                     and r["predictions"]["optimality"] != r["verdict"]],
        "n_uncertified": verdicts.count(UNCERTIFIED),
        "uncertified": [r["params"] for r in records if r["verdict"] == UNCERTIFIED],
        "uncertified_reasons": [r.get("uncertified_reason")
                                or "no completely positive factorisation found (best residual "
                                f"{r['empirical'].get('best_residual', float('nan')):.2g})"
                                for r in records if r["verdict"] == UNCERTIFIED],
        "inconclusive": [r["params"] for r in records if r["verdict"] == INCONCLUSIVE],
        "max_certificate_gap": max((r["certificate"].get("gap", 0.0) or 0.0) for r in records
                                   if r.get("certificate")) if records else None,
    }


def _most_different(record: Record) -> tuple[np.ndarray, float]:
    """The converged restart (aligned to the certified tunings) farthest from them, and
    its discrepancy ``max_i ‖z_i − z*_i‖ / √(Σ‖z*‖²)``."""
    ref = np.asarray(record["tunings"], dtype=float)
    scale = np.sqrt(max(float(np.sum(ref**2)), 1e-300))
    best, worst = ref, 0.0
    for z in record.get("restarts", []):
        z = np.asarray(z, dtype=float)
        d = float(np.linalg.norm(z - ref, axis=1).max()) / scale
        if d > worst:
            best, worst = z, d
    return best, worst


def _tuning_maps(fig: plt.Figure, spec: Any, record: Record, title: str,
                 label_letter: str) -> None:
    """Tunings over the stimulus: the certified ones and the converged restart that
    differs most from them (2-D: one map per neuron, certified above restart, one colour
    scale; 1-D: curves); the title and the panel letter above the block."""
    ref = np.asarray(record["tunings"], dtype=float)
    other, worst = _most_different(record)
    stim = np.asarray(record["stimuli"], dtype=float)
    if stim.shape[0] == 1:
        _tuning_curves(fig.add_subplot(spec), stim[0], ref, other)
    elif stim.shape[0] == 2:
        _tuning_grid(fig, spec, stim, ref, other)
    else:
        raise ValueError(f"showcase {title!r}: tunings over a {stim.shape[0]}-D stimulus "
                         "cannot be drawn; choose a showcase instance with 1-D or 2-D "
                         "stimuli (conf/workflow.yaml, showcase.tuning_criteria)")
    emp = record["empirical"]
    box = spec.get_position(fig)
    first, second = ("top", "bottom") if stim.shape[0] == 2 else ("solid", "dashed")
    fig.text(0.5 * (box.x0 + box.x1), box.y1 + 0.045,
             f"{title}\n{first}: certified tunings; {second}: the most different of "
             f"{emp['n_converged']} converged restarts\n(discrepancy {worst:.1e})",
             ha="center", va="bottom", fontsize=8)
    fig.text(box.x0 - 0.06, box.y1 + 0.075, label_letter, fontsize=12, fontweight="bold",
             va="bottom", ha="left")


def _tuning_curves(ax: plt.Axes, s: np.ndarray, ref: np.ndarray, other: np.ndarray) -> None:
    """1-D stimulus: each neuron's certified tuning (solid) and the restart's (dashed)."""
    order = np.argsort(s)
    cmap = plt.get_cmap("tab10")
    for i in range(ref.shape[0]):
        ax.plot(s[order], ref[i, order], color=cmap(i % 10), lw=1.2)
        ax.plot(s[order], other[i, order], color=cmap(i % 10), lw=1.0, ls="--")
    ax.plot([], [], color="0.3", lw=1.2, label="certified")
    ax.plot([], [], color="0.3", lw=1.0, ls="--", label="most different restart")
    ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel("stimulus $s$")
    ax.set_ylabel("firing rate $z_i(s)$")
    ax.set_ylim(bottom=0)


def _tuning_grid(fig: plt.Figure, spec: Any, stim: np.ndarray, ref: np.ndarray,
                 other: np.ndarray) -> None:
    """2-D stimulus: one map per neuron, certified (top) and restart (bottom) rows."""
    n = ref.shape[0]
    sub = spec.subgridspec(2, n + 1, wspace=0.12, hspace=0.08,
                           width_ratios=[1.0] * n + [0.08])
    vmax = float(max(ref.max(), other.max()))
    pad = 0.08 * float(np.ptp(stim, axis=1).max())
    axes = np.array([[fig.add_subplot(sub[row, col]) for col in range(n)]
                     for row in range(2)])
    for row, (z, label) in enumerate(((ref, "certified"), (other, "restart"))):
        for col in range(n):
            ax = axes[row, col]
            art = ax.scatter(stim[0], stim[1], c=z[col], s=14, cmap="viridis", vmin=0.0,
                             vmax=vmax, marker="s", linewidths=0)
            ax.set_xlim(stim[0].min() - pad, stim[0].max() + pad)
            ax.set_ylim(stim[1].min() - pad, stim[1].max() + pad)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=6, length=2)
            if row == 0:
                ax.set_title(f"neuron {col + 1}", fontsize=7)
                ax.tick_params(labelbottom=False)
            if col > 0:
                ax.tick_params(labelleft=False)
        axes[row, 0].set_ylabel(f"{label}\n$s_2$", fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("$s_1$", fontsize=7)
    bar = fig.colorbar(art, cax=fig.add_subplot(sub[:, n]))
    bar.set_label("firing rate $z_i(s)$", fontsize=7)
    bar.ax.tick_params(labelsize=6)


def _panel_c(ax: plt.Axes, records: Sequence[Record]) -> None:
    """Discrepancy between restarts against the offset c, with each criterion's verdict."""
    off = [r for r in records if r["params"]["instance"] == "offset"]
    floor, top = 1e-6, 10.0  # discrepancies below the floor are drawn on it (▼)
    for nonneg, marker, label in ((True, "o", "nonnegative tunings"),
                                  (False, "s", "PSD only (any sign)")):
        sel = sorted((r for r in off if r["params"]["nonnegative"] == nonneg),
                     key=lambda r: (r["params"]["grid_points"], r["params"]["offset"]))
        for g in sorted({r["params"]["grid_points"] for r in sel}):
            rs = [r for r in sel if r["params"]["grid_points"] == g]
            decided = [r for r in rs if r["verdict"] != UNCERTIFIED]
            c = np.array([r["params"]["offset"] for r in decided])
            d = np.array([max(r["empirical"].get("max_discrepancy") or 0.0, floor)
                          for r in decided])
            ax.plot(c, d, color=COLORS["neutral"], lw=0.8, ls="-" if nonneg else ":",
                    zorder=1)
            for ci, di, r in zip(c, d, decided, strict=True):
                ax.scatter(ci, di, marker="v" if di <= floor else marker, s=28, zorder=3,
                           color=VERDICT_COLORS[r["verdict"]],
                           edgecolor="black" if not nonneg else "none", lw=0.5)
            for r in rs:
                if r["verdict"] == UNCERTIFIED:  # shown apart, on the top edge
                    ax.scatter(r["params"]["offset"], top * 0.6, marker="x", s=30, zorder=3,
                               color=VERDICT_COLORS[UNCERTIFIED], lw=1.2)
            ax.plot([], [], marker=marker, color=COLORS["neutral"], ls="-" if nonneg else ":",
                    label=f"{label}, T = {g}²")
    ax.set_yscale("log")
    ax.set_xlabel("offset c added to the decoded targets")
    ax.set_ylabel("max discrepancy between restarts")
    ax.set_ylim(floor / 2, top)
    ax.axhline(1e-2, color="0.8", lw=0.6, ls="--", zorder=0)
    # criterion strip: one row per criterion, for the nonnegative instances
    nonneg = sorted((r for r in off if r["params"]["nonnegative"]),
                    key=lambda r: r["params"]["offset"])
    strip = ax.inset_axes([0.0, 1.02, 1.0, 0.30], sharex=ax)
    for row, crit in enumerate(CRITERIA):
        for r in nonneg:
            pred = r["predictions"].get(crit, INCONCLUSIVE)
            strip.scatter(r["params"]["offset"], row, marker="s", s=22,
                          color=VERDICT_COLORS.get(pred, COLORS["neutral"]), lw=0)
    strip.set_yticks(range(len(CRITERIA)), [CRITERION_LABELS[c] for c in CRITERIA],
                     fontsize=7)
    strip.set_ylim(len(CRITERIA) - 0.5, -0.5)
    strip.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("top", "right", "bottom"):
        strip.spines[side].set_visible(False)
    handles = [Line2D([], [], marker="o" if v != UNCERTIFIED else "x", ls="",
                      color=VERDICT_COLORS[v], label=v) for v in VERDICTS]
    handles.append(Line2D([], [], marker="v", ls="", color=COLORS["neutral"],
                          label="< 1e-6, on the axis"))
    leg1 = ax.legend(handles=handles, loc="center right", fontsize=7, frameon=False,
                     title="observed verdict", title_fontsize=7, bbox_to_anchor=(1.0, 0.45))
    ax.add_artist(leg1)
    ax.legend(loc="upper right", fontsize=7, frameon=False)


def _panel_d(ax: plt.Axes, records: Sequence[Record]) -> None:
    """Predicted against observed, per criterion; uncertified instances apart."""
    cols = [("U", "U"), ("N", "N"), ("U", "N"), ("N", "U")]
    names = {"U": UNIQUE, "N": NON_UNIQUE}
    decided = [r for r in records if r["verdict"] in (UNIQUE, NON_UNIQUE)]
    table = np.zeros((len(CRITERIA), len(cols) + 1), dtype=int)
    for i, crit in enumerate(CRITERIA):
        for j, (p, o) in enumerate(cols):
            table[i, j] = sum(r["predictions"].get(crit) == names[p] and r["verdict"] == names[o]
                              for r in decided)
        table[i, -1] = sum(r["predictions"].get(crit) not in (UNIQUE, NON_UNIQUE)
                           for r in decided)
    n_unc = sum(r["verdict"] == UNCERTIFIED for r in records)
    n_inc = sum(r["verdict"] == INCONCLUSIVE for r in records)
    colors = [COLORS["modular"], COLORS["mixed"], COLORS["error"], COLORS["error"],
              COLORS["neutral"]]
    for j in range(table.shape[1]):
        for i in range(table.shape[0]):
            v = table[i, j]
            alpha = 0.15 + 0.75 * v / max(table.max(), 1) if v else 0.0
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color=colors[j], alpha=alpha,
                                       lw=0))
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if alpha > 0.6 else "black")
    ax.set_xlim(-0.5, table.shape[1] - 0.5)
    ax.set_ylim(len(CRITERIA) - 0.5, -0.5)
    ax.set_xticks(range(table.shape[1]),
                  ["pred U\nobs U", "pred N\nobs N", "pred U\nobs N", "pred N\nobs U",
                   "no\nprediction"], fontsize=7)
    ax.set_yticks(range(len(CRITERIA)), [CRITERION_LABELS[c] for c in CRITERIA])
    ax.tick_params(length=0)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{len(decided)} decided instances (U unique, N non-unique)\n"
                 f"apart: {n_unc} uncertified, {n_inc} empirically inconclusive")


def render(records: Sequence[Record], showcase: Mapping[str, Record],
           paths: Sequence[str | Path]) -> None:
    """(a) unique case: certified tunings and the most different restart over the
    stimulus; (b) the same for a non-unique case; (c) discrepancy against
    the offset c with each criterion's verdict; (d) predicted against observed."""
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(11, 7.4))
        grid = fig.add_gridspec(2, 2, hspace=0.62, wspace=0.42)
        ax_c, ax_d = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        _tuning_maps(fig, grid[0, 0], showcase["unique"],
                     f"Theorem 1 optimum: {showcase['unique']['verdict']}", "a")
        _tuning_maps(fig, grid[0, 1], showcase["non_unique"],
                     f"offset decoding, c = {showcase['non_unique']['params']['offset']:g}: "
                     f"{showcase['non_unique']['verdict']}", "b")
        _panel_c(ax_c, records)
        ax_c.text(-0.18, 1.40, "c", transform=ax_c.transAxes, fontsize=12,
                  fontweight="bold", va="bottom", ha="left")
        _panel_d(ax_d, records)
        panel_label(ax_d, "d")
        save(fig, paths)
