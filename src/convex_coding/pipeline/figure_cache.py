"""Rendered figures kept beside the solver cache, keyed by everything that decides them.

A figure job's outputs (the PDF, the PNG and the experiment's summary block) are a pure
function of its input files (the batch records, each rebuilt this run from re-verified
cache entries), its params, the package's code (drawing included) and the versions of
the drawing stack.  :func:`figure_key` hashes exactly these, so a run whose results were
deleted but whose cache was kept restores each figure in milliseconds instead of
importing matplotlib and drawing again, and any change to a record, a param, the code,
the style file or matplotlib draws it anew.

This module imports nothing heavy (no NumPy, no matplotlib): a hit costs a Python start.
An entry is ``<root>/figures/<key[:2]>/<key>/``: one blob per output plus
``manifest.json`` with each blob's SHA-256, written last, so a killed store leaves no
entry.  A restore checks every blob against the manifest (a damaged entry is removed and
the figure is drawn again) and writes each output atomically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes

FORMAT = 1
#: distributions whose version changes how a figure is drawn
DRAWING_STACK = ("matplotlib", "numpy", "scipy")
#: files of the package that take part in drawing (code and the style sheet)
_SUFFIXES = (".py", ".mplstyle")


@functools.cache
def package_digest(package_dir: Path | None = None) -> str:
    """SHA-256 of every module and style file of the package (figures included)."""
    root = package_dir or Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES
                       and "conf" not in p.relative_to(root).parts):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def figure_key(experiment: str, inputs: Mapping[str, str | Sequence[str]],
               params: Mapping[str, Any], outputs: Mapping[str, str | Path]) -> str:
    """The key of one figure job: the experiment, each named input file's content (a
    list of files in order), the params, the output names (their formats), the package
    digest and the drawing stack's versions."""
    description = {
        "format": FORMAT,
        "experiment": experiment,
        "inputs": {name: ([_file_digest(p) for p in value]
                          if not isinstance(value, str) else _file_digest(value))
                   for name, value in sorted(inputs.items())},
        "params": params,
        "outputs": {name: Path(p).suffix for name, p in sorted(outputs.items())},
        "code": package_digest(),
        "versions": {d: _version(d) for d in DRAWING_STACK},
    }
    text = json.dumps(description, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FigureCache:
    """``<root>/figures``: rendered outputs by :func:`figure_key`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "figures"

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def restore(self, key: str, outputs: Mapping[str, str | Path]) -> bool:
        """Write every output from the entry under ``key``; False (nothing written) on a
        miss, and on a damaged entry, which is removed."""
        entry = self.entry(key)
        if not (entry / "manifest.json").exists():
            return False  # a miss (or a store still under way: the manifest comes last)
        try:
            manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
            files = manifest["files"]
            valid = (manifest.get("format") == FORMAT and manifest.get("key") == key
                     and set(files) == set(outputs)
                     and all(_file_digest(entry / name) == files[name] for name in outputs))
        except (OSError, ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            shutil.rmtree(entry, ignore_errors=True)
            return False
        for name, dest in outputs.items():
            atomic_write_bytes(Path(dest), (entry / name).read_bytes())
        return True

    def store(self, key: str, outputs: Mapping[str, str | Path]) -> None:
        """Keep a copy of every output under ``key`` (manifest last: all or nothing)."""
        entry = self.entry(key)
        files = {}
        for name, src in outputs.items():
            data = Path(src).read_bytes()
            atomic_write_bytes(entry / name, data)
            files[name] = hashlib.sha256(data).hexdigest()
        manifest = {"format": FORMAT, "key": key, "files": files}
        atomic_write_bytes(entry / "manifest.json", json.dumps(manifest, sort_keys=True).encode())
