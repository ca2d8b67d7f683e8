# Safe to kill, safe to rerun, and no job started on a bad config (issue #18.3, #18.6).
# When the main Snakemake process parses the workflow: a lock left by a killed run is
# removed if no other Snakemake can be using this folder (else one line says what to do),
# and `--report` writes its file atomically (convex_coding.pipeline.snakemake_guard).
# Before the first job starts: every instance of every job about to run is composed and
# its config checked (convex_coding.pipeline.workflow_config.check_instances); one line
# per bad instance, and no job runs.  Instances found valid are remembered beside the
# solver cache (with the digest of conf/ and the code), so a rerun checks only new ones.
import sys as _sys
from pathlib import Path as _Path

from convex_coding.pipeline.snakemake_guard import guard as _guard

_GUARD_MESSAGE = _guard(workflow)
if _GUARD_MESSAGE:
    _sys.stderr.write(f"{_GUARD_MESSAGE}\n")


onstart:
    from convex_coding.pipeline.workflow_config import (
        check_instances,
        error_lines,
        job_instances,
    )

    _errors = check_instances(job_instances(workflow.dag.needrun_jobs()),
                              _Path(workflow.basedir) / "conf",
                              memo=_Path(CACHE_DIR) / "checked-configs.json")
    for _line in error_lines(_errors):
        _sys.stderr.write(f"error: {_line}\n")
    if _errors:
        _sys.stderr.write("error: no job was started (fix the config and rerun)\n")
        raise SystemExit(1)
