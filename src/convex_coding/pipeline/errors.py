"""The pipeline's errors: each one ends a run with one line and caches nothing."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid config value; the message names the key and the allowed values."""


class CertificateError(RuntimeError):
    """A solve finished but its optimality certificate fails: never a result."""


class InputDataError(ValueError):
    """A user's data file is unusable (shape, non-finite values, too few rows)."""
