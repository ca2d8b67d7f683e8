"""Snakemake script: solve (or fetch from the cache) every instance of one batch.

A failed instance is named (experiment, instance, overrides) in the job log and, as one
line, on the console; the job then fails without writing its output.
"""

import logging
import sys
from pathlib import Path

from convex_coding.pipeline.batch import run_batch, write_json
from convex_coding.pipeline.errors import InstanceError

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
try:
    records = run_batch(
        snakemake.params.overrides,  # noqa: F821
        snakemake.params.cache_dir,  # noqa: F821
        conf_dir=Path(snakemake.params.conf_dir).resolve(),  # noqa: F821
    )
except InstanceError as exc:
    logging.shutdown()
    sys.stderr.write(f"error: {exc} (log: {snakemake.log[0]})\n")  # noqa: F821
    sys.exit(1)
write_json(snakemake.output[0], records)  # noqa: F821
