"""Snakemake script: solve (or fetch from the cache) every instance of one batch."""

import logging
from pathlib import Path

from convex_coding.pipeline.batch import run_batch, write_json

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
records = run_batch(
    snakemake.params.overrides,  # noqa: F821
    snakemake.params.cache_dir,  # noqa: F821
    conf_dir=Path(snakemake.params.conf_dir).resolve(),  # noqa: F821
)
write_json(snakemake.output[0], records)  # noqa: F821
