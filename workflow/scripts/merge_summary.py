"""Snakemake script: merge per-experiment summary blocks into summary.json."""

import json
from pathlib import Path

from convex_coding.pipeline.cache import atomic_write_text

summary = {}
for block in snakemake.input.blocks:  # noqa: F821
    summary.update(json.loads(Path(block).read_text()))
summary["scale"] = snakemake.wildcards.scale  # noqa: F821
atomic_write_text(Path(snakemake.output[0]), json.dumps(summary, indent=1, sort_keys=True))  # noqa: F821
