"""The registry of experiments: ``experiment.name`` → run module defining ``EXPERIMENT``.

Run modules are imported only when their experiment is asked for, so a run of one
experiment never imports another's solver stack.
"""

from __future__ import annotations

import importlib

from .errors import ConfigError
from .experiment import Experiment

#: experiment name → module (absolute) whose ``EXPERIMENT`` is that experiment
RUN_MODULES: dict[str, str] = {
    "identifiability": "convex_coding.pipeline.identifiability_run",
    "on_off": "convex_coding.pipeline.on_off_run",
    "on_off_density": "convex_coding.pipeline.on_off_density_run",
    "tuning_criteria": "convex_coding.pipeline.tuning_criteria_run",
    "tuning_uniqueness": "convex_coding.pipeline.tuning_uniqueness_run",
}

_extra: dict[str, Experiment] = {}


def register(experiment: Experiment) -> None:
    """Add an experiment defined outside the package (a user's, or a test's toy)."""
    _extra[experiment.name] = experiment


def names() -> list[str]:
    return sorted({*RUN_MODULES, *_extra})


def get(name: str) -> Experiment:
    """The experiment called ``name``; a :class:`ConfigError` lists the known ones."""
    if name in _extra:
        return _extra[name]
    if name not in RUN_MODULES:
        raise ConfigError(f"experiment.name={name!r} is invalid; allowed: {', '.join(names())}")
    return importlib.import_module(RUN_MODULES[name]).EXPERIMENT
