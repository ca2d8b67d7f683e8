"""Snakemake script: an experiment's figure and summary block, through its interface.

``params.experiment`` names the experiment (see ``convex_coding.pipeline.registry``).
Every named input is loaded from JSON (a list of files gives the list of their contents)
and every other param is passed as is; the experiment's ``summarise`` gives its block of
``summary.json`` and its ``render`` draws ``output.pdf`` and ``output.png``.
"""

import json
import logging
from pathlib import Path

from convex_coding.pipeline.batch import write_json
from convex_coding.pipeline.registry import get


def load(value):
    if isinstance(value, str):
        return json.loads(Path(value).read_text())
    return [load(v) for v in value]


logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
params = dict(snakemake.params.items())  # noqa: F821
experiment = get(params.pop("experiment"))
inputs = {name: load(value) for name, value in snakemake.input.items()}  # noqa: F821
inputs.update(params)
summary = experiment.summarise(inputs)
logging.info("%s", summary)
experiment.render(inputs, [snakemake.output.pdf, snakemake.output.png])  # noqa: F821
write_json(snakemake.output.summary, {experiment.name: summary})  # noqa: F821
