"""Snakemake script: write results/<scale>/report.html (see convex_coding.pipeline.report)."""

import json
from pathlib import Path

from convex_coding.pipeline import registry
from convex_coding.pipeline.cache import atomic_write_text
from convex_coding.pipeline.report import FigureEntry, render_report

sm = snakemake  # noqa: F821
entries = []
for (stem, name), png, caption in zip(sm.params.figures, sm.input.pngs, sm.input.captions,
                                      strict=True):
    # the stem decides the section (ext_* = extension), since one experiment (identifiability)
    # draws both a paper figure and an extension figure
    paper = not stem.startswith("ext_")
    try:
        exp = registry.get(name)
        title = exp.title if bool(exp.paper) == paper else f"Extension: {stem}"
    except Exception:  # an experiment not (yet) registered: named by its stem
        title = stem
    entries.append(FigureEntry(stem, name, title, paper, Path(png).read_bytes(),
                               Path(caption).read_text()))
summary = json.loads(Path(sm.input.summary).read_text())
atomic_write_text(Path(sm.output[0]), render_report(summary, entries, scale=sm.wildcards.scale))
