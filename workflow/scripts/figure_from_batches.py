"""Snakemake script: an experiment's figure and summary block from its batches + showcase.

``params.experiment`` names both the figure module
(``convex_coding.pipeline.figures.<experiment>``: ``summarise``, ``render``) and the
summary block.
"""

import importlib
import json
import logging
from pathlib import Path

from convex_coding.pipeline.batch import write_json

experiment = snakemake.params.experiment  # noqa: F821
figures = importlib.import_module(f"convex_coding.pipeline.figures.{experiment}")
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
records = [r for path in snakemake.input.batches for r in json.loads(Path(path).read_text())]  # noqa: F821
showcase = json.loads(Path(snakemake.input.showcase).read_text())  # noqa: F821
summary = figures.summarise(records)
logging.info("%s", summary)
figures.render(records, showcase, [snakemake.output.pdf, snakemake.output.png])  # noqa: F821
write_json(snakemake.output.summary, {experiment: summary})  # noqa: F821
