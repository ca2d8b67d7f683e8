"""Snakemake script: Figure 3 (ON/OFF splitting) and the `on_off` summary block."""

import json
import logging
from pathlib import Path

from convex_coding.pipeline.batch import write_json
from convex_coding.pipeline.figures.on_off import render, summarise

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
sweeps = {}  # stimulus name → records of every ρ and λ
for name, path in zip(snakemake.params.names, snakemake.input.batches, strict=True):  # noqa: F821
    sweeps[name] = json.loads(Path(path).read_text())
thresholds = {}
for path in snakemake.input.thresholds:  # noqa: F821
    thresholds.update(json.loads(Path(path).read_text()))
summary = summarise(sweeps, thresholds)
logging.info("%s", summary)
render(sweeps, thresholds, dict(snakemake.params.showcase),  # noqa: F821
       [snakemake.output.pdf, snakemake.output.png])  # noqa: F821
write_json(snakemake.output.summary, {"on_off": summary})  # noqa: F821
