"""Errors the library raises where a result cannot be trusted (no dependencies)."""

from __future__ import annotations


class CertificateError(RuntimeError):
    """A solve finished but its optimality certificate fails: never a result."""
