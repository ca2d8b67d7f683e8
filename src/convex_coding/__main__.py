"""``python -m convex_coding``: the command line (see :mod:`convex_coding.cli`)."""

from .cli import main

main()
