# Safe to kill, safe to rerun (issue #18.6): a lock left by a killed run is removed when no
# other Snakemake can be using this folder (else the message says what to do), and
# `--report` writes its file atomically (convex_coding.pipeline.snakemake_guard).
import sys as _sys

from convex_coding.pipeline.snakemake_guard import guard as _guard

_GUARD_MESSAGE = _guard(workflow)
if _GUARD_MESSAGE:
    _sys.stderr.write(_GUARD_MESSAGE + "\n")
