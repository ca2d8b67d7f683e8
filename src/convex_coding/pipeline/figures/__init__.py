"""Figure code (matplotlib, Agg backend) shared by the workflow's aggregation rules."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

#: one colour per meaning, used in every figure
COLORS = {
    "modular": "#2166ac",
    "mixed": "#d6604d",
    "neutral": "#7f7f7f",
    "error": "#000000",
}

STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
    "svg.hashsalt": "convex-coding",
}


def panel_label(ax: plt.Axes, label: str) -> None:
    ax.text(-0.18, 1.06, label, transform=ax.transAxes, fontsize=12, fontweight="bold",
            va="bottom", ha="left")


def save(fig: plt.Figure, paths: Sequence[str | Path]) -> None:
    """Save to each path (format from the suffix) without timestamps in the metadata."""
    for path in paths:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"CreationDate": None} if path.suffix == ".pdf" else {"Software": None}
        fig.savefig(path, metadata=meta, bbox_inches="tight")
    plt.close(fig)
