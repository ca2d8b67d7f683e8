"""Figure 1 (identifiability of an energy-efficient semi-NMF) and its summary block."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial import ConvexHull

from ...identifiability import AutoencoderProblem, circle_directions, reduced_cost
from ..runs import compose_run
from ..theorem1 import build_problem
from . import COLORS, STYLE, panel_label, save

Record = Mapping[str, Any]


def summarise(records: Sequence[Record]) -> dict[str, Any]:
    """Counts, agreement and worst certificates over all instances of the sweep."""
    n = len(records)
    n_mod = sum(r["theory"]["modular"] for r in records)
    agree = sum(r["agree"] for r in records)
    solvers = sorted({r["solution"]["solver"] for r in records})
    versions = sorted({r["solution"]["solver_version"] for r in records})
    return {
        "n_instances": n,
        "n_modular": n_mod,
        "n_mixed": n - n_mod,
        "agreement": agree / n if n else float("nan"),
        "mean_loss": float(np.mean([r["solution"]["loss"] for r in records])),
        "mean_margin_mixed": float(np.mean(
            [r["theory"]["margin"] for r in records if not r["theory"]["modular"]] or [0.0])),
        "max_certificate_violation": max(r["solution"]["certificate_violation"] for r in records),
        "max_complementarity": max(r["solution"]["complementarity"] for r in records),
        "max_value_gap": max(r["solution"]["value_gap"] for r in records),
        "by_dim": {
            str(d): sum(r["params"]["dim"] == d for r in records)
            for d in sorted({r["params"]["dim"] for r in records})
        },
        "disagreements": [r["params"] for r in records if not r["agree"]],
        "solver": ", ".join(solvers),
        "solver_version": ", ".join(versions),
    }


def _verdict(modular: bool) -> str:
    return "modular" if modular else "mixed"


def _hull_and_ellipse(ax: plt.Axes, problem: AutoencoderProblem, lam: np.ndarray,
                      color: str, title: str) -> None:
    """Centred sources, their convex hull and the ellipse {Λ^{1/2} v : ‖v‖ ≤ 1}."""
    pts = problem.centred.T
    ax.scatter(pts[:, 0], pts[:, 1], s=4, color=COLORS["neutral"], lw=0, zorder=2)
    hull = pts[ConvexHull(pts).vertices]
    closed = np.vstack([hull, hull[:1]])
    ax.plot(closed[:, 0], closed[:, 1], color="black", lw=1.0, label="conv{s̃}")
    w, v = np.linalg.eigh(lam)
    if w.min() >= -1e-12:
        circle = circle_directions(400)
        ell = circle @ (v * np.sqrt(np.maximum(w, 0))) @ v.T
        ax.plot(ell[:, 0], ell[:, 1], color=color, lw=1.5, label="Λ ellipse")
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_aspect("equal")
    ax.set_xlabel("$\\tilde s_1$")
    ax.set_ylabel("$\\tilde s_2$")
    ax.set_title(title)


def _neurons(ax: plt.Axes, problem: AutoencoderProblem, record: Record, color: str,
             title: str) -> None:
    """Optimal neurons as source-space weight vectors u_i = √μ_i ω_i."""
    dirs = np.asarray(record["solution"]["directions"])
    mu = np.asarray(record["solution"]["weights"])
    u = dirs * np.sqrt(mu)[:, None]
    lim = 1.25 * max(np.abs(u).max(), 1e-9)
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    for ui in u:
        ax.annotate("", xy=ui, xytext=(0, 0),
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.5})
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$u_1$ (weight on $s_1$)")
    ax.set_ylabel("$u_2$ (weight on $s_2$)")
    angle = record["measured"]["max_angle_deg"]
    ax.set_title(f"{title}\n{len(u)} neurons, max angle {angle:.1f}°")


def _phi_curve(ax: plt.Axes, problem: AutoencoderProblem, lam: np.ndarray, color: str,
               label: str) -> None:
    theta = np.linspace(0, 360, 2881)
    omega = circle_directions(len(theta) - 1)
    phi = reduced_cost(problem, lam, omega)
    scale = max(float(np.max(np.diag(lam))), 1e-12)
    ax.plot(theta[:-1], phi / scale, color=color, lw=1.4, label=label)


def render(records: Sequence[Record], showcase: Mapping[str, Record],
           paths: Sequence[str | Path]) -> None:
    """Four panels: (a) hulls and ellipses, (b) optimal neurons, (c) theory vs solver
    over the sweep, (d) the same sources modular or mixed depending on the mixing."""
    problems = {name: build_problem(compose_run(rec["overrides"]))
                for name, rec in showcase.items()}
    lam = {name: np.asarray(rec["theory"]["lambda_matrix"]) for name, rec in showcase.items()}
    col = {name: COLORS[_verdict(rec["measured"]["modular"])] for name, rec in showcase.items()}
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(11, 6.6))
        grid = fig.add_gridspec(2, 4, hspace=0.55, wspace=0.55)
        ax_a1, ax_a2 = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_b1, ax_b2 = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[0, 3])
        ax_c = fig.add_subplot(grid[1, 0:2])
        ax_d1, ax_d2 = fig.add_subplot(grid[1, 2]), fig.add_subplot(grid[1, 3])

        for ax, name, title in ((ax_a1, "full_grid", "full grid"),
                                (ax_a2, "cut_grid", "corner cut away")):
            _hull_and_ellipse(ax, problems[name], lam[name], col[name], title)
        ax_a1.legend(loc="upper left", bbox_to_anchor=(0.0, -0.28), ncol=2, frameon=False)
        panel_label(ax_a1, "a")
        for ax, name, title in ((ax_b1, "full_grid", "full grid"),
                                (ax_b2, "cut_grid", "corner cut away")):
            verdict = _verdict(showcase[name]["measured"]["modular"])
            _neurons(ax, problems[name], showcase[name], col[name], f"{title}: {verdict}")
        panel_label(ax_b1, "b")

        _panel_c(ax_c, records)
        panel_label(ax_c, "c")

        for name, label in (("full_grid", "orthogonal A"), ("grid_correlated", "correlated A")):
            _phi_curve(ax_d1, problems[name], lam[name], col[name], label)
        ax_d1.axhline(0, color="black", lw=0.6)
        for x in (0, 90, 180, 270, 360):
            ax_d1.axvline(x, color="0.85", lw=0.6, zorder=0)
        ax_d1.set_xticks([0, 90, 180, 270, 360])
        ax_d1.set_xlabel("direction θ of ω (deg)")
        ax_d1.set_ylabel("$\\varphi(\\omega)$ / max $m_i^2$")
        ax_d1.set_title("same sources, two mixings")
        ax_d1.set_ylim(top=1.5 * ax_d1.get_ylim()[1])
        ax_d1.legend(frameon=False, loc="upper left")
        panel_label(ax_d1, "d")
        verdict = _verdict(showcase["grid_correlated"]["measured"]["modular"])
        _neurons(ax_d2, problems["grid_correlated"], showcase["grid_correlated"],
                 col["grid_correlated"], f"correlated A: {verdict}")
        save(fig, paths)


def _panel_c(ax: plt.Axes, records: Sequence[Record]) -> None:
    """Theory margin min φ against the measured off-axis weight share, per instance."""
    margin = np.array([r["theory"]["margin"] for r in records])
    share = np.array([r["measured"]["off_axis_share"] for r in records])
    theory_mod = np.array([r["theory"]["modular"] for r in records])
    dims = np.array([r["params"]["dim"] for r in records])
    agree = np.array([r["agree"] for r in records])
    for dim, marker in ((2, "o"), (3, "^")):
        for mod in (True, False):
            sel = (dims == dim) & (theory_mod == mod)
            if sel.any():
                ax.scatter(margin[sel], share[sel], s=14, marker=marker, alpha=0.75, lw=0,
                           color=COLORS[_verdict(mod)],
                           label=f"d={dim}, theory {_verdict(mod)} (n={int(sel.sum())})")
    at_zero = theory_mod & (share == 0)
    if at_zero.any():
        ax.annotate(f"all {int(at_zero.sum())} theory-modular\ninstances: margin 0, share 0",
                    xy=(0, 0), xycoords="data", xytext=(0.04, 0.10),
                    textcoords="axes fraction", fontsize=7, ha="left",
                    arrowprops={"arrowstyle": "->", "color": COLORS["modular"], "lw": 0.8})
    if (~agree).any():
        ax.scatter(margin[~agree], share[~agree], s=40, marker="x", color=COLORS["error"],
                   label="disagreement")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlim(min(-1.0, margin.min() * 1.5), 1e-3)
    ax.set_ylim(-1e-5, 1.5)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("theory margin  min$_\\omega\\,\\varphi(\\omega)$ / max $m_i^2$")
    ax.set_ylabel("measured off-axis weight share")
    ax.set_title(f"theory vs convex solver: agreement {agree.sum()}/{len(agree)} "
                 f"({100 * agree.mean():.1f}%)")
    ax.legend(loc="upper left", bbox_to_anchor=(0.40, 1.0), fontsize=7, framealpha=0.9,
              edgecolor="none")


# ------------------------------------------------------- Figure 1: alignment of A


def _ellipse_e(f: np.ndarray) -> np.ndarray | None:
    """Points of ``E = {x : xᵀF⁻¹x = 1}`` (``F^{1/2}`` times the unit circle), F ≻ 0."""
    w, v = np.linalg.eigh(f)
    if w.min() <= 0:
        return None
    return circle_directions(400) @ (v * np.sqrt(w)) @ v.T


def _showcase_panel(ax: plt.Axes, shown: Record, title: str, ylabel: bool) -> None:
    """Hull of the centred sources, ``E`` and the certified neurons ``√μ_i ω_i``."""
    pts = np.asarray(shown["centred"]).T
    hull = pts[ConvexHull(pts).vertices]
    closed = np.vstack([hull, hull[:1]])
    verdict = _verdict(shown["solver_modular"])
    ax.scatter(pts[:, 0], pts[:, 1], s=2, color=COLORS["neutral"], lw=0)
    ax.plot(closed[:, 0], closed[:, 1], color="black", lw=0.9)
    ell = _ellipse_e(np.asarray(shown["F"]))
    if ell is not None:
        ax.plot(ell[:, 0], ell[:, 1], color=COLORS[verdict], lw=1.1)
    u = np.asarray(shown["directions"]) * np.sqrt(np.asarray(shown["weights"]))[:, None]
    u = u / np.abs(u).max() * 0.9 * np.abs(pts).max()
    for ui in u:
        ax.plot([0, ui[0]], [0, ui[1]], color=COLORS[verdict], lw=2.0)
    ax.set_aspect("equal")
    ax.set_xlabel("$\\tilde s_1$", labelpad=1)
    if ylabel:
        ax.set_ylabel("$\\tilde s_2$", labelpad=2)
    ax.set_title(f"{title}\n$c$={shown['c']:+.2f}: {verdict}", pad=3)


def _showcase_legend(ax: plt.Axes) -> None:
    """One key for the six showcase panels (colour = the solver's verdict), on a blank axes."""
    from matplotlib.lines import Line2D

    grey, dark = COLORS["neutral"], "0.25"
    handles = [
        Line2D([], [], ls="none", marker="o", ms=2.5, mec="none", color=grey),
        Line2D([], [], color="black", lw=0.9),
        Line2D([], [], color=dark, lw=1.1),
        Line2D([], [], color=dark, lw=2.0),
        Line2D([], [], color=COLORS["modular"], lw=2.0),
        Line2D([], [], color=COLORS["mixed"], lw=2.0),
    ]
    labels = ["sources $\\tilde s$", "hull of $\\tilde s$",
              "$E=\\{x: x^\\top F^{-1}x=1\\}$", "neurons $\\sqrt{\\mu_i}\\,\\omega_i$ (scaled)",
              "colour: solver modular", "colour: solver mixed"]
    ax.axis("off")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=3,
              frameon=False, handlelength=1.6,
              columnspacing=1.0, borderaxespad=0.0)


