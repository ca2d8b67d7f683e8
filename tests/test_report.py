"""The report landing page: figures with captions under them, numbers, visible in Chromium."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from convex_coding.pipeline.report import (
    FigureEntry,
    end_of_run_message,
    fmt,
    headline_rows,
    render_report,
)

CHROMIUM = "/usr/bin/chromium"


def tiny_png(rgb: tuple[int, int, int], size: int = 40) -> bytes:
    """A solid ``size``×``size`` PNG of colour ``rgb`` (hand-written, no dependency)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (len(data).to_bytes(4, "big") + body
                + (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big"))
    row = b"\x00" + bytes(rgb) * size
    ihdr = size.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


SUMMARY = {
    "identifiability": {"n_instances": 64, "agreement": 1.0,
                        "alignment": {"rescues": 7, "max_boundary_error": 3.14159265e-5,
                                      "roots": [0.1, 0.2, 0.3]}},
    "tuning_criteria": {"agreement": 0.958333333, "ok": True},
    "scale": "quick",
}
FIGS = [
    FigureEntry("ext_tuning_criteria", "tuning_criteria", "Extension: criteria", False,
                tiny_png((0, 0, 255), 200), "Criteria caption, *first* paragraph.\n\nSecond."),
    FigureEntry("fig1_identifiability", "identifiability", "Figure 1: alignment", True,
                tiny_png((255, 0, 0), 200), "Figure one caption with ``F`` & E."),
]


def test_fmt_four_significant_figures_and_lists():
    assert fmt(3.14159265e-5) == "3.142e-05"
    assert fmt(0.958333333) == "0.9583"
    assert fmt(64) == "64" and fmt(True) == "true"
    assert fmt([1, 2, 3]) == "list of 3"


def test_headline_rows_two_levels():
    rows = dict(headline_rows(SUMMARY["identifiability"]))
    assert rows == {"n_instances": "64", "agreement": "1",
                    "alignment.rescues": "7", "alignment.max_boundary_error": "3.142e-05",
                    "alignment.roots": "list of 3"}


def test_every_figure_and_caption_directly_under_it_paper_first():
    page = render_report(SUMMARY, FIGS, scale="quick")
    for fig in FIGS:
        data = base64.b64encode(fig.png).decode()
        assert page.count(data) == 1
        # the caption is the element right after this figure's <img>
        m = re.search(re.escape(data) + r'">\s*<figcaption>(.*?)</figcaption>', page, re.S)
        assert m is not None, fig.stem
        assert fig.caption.split(",")[0].split("with")[0].strip() in m.group(1)
    assert "<em>first</em>" in page and "<code>F</code> &amp; E" in page
    assert page.count("<p>") >= 3
    paper, ext = page.index("The paper&#x27;s figures"), page.index("Extensions (the")
    assert paper < page.index("fig1_identifiability") < ext < page.index("ext_tuning_criteria")
    assert "quick" in page and "http" not in page and "/tmp" not in page


def test_numbers_table_has_values():
    page = render_report(SUMMARY, FIGS)
    for key, value in [("alignment.max_boundary_error", "3.142e-05"), ("agreement", "0.9583"),
                       ("n_instances", "64"), ("alignment.roots", "list of 3")]:
        assert re.search(rf"<td>{re.escape(key)}</td><td class=\"num\">{re.escape(value)}</td>",
                         page), key
    assert render_report(SUMMARY, FIGS) == page  # deterministic


def test_end_of_run_message():
    msg = end_of_run_message("quick", SUMMARY)
    assert "results/quick/figures" in msg and "results/quick/summary.json" in msg
    assert "results/quick/report.html" in msg
    assert "identifiability.agreement = 1" in msg
    assert "tuning_criteria.agreement = 0.9583" in msg
    assert "in 68 s" in end_of_run_message("quick", SUMMARY, wall_seconds=68.2)
    assert " s." not in msg


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed")
def test_chromium_shows_the_figures(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(render_report(SUMMARY, FIGS, scale="quick"))
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1200,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=50)
    from matplotlib.image import imread
    img = np.asarray(imread(shot))[..., :3]
    red = (img[..., 0] > 0.9) & (img[..., 1] < 0.1) & (img[..., 2] < 0.1)
    blue = (img[..., 2] > 0.9) & (img[..., 0] < 0.1) & (img[..., 1] < 0.1)
    # both 200×200 images are rendered on the landing page, red (paper) above blue (extension)
    assert red.sum() > 0.9 * 200 * 200 and blue.sum() > 0.9 * 200 * 200
    assert np.nonzero(red)[0].max() < np.nonzero(blue)[0].min()
