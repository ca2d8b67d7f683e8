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
    "on": "#b2182b",
    "off": "#2166ac",
}

#: the one figure style (``convex_coding.mplstyle`` beside this file): fonts, sizes, dpi
STYLE_FILE = Path(__file__).with_name("convex_coding.mplstyle")
STYLE = dict(matplotlib.rc_params_from_file(STYLE_FILE, use_default_template=False))


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
