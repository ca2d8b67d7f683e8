"""Snakemake script: Figure 2 and the `tuning_uniqueness` summary block."""

import json
import logging
from pathlib import Path

from convex_coding.pipeline.batch import write_json
from convex_coding.pipeline.figures.tuning_uniqueness import render, summarise

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
records = [r for path in snakemake.input.batches for r in json.loads(Path(path).read_text())]  # noqa: F821
showcase = json.loads(Path(snakemake.input.showcase).read_text())  # noqa: F821
summary = summarise(records)
logging.info("%s", summary)
render(records, showcase, [snakemake.output.pdf, snakemake.output.png])  # noqa: F821
write_json(snakemake.output.summary, {"tuning_uniqueness": summary})  # noqa: F821
