"""Snakemake script: an experiment's figure and summary block, through its interface.

``params.experiment`` names the experiment (see ``convex_coding.pipeline.registry``).
Every named input is loaded from JSON (a list of files gives the list of their contents)
and every other param is passed as is; the experiment's ``summarise`` gives its block of
``summary.json`` and its ``render`` draws ``output.pdf`` and ``output.png``.

Outputs drawn before from exactly these inputs, params, code and drawing stack are
restored from the figure cache in ``params.cache_dir`` (``pipeline.figure_cache``)
without importing the experiment or matplotlib.
"""

import json
import logging
from pathlib import Path

from convex_coding.pipeline.figure_cache import FigureCache, figure_key

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
params = dict(snakemake.params.items())  # noqa: F821
name = params.pop("experiment")
figures = FigureCache(params.pop("cache_dir"))
outputs = dict(snakemake.output.items())  # noqa: F821
key = figure_key(name, dict(snakemake.input.items()), params, outputs)  # noqa: F821
if figures.restore(key, outputs):
    logging.info("restored from the figure cache (key %s)", key[:12])
else:
    from convex_coding.pipeline.cache import atomic_write_text
    from convex_coding.pipeline.registry import get

    def load(value):
        if isinstance(value, str):
            return json.loads(Path(value).read_text())
        return [load(v) for v in value]

    experiment = get(name)
    inputs = {k: load(v) for k, v in snakemake.input.items()}  # noqa: F821
    inputs.update(params)
    summary = experiment.summarise(inputs)
    logging.info("%s", summary)
    experiment.render(inputs, [outputs["pdf"], outputs["png"]])
    atomic_write_text(Path(outputs["summary"]),
                      json.dumps({experiment.name: summary}, indent=1, sort_keys=True))
    figures.store(key, outputs)
