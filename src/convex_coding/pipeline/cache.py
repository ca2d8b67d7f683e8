"""Content-addressed cache of solver outputs.

An entry is one JSON file named by the SHA-256 of the resolved problem (data arrays,
costs, numerical settings, solver and package version).  Entries are written to a
temporary file in the same folder, flushed to disk and renamed, so a killed run
leaves either a complete entry or none.  Each entry stores the checksum of its payload;
an entry that does not parse, whose key or checksum does not match, is treated as a
miss and moved aside (``*.corrupt``), never used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1

log = logging.getLogger("convex_coding.cache")


def _file_mode() -> int:
    """Permissions of a new file under this process's umask (``mkstemp`` uses 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


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
_NOT_IN_CODE_DIGEST = ("pipeline/figures/", "cli.py", "__main__.py")


@functools.cache
def code_digest(package_dir: Path | None = None) -> str:
    """SHA-256 of every module that builds, solves, certifies or checks a cached payload.

    That is the whole package (library and pipeline run modules, recursively) except the
    figure code and the command line.  Part of every cache key, so editing the
    mathematics, a run module or a certificate check invalidates cached solves even when
    the package version is unchanged.
    """
    root = package_dir or Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith(_NOT_IN_CODE_DIGEST):
            continue
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_key(description: dict[str, Any]) -> str:
    """The cache key of a problem description (arrays already replaced by digests)."""
    return hashlib.sha256(canonical_json(description).encode()).hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _file_mode())  # follow the umask: group-shared caches work
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        returned so the caller solves again.
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

    @staticmethod
    def _quarantine(path: Path, suffix: str = ".corrupt") -> None:
        try:
            os.replace(path, path.with_suffix(suffix))
        except OSError:
            pass
