"""The pipeline's errors: each one ends a run with one line and caches no result."""

from __future__ import annotations

from ..errors import CertificateError

__all__ = ["CertificateError", "ConfigError", "InputDataError", "InstanceError",
           "UncertifiedError"]


class ConfigError(ValueError):
    """An invalid config value; the message names the key and the allowed values."""


class UncertifiedError(CertificateError):
    """The instance was solved before and recorded as *uncertified* (the reason is the
    message): the cache keeps the verdict under the instance's key, so a rerun does not
    repeat a deterministic failing solve; it is never used or drawn as a result."""


class InputDataError(ValueError):
    """A user's data file is unusable (shape, non-finite values, too few rows)."""


class InstanceError(RuntimeError):
    """One instance of a batch failed; the message names the experiment, the instance
    and its overrides, then the cause (one line)."""
