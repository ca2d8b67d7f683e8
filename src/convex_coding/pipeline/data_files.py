"""The user's own data from ``.npy`` or ``.csv`` files: every problem is one line naming the
config key (a :class:`~.errors.ConfigError`), never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ConfigError

SUFFIXES = (".npy", ".csv")


def is_data_path(value: object) -> bool:
    return isinstance(value, str) and value.endswith(SUFFIXES)


def load_table(path: str, key: str) -> np.ndarray:
    """A finite 2-D float array (rows × columns) from ``path``; a 1-D ``.npy`` is one column.

    ``.csv`` files are comma-separated numbers without a header."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{key}={path!r}: no such file")
    try:
        if file.suffix == ".npy":
            data = np.load(file, allow_pickle=False)
        else:
            data = np.loadtxt(file, delimiter=",", ndmin=2)
        data = np.asarray(data, dtype=float)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{key}={path!r}: unreadable ({exc})".replace("\n", " ")) from exc
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.size == 0:
        raise ConfigError(f"{key}={path!r}: expected a table of rows × columns, got shape "
                          f"{data.shape}")
    bad = int(np.sum(~np.isfinite(data)))
    if bad:
        raise ConfigError(f"{key}={path!r}: {bad} values are not finite (NaN or inf)")
    return data
