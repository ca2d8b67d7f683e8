"""One experiment interface: what the CLI, the batch runner and the figure rules call.

An experiment is a library module (the mathematics), a *run module* in this package
that defines ``EXPERIMENT``, a Hydra config ``conf/experiment/<name>.yaml``, a rules
file ``workflow/rules/<name>.smk`` and tests.  The run module builds:

``EXPERIMENT = Experiment(name=..., title=..., paper=..., run=..., describe=...,
summarise=..., render=..., verify=...)``

and one line in :data:`convex_coding.pipeline.registry.RUN_MODULES` registers it.

Contracts
---------
``run(cfg, cache) -> record``
    Validate ``cfg`` (raise :class:`~.errors.ConfigError` naming the key and range),
    build the instance, look it up in ``cache`` (``cache.get(key, verify=verify)``) or
    solve and certify it (raise :class:`~.errors.CertificateError` on any failed check:
    nothing is cached), store it, and return the record: a JSON-able dict with at least
    ``key`` (cache key), ``params`` (the few values that name the instance),
    ``config`` (the resolved config), ``cache_hit`` (bool) and ``agree`` (theory vs
    solver: bool, or ``None`` where no prediction applies).
``describe(record) -> str``
    One console line on what the run found.
``summarise(inputs) -> dict`` and ``render(inputs, paths) -> None``
    ``inputs`` maps each named input of the figure rule to its loaded JSON (a list of
    files gives a list of their contents, in order).  ``summarise`` returns the
    experiment's block of ``summary.json``; ``render`` draws the figure to every path.
``verify(payload) -> None``
    Re-check a cached payload's certificate from its stored numbers (cheap: no solve)
    and raise :class:`~.errors.CertificateError` if it fails.  The cache moves a
    failing entry aside and the run solves again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

Record = dict[str, Any]
Inputs = Mapping[str, Any]


class Cache(Protocol):
    def get(self, key: str, verify: Callable[[dict], None] | None = None) -> dict | None: ...
    def put(self, key: str, payload: dict) -> Path: ...


def _no_verify(payload: dict) -> None:
    """Payloads whose certificate cannot be re-checked from stored numbers."""


@dataclass(frozen=True)
class Experiment:
    """One experiment, as every generic part of the pipeline sees it."""

    name: str
    title: str
    paper: bool  # True: reproduces a figure of the paper; False: the project's extension
    run: Callable[[DictConfig, Cache | None], Record]
    describe: Callable[[Record], str]
    summarise: Callable[[Inputs], dict[str, Any]] | None = None
    render: Callable[[Inputs, Sequence[str | Path]], None] | None = None
    verify: Callable[[dict], None] = _no_verify