def _margin_panel(ax: plt.Axes, sweeps: Mapping[str, Record]) -> None:
    """Signed margin against c with the solver's verdicts and the predicted boundaries."""
    from matplotlib.lines import Line2D

    cmap = plt.get_cmap("tab10")
    sweep_lines = []
    for k, (name, sw) in enumerate(sweeps.items()):
        c, m = np.asarray(sw["c"]), np.asarray(sw["signed_margin"])
        mod = np.asarray(sw["solver_modular"])
        (line,) = ax.plot(c, m, color=cmap(k), lw=1.0, label=name.replace("_", " "))
        sweep_lines.append(line)
        ax.scatter(c[mod], m[mod], s=7, marker="o", color=cmap(k), lw=0)
        ax.scatter(c[~mod], m[~mod], s=9, marker="x", color=cmap(k), lw=0.7)
        for r in sw["theory_roots"]:
            ax.axvline(r, color=cmap(k), lw=0.6, ls=":")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("mixing correlation $c$\n($A^\\top A=[[1,c],[c,1]]$)")
    ax.set_ylabel("signed margin  min $\\varphi/(m^2_{\\max}\\sin\\theta)$")
    # keys in the column right of the axes: the swept sets, then the marks
    key = ax.legend(handles=sweep_lines, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    frameon=False, handlelength=1.2, borderaxespad=0.0, labelspacing=0.3,
                    title="swept source set", title_fontsize=STYLE["legend.fontsize"],
                    alignment="left")
    ax.add_artist(key)
    marks = [Line2D([], [], ls="none", marker="o", ms=3, mec="none", color="0.3"),
             Line2D([], [], ls="none", marker="x", ms=3.5, mew=0.8, color="0.3"),
             Line2D([], [], color="0.3", lw=0.6, ls=":"),
             Line2D([], [], color="black", lw=0.6)]
    ax.legend(marks, ["solver: modular", "solver: mixed", "theory boundary", "margin 0"],
              loc="lower left", bbox_to_anchor=(1.02, 0.0), frameon=False, handlelength=1.2,
              borderaxespad=0.0, labelspacing=0.3)


