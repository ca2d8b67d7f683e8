"""The workflow's jobs: ``python -m convex_coding.pipeline.job KIND SPEC LOG``.

Every rule of the workflow runs one of these as a ``shell:`` command.  ``SPEC`` is one
JSON argument written by the rule (``workflow/rules/common.smk``, ``job_spec``)::

    {"input": {name: path or [paths]}, "output": {name: path}, "params": {...},
     "wildcards": {...}}

and ``LOG`` is the job's log file.  Kinds:

``batch``    solve (or fetch from the cache) every instance of one batch
             (``params.overrides``: a list or a dict of override lists) and write the
             records to the first output;
``figure``   an experiment's figure and summary block through its interface (restored
             from the figure cache when nothing it depends on changed);
``summary``  merge the experiments' summary blocks into ``summary.json``;
``report``   the self-contained HTML landing page.

Why a module and not Snakemake's ``script:``: a script job first imports Snakemake to
unpickle its ``snakemake`` object, ~0.3 s of CPU per job, more than a batch of cache
hits costs; this entry point imports only what the job needs.  A failed instance is one
line on stderr (``error: …``, naming the instance and the log) and exit status 1; no
output is written.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Spec = Mapping[str, Any]


def _load_json(value: str | Sequence[str]) -> Any:
    """A JSON input file's content; a list of files gives the list of their contents."""
    if isinstance(value, str):
        return json.loads(Path(value).read_text())
    return [_load_json(v) for v in value]


def _first_output(spec: Spec) -> str:
    return next(iter(spec["output"].values()))


def batch(spec: Spec) -> None:
    """Solve or fetch every instance of one batch; write their records (sorted JSON)."""
    from .batch import run_batch, write_json

    params = spec["params"]
    records = run_batch(params["overrides"], params["cache_dir"],
                        conf_dir=Path(params["conf_dir"]).resolve())
    write_json(_first_output(spec), records)


def figure(spec: Spec) -> None:
    """An experiment's figure (``output.pdf``, ``output.png``) and its summary block
    (``output.summary``).  ``params.experiment`` names the experiment (see
    :mod:`.registry`); every named input is loaded from JSON and every other param is
    passed as is.  Outputs drawn before from exactly these inputs, params, code and
    drawing stack are restored from the figure cache in ``params.cache_dir``
    (:mod:`.figure_cache`) without importing the experiment or matplotlib."""
    from .figure_cache import FigureCache, figure_key

    params = dict(spec["params"])
    name = params.pop("experiment")
    figures = FigureCache(params.pop("cache_dir"))
    outputs = dict(spec["output"])
    key = figure_key(name, dict(spec["input"]), params, outputs)
    if figures.restore(key, outputs):
        logging.info("restored from the figure cache (key %s)", key[:12])
        return
    from .atomic import atomic_write_text
    from .registry import get

    experiment = get(name)
    inputs = {k: _load_json(v) for k, v in spec["input"].items()}
    inputs.update(params)
    summary = experiment.summarise(inputs)
    logging.info("%s", summary)
    experiment.render(inputs, [outputs["pdf"], outputs["png"]])
    atomic_write_text(Path(outputs["summary"]),
                      json.dumps({experiment.name: summary}, indent=1, sort_keys=True))
    figures.store(key, outputs)


def summary(spec: Spec) -> None:
    """Merge the per-experiment blocks (``input.blocks``) into one ``summary.json``."""
    from .atomic import atomic_write_text

    merged: dict[str, Any] = {}
    for block in spec["input"]["blocks"]:
        merged.update(json.loads(Path(block).read_text()))
    merged["scale"] = spec["wildcards"]["scale"]
    atomic_write_text(Path(_first_output(spec)), json.dumps(merged, indent=1, sort_keys=True))


def report(spec: Spec) -> None:
    """``results/<scale>/report.html``: each figure (``input.pngs``) with its caption
    (``input.captions``) and the summary's headline numbers (see :mod:`.report`).  Like a
    figure, a page written before from exactly these inputs and this code is restored
    from the figure cache in ``params.cache_dir`` (no run module is imported)."""
    from .figure_cache import FigureCache, figure_key

    params = dict(spec["params"])
    pages = FigureCache(params.pop("cache_dir"))
    outputs = {"page": _first_output(spec)}
    key = figure_key("report", dict(spec["input"]),
                     params | {"scale": spec["wildcards"]["scale"]}, outputs)
    if pages.restore(key, outputs):
        logging.info("restored from the figure cache (key %s)", key[:12])
        return
    from . import registry
    from .atomic import atomic_write_text
    from .report import FigureEntry, render_report

    entries = []
    for (stem, name), png, caption in zip(params["figures"], spec["input"]["pngs"],
                                          spec["input"]["captions"], strict=True):
        # the stem decides the section (ext_* = extension): one experiment
        # (identifiability) draws both a paper figure and an extension figure
        paper = not stem.startswith("ext_")
        try:
            exp = registry.get(name)
            title = exp.title if bool(exp.paper) == paper else f"Extension: {stem}"
        except Exception:  # an experiment not (yet) registered: named by its stem
            title = stem
        entries.append(FigureEntry(stem, name, title, paper, Path(png).read_bytes(),
                                   Path(caption).read_text()))
    summary_block = json.loads(Path(spec["input"]["summary"]).read_text())
    atomic_write_text(Path(outputs["page"]),
                      render_report(summary_block, entries, scale=spec["wildcards"]["scale"]))
    pages.store(key, outputs)


KINDS: dict[str, Callable[[Spec], None]] = {
    "batch": batch, "figure": figure, "summary": summary, "report": report}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one job; 0 on success, 1 (one line on stderr) when an instance failed."""
    from .errors import InstanceError

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] not in KINDS:
        sys.stderr.write(f"usage: python -m convex_coding.pipeline.job "
                         f"{{{','.join(KINDS)}}} SPEC_JSON LOG\n")
        return 2
    kind, spec, log = args
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=log, level=logging.INFO, format="%(message)s", force=True)
    try:
        KINDS[kind](json.loads(spec))
    except InstanceError as exc:
        logging.shutdown()
        sys.stderr.write(f"error: {exc} (log: {log})\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
