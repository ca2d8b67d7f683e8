"""Snakemake script: merge per-experiment summary blocks into summary.json."""

import json
from pathlib import Path

from convex_coding.pipeline.batch import write_json

summary = {}
for block in snakemake.input.blocks:  # noqa: F821
    summary.update(json.loads(Path(block).read_text()))
summary["scale"] = snakemake.wildcards.scale  # noqa: F821
write_json(snakemake.output[0], summary)  # noqa: F821
