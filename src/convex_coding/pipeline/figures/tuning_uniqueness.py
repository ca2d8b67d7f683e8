"""Figure 2 (the paper's): place cells, grid modules, tight scattering and rotations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import COLORS, STYLE, panel_label, save

ROWS = ("separated_place_cells", "overlapping_place_cells", "grid_non_integer", "grid_integer")
TITLES = {
    "separated_place_cells": "separated place cells",
    "overlapping_place_cells": "overlapping (nested) place cells",
    "grid_non_integer": "grid modules, non-integer $r$",
    "grid_integer": "grid modules, integer $r$",
}


def _verdicts(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {"condition": rec["condition"]["verdict"],
            "condition_holds": rec["condition"]["verdict"] == "holds",
            "rotation_found": bool(rec["rotation"]["found"]),
            "reason": rec["condition"]["reason"],
            "distance_to_permutation": rec["rotation"]["distance"],
            "params": rec["params"]}


def summarise(records: Sequence[Mapping[str, Any]],
              showcase: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``paper_rows`` (the four showcase populations) and the sweep's agreement.

    ``agree``: condition holds and no rotation, or fails and a rotation was found;
    ``compared``: records with a decided condition; ``violations``: holds *and* a
    rotation (impossible by the theorem; the run itself raises before that).
    """
    decided = [r for r in records if r["agree"] is not None]
    agree = sum(bool(r["agree"]) for r in decided)
    violations = sum(r["condition"]["verdict"] == "holds" and r["rotation"]["found"]
                     for r in records)
    return {
        "paper_rows": {name: _verdicts(showcase[name]) for name in ROWS if name in showcase},
        "condition_vs_rotation": {
            "agree": agree, "compared": len(decided),
            "inconclusive": len(records) - len(decided),
            "rate": agree / len(decided) if decided else None,
            "violations": violations,
        },
        "n_instances": len(records),
    }


def _tunings(ax: plt.Axes, rec: Mapping[str, Any], name: str, xmax: float | None) -> None:
    x, z = np.asarray(rec["x"]), np.asarray(rec["z"])
    colors = plt.get_cmap("tab10")(np.arange(len(z)) % 10)
    for i, zi in enumerate(z):
        ax.plot(x, zi, color=colors[i], lw=1.2)
    handles = [Line2D([], [], color="k", lw=1.2, label="tunings $z_i(x)$")]
    if rec.get("oz") is not None:
        for i, zi in enumerate(np.asarray(rec["oz"])):
            ax.plot(x, zi, color=colors[i], lw=1.2, ls="--")
        handles.append(Line2D([], [], color="k", lw=1.2, ls="--",
                              label=r"alternative $(Oz)_i(x)$, same $Z^\top Z$"))
    c, r = rec["condition"], rec["rotation"]
    verdict = (f"condition {c['verdict']}; "
               + (f"rotation found ($\\|O-P\\|_F$={r['distance']:.2f})" if r["found"]
                  else "no rotation found"))
    p = rec["params"]
    detail = (f"$r$={p['ratio']:.3g}" if p["kind"] == "grid"
              else f"$w/s$={p['overlap']:g}" + (f", every {p['broad_every']}rd broad"
                                                 if p.get("broad_every") else ""))
    ax.set_title(f"{TITLES[name]} ({detail})\n{verdict}")
    ax.set_xlabel("position $x$ (units of the field spacing)" if p["kind"] != "grid"
                  else "position $x$ (units of $P_1$; first two coarse periods)")
    ax.set_ylabel("rate $z_i(x)$")
    if xmax is not None:
        ax.set_xlim(0, xmax)
    ax.set_ylim(-0.05, 1.3 if rec.get("oz") is None else max(1.3, 1.15 * np.max(rec["oz"])))
    ax.legend(handles=handles, loc="upper right", frameon=False)


def _phase(ax: plt.Axes, records: Sequence[Mapping[str, Any]], key: str, label: str) -> None:
    rows = sorted(records, key=lambda r: r["params"][key])
    xs = np.arange(len(rows))
    style = {"holds": ("o", COLORS["modular"], "full"), "fails": ("o", COLORS["mixed"], "none"),
             "inconclusive": ("x", COLORS["neutral"], "full")}
    for xi, r in zip(xs, rows, strict=True):
        m, col, fill = style[r["condition"]["verdict"]]
        ax.plot(xi, 1, marker=m, color=col, fillstyle=fill, ms=8, ls="")
        found = r["rotation"]["found"]
        ax.plot(xi, 0, marker="^" if found else "s", ms=8, ls="",
                color=COLORS["mixed"] if found else COLORS["modular"],
                fillstyle="full" if found else "none")
    decided = [r for r in rows if r["agree"] is not None]
    agree = sum(bool(r["agree"]) for r in decided)
    ax.set_xticks(xs, [f"{r['params'][key]:.3g}" for r in rows], rotation=45)
    ax.set_yticks([0, 1], ["rotation", "condition"])
    ax.set_ylim(-0.6, 1.6)
    ax.set_xlabel(label)
    ax.set_title(f"agreement {agree} of {len(decided)} decided"
                 f" ({len(rows) - len(decided)} inconclusive)")


def render(records: Sequence[Mapping[str, Any]], showcase: Mapping[str, Mapping[str, Any]],
           paths: Sequence[str | Path]) -> None:
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(11, 11.5), constrained_layout=True)
        gs = fig.add_gridspec(3, 2, height_ratios=[1, 1, 0.75])
        for k, name in enumerate(ROWS):
            ax = fig.add_subplot(gs[k // 2, k % 2])
            if name in showcase:
                grid = showcase[name]["params"]["kind"] == "grid"
                _tunings(ax, showcase[name], name,
                         2 * showcase[name]["params"]["ratio"] if grid else None)
            panel_label(ax, "abcd"[k])
        place = [r for r in records if r["params"]["kind"] == "place"]
        grid = [r for r in records if r["params"]["kind"] == "grid"]
        ax = fig.add_subplot(gs[2, 0])
        _phase(ax, place, "overlap", "field overlap $w/s$ (every 3rd field broad)")
        panel_label(ax, "e")
        ax2 = fig.add_subplot(gs[2, 1])
        _phase(ax2, grid, "ratio", "period ratio $r = P_2/P_1$")
        legend = [
            Line2D([], [], marker="o", color=COLORS["modular"], ls="", label="condition holds"),
            Line2D([], [], marker="o", color=COLORS["mixed"], fillstyle="none", ls="",
                   label="condition fails"),
            Line2D([], [], marker="x", color=COLORS["neutral"], ls="",
                   label="condition inconclusive"),
            Line2D([], [], marker="^", color=COLORS["mixed"], ls="", label="rotation found"),
            Line2D([], [], marker="s", color=COLORS["modular"], fillstyle="none", ls="",
                   label="no rotation found"),
        ]
        fig.legend(handles=legend, loc="lower center", ncol=5, frameon=False,
                   bbox_to_anchor=(0.5, -0.03))
        save(fig, paths)
