"""Content-addressed cache of solver outputs.

An entry is one JSON file named by the SHA-256 of the resolved problem (data arrays,
costs, numerical settings, solver and package version).  Entries are written to a
temporary file in the same folder, flushed to disk and renamed, so a killed run
leaves either a complete entry or none.  Each entry stores the checksum of its payload;
an entry that does not parse, whose key or checksum does not match, is treated as a
miss and moved aside (``*.corrupt``), never used.  A checksum-valid entry is used only after
its experiment's ``verify`` re-checks it (fields and certificate, from the stored numbers);
a failing one is moved aside (``*.rejected``), logged and recomputed.

An instance whose solve is deterministically *not* certified is stored as an
*uncertified* entry (its reason, no result) under the same key: :meth:`ResultCache.get`
raises :class:`~.errors.UncertifiedError` for it, so it is never used as a result, and the
failing solve is not repeated until the code or the inputs (hence the key) change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text
from .errors import CertificateError, UncertifiedError

FORMAT = 1
#: payload of an uncertified entry: ``{UNCERTIFIED: True, "reason": "..."}``
UNCERTIFIED = "uncertified"

log = logging.getLogger("convex_coding.cache")


def jsonable(obj: Any) -> Any:
    """Plain JSON values: arrays to lists, NumPy scalars to Python, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def array_digest(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes (float64, C order)."""
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    h = hashlib.sha256()
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


#: code that neither produces nor checks a cached payload (drawing, the command line)
_NOT_IN_CODE_DIGEST = ("pipeline/figures/", "cli.py", "__main__.py", "pipeline/job.py",
                       "pipeline/snakemake_guard.py", "pipeline/workflow_config.py",
                       "pipeline/help.py", "pipeline/report.py", "pipeline/regression.py")


def tree_digest(root: Path, pattern: str = "*", seed: str = "",
                skip: tuple[str, ...] = ()) -> str:
    """SHA-256 of ``seed`` and of every file under ``root`` matching ``pattern`` (its
    POSIX path relative to ``root``, then its bytes; sorted), except paths starting with
    one of ``skip``."""
    h = hashlib.sha256(seed.encode())
    for path in sorted(p for p in Path(root).rglob(pattern) if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name.startswith(skip):
            continue
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@functools.cache
def code_digest(package_dir: Path | None = None) -> str:
    """SHA-256 of every module that builds, solves, certifies or checks a cached payload.

    That is the whole package (library and pipeline run modules, recursively) except the
    figure code, the command line, the workflow's job entry point and its own checks
    (``conf/workflow.yaml``, Snakemake's lock).  Part of every cache key, so editing the
    mathematics, a run module or a certificate check invalidates cached solves even when
    the package version is unchanged.
    """
    root = package_dir or Path(__file__).resolve().parents[1]
    return tree_digest(root, "*.py", skip=_NOT_IN_CODE_DIGEST)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_key(description: dict[str, Any]) -> str:
    """The cache key of a problem description (arrays already replaced by digests)."""
    return hashlib.sha256(canonical_json(description).encode()).hexdigest()


class ResultCache:
    """A folder of verified JSON results keyed by :func:`content_key`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str,
            verify: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any] | None:
        """The stored payload, or ``None`` on a miss or an invalid entry.

        ``verify(payload)`` re-checks the stored result (its certificate, its fields); if
        it raises, the entry is moved aside (``*.rejected``), logged, and ``None`` is
        returned so the caller solves again.  An uncertified entry (:meth:`put_uncertified`)
        raises :class:`~.errors.UncertifiedError` with its recorded reason.
        """
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            payload = entry["payload"]
            valid = (
                entry.get("format") == FORMAT
                and entry.get("key") == key
                and entry.get("sha256")
                == hashlib.sha256(canonical_json(payload).encode()).hexdigest()
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            self._quarantine(path)
            return None
        if isinstance(payload, dict) and payload.get(UNCERTIFIED) is True:
            reason = payload.get("reason")
            if isinstance(reason, str) and reason:
                raise UncertifiedError(f"{reason} (recorded as uncertified in {path}: not "
                                       "solved again until the code or the inputs change; "
                                       "delete that file to solve it now)")
            log.warning("cache entry %s: uncertified entry without a reason; moved aside",
                        key[:12])
            self._quarantine(path, ".rejected")
            return None
        if not isinstance(payload, dict):
            self._quarantine(path, ".rejected")
            return None
        if verify is not None:
            try:
                verify(payload)
            except Exception as exc:
                log.warning("cache entry %s failed re-verification (%s); moved aside and "
                            "recomputed", key[:12], exc)
                self._quarantine(path, ".rejected")
                return None
        return payload

    def put(self, key: str, payload: dict[str, Any]) -> Path:
        """Store a verified payload atomically; returns its path."""
        body = canonical_json(payload)
        entry = {
            "format": FORMAT,
            "key": key,
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "payload": payload,
        }
        path = self.path(key)
        atomic_write_text(path, canonical_json(entry))
        return path

    def put_uncertified(self, key: str, reason: str) -> Path:
        """Record that the instance under ``key`` is not certified (no result), so a rerun
        raises :class:`~.errors.UncertifiedError` at once instead of solving again."""
        return self.put(key, {UNCERTIFIED: True, "reason": str(reason) or "not certified"})

    @staticmethod
    def _quarantine(path: Path, suffix: str = ".corrupt") -> None:
        try:
            os.replace(path, path.with_suffix(suffix))
        except OSError:
            pass


def solve_cached(cache: ResultCache | None, key: str, solve: Callable[[], dict[str, Any]],
                 verify: Callable[[dict[str, Any]], None] | None = None,
                 ) -> tuple[dict[str, Any], bool]:
    """``(payload, cache_hit)``: the verified cached payload, or ``solve()`` stored.

    A :class:`~.errors.CertificateError` from ``solve`` (deterministic for fixed inputs,
    code and solver) is recorded as an uncertified entry under ``key`` and re-raised; a
    later call raises :class:`~.errors.UncertifiedError` without solving.  Other errors
    (a missing solver, memory, a kill) record nothing.
    """
    if cache is None:
        return solve(), False
    payload = cache.get(key, verify=verify)
    if payload is not None:
        return payload, True
    try:
        payload = solve()
    except UncertifiedError:
        raise  # an input of this instance is recorded as uncertified: so is nothing here
    except CertificateError as exc:
        cache.put_uncertified(key, str(exc))
        raise
    cache.put(key, payload)
    return payload, False


Schema = dict[str, Any]


def check_fields(payload: Any, schema: Schema, where: str = "payload") -> None:
    """Raise :class:`~.errors.CertificateError` unless ``payload`` has every field of
    ``schema`` with the right kind of value.

    ``schema`` maps a field to ``float`` (a finite number), ``"number?"`` (a finite number
    or null), ``int``, ``bool``, ``str``, ``list`` (a list), ``dict`` (an object with any
    fields), ``"matrix"`` (a non-empty list
    of equally long lists of finite numbers) or a nested schema (a dict).
    """
    if not isinstance(payload, dict):
        raise CertificateError(f"cached {where} is not an object")
    for name, kind in schema.items():
        field = f"{where}.{name}"
        if name not in payload:
            raise CertificateError(f"cached {field} is missing")
        value = payload[name]
        if isinstance(kind, dict):
            check_fields(value, kind, field)
        elif not _is_kind(value, kind):
            raise CertificateError(f"cached {field}={str(value)[:40]} is not a {kind}")


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))


def _is_kind(value: Any, kind: Any) -> bool:
    if kind is float:
        return _finite(value)
    if kind == "number?":
        return value is None or _finite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is bool:
        return isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is list:
        return isinstance(value, list)
    if kind is dict:
        return isinstance(value, dict)
    if kind == "matrix?":
        return value is None or _is_kind(value, "matrix")
    if kind == "matrix":
        return (isinstance(value, list) and len(value) > 0
                and all(isinstance(r, list) and len(r) == len(value[0])
                        and all(_finite(x) for x in r) for r in value))
    raise ValueError(f"unknown schema kind {kind!r}")
