"""Convex efficient coding: optimise the representational similarity ``Q = ZᵀZ``.

The library (this package, minus :mod:`convex_coding.pipeline`) is pure: arrays in,
results out, no file I/O.  :mod:`convex_coding.pipeline` holds the Hydra runner, the
content-addressed cache and the figure code used by the Snakemake workflow.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("convex-coding")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