def _boundary_branches(params: Sequence[float], roots: Sequence[Sequence[float]]
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The theory boundary as curves: the k-th smallest root at each cut depth is branch k;
    a depth without a k-th root breaks branch k there (NaN gap)."""
    depth = np.asarray(params, dtype=float)
    n_branch = max((len(r) for r in roots), default=0)
    branches = []
    for k in range(n_branch):
        c = np.array([sorted(r)[k] if len(r) > k else np.nan for r in roots], dtype=float)
        branches.append((c, depth))
    return branches


def _phase_panel(ax: plt.Axes, phase: Record) -> None:
    """Phase diagram (c × cut depth): theory boundary and certified verdicts."""
    pts = np.asarray(phase["points"], dtype=float)
    ax.axvline(0, color="0.75", lw=0.8, zorder=0, label="orthogonal mixing")
    for mod, marker in ((1.0, "o"), (0.0, "x")):
        sel = pts[:, 3] == mod
        ax.scatter(pts[sel, 1], pts[sel, 0], s=8, marker=marker,
                   lw=0 if mod else 0.7, zorder=2,
                   color=COLORS[_verdict(bool(mod))], label=f"solver: {_verdict(bool(mod))}")
    for k, (c, depth) in enumerate(_boundary_branches(phase["params"], phase["roots"])):
        ax.plot(c, depth, color="black", lw=1.3, zorder=3,
                label="theory boundary" if k == 0 else None)
    ax.set_xlabel("mixing correlation $c$")
    ax.set_ylabel("cut depth")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
              handlelength=1.6, columnspacing=1.0, borderaxespad=0.2)


def _agreement_panel(ax: plt.Axes, records: Sequence[Record]) -> None:
    """Random sweep: signed margin (stored in each record by its batch job) vs off-axis
    share.

    Theorem 1's margin is exactly 0 on every modular instance; the signed margin
    ``min φ/(m²_max sin θ)`` spreads them out by how far they are from the boundary.
    """
    mod = np.array([r["theory"]["modular"] for r in records])
    x = np.array([r["signed_margin"] for r in records], dtype=float)
    share = np.array([r["measured"]["off_axis_share"] for r in records])
    agree = np.array([r["agree"] for r in records])
    for m in (True, False):
        sel = mod == m
        ax.scatter(x[sel], share[sel], s=10, lw=0, alpha=0.75, color=COLORS[_verdict(m)],
                   label=f"theory {_verdict(m)} (n={int(sel.sum())})")
    if (~agree).any():
        ax.scatter(x[~agree], share[~agree], s=30, marker="x", color=COLORS["error"],
                   label="disagreement")
    ax.axvline(0, color="black", lw=0.6, label="margin 0")
    ax.set_xscale("symlog", linthresh=1e-4)
    ax.set_xticks([-1.0, -1e-2, 0.0, 1e-4, 1e-2, 1.0])
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_ylim(-1e-5, 1.5)
    ax.set_xlabel("theory: signed margin  min $\\varphi/(m^2_{\\max}\\sin\\theta)$")
    ax.set_ylabel("solver: off-axis\nweight share")
    ax.set_title(f"random sweep: agreement {agree.sum()}/{len(agree)}")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.92), frameon=False,
              handlelength=1.0, borderaxespad=0.2)


def _label(fig: plt.Figure, ax: plt.Axes, label: str, x: float) -> None:
    """Bold panel letter at figure-x ``x``, level with the top of the axes' title area."""
    top = ax.get_position().y1
    fig.text(x, top + 0.035, label, fontsize=12, fontweight="bold", va="bottom", ha="left")


def render_fig1(payload: Record, records: Sequence[Record], paths: Sequence[str | Path]) -> None:
    """The paper's Figure 1: (a) rescue, (b) destroy, (c) margin vs c, (d) phase diagram,
    (e) agreement over the random sweep.

    One 4 × 6 grid: rows a and b (three showcases each, columns 0–2) beside panel c
    (column 4, its keys in column 5; column 3 is a spacer), a key row for the showcases,
    then d (columns 0–2) and e (columns 4–5).
    """
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(7.5, 5.6))
        grid = fig.add_gridspec(4, 6, height_ratios=[1.0, 1.0, 0.27, 1.05],
                                width_ratios=[1, 1, 1, 0.12, 1.8, 0.95],
                                left=0.07, right=0.97, top=0.94, bottom=0.07,
                                hspace=0.8, wspace=0.45)
        names = ("orthonormal", "aligned", "anti-aligned")
        for row, key in enumerate(("panel_a", "panel_b")):
            for j, (shown, name) in enumerate(zip(payload[key], names, strict=True)):
                ax = fig.add_subplot(grid[row, j])
                _showcase_panel(ax, shown, name, ylabel=(j == 0))
        _showcase_legend(fig.add_subplot(grid[2, 0:3]))
        ax_c = fig.add_subplot(grid[0:2, 4])
        _margin_panel(ax_c, payload["sweeps"])
        ax_d = fig.add_subplot(grid[3, 0:3])
        _phase_panel(ax_d, payload["phase"])
        ax_e = fig.add_subplot(grid[3, 4:6])
        _agreement_panel(ax_e, records)
        for ax, label in ((fig.axes[0], "a"), (fig.axes[3], "b")):
            _label(fig, ax, label, 0.0)
        for ax, label in ((ax_c, "c"), (ax_e, "e")):
            _label(fig, ax, label, ax.get_position().x0 - 0.085)
        _label(fig, ax_d, "d", 0.0)
        save(fig, paths)


def summarise_alignment(payload: Record) -> dict[str, Any]:
    """``identifiability.alignment``: instances, rescues, destroys, agreement, boundary error.

    A rescue is a swept set that orthogonal mixing leaves mixed and an aligned ``c`` makes
    modular (certified); a destroy one that orthogonal mixing keeps modular and an
    anti-aligned ``c`` makes mixed.
    """
    n = agree = rescues = destroys = 0
    errors = []
    for sw in payload["sweeps"].values():
        th, so = np.asarray(sw["theory_modular"]), np.asarray(sw["solver_modular"])
        align = np.asarray(sw["alignment"])
        n += len(th)
        agree += int((th == so).sum())
        if not sw["modular_at_zero"]:
            rescues += bool((so & (align > 0)).any())
        else:
            destroys += bool((~so & (align < 0)).any())
        if sw["boundary_error"] is not None:
            errors.append(sw["boundary_error"])
    pts = payload["phase"]["points"]
    n += len(pts)
    agree += sum(p[2] == p[3] for p in pts)
    return {"n_instances": n, "rescues": rescues, "destroys": destroys,
            "agreement": agree / n if n else float("nan"),
            "max_boundary_error": max(errors) if errors else None}
